"""Read a batch's requests file (CSV, Parquet or JSON Lines) into :class:`Request` values.

This is the I/O seam for batches: csv, pyarrow and json errors become :class:`InputError` here,
naming the file, the line and the column. The caller reads the bytes once and passes them to
:func:`read_requests_bytes`, so the SHA-256 checked against the manifest is of exactly the
bytes that were parsed.

What is an error for the whole file, and what for one row:

* the file cannot be decoded as UTF-8 (a BOM is fine; every bad line is named), its quoting is
  broken (an unclosed quote swallows every row after it), a column is missing, unknown or
  repeated, or there is no header: :class:`InputError`, nothing is read;
* a row with the wrong number of fields (CSV), a line that is not a JSON object or lacks a key
  other lines have (JSON Lines), a nested value: a :class:`Detail` with the row's line, and the
  row is still returned (with only its request_id, when that can be read) so the caller can
  refuse it ``MALFORMED_ROW`` and let the rest proceed
  (``validate_requests(..., read_problems=details)``).

Lines are physical lines for CSV (the header is line 1; a quoted value spanning lines moves
later rows down) and JSON Lines; for Parquet the line is the row number, starting at 1. Blank
lines are skipped. Every value is kept as the text the requester sent, stripped.

Example:
    >>> data = b"\\xef\\xbb\\xbfrequest_id,first_name\\r\\nR1,Ana\\r\\n\\r\\nR2\\r\\n"
    >>> rows, problems = read_requests_bytes(data, "r.csv", required=("request_id", "first_name"))
    >>> [(r.line, r.request_id, r.first_name) for r in rows]
    [(2, 'R1', 'Ana'), (4, 'R2', '')]
    >>> print(problems[0])
    r.csv:4: expected 2 fields, found 1
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ftigate.errors import Detail, InputError
from ftigate.model import REQUEST_FIELDS, Request

OPTIONAL_COLUMNS: tuple[str, ...] = ("tin",)
REQUIRED_COLUMNS: tuple[str, ...] = tuple(c for c in REQUEST_FIELDS if c not in OPTIONAL_COLUMNS)
MULTI_VALUED: frozenset[str] = frozenset({"tax_periods", "officer_id", "requested_fields"})
"""Columns that hold ``;``-separated lists; a JSON or Parquet list is joined with ``;``."""


def read_requests(path: Path) -> tuple[list[Request], list[Detail]]:
    """Read a requests file from disk; see :func:`read_requests_bytes`."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read {path}: {e.strerror}", file=str(path)) from e
    return read_requests_bytes(data, str(path))


def read_requests_bytes(
    data: bytes, name: str, *, required: Sequence[str] = REQUIRED_COLUMNS
) -> tuple[list[Request], list[Detail]]:
    """The requests in ``data`` and a Detail for every row that could not be read as a row.

    ``name`` is the file's name (its suffix picks the format) and appears in every message.
    """
    lower = name.lower()
    if lower.endswith(".parquet"):
        rows = _parquet_rows(data, name)
    elif lower.endswith((".jsonl", ".ndjson")):
        rows = _jsonl_rows(_decode(data, name), name)
    elif lower.endswith((".csv", ".txt")):
        rows = _csv_rows(_decode(data, name), name)
    else:
        raise InputError(f"{name}: unknown format; use .csv, .parquet or .jsonl", file=name)
    return _requests(rows, name, required)


# A row on its way to a Request: line, values by column, columns present, problem (or None).
_Row = tuple[int, dict[str, str], frozenset[str], str | None]


def _requests(
    rows: tuple[list[str], list[_Row]], name: str, required: Sequence[str]
) -> tuple[list[Request], list[Detail]]:
    columns, body = rows
    _check_columns(columns, name, required, body)
    requests: list[Request] = []
    details: list[Detail] = []
    for line, values, present, problem in body:
        missing = [c for c in required if c not in present]
        if problem is None and missing:
            problem = f"the row lacks {', '.join(missing)}"
        if problem is not None:
            details.append(Detail(problem, file=name, line=line))
            values = {"request_id": values.get("request_id", "")}
        requests.append(Request(line=line, **values))
    return requests, details


