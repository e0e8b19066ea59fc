"""Register ingest: validate taxpayers and addresses, write an immutable Parquet snapshot.

A snapshot is a folder ``<data_dir>/snapshots/<id>/`` holding ``taxpayers.parquet`` and
``addresses.parquet`` (TINs as 9 digits, dates as DATE) plus whatever the linkage backend
prepares under ``linkage/``. Its id derives from the content, so ingesting the same files again
yields the same snapshot (and reuses its trained model). Validation is vectorised so that two
million taxpayers load in seconds; every bad row is reported with file, line and field, and a
failed ingest writes nothing: the folder is built under a temporary name and renamed into place
only when complete, and the metadata row is committed after that.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ftigate.errors import Detail, InputError
from ftigate.model import AddressRecord
from ftigate.store.tabular import Table, find_table, read_table
from ftigate.tin import ITIN_GROUPS

TAXPAYER_COLUMNS = ("tin", "tin_type", "first_name", "middle_name", "last_name", "suffix", "dob")
ADDRESS_COLUMNS = ("tin", "street", "unit", "city", "state", "zip", "valid_from", "source")
_MAX_REPORTED = 10_000  # a file with more bad rows than this is wrong as a whole

TAXPAYER_SCHEMA = pa.schema(
    [
        ("tin", pa.string()),
        ("tin_type", pa.string()),
        ("first_name", pa.string()),
        ("middle_name", pa.string()),
        ("last_name", pa.string()),
        ("suffix", pa.string()),
        ("dob", pa.date32()),
    ]
)
ADDRESS_SCHEMA = pa.schema(
    [
        ("tin", pa.string()),
        ("street", pa.string()),
        ("unit", pa.string()),
        ("city", pa.string()),
        ("state", pa.string()),
        ("zip", pa.string()),
        ("valid_from", pa.date32()),
        ("source", pa.string()),
    ]
)


@dataclass(frozen=True)
class SnapshotFiles:
    id: str
    path: Path
    source: str
    taxpayers: int
    addresses: int
    content_sha256: str


class _Problems:
    """Collects per-row problems as Details, vectorised over boolean masks."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.details: list[Detail] = []

    def flag(self, mask: pd.Series | np.ndarray, field: str, message: str) -> None:
        idx = np.flatnonzero(np.asarray(mask, dtype=bool))
        room = _MAX_REPORTED - len(self.details)
        for i in idx[: max(room, 0)]:
            self.details.append(
                Detail(
                    message, file=str(self.table.path), line=int(self.table.lines[i]), field=field
                )
            )


def _digits_tin(s: pd.Series) -> pd.Series:
    return s.str.replace(r"[\s-]", "", regex=True)


