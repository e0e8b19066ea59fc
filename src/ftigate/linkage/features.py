"""The prepared comparison features of requests — the same columns a register row has.

Requests are fewer than taxpayers (a batch), so they are normalised in Python with exactly the
functions the register's distinct values go through (:mod:`~ftigate.linkage.names`,
:mod:`~ftigate.linkage.addresses`): :func:`request_row` for one request, the reference, and
:func:`request_columns` for a batch, once per distinct field value. Blank fields become NULL
(strings) or empty lists, so a comparison on them falls into its "missing" level rather than
failing.

Example:
    >>> from ftigate.model import Request
    >>> row = request_row(Request(line=7, request_id="R7", first_name="Paco", last_name="Pérez",
    ...                           dob="03/04/1980", street="12 Main Street", zip="02134"))
    >>> row["unique_id"], row["first"], row["dob"], row["addr_keys"], row["tin_key"]
    ('r7', 'paco', '1980-03-04', ['12|MAIN ST'], None)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from ftigate.linkage import addresses, names
from ftigate.linkage.settings import PREPARED_COLUMNS, UNIQUE_ID
from ftigate.model import Request

_DOB_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%Y%m%d", "%m-%d-%Y", "%Y/%m/%d", "%m/%d/%y")


def parse_dob(value: str) -> str | None:
    """An ISO date from the formats requesters use (US month-first), else None.

    >>> parse_dob("03/04/1980"), parse_dob("1980-03-04"), parse_dob("unknown")
    ('1980-03-04', '1980-03-04', None)
    """
    text = value.strip()
    if not text:
        return None
    for fmt in _DOB_FORMATS:
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def _tin_digits(value: str) -> str | None:
    digits = re.sub(r"[^0-9]", "", value)
    return digits if len(digits) == 9 else None


NAME_COLUMNS: tuple[str, ...] = (
    "first",
    "middle",
    "last",
    "last_sorted",
    "given_compact",
    "last_compact",
    "suffix",
    "first_keys",
    "given_keys",
    "last_keys",
    "last_parts",
    "name_keys",
)
"""The prepared columns that come from the three name fields, in :func:`name_features` order."""

STREET_COLUMNS: tuple[str, ...] = ("addr_num", "addr_street", "addr_keys")


def name_features(first: str, middle: str, last: str) -> tuple[Any, ...]:
    """The :data:`NAME_COLUMNS` of a request's name fields."""
    n = names.parse_name(first, middle, last)
    return (
        n.first or None,
        n.middle or None,
        n.last or None,
        " ".join(sorted(n.last_parts)) or None,
        "".join(n.given_tokens) or None,
        n.last_compact or None,
        n.suffix or None,
        list(n.first_keys),
        list(n.given_keys),
        list(n.last_keys),
        list(n.last_parts),
        sorted(set(n.first_keys) | set(n.given_keys) | set(n.last_keys)),
    )


def street_features(street: str, unit: str) -> tuple[Any, ...]:
    """The :data:`STREET_COLUMNS` of a request's street line and unit."""
    number, std_street, _unit = addresses.parse_street_line(street, unit)
    return (
        number or None,
        std_street or None,
        [f"{number}|{std_street}"] if number and std_street else [],
    )


def request_row(request: Request) -> dict[str, Any]:
    """The prepared columns of one request (same features as a register row).

    The reference for :func:`request_columns`, which builds a whole batch faster.
    """
    zip5 = addresses.normalize_zip(request.zip)
    return {
        UNIQUE_ID: f"r{request.line}",
        **dict(
            zip(
                NAME_COLUMNS,
                name_features(request.first_name, request.middle_name, request.last_name),
                strict=True,
            )
        ),
        "dob": parse_dob(request.dob),
        **dict(zip(STREET_COLUMNS, street_features(request.street, request.unit), strict=True)),
        "addr_zip": zip5 or None,
        "addr_city": addresses.normalize_city(request.city) or None,
        "addr_state": addresses.normalize_state(request.state) or None,
        "zip_keys": [zip5] if zip5 else [],
        "tin_key": _tin_digits(request.tin),
    }


def request_columns(requests: Sequence[Request]) -> dict[str, list[Any]]:
    """The prepared columns of a batch, column by column: :func:`request_row` for each request.

    A batch repeats its first names, surnames, cities, ZIPs and dobs, so each distinct field
    value is normalised once (a ``functools.cache`` per call, dropped with the batch); rows with
    equal values share one list object, which is safe because the columns are only read (into
    Arrow).

    >>> cols = request_columns([Request(line=2, request_id="a", first_name="Lupe", zip="2134")])
    >>> cols["unique_id"], cols["first_keys"], cols["zip_keys"]
    (['r2'], [['guadalupe', 'lupe']], [['02134']])
    """
    name = cache(name_features)
    street = cache(street_features)
    dob = cache(parse_dob)
    zip5 = cache(addresses.normalize_zip)
    city = cache(addresses.normalize_city)
    state = cache(addresses.normalize_state)
    tin = cache(_tin_digits)
    cols: dict[str, list[Any]] = {c: [] for c in PREPARED_COLUMNS}
    name_cols = [cols[c] for c in NAME_COLUMNS]
    street_cols = [cols[c] for c in STREET_COLUMNS]
    for r in requests:
        cols[UNIQUE_ID].append(f"r{r.line}")
        names_ = name(r.first_name, r.middle_name, r.last_name)
        for column, value in zip(name_cols, names_, strict=True):
            column.append(value)
        cols["dob"].append(dob(r.dob))
        for column, value in zip(street_cols, street(r.street, r.unit), strict=True):
            column.append(value)
        z = zip5(r.zip)
        cols["addr_zip"].append(z or None)
        cols["zip_keys"].append([z] if z else [])
        cols["addr_city"].append(city(r.city) or None)
        cols["addr_state"].append(state(r.state) or None)
        cols["tin_key"].append(tin(r.tin))
    return cols


LIST_COLUMNS = frozenset(
    {"first_keys", "given_keys", "last_keys", "last_parts", "name_keys", "addr_keys", "zip_keys"}
)
