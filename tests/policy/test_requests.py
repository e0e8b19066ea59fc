"""Row-level validation: every code, every rule on every row, and a TIN that changes nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftigate.errors import Detail, RefusalCode
from ftigate.model import Agreement, Request
from ftigate.policy.requests import (
    field_names,
    parse_dob,
    requested_fields_of,
    tax_period_problems,
    validate_requests,
)

from .helpers import GOOD, row, sample_agreement

AGREEMENT = sample_agreement()
TODAY = date(2026, 11, 25)
R = RefusalCode


def check(
    *rows: Request, agreement: Agreement = AGREEMENT, **kw: Any
) -> dict[int, list[tuple[str, str | None]]]:
    found = validate_requests(rows, agreement, as_of=TODAY, **kw)
    return {line: [(f.code.value, f.field) for f in fs] for line, fs in found.items()}


def codes_of(r: Request, **kw: Any) -> set[str]:
    return {code for code, _ in check(r, **kw)[r.line]}


def test_a_good_request_has_no_findings() -> None:
    assert check(row()) == {2: []}


def test_every_row_is_in_the_result_keyed_by_its_line() -> None:
    result = check(row(2), row(7, street="N/A"), row(9))
    assert list(result) == [2, 7, 9]
    assert result[2] == [] and result[9] == [] and result[7]


# --- the 2025 pattern: exact name + correct TIN + no address -------------------------------

VALID_TINS = ["123-45-6789", "123456789", "912-70-1234", "987-94-0001"]
NO_ADDRESS = [
    {"street": "Failed to Provide"},
    {"street": "Unknown Address"},
    {"street": "NA NA", "city": "NA NA", "state": "", "zip": ""},
    {"street": "", "city": "", "state": "", "zip": "78701"},
    {"street": "78701"},
    {"street": "Don't Care 12345"},
]


@pytest.mark.parametrize("tin", VALID_TINS)
@pytest.mark.parametrize("address", NO_ADDRESS)
def test_2025_pattern_name_and_matching_tin_with_no_address_is_refused(
    tin: str, address: dict[str, str]
) -> None:
    """Regression: in 2025 a name checked against a TIN released the address of rows like these."""
    with_tin = row(tin=tin, **address)
    assert R.ADDRESS_NOT_SPECIFIC.value in codes_of(with_tin)
    without = replace(with_tin, tin="")
    assert check(with_tin) == check(without), "a TIN must change no row-level finding"


@pytest.mark.parametrize(
    "changes",
    [
        {"street": ""},
        {"statute": "8 U.S.C. 1325"},
        {"tax_periods": ""},
        {"reason": "N/A"},
        {"officer_id": ""},
        {"requested_fields": "phone;email"},
        {"first_name": "FNU"},
    ],
)
@pytest.mark.parametrize("tin", VALID_TINS)
def test_no_row_level_refusal_is_overridden_by_a_valid_tin(
    changes: dict[str, str], tin: str
) -> None:
    assert check(row(tin=tin, **changes)) == check(row(**changes))
    assert check(row(tin=tin, **changes))[2]


@settings(max_examples=200, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            k: st.sampled_from([v, "", "N/A", "Unknown", "12345"])
            for k, v in GOOD.items()
            if k != "tin"
        }
    ),
    st.sampled_from(VALID_TINS),
)
def test_adding_a_valid_tin_never_removes_a_finding(values: dict[str, str], tin: str) -> None:
    r = Request(line=2, request_id="R1", **values)
    assert codes_of(replace(r, tin=tin)) >= codes_of(r)


# --- one test per code ------------------------------------------------------------------------


def test_duplicate_request_ids_refuse_the_second_and_later_rows() -> None:
    result = check(row(2, "A"), row(3, "A"), row(4, "B"), row(5, " A "))
    assert result[2] == [] and result[4] == []
    assert ("DUPLICATE_REQUEST", "request_id") in result[3]
    assert ("DUPLICATE_REQUEST", "request_id") in result[5]


@pytest.mark.parametrize(
    "changes",
    [
        {"first_name": ""},
        {"last_name": ""},
        {"first_name": "FNU"},
        {"last_name": "LNU"},
        {"first_name": "Unknown"},
        {"last_name": "N/A"},
        {"first_name": "?"},
    ],
)
def test_missing_name(changes: dict[str, str]) -> None:
    assert "MISSING_NAME" in codes_of(row(**changes))


@pytest.mark.parametrize(
    "changes",
    [
        {"first_name": "Na", "last_name": "Kim"},
        {"last_name": "Na"},
        {"first_name": "Nil"},
        {"first_name": "X"},  # an initial is a name; ambiguity is the matcher's business
        {"middle_name": ""},
        {"middle_name": "NMN"},
        {"last_name": "O'Brien-Smith"},
        {"last_name": "de la Cruz y Pérez"},
        {"first_name": "José María"},
        {"last_name": "Nguyễn"},
        {"last_name": "St. John Jr."},
    ],
)
def test_real_names_pass(changes: dict[str, str]) -> None:
    assert check(row(**changes)) == {2: []}


@pytest.mark.parametrize(
    "changes", [{"first_name": "J0hn"}, {"last_name": "Smith2"}, {"middle_name": "<b>"}]
)
def test_names_with_digits_or_symbols_are_malformed(changes: dict[str, str]) -> None:
    assert codes_of(row(**changes)) == {"MALFORMED_ROW"}


def test_missing_address() -> None:
    r = row(street="", unit="", city="", state="", zip="")
    assert check(r)[2] == [("MISSING_ADDRESS", "street")]


def test_required_address_fields_come_from_the_agreement() -> None:
    no_zip, no_city = row(zip=""), row(city="")
    assert check(no_zip)[2] == [], "street, city and state locate a house"
    assert check(no_city)[2] == [("ADDRESS_NOT_SPECIFIC", "city")], "the sample requires city"
    strict = replace(AGREEMENT, required_fields=(*AGREEMENT.required_fields, "zip"))
    assert check(no_zip, agreement=strict)[2] == [("ADDRESS_NOT_SPECIFIC", "zip")]


@pytest.mark.parametrize("value", ["", "N/A", "None", "-", "Unknown", "TBD"])
def test_missing_tax_period(value: str) -> None:
    assert check(row(tax_periods=value))[2] == [("MISSING_TAX_PERIOD", "tax_periods")]


@pytest.mark.parametrize(
    "value",
    [
        "2023",
        "2022;2023",
        "2022, 2023",
        "2022 2023",
        "2023-Q1",
        "2023q4",
        "TY2023",
        "202312",
        "2023-12",
        "2019-2021",
        "2019 to 2021",
        "2019 through 2021; 2023",
    ],
)
def test_accepted_tax_periods(value: str) -> None:
    assert check(row(tax_periods=value))[2] == []


@pytest.mark.parametrize(
    "value",
    ["all", "all years", "2023-13", "1900", "2030", "2023-Q5", "23", "2021-2019", "2023/24"],
)
def test_malformed_tax_periods(value: str) -> None:
    assert check(row(tax_periods=value))[2] == [("MALFORMED_ROW", "tax_periods")]


def test_tax_period_problems_say_which_token() -> None:
    assert tax_period_problems("2022; 2023-13", TODAY) == ["'2023-13' is not a tax period"]
    assert tax_period_problems("2027", TODAY) == ["'2027' is outside 1913-2026"]


@pytest.mark.parametrize(
    "value",
    [
        "8 U.S.C. 1326",
        "8 USC 1326",
        "8 U.S.C. § 1326(a)",
        "8 U.S.C. 1324(a)(1)(A)(iv)",
        "8 USC 1253(a)(1)",
        "8 U.S.C. 1326; 8 U.S.C. 1324",
    ],
)
def test_statutes_in_the_agreement(value: str) -> None:
    assert check(row(statute=value))[2] == []


@pytest.mark.parametrize(
    "value",
    [
        "",
        "N/A",
        "8 U.S.C. 1325",
        "8 U.S.C. 1324a",
        "8 U.S.C. 1253",
        "18 U.S.C. 1546",
        "INA 276",
        "immigration law",
        "26 U.S.C. 7201",
        "8 U.S.C. 1326; 8 U.S.C. 1227",
    ],
)
def test_statute_not_in_agreement(value: str) -> None:
    assert ("STATUTE_NOT_IN_AGREEMENT", "statute") in check(row(statute=value))[2]


@pytest.mark.parametrize(
    "value",
    [
        "",
        "N/A",
        "None",
        "-",
        "TBD",
        "see file",
        "Same as above",
        "Immigration enforcement",
        "Criminal investigation",
        "Law enforcement purposes",
        "8 USC 1326",
        "ICE ERO request",
        "Locate subject for investigation",
    ],
)
def test_missing_or_boilerplate_reason(value: str) -> None:
    assert check(row(reason=value))[2] == [("MISSING_REASON", "reason")]


@pytest.mark.parametrize(
    "value",
    [
        "Reentered after removal in 2019; warrant issued",
        "Suspected of smuggling three people across the border near Laredo in March 2025",
        "Final order of removal 2021, failed to depart",
    ],
)
def test_specific_reasons_pass(value: str) -> None:
    assert check(row(reason=value))[2] == []


@pytest.mark.parametrize(
    "value", ["", "N/A", "Unknown", "ICE", "ERO", "All officers", "various", "-"]
)
def test_missing_officer(value: str) -> None:
    assert check(row(officer_id=value))[2] == [("MISSING_OFFICER", "officer_id")]


@pytest.mark.parametrize("value", ["OFC-17", "jsmith", "A123;B456", "ICE-ERO-0042", "Officer 17"])
def test_named_officers_pass(value: str) -> None:
    assert check(row(officer_id=value))[2] == []


def test_a_missing_case_number_leaves_engagement_unshown() -> None:
    assert check(row(case_number=""))[2] == [("MISSING_OFFICER", "case_number")]
    relaxed = replace(
        AGREEMENT, required_fields=tuple(f for f in AGREEMENT.required_fields if f != "case_number")
    )
    assert check(row(case_number=""), agreement=relaxed)[2] == []


def batch_for(officer: str, cases: int, start: int = 2) -> list[Request]:
    return [
        row(start + i, f"Q{start + i}", officer_id=officer, case_number=f"C-{i}")
        for i in range(cases)
    ]


def test_an_officer_over_the_limit_refuses_every_row_naming_them() -> None:
    limit = AGREEMENT.max_cases_per_officer
    busy = batch_for("OFC-1", limit + 1)
    other = row(1000, "OTHER", officer_id="OFC-2", case_number="C-0")
    result = check(*busy, other)
    assert all(("ENGAGEMENT_IMPLAUSIBLE", "officer_id") in result[r.line] for r in busy)
    assert result[1000] == []


def test_at_the_limit_is_allowed_and_repeated_cases_count_once() -> None:
    limit = AGREEMENT.max_cases_per_officer
    rows = batch_for("OFC-1", limit)
    rows += [row(5000 + i, f"X{i}", officer_id="ofc-1 ", case_number="c-0") for i in range(5)]
    assert all(not fs for fs in check(*rows).values())


def test_co_named_officers_are_each_counted() -> None:
    limit = AGREEMENT.max_cases_per_officer
    rows = batch_for("OFC-1", limit)
    shared = row(9000, "S", officer_id="OFC-2;OFC-1", case_number="NEW-CASE")
    result = check(*rows, shared)
    message = next(f.message for f in validate_requests([*rows, shared], AGREEMENT)[9000])
    assert ("ENGAGEMENT_IMPLAUSIBLE", "officer_id") in result[9000]
    assert "'OFC-1'" in message and f"{limit + 1} cases" in message


@pytest.mark.parametrize(
    "value", ["phone", "email", "last_known_address;phone", "ssn", "Phone Number", "income"]
)
def test_field_not_disclosable(value: str) -> None:
    assert check(row(requested_fields=value))[2] == [("FIELD_NOT_DISCLOSABLE", "requested_fields")]


@pytest.mark.parametrize(
    "value", ["", "N/A", "last_known_address", "Address", "LKA", "last known address"]
)
def test_disclosable_fields_and_the_blank_default(value: str) -> None:
    r = row(requested_fields=value)
    assert check(r)[2] == []
    assert requested_fields_of(r, AGREEMENT) == ("last_known_address",)


def test_field_names_are_normalised() -> None:
    assert field_names("Address; Phone Number, last-known-address") == (
        "last_known_address",
        "phone_number",
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"dob": "1980-02-30"}, "dob"),
        ({"dob": "31/12/1980"}, "dob"),
        ({"dob": "yesterday"}, "dob"),
        ({"dob": "1850-01-01"}, "dob"),
        ({"dob": "2027-01-01"}, "dob"),
        ({"tin": "666-12-3456"}, "tin"),
        ({"tin": "000-12-3456"}, "tin"),
        ({"tin": "912-45-1234"}, "tin"),
        ({"tin": "12345"}, "tin"),
        ({"tin": "123-45-678X"}, "tin"),
        ({"street": "123 Main\x00 St"}, "street"),
        ({"reason": "Reentry\u202e after removal order"}, "reason"),
        ({"city": "Austin" * 100}, "city"),
        ({"request_id": ""}, "request_id"),
    ],
)
def test_malformed_row(changes: dict[str, str], field: str) -> None:
    rid = changes.pop("request_id", None)
    r = row(**changes) if rid is None else replace(row(**changes), request_id=rid)
    assert ("MALFORMED_ROW", field) in check(r)[2]


@pytest.mark.parametrize(
    "value", ["1984-06-02", "06/02/1984", "1984/06/02", "19840602", "", "Unknown"]
)
def test_accepted_dobs(value: str) -> None:
    assert check(row(dob=value))[2] == []


def test_parse_dob() -> None:
    assert parse_dob("06/02/1984") == date(1984, 6, 2)
    assert parse_dob("1984-6-2") == date(1984, 6, 2)
    assert parse_dob("02.06.1984") is None


def test_a_field_the_agreement_requires_without_its_own_rule_is_malformed_when_blank() -> None:
    strict = replace(AGREEMENT, required_fields=(*AGREEMENT.required_fields, "dob"))
    assert check(row(dob=""), agreement=strict)[2] == [("MALFORMED_ROW", "dob")]


def test_unreadable_rows_are_malformed_and_judged_on_nothing_else() -> None:
    broken = Request(line=3, request_id="B")
    twin = Request(line=4, request_id="B")
    result = check(
        row(2), broken, twin, read_problems=[Detail("expected 17 fields, found 12", line=3)]
    )
    assert result[3] == [("MALFORMED_ROW", None)]
    assert ("DUPLICATE_REQUEST", "request_id") in result[4]


def test_every_problem_of_a_row_is_reported() -> None:
    bad = row(
        first_name="",
        street="Failed to Provide",
        tax_periods="",
        statute="8 U.S.C. 1325",
        reason="N/A",
        officer_id="",
        requested_fields="phone",
        dob="1980-13-01",
        tin="666-00-0000",
    )
    assert [c for c, _ in check(bad)[2]] == [
        "MISSING_NAME",
        "ADDRESS_NOT_SPECIFIC",
        "MISSING_TAX_PERIOD",
        "STATUTE_NOT_IN_AGREEMENT",
        "MISSING_REASON",
        "MISSING_OFFICER",
        "FIELD_NOT_DISCLOSABLE",
        "MALFORMED_ROW",
        "MALFORMED_ROW",
    ]
