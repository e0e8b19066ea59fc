"""The prepared linkage tables of a snapshot: where they live, which version, what goes in.

Both backends write the same tables (see the layout in :mod:`ftigate.linkage`) from the same
pieces, so a snapshot prepared by one can be matched by the other:

* the *maps* — each distinct raw field value (a first name, a surname, a street line, a ZIP)
  normalised once by :mod:`~ftigate.linkage.names` and :mod:`~ftigate.linkage.addresses` into
  an Arrow table ``raw -> parsed``; the engine joins them back onto two million rows in SQL,
  which is where the per-row work belongs;
* :func:`requests_table`, the prepared columns of a batch, built by the same functions
  (:func:`ftigate.linkage.features.request_columns`), so a request and a register row are
  compared column for column.

Nothing here touches an engine; Arrow is the common currency (DuckDB registers Arrow tables,
Spark's ``mapInArrow`` yields them).

Example:
    >>> given_map(["Maria Guadalupe"], middle=False).column("tokens").to_pylist()
    [['maria', 'guadalupe']]
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pyarrow as pa

from ftigate.linkage import addresses, names
from ftigate.linkage.features import LIST_COLUMNS, request_columns
from ftigate.linkage.settings import PREPARED_COLUMNS
from ftigate.model import Request

PREPARE_VERSION = 7
"""Bump when prepared tables change meaning; a snapshot prepared by another version is redone."""

LINKAGE_DIR = "linkage"
PREPARED_TAXPAYERS = "taxpayers.parquet"
PREPARED_ADDRESSES = "addresses.parquet"
PREPARED_META = "prepared.json"
MODEL_FILE = "model.json"

HISTORY_COLUMNS: tuple[str, ...] = (
    "tin",
    "addr_num",
    "addr_street",
    "addr_zip",
    "addr_city",
    "addr_state",
    "valid_from",
)
"""Columns of ``linkage/addresses.parquet``: every address of every taxpayer, parsed."""


def prepared_is_current(out: Path) -> bool:
    """Whether ``out`` (a snapshot's ``linkage/``) holds tables prepared by this version."""
    meta = out / PREPARED_META
    if not meta.exists() or not (out / PREPARED_TAXPAYERS).exists():
        return False
    try:
        return bool(json.loads(meta.read_text())["prepare_version"] == PREPARE_VERSION)
    except (ValueError, KeyError):
        return False


def write_prepared_meta(out: Path, taxpayers: int, addresses_: int, **extra: str) -> None:
    """Record what was prepared; written last, so its presence means the tables are whole."""
    meta: dict[str, object] = {
        "prepare_version": PREPARE_VERSION,
        "taxpayers": taxpayers,
        "addresses": addresses_,
        **extra,
    }
    (out / PREPARED_META).write_text(json.dumps(meta, sort_keys=True, indent=2) + "\n")


# --------------------------------------------------------------------------- value maps

GIVEN_MAP_SCHEMA = pa.schema(
    [
        ("raw", pa.string()),
        ("tokens", pa.list_(pa.string())),
        ("suffix", pa.string()),
        ("first_keys", pa.list_(pa.string())),
        ("all_keys", pa.list_(pa.string())),
    ]
)
SURNAME_MAP_SCHEMA = pa.schema(
    [
        ("raw", pa.string()),
        ("parts", pa.list_(pa.string())),
        ("suffix", pa.string()),
        ("keys", pa.list_(pa.string())),
        ("compact", pa.string()),
    ]
)
SIMPLE_MAP_SCHEMA = pa.schema([("raw", pa.string()), ("value", pa.string())])
STREET_MAP_SCHEMA = pa.schema(
    [("raw", pa.string()), ("number", pa.string()), ("street", pa.string())]
)


def given_map(values: Sequence[str], *, middle: bool) -> pa.Table:
    """Distinct first (or middle) name fields -> tokens, suffix and variant keys."""
    parsed = [names.parse_given_field(v, middle=middle) for v in values]
    return pa.table(
        {
            "raw": pa.array(values, pa.string()),
            "tokens": pa.array([list(p.tokens) for p in parsed], pa.list_(pa.string())),
            "suffix": pa.array([p.suffix or None for p in parsed], pa.string()),
            "first_keys": pa.array([list(p.first_keys) for p in parsed], pa.list_(pa.string())),
            "all_keys": pa.array([list(p.all_keys) for p in parsed], pa.list_(pa.string())),
        },
        schema=GIVEN_MAP_SCHEMA,
    )


def surname_map(values: Sequence[str]) -> pa.Table:
    """Distinct surname fields -> parts without particles, suffix, variant keys, compact form."""
    parsed = [names.parse_surname_field(v) for v in values]
    return pa.table(
        {
            "raw": pa.array(values, pa.string()),
            "parts": pa.array([list(p.parts) for p in parsed], pa.list_(pa.string())),
            "suffix": pa.array([p.suffix or None for p in parsed], pa.string()),
            "keys": pa.array([list(p.keys) for p in parsed], pa.list_(pa.string())),
            "compact": pa.array(
                [names.surname_compact(p.parts) or None for p in parsed], pa.string()
            ),
        },
        schema=SURNAME_MAP_SCHEMA,
    )


def simple_map(values: Sequence[str], fn: Callable[[str], str]) -> pa.Table:
    """Distinct values -> ``fn(value)`` (NULL when blank): suffixes, ZIPs, cities, states."""
    return pa.table(
        {
            "raw": pa.array(values, pa.string()),
            "value": pa.array([fn(v) or None for v in values], pa.string()),
        },
        schema=SIMPLE_MAP_SCHEMA,
    )


def street_map(values: Sequence[str]) -> pa.Table:
    """Distinct street lines -> (number, standardised street), by the same function as requests."""
    parsed = [addresses.parse_street_line(v) for v in values]
    return pa.table(
        {
            "raw": pa.array(values, pa.string()),
            "number": pa.array([p[0] or None for p in parsed], pa.string()),
            "street": pa.array([p[1] or None for p in parsed], pa.string()),
        },
        schema=STREET_MAP_SCHEMA,
    )


MapBuilder = Callable[[Sequence[str]], pa.Table]

VALUE_MAPS: dict[str, tuple[str, str, MapBuilder]] = {
    "first_map": ("taxpayers", "first_name", lambda v: given_map(v, middle=False)),
    "middle_map": ("taxpayers", "middle_name", lambda v: given_map(v, middle=True)),
    "last_map": ("taxpayers", "last_name", surname_map),
    "suffix_map": ("taxpayers", "suffix", lambda v: simple_map(v, names.parse_suffix_field)),
    "street_lines": ("addresses", "street", street_map),
    "zip_map": ("addresses", "zip", lambda v: simple_map(v, addresses.normalize_zip)),
    "city_map": ("addresses", "city", lambda v: simple_map(v, addresses.normalize_city)),
    "state_map": ("addresses", "state", lambda v: simple_map(v, addresses.normalize_state)),
}
"""Every map the prepare SQL joins: name -> (source table, source column, builder).

The source column is read as text (a ZIP stored as a number is cast), and only distinct
non-NULL values are mapped.
"""


# --------------------------------------------------------------------------- requests


def requests_table(requests: Sequence[Request]) -> pa.Table:
    """The prepared columns of a batch, one row per request (``unique_id`` = ``r<line>``).

    Built by :func:`ftigate.linkage.features.request_columns`. The garbage collector is paused
    meanwhile: the columns are a million small lists that hold no cycles, and a collector
    walking all of them again and again would take a third of the time without freeing any.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        cols = request_columns(requests)
    finally:
        if paused:
            gc.enable()
    return pa.table(
        {
            col: pa.array(cols[col], pa.list_(pa.string()) if col in LIST_COLUMNS else pa.string())
            for col in PREPARED_COLUMNS
        }
    )