def tin_validity(tins: pd.Series, types: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Vectorised TIN rules: (tin is well-formed for its declared type, declared type is known)."""
    digits = _digits_tin(tins)
    shaped = tins.str.fullmatch(r"\d{3}-?\d{2}-?\d{4}") & (digits.str.len() == 9)
    area = pd.to_numeric(digits.str[:3].where(shaped, "0"), errors="coerce").fillna(0).astype(int)
    group = pd.to_numeric(digits.str[3:5].where(shaped, "0"), errors="coerce").fillna(0).astype(int)
    serial = pd.to_numeric(digits.str[5:].where(shaped, "0"), errors="coerce").fillna(0).astype(int)
    is_itin = shaped & (area >= 900) & group.isin(sorted(ITIN_GROUPS))
    is_ssn = shaped & (area < 900) & ~area.isin([0, 666]) & (group != 0) & (serial != 0)
    upper = types.str.upper()
    known_type = upper.isin(["SSN", "ITIN"])
    ok = ((upper == "SSN") & is_ssn) | ((upper == "ITIN") & is_itin)
    return ok, known_type


def _parse_dates(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, format="%Y-%m-%d", errors="coerce")


def validate_taxpayers(table: Table, today: date) -> tuple[pd.DataFrame, list[Detail]]:
    f = table.frame
    p = _Problems(table)
    ok, known_type = tin_validity(f["tin"], f["tin_type"])
    p.flag(~known_type, "tin_type", "tin_type must be SSN or ITIN")
    p.flag(known_type & ~ok, "tin", "not a valid TIN of the declared tin_type")
    digits = _digits_tin(f["tin"])
    p.flag(ok & digits.duplicated(keep="first"), "tin", "TIN appears twice in taxpayers")
    p.flag(f["first_name"] == "", "first_name", "first_name is blank")
    p.flag(f["last_name"] == "", "last_name", "last_name is blank")
    dob = _parse_dates(f["dob"])
    p.flag((f["dob"] != "") & dob.isna(), "dob", "dob is not a YYYY-MM-DD date")
    p.flag(
        dob.notna() & ((dob.dt.date > today) | (dob.dt.year < 1890)),
        "dob",
        "dob is in the future or before 1890",
    )
    out = pd.DataFrame(
        {
            "tin": digits,
            "tin_type": f["tin_type"].str.upper(),
            "first_name": f["first_name"],
            "middle_name": f["middle_name"],
            "last_name": f["last_name"],
            "suffix": f["suffix"],
            "dob": dob.dt.date,
        }
    )
    return out, p.details


def validate_addresses(
    table: Table, known_tins: pd.Series, today: date
) -> tuple[pd.DataFrame, list[Detail]]:
    f = table.frame
    p = _Problems(table)
    digits = _digits_tin(f["tin"])
    shaped = digits.str.fullmatch(r"\d{9}")
    p.flag(~shaped, "tin", "tin is not a 9-digit TIN")
    p.flag(shaped & ~digits.isin(known_tins), "tin", "tin is not in taxpayers")
    p.flag(f["street"] == "", "street", "street is blank")
    p.flag(f["city"] == "", "city", "city is blank")
    p.flag(~f["state"].str.fullmatch(r"[A-Za-z]{2}"), "state", "state is not a 2-letter code")
    p.flag(~f["zip"].str.fullmatch(r"\d{5}(-?\d{4})?"), "zip", "zip is not a 5- or 9-digit ZIP")
    vf = _parse_dates(f["valid_from"])
    p.flag(vf.isna(), "valid_from", "valid_from is not a YYYY-MM-DD date")
    p.flag(vf.notna() & (vf.dt.date > today), "valid_from", "valid_from is in the future")
    p.flag(f["source"] == "", "source", "source is blank")
    out = pd.DataFrame(
        {
            "tin": digits,
            "street": f["street"],
            "unit": f["unit"],
            "city": f["city"],
            "state": f["state"].str.upper(),
            "zip": f["zip"],
            "valid_from": vf.dt.date,
            "source": f["source"],
        }
    )
    return out, p.details


def _content_sha256(paths: Iterable[Path]) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(path.name.encode() + b"\0")
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        h.update(b"\0")
    return h.hexdigest()


def ingest_register(directory: Path, snapshots_root: Path, today: date) -> SnapshotFiles:
    """Validate ``directory``'s taxpayers and addresses; write the snapshot folder atomically.

    Raises InputError listing every bad row (file, line, field); nothing is written then.
    """
    tp_path = find_table(directory, "taxpayers")
    ad_path = find_table(directory, "addresses")
    tp_table = read_table(
        tp_path,
        required=("tin", "tin_type", "first_name", "last_name"),
        optional=("middle_name", "suffix", "dob"),
    )
    ad_table = read_table(
        ad_path,
        required=("tin", "street", "city", "state", "zip", "valid_from"),
        optional=("unit", "source"),
    )
    taxpayers, problems = validate_taxpayers(tp_table, today)
    addresses, more = validate_addresses(ad_table, taxpayers["tin"], today)
    problems += more
    if problems:
        raise InputError(
            f"register ingest refused: {len(problems)}"
            f"{'+' if len(problems) >= _MAX_REPORTED else ''} "
            "bad value(s); the previous snapshot stays current",
            details=problems,
        )
    sha = _content_sha256([tp_path, ad_path])
    snap_id = f"snap-{sha[:16]}"
    final = snapshots_root / snap_id
    if not (final / "taxpayers.parquet").exists():
        tmp = snapshots_root / f".tmp-{uuid.uuid4().hex}"
        tmp.mkdir(parents=True)
        try:
            _write(
                taxpayers.sort_values("tin", kind="stable"),
                TAXPAYER_SCHEMA,
                tmp / "taxpayers.parquet",
            )
            _write(
                addresses.sort_values(["tin", "valid_from"], kind="stable"),
                ADDRESS_SCHEMA,
                tmp / "addresses.parquet",
            )
            os.replace(tmp, final) if not final.exists() else shutil.rmtree(tmp)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return SnapshotFiles(snap_id, final, str(directory), len(taxpayers), len(addresses), sha)


def _write(frame: pd.DataFrame, schema: pa.Schema, path: Path) -> None:
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    pq.write_table(table, path, compression="zstd")


def load_address_histories(
    snapshot_path: Path, tins: Sequence[str]
) -> dict[str, list[AddressRecord]]:
    """Every address of the given TINs, read from the snapshot's Parquet."""
    if not tins:
        return {}
    table = pq.read_table(
        snapshot_path / "addresses.parquet", filters=[("tin", "in", list(set(tins)))]
    )
    out: dict[str, list[AddressRecord]] = {}
    for row in table.to_pylist():
        out.setdefault(row["tin"], []).append(
            AddressRecord(
                tin=row["tin"],
                street=row["street"],
                unit=row["unit"] or "",
                city=row["city"],
                state=row["state"],
                zip=row["zip"],
                valid_from=row["valid_from"],
                source=row["source"] or "",
            )
        )
    return out


@dataclass(frozen=True)
class Person:
    tin: str
    tin_type: str
    first_name: str
    middle_name: str
    last_name: str
    suffix: str
    dob: date | None


def load_people(snapshot_path: Path, tins: Sequence[str]) -> dict[str, Person]:
    """The taxpayers with these TINs, by TIN (absent TINs are simply missing).

    Only an officer's review needs this; a Parquet filter by TIN keeps the register unread.
    """
    if not tins:
        return {}
    table = pq.read_table(
        snapshot_path / "taxpayers.parquet", filters=[("tin", "in", sorted(set(tins)))]
    )
    return {
        row["tin"]: Person(
            tin=row["tin"],
            tin_type=row["tin_type"] or "",
            first_name=row["first_name"] or "",
            middle_name=row["middle_name"] or "",
            last_name=row["last_name"] or "",
            suffix=row["suffix"] or "",
            dob=row["dob"],
        )
        for row in table.to_pylist()
    }
