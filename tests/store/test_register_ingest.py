from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from ftigate.errors import InputError
from ftigate.store.register import ingest_register, load_address_histories

TODAY = date(2026, 11, 25)

TAXPAYERS = """tin,tin_type,first_name,middle_name,last_name,suffix,dob
123-45-6789,SSN,José,,García López,,1980-02-29
912-70-1234,ITIN,Minh,Van,Nguyen,,1975-06-01
234-56-7890,SSN,John,,Smith,Jr,
"""
ADDRESSES = """tin,street,unit,city,state,zip,valid_from,source
123-45-6789,12 Calle Sol,,San Antonio,TX,78201,2021-04-15,1040:2020
123-45-6789,400 N Main St,Apt 4B,San Antonio,TX,78205-1234,2023-04-15,1040:2022
912-70-1234,55 Bolsa Ave,,Westminster,CA,92683,2022-03-01,W-7
"""


def write(
    d: Path, taxpayers: str = TAXPAYERS, addresses: str = ADDRESSES, enc: str = "utf-8"
) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    (d / "taxpayers.csv").write_bytes(taxpayers.encode(enc))
    (d / "addresses.csv").write_bytes(addresses.encode(enc))
    return d


def test_ingest_writes_typed_snapshot(tmp_path: Path) -> None:
    snap = ingest_register(write(tmp_path / "reg"), tmp_path / "snaps", TODAY)
    assert (snap.taxpayers, snap.addresses) == (3, 3)
    tp = pq.read_table(snap.path / "taxpayers.parquet").to_pandas()
    assert list(tp["tin"]) == ["123456789", "234567890", "912701234"]
    assert tp.loc[tp.tin == "123456789", "dob"].iloc[0] == date(1980, 2, 29)
    assert pd.isna(tp.loc[tp.tin == "234567890", "dob"].iloc[0])
    hist = load_address_histories(snap.path, ["123456789"])
    assert {a.street for a in hist["123456789"]} == {"12 Calle Sol", "400 N Main St"}


def test_same_content_gives_same_snapshot_id(tmp_path: Path) -> None:
    a = ingest_register(write(tmp_path / "a"), tmp_path / "snaps", TODAY)
    b = ingest_register(write(tmp_path / "b"), tmp_path / "snaps", TODAY)
    c = ingest_register(
        write(tmp_path / "c", addresses=ADDRESSES.replace("55 Bolsa", "57 Bolsa")),
        tmp_path / "snaps",
        TODAY,
    )
    assert a.id == b.id != c.id


def test_every_bad_row_is_reported_with_file_line_field(tmp_path: Path) -> None:
    bad_tp = (
        TAXPAYERS
        + "666-12-3456,SSN,Bad,,Area,,1990-01-01\n"
        + "912-40-1234,ITIN,Bad,,Group,,1990-13-01\n"
        + "123-45-6789,SSN,Dup,,Row,,\n"
    )
    bad_ad = ADDRESSES + "999-99-9999,1 A St,,X,TX,7820,2020-01-01,1040\n"
    with pytest.raises(InputError) as e:
        ingest_register(write(tmp_path / "r", bad_tp, bad_ad), tmp_path / "snaps", TODAY)
    found = {(Path(d.file or "").name, d.line, d.field) for d in e.value.details}
    assert ("taxpayers.csv", 5, "tin") in found  # area 666
    assert ("taxpayers.csv", 6, "tin") in found  # ITIN group 40
    assert ("taxpayers.csv", 6, "dob") in found  # month 13
    assert ("taxpayers.csv", 7, "tin") in found  # duplicate
    assert ("addresses.csv", 5, "tin") in found  # unknown TIN
    assert ("addresses.csv", 5, "zip") in found
    assert not (tmp_path / "snaps").exists() or not any((tmp_path / "snaps").iterdir())


def test_wrong_encoding_names_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(InputError) as e:
        ingest_register(write(tmp_path / "r", enc="latin-1"), tmp_path / "snaps", TODAY)
    assert e.value.details[0].line == 2 and "UTF-8" in e.value.message


def test_missing_column_is_named(tmp_path: Path) -> None:
    tp = TAXPAYERS.replace("tin_type,", "").replace(",SSN", "").replace(",ITIN", "")
    with pytest.raises(InputError) as e:
        ingest_register(write(tmp_path / "r", tp), tmp_path / "snaps", TODAY)
    assert e.value.details[0].field == "tin_type"


def test_malformed_csv_names_line(tmp_path: Path) -> None:
    with pytest.raises(InputError) as e:
        ingest_register(
            write(tmp_path / "r", TAXPAYERS + "1,2,3,4,5,6,7,8,9\n"), tmp_path / "snaps", TODAY
        )
    assert e.value.details[0].line == 5


def test_parquet_input_and_embedded_newlines(tmp_path: Path) -> None:
    reg = tmp_path / "reg"
    reg.mkdir()
    pd.read_csv(pd.io.common.StringIO(TAXPAYERS), dtype=str, keep_default_na=False).to_parquet(
        reg / "taxpayers.parquet"
    )
    (reg / "addresses.csv").write_text(
        ADDRESSES + '912-70-1234,"9 Elm St\nRear",,Westminster,CA,92683,2020-01-01,\n'
    )
    with pytest.raises(InputError) as e:
        ingest_register(reg, tmp_path / "snaps", TODAY)
    # the blank source on the row that starts on line 5 (it spans two lines)
    assert [(d.line, d.field) for d in e.value.details] == [(5, "source")]
