"""Response building: minimisation, no reasons for non-disclosure, golden bytes.

Regenerate the golden file with ``FTIGATE_UPDATE_GOLDEN=1 pytest tests/disclosure``.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from ftigate.disclosure.last_known import last_known_address, source_rank
from ftigate.disclosure.response import (
    RESPONSE_COLUMNS,
    response_csv,
    response_row,
)
from ftigate.errors import RefusalCode
from ftigate.model import AddressRecord, Outcome, ResponseStatus

GOLDEN = Path(__file__).parent / "golden" / "response.csv"
ADDR = [
    AddressRecord(
        "123456789",
        "12 Calle Sol",
        "",
        "San Antonio",
        "TX",
        "78201",
        date(2021, 4, 15),
        "1040:2020",
    ),
    AddressRecord(
        "123456789",
        "400 N Main St",
        "Apt 4B",
        "San Antonio",
        "TX",
        "78205",
        date(2023, 4, 15),
        "W-2:2022",
    ),
    AddressRecord("123456789", "9 Oak Ln", "", "Austin", "TX", "78701", date(2023, 4, 15), "8822"),
]
COLS = ("street", "unit", "city", "state", "zip")


def test_last_known_is_newest_then_change_of_address_notice() -> None:
    assert last_known_address(ADDR).street == "9 Oak Ln"
    assert last_known_address(ADDR[:2]).street == "400 N Main St"
    assert (
        source_rank("8822")
        < source_rank("1040:2022")
        < source_rank("W-2:2022")
        < source_rank("whatever")
    )
    with pytest.raises(ValueError):
        last_known_address([])


def test_only_allowed_columns_are_disclosed() -> None:
    row = response_row("R1", Outcome.DISCLOSE, (), last_known_address(ADDR), ("city", "state"))
    assert dict(row.fields) == {"city": "Austin", "state": "TX"}
    assert row.status is ResponseStatus.DISCLOSED


def test_non_disclosure_says_nothing_and_refusal_gives_its_code() -> None:
    nd = response_row("R2", Outcome.NOT_DISCLOSED, (), None, COLS)
    assert nd.refusal_code is None and not nd.fields
    rf = response_row(
        "R3",
        Outcome.REFUSED,
        (RefusalCode.ADDRESS_NOT_SPECIFIC, RefusalCode.MISSING_REASON),
        last_known_address(ADDR),
        COLS,
    )
    assert rf.refusal_code is RefusalCode.ADDRESS_NOT_SPECIFIC and not rf.fields
    with pytest.raises(ValueError):
        response_row("R4", Outcome.REVIEW, (), None, COLS)


def test_disclosure_requires_an_address() -> None:
    with pytest.raises(ValueError):
        response_row("R5", Outcome.DISCLOSE, (), None, COLS)


def test_response_csv_matches_golden_file() -> None:
    lka = last_known_address(ADDR)
    rows = [
        response_row("ICE-0001", Outcome.DISCLOSE, (), replace(lka, unit='Apt 2, "rear"'), COLS),
        response_row("ICE-0002", Outcome.NOT_DISCLOSED, (), None, COLS),
        response_row("ICE-0003", Outcome.REFUSED, (RefusalCode.ADDRESS_NOT_SPECIFIC,), None, COLS),
        response_row("ICE-0004", Outcome.DISCLOSE, (), replace(lka, street="12 Calle Peña"), COLS),
    ]
    data = response_csv(rows)
    if os.environ.get("FTIGATE_UPDATE_GOLDEN"):
        GOLDEN.write_bytes(data)
    assert data == GOLDEN.read_bytes()
    assert data.splitlines()[0].decode() == ",".join(RESPONSE_COLUMNS)


def test_phone_and_email_have_no_column_at_all() -> None:
    assert not {"phone", "email", "tin", "dob"} & set(RESPONSE_COLUMNS)
