"""Address parsing: standard abbreviations, units, robustness and idempotence."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ftigate.linkage.addresses import (
    NUMBER_PATTERN,
    normalize_state,
    normalize_zip,
    parse_address,
    parse_street_line,
    split_number,
)


def test_spelling_variants_of_one_door_parse_the_same() -> None:
    a = parse_address("123 North Main Street Apt 4B", "", "Saint Paul", "Minnesota", "55101-1234")
    b = parse_address("123 N. Main St.", "#4B", "St Paul", "MN", "55101")
    assert a == b
    assert (a.number, a.street, a.unit, a.city, a.state, a.zip5) == (
        "123",
        "N MAIN ST",
        "4B",
        "ST PAUL",
        "MN",
        "55101",
    )


def test_repeated_labels_do_not_raise() -> None:
    # usaddress.tag raises RepeatedLabelError on this line; we keep the first unit.
    assert parse_street_line("99 Elm St Unit 3 Unit 4") == ("99", "ELM ST", "3")


def test_po_box_and_missing_number() -> None:
    number, street, _ = parse_street_line("PO Box 12")
    assert number == ""
    assert "BOX" in street


def test_ordinal_and_directional_words() -> None:
    assert parse_street_line("10 West Fifth Avenue")[1] == "W FIFTH AVE"
    assert parse_street_line("10 W 5th Ave")[1] == "W FIFTH AVE"


def test_zip_and_state_normalisation() -> None:
    assert normalize_zip("2134") == "02134"
    assert normalize_zip("021341234") == "02134"
    assert normalize_zip("Failed to Provide") == ""
    assert normalize_state("Texas") == "TX"
    assert normalize_state("Tex") == ""


def test_number_pattern_is_the_sql_pattern() -> None:
    # The backend runs the same pattern in DuckDB (RE2); keep it free of Python-only syntax.
    assert "(?P" not in NUMBER_PATTERN and "\\d" not in NUMBER_PATTERN
    assert split_number("12-14 MAIN ST") == ("12-14", "MAIN ST")


street_text = st.text(
    alphabet=st.sampled_from(list("0123456789 NSEWnorthMainStreetAveApt#-.,")), max_size=30
)


@given(street_text, st.sampled_from(["", "Apt 2", "#3", "Unit 4B"]))
def test_parse_is_idempotent(street: str, unit: str) -> None:
    a = parse_address(street, unit, "Los Angeles", "CA", "90001")
    again = parse_address(a.number_street, a.unit, a.city, a.state, a.zip5)
    assert again == a
