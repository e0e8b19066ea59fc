"""The prepared comparison features of one request — the same columns a register row has.

Requests are few (a batch), so they are normalised in Python, row by row, with exactly the
functions the register's distinct values go through (:mod:`~ftigate.linkage.names`,
:mod:`~ftigate.linkage.addresses`). Blank fields become NULL (strings) or empty lists, so a
comparison on them falls into its "missing" level rather than failing.

Example:
    >>> from ftigate.model import Request
    >>> row = request_row(Request(line=7, request_id="R7", first_name="Paco", last_name="Pérez",
    ...                           dob="03/04/1980", street="12 Main Street", zip="02134"))
    >>> row["unique_id"], row["first"], row["dob"], row["addr_keys"], row["tin_key"]
    ('r7', 'paco', '1980-03-04', ['12|MAIN ST'], None)
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from ftigate.linkage import addresses, names
from ftigate.linkage.settings import UNIQUE_ID
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


def request_row(request: Request) -> dict[str, Any]:
    """The prepared columns of one request (same features as a register row)."""
    n = names.parse_name(request.first_name, request.middle_name, request.last_name)
    a = addresses.parse_address(
        request.street, request.unit, request.city, request.state, request.zip
    )
    addr_key = [f"{a.number}|{a.street}"] if a.number and a.street else []
    return {
        UNIQUE_ID: f"r{request.line}",
        "first": n.first or None,
        "middle": n.middle or None,
        "last": n.last or None,
        "last_sorted": " ".join(sorted(n.last_parts)) or None,
        "given_compact": "".join(n.given_tokens) or None,
        "last_compact": n.last_compact or None,
        "suffix": n.suffix or None,
        "first_keys": list(n.first_keys),
        "given_keys": list(n.given_keys),
        "last_keys": list(n.last_keys),
        "last_parts": list(n.last_parts),
        "name_keys": sorted(set(n.first_keys) | set(n.given_keys) | set(n.last_keys)),
        "dob": parse_dob(request.dob),
        "addr_num": a.number or None,
        "addr_street": a.street or None,
        "addr_zip": a.zip5 or None,
        "addr_city": a.city or None,
        "addr_state": a.state or None,
        "addr_keys": addr_key,
        "zip_keys": [a.zip5] if a.zip5 else [],
        "tin_key": _tin_digits(request.tin),
    }


LIST_COLUMNS = frozenset(
    {"first_keys", "given_keys", "last_keys", "last_parts", "name_keys", "addr_keys", "zip_keys"}
)
