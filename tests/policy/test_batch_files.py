"""The requests-file reader (``ftigate.store.batch_files``): formats, lines, bad input.

It lives with the policy tests because it feeds them: its per-row details become MALFORMED_ROW
through ``validate_requests(..., read_problems=...)``.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ftigate.errors import InputError
from ftigate.model import REQUEST_FIELDS
from ftigate.policy.requests import validate_requests
from ftigate.store.batch_files import read_requests, read_requests_bytes

from .helpers import GOOD, sample_agreement

COLUMNS = list(REQUEST_FIELDS)


def record(rid: str, **changes: str) -> dict[str, str]:
    return {"request_id": rid, **GOOD, **changes}


def csv_bytes(
    records: list[dict[str, str]], newline: str = "\n", columns: list[str] = COLUMNS
) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator=newline, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue().encode()


def test_csv_rows_become_requests_with_physical_lines() -> None:
    data = csv_bytes([record("R1"), record("R2", street="12 Elm St\nApt 3"), record("R3")])
    rows, problems = read_requests_bytes(data, "requests.csv")
    assert problems == []
    assert [(r.line, r.request_id) for r in rows] == [(2, "R1"), (3, "R2"), (5, "R3")]
    assert rows[1].street == "12 Elm St\nApt 3"
    assert rows[0].last_name == GOOD["last_name"] and rows[0].tin == ""


def test_crlf_bom_quotes_and_blank_lines() -> None:
    data = b"\xef\xbb\xbf" + csv_bytes(
        [record("R1", reason='Said "I live here", then moved'), record("R2")], newline="\r\n"
    )
    data = data.replace(b"\r\nR2", b"\r\n\r\nR2")
    rows, problems = read_requests_bytes(data, "requests.csv")
    assert problems == []
    assert [(r.line, r.request_id) for r in rows] == [(2, "R1"), (4, "R2")]
    assert rows[0].reason == 'Said "I live here", then moved'


def test_headers_are_matched_without_case_or_padding_and_tin_is_optional() -> None:
    columns = [c for c in COLUMNS if c != "tin"]
    data = csv_bytes([record("R1")], columns=columns)
    data = data.replace(b"request_id,first_name", b" Request_ID , First_Name", 1)
    rows, _ = read_requests_bytes(data, "requests.csv")
    assert rows[0].request_id == "R1" and rows[0].first_name == GOOD["first_name"]


def test_a_row_with_the_wrong_number_of_fields_is_malformed_and_the_rest_proceed() -> None:
    good = csv_bytes([record("R1"), record("R3")])
    lines = good.decode().splitlines(keepends=True)
    lines.insert(2, "R2,Ana,extra\n")
    lines.insert(3, ",".join(["R4", *["x"] * len(COLUMNS)]) + "\n")
    rows, problems = read_requests_bytes("".join(lines).encode(), "requests.csv")
    assert [(r.line, r.request_id) for r in rows] == [(2, "R1"), (3, "R2"), (4, "R4"), (5, "R3")]
    assert [(p.line, p.file) for p in problems] == [(3, "requests.csv"), (4, "requests.csv")]
    assert "expected 17 fields, found 3" in problems[0].message
    assert rows[1].first_name == "", "a misaligned row keeps only its request_id"
    found = validate_requests(rows, sample_agreement(), read_problems=problems)
    assert [f.code.value for f in found[3]] == ["MALFORMED_ROW"]
    assert found[2] == () and found[5] == ()


def test_a_missing_column_names_the_file_and_column() -> None:
    columns = [c for c in COLUMNS if c not in ("statute", "reason")]
    with pytest.raises(InputError) as e:
        read_requests_bytes(csv_bytes([record("R1")], columns=columns), "batch/requests.csv")
    assert {(d.file, d.line, d.field) for d in e.value.details} == {
        ("batch/requests.csv", 1, "statute"),
        ("batch/requests.csv", 1, "reason"),
    }
    assert "statute" in str(e.value)


def test_unknown_and_repeated_columns_are_errors() -> None:
    data = csv_bytes([record("R1")]).replace(b"tin\n", b"tin,phone,city\n", 1)
    with pytest.raises(InputError) as e:
        read_requests_bytes(data, "requests.csv")
    assert {(d.field, d.message) for d in e.value.details} == {
        ("phone", "unknown column"),
        ("city", "column appears twice"),
    }


@pytest.mark.parametrize(
    ("data", "line"),
    [
        ("request_id,first_name\nR1,Jos\xe9\nR2,Ana\nR3,Ren\xe9e\n".encode("latin-1"), 2),
        ("request_id,first_name\nR1,Ana\nR2,Fran\xe7ois\n".encode("cp1252"), 3),
    ],
)
def test_a_wrong_encoding_names_the_file_and_every_bad_line(data: bytes, line: int) -> None:
    with pytest.raises(InputError) as e:
        read_requests_bytes(data, "requests.csv", required=("request_id", "first_name"))
    assert e.value.details[0].line == line and e.value.details[0].file == "requests.csv"
    assert "UTF-8" in e.value.message


def test_utf16_is_named() -> None:
    data = "request_id\nR1\n".encode("utf-16")
    with pytest.raises(InputError, match="UTF-16"):
        read_requests_bytes(data, "requests.csv", required=("request_id",))


def test_an_unclosed_quote_is_an_error_at_the_row_where_it_opens() -> None:
    data = b'request_id,first_name\nR1,Ana\nR2,"Luis\nR3,Eva\nR4,Ivo\n'
    with pytest.raises(InputError) as e:
        read_requests_bytes(data, "requests.csv", required=("request_id", "first_name"))
    assert e.value.details[0].line == 3


@pytest.mark.parametrize("data", [b"", b"\n\n", b"\xef\xbb\xbf"])
def test_an_empty_file_is_an_error(data: bytes) -> None:
    with pytest.raises(InputError, match="empty"):
        read_requests_bytes(data, "requests.csv")


def test_unknown_format() -> None:
    with pytest.raises(InputError, match="unknown format"):
        read_requests_bytes(b"x", "requests.xlsx")


def test_json_lines() -> None:
    lines = [
        json.dumps(record("R1", tax_periods=["2022", "2023"], zip=78701)),  # type: ignore[arg-type]
        "",
        "not json",
        json.dumps(["a", "list"]),
        json.dumps(record("R5", street={"line1": "123 Main St"})),  # type: ignore[arg-type]
        json.dumps({"request_id": "R6", "first_name": "Ana"}),
        json.dumps(record("R7", tin=None)),  # type: ignore[arg-type]
    ]
    rows, problems = read_requests_bytes("\n".join(lines).encode(), "requests.jsonl")
    assert [(r.line, r.request_id) for r in rows] == [
        (1, "R1"),
        (3, ""),
        (4, ""),
        (5, "R5"),
        (6, "R6"),
        (7, "R7"),
    ]
    assert rows[0].tax_periods == "2022;2023" and rows[0].zip == "78701"
    assert rows[5].tin == ""
    assert [p.line for p in problems] == [3, 4, 5, 6]
    assert "lacks" in problems[3].message


def test_json_lines_missing_everywhere_is_a_missing_column() -> None:
    data = json.dumps({"request_id": "R1"}).encode()
    with pytest.raises(InputError) as e:
        read_requests_bytes(data, "r.ndjson")
    assert "first_name" in {d.field for d in e.value.details}


def test_parquet_rows_are_numbered_from_one(tmp_path: Path) -> None:
    records = [record("R1"), record("R2", dob="")]
    table = pa.Table.from_pylist(records)
    table = table.set_column(
        table.column_names.index("zip"), "zip", pa.array([78701, None], type=pa.int64())
    )
    path = tmp_path / "requests.parquet"
    pq.write_table(table, path)
    rows, problems = read_requests(path)
    assert problems == []
    assert [(r.line, r.request_id, r.zip) for r in rows] == [(1, "R1", "78701"), (2, "R2", "")]


def test_parquet_dates_and_lists(tmp_path: Path) -> None:
    import datetime as dt

    table = pa.Table.from_pylist(
        [{**record("R1"), "dob": dt.date(1984, 6, 2), "officer_id": ["A1", "B2"]}]
    )
    path = tmp_path / "requests.parquet"
    pq.write_table(table, path)
    rows, problems = read_requests(path)
    assert problems == []
    assert (rows[0].dob, rows[0].officer_id) == ("1984-06-02", "A1;B2")


def test_a_corrupt_parquet_file_is_an_input_error() -> None:
    with pytest.raises(InputError, match="Parquet"):
        read_requests_bytes(b"PAR1 not really", "requests.parquet")


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        read_requests(tmp_path / "nope.csv")