def _check_columns(
    columns: list[str], name: str, required: Sequence[str], body: list[_Row]
) -> None:
    problems: list[Detail] = []
    seen: set[str] = set()
    for column in columns:
        if column in seen:
            problems.append(Detail("column appears twice", file=name, line=1, field=column))
        elif column not in REQUEST_FIELDS:
            problems.append(Detail("unknown column", file=name, line=1, field=column))
        seen.add(column)
    for column in required:
        if column not in seen:
            problems.append(Detail("required column is missing", file=name, line=1, field=column))
    if problems:
        listed = ", ".join(f"{d.field} ({d.message})" for d in problems)
        raise InputError(
            f"{name}: the columns are not those of a requests file: {listed}; expected "
            f"{', '.join(REQUEST_FIELDS)} ({', '.join(OPTIONAL_COLUMNS)} optional)",
            details=problems,
        )


def _decode(data: bytes, name: str) -> str:
    """Strict UTF-8 (a BOM is dropped); every undecodable line is named."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{name} is UTF-16; save it as UTF-8", file=name, line=1)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    bad: list[Detail] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as e:
            bad.append(Detail(f"byte 0x{raw[e.start]:02x} is not UTF-8", file=name, line=number))
    shown = f"line {bad[0].line}" + (f" and {len(bad) - 1} more" if len(bad) > 1 else "")
    raise InputError(
        f"{name} is not UTF-8 ({shown}; Latin-1 or Windows-1252 perhaps); re-save it as UTF-8",
        details=bad,
    )


def _csv_rows(text: str, name: str) -> tuple[list[str], list[_Row]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    body: list[_Row] = []
    start = 1
    try:
        for row in reader:
            line, start = start, reader.line_num + 1
            if not any(v.strip() for v in row):
                continue
            if header is None:
                header = [_column(h) for h in row]
                continue
            values = {
                c: v.strip() for c, v in zip(header, row, strict=False) if c in REQUEST_FIELDS
            }
            problem = None
            if len(row) != len(header):
                problem = f"expected {len(header)} fields, found {len(row)}"
            body.append((line, values, frozenset(values), problem))
    except csv.Error as e:
        raise InputError(
            f"{name}: the CSV quoting is broken in the row starting on line {start} ({e}); "
            "every row after it would be misread",
            file=name,
            line=start,
        ) from e
    if header is None:
        raise InputError(f"{name} is empty: no header row", file=name, line=1)
    return header, body


def _jsonl_rows(text: str, name: str) -> tuple[list[str], list[_Row]]:
    body: list[_Row] = []
    columns: list[str] = []
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            body.append((line, {}, frozenset(), f"not JSON: {e.msg}"))
            continue
        if not isinstance(obj, dict):
            body.append((line, {}, frozenset(), "not a JSON object"))
            continue
        values, problem = _values(obj.items())
        for column in values:
            if column not in columns:
                columns.append(column)
        body.append((line, _known(values), frozenset(values), problem))
    if not body:
        raise InputError(f"{name} is empty: no requests", file=name, line=1)
    return columns, body


def _parquet_rows(data: bytes, name: str) -> tuple[list[str], list[_Row]]:
    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as e:
        raise InputError(f"{name} is not a readable Parquet file: {e}", file=name) from e
    columns = [_column(c) for c in table.column_names]
    body: list[_Row] = []
    for index, record in enumerate(table.to_pylist(), start=1):
        values, problem = _values((_column(k), v) for k, v in record.items())
        body.append((index, _known(values), frozenset(values), problem))
    return columns, body


def _values(items: Iterable[tuple[Any, Any]]) -> tuple[dict[str, str], str | None]:
    """JSON or Parquet values as the text a CSV would have held; a problem for nested values."""
    out: dict[str, str] = {}
    problem = None
    for key, value in items:
        column = _column(str(key))
        if isinstance(value, list) and column in MULTI_VALUED and all(_scalar(v) for v in value):
            out[column] = ";".join(_text(v) for v in value)
        elif _scalar(value):
            out[column] = _text(value)
        else:
            out[column] = ""
            problem = f"{column} holds a {type(value).__name__}, not a single value"
    return out, problem


def _scalar(value: Any) -> bool:
    kinds = str | int | float | Decimal | date
    return value is None or (isinstance(value, kinds) and not isinstance(value, bool))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _known(values: dict[str, str]) -> dict[str, str]:
    return {c: v for c, v in values.items() if c in REQUEST_FIELDS}


def _column(name: str) -> str:
    return name.strip().lstrip("\ufeff").casefold()
