"""Read a CSV or Parquet file into string columns with the physical line of every row.

Every value is read as text: a register or batch file is judged on what it says, and a parser
that turns ``00501`` into ``501`` or ``NA`` into a missing value would hide exactly the rows an
ingest must report. Errors name the file and line (encoding errors included).

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("a,b\\n1,NA\\n")
    >>> t = read_table(p, required=("a", "b"))
    >>> (t.frame["b"].tolist(), t.lines.tolist())
    (['NA'], [2])
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ftigate.errors import Detail, InputError


@dataclass(frozen=True)
class Table:
    path: Path
    frame: pd.DataFrame  # all columns str, blanks as ""
    lines: np.ndarray  # physical 1-based line of each row (Parquet: row number + 1)


def find_table(directory: Path, stem: str) -> Path:
    """``directory/stem.parquet`` or ``directory/stem.csv``; InputError naming both if neither."""
    for ext in (".parquet", ".csv"):
        p = directory / f"{stem}{ext}"
        if p.is_file():
            return p
    raise InputError(f"{directory} has neither {stem}.csv nor {stem}.parquet", file=str(directory))


def read_table(path: Path, required: Sequence[str], optional: Sequence[str] = ()) -> Table:
    """Read ``path`` (CSV or Parquet); every required column must be present."""
    if path.suffix.lower() == ".parquet":
        frame = _read_parquet(path)
        lines = np.arange(2, len(frame) + 2)
    else:
        frame, lines = _read_csv(path)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(
            f"{path.name} lacks required column(s) {', '.join(missing)}",
            details=[
                Detail(f"missing column {c!r}", file=str(path), line=1, field=c) for c in missing
            ],
        )
    for c in optional:
        if c not in frame.columns:
            frame[c] = ""
    keep = [*required, *(c for c in optional if c not in required)]
    return Table(path, frame[keep].reset_index(drop=True), lines)


def decode_utf8(data: bytes, path: Path) -> str:
    """Strict UTF-8 (a BOM is allowed); an undecodable byte is reported with its line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise InputError(
            f"{path.name} is not UTF-8 (byte 0x{data[e.start]:02x} at line {line}); "
            "re-encode the file as UTF-8",
            file=str(path),
            line=line,
        ) from e


def _read_csv(path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    text = decode_utf8(path.read_bytes(), path)
    if not text.strip():
        raise InputError(f"{path.name} is empty", file=str(path), line=1)
    header = next(csv.reader(io.StringIO(text[: text.find("\n") + 1 or None])))
    header = [h.strip() for h in header]
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=True,
            engine="c",
        )
    except (pd.errors.ParserError, csv.Error) as e:
        raise InputError(
            f"{path.name} is not well-formed CSV: {e}",
            file=str(path),
            line=_line_of_parser_error(str(e)),
        ) from e
    frame.columns = [str(c).strip() for c in frame.columns]
    if len(set(header)) != len(header):
        dup = sorted({h for h in header if header.count(h) > 1})
        raise InputError(f"{path.name} repeats column(s) {dup}", file=str(path), line=1)
    return frame.map(str.strip), _physical_lines(text, len(frame))


def _physical_lines(text: str, rows: int) -> np.ndarray:
    """Line of each data row. Fast path when no value holds a newline; else let csv count."""
    non_blank = sum(1 for ln in text.splitlines() if ln.strip())
    if non_blank == rows + 1:
        starts = [i + 1 for i, ln in enumerate(text.splitlines()) if ln.strip()]
        return np.asarray(starts[1:], dtype=np.int64)
    reader = csv.reader(io.StringIO(text))
    next(reader)
    out: list[int] = []
    start = reader.line_num + 1
    for row in reader:
        if any(v.strip() for v in row):
            out.append(start)
        start = reader.line_num + 1
    return np.asarray(out[:rows], dtype=np.int64)


def _line_of_parser_error(message: str) -> int | None:
    # pandas: "Error tokenizing data. C error: Expected 8 fields in line 12, saw 9"
    marker = " in line "
    if marker in message:
        tail = message.split(marker, 1)[1]
        digits = "".join(ch for ch in tail.split(",", 1)[0] if ch.isdigit())
        return int(digits) if digits else None
    return None


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as e:
        raise InputError(f"{path.name} is not a readable Parquet file: {e}", file=str(path)) from e
    columns = {}
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_date(col.type) or pa.types.is_timestamp(col.type):
            col = col.cast(pa.date32()).cast(pa.string())
        elif not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
            col = col.cast(pa.string())
        columns[name.strip()] = col.to_pandas().fillna("").astype(str).str.strip()
    return pd.DataFrame(columns)
