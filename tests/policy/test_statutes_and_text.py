"""U.S.C. citations compared by section; placeholders told apart from values by their words."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ftigate.policy.statutes import parse_citation
from ftigate.policy.text import NAME_NULL_WORDS, bad_characters, is_placeholder

SAME_AS_1326 = [
    "8 U.S.C. 1326",
    "8 USC 1326",
    "8 U.S.C. § 1326",
    "8 U.S.C. §1326",
    "8 U.S.C. §§ 1326",
    "8 U.S.C. Sec. 1326",
    "8 U.S.C. Section 1326",
    "8 U.S.C.A. § 1326",
    "Title 8, U.S.C., Section 1326",
    "8 U.S. Code § 1326",
    "8 United States Code 1326",
    "8 u.s.c. 1326(a)",
    "8 U.S.C. 1326 (b)(2)",
    " 8  U. S. C.  1326 ",
]


@pytest.mark.parametrize("text", SAME_AS_1326)
def test_spellings_of_the_same_section_match(text: str) -> None:
    allowed = parse_citation("8 U.S.C. 1326")
    cited = parse_citation(text)
    assert allowed is not None and cited is not None and allowed.covers(cited)


@pytest.mark.parametrize(
    "text",
    [
        "8 U.S.C. 1325",  # a different section (improper entry)
        "8 U.S.C. 1326a",  # a lettered section is another section
        "18 U.S.C. 1326",  # another title
        "8 U.S.C. 132",
        "8 U.S.C. 13260",
    ],
)
def test_other_sections_do_not_match(text: str) -> None:
    allowed = parse_citation("8 U.S.C. 1326")
    cited = parse_citation(text)
    assert allowed is not None and cited is not None and not allowed.covers(cited)


def test_a_subsection_allowance_does_not_cover_the_whole_section() -> None:
    allowed = parse_citation("8 U.S.C. 1253(a)(1)")
    assert allowed is not None
    covered = [parse_citation(s) for s in ("8 U.S.C. 1253(a)(1)", "8 USC 1253(A)(1)(B)")]
    assert all(c is not None and allowed.covers(c) for c in covered)
    for text in ("8 U.S.C. 1253", "8 U.S.C. 1253(a)", "8 U.S.C. 1253(a)(2)", "8 U.S.C. 1253(b)"):
        cited = parse_citation(text)
        assert cited is not None and not allowed.covers(cited), text


@pytest.mark.parametrize(
    "text",
    ["INA 276", "8 CFR 241.1", "1326", "8 U.S.C.", "immigration law", "", "8 U.S.C. 1326 note"],
)
def test_unrecognised_citations_parse_to_none(text: str) -> None:
    assert parse_citation(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "Failed to Provide",
        "Unknown Address",
        "NA NA",
        "N/A",
        "n/a",
        "N.A.",
        "None",
        "NULL",
        "Don't Care 12345",
        "Refused",
        "Not Available",
        "TBD",
        "XXX",
        "xxxx",
        "Homeless",
        "No Fixed Address",
        "?",
        "-",
        "--",
        "...",
        "0",
        "0000",
        "Not Known",
        "Address Withheld",
        "Same as above",
        "nan",
        "NaN",
        "#N/A",
        "#VALUE!",
        "Unknown, Unknown",
        "unk",
        "Declined",
        "Not provided",
        "No address on file",
        "Information not available",
        "Address unknown",
        "UNKNOWN UNKNOWN",
        "Pending",
        "Missing",
        "Blank",
        "n/k",
        "Do not know",
        "Nowhere",
    ],
)
def test_placeholders(text: str) -> None:
    assert is_placeholder(text)


@pytest.mark.parametrize(
    "text",
    [
        "123 Nashville Ave",
        "100 State St",
        "Main Street",
        "Naperville",
        "Nome",
        "1 Nassau St",
        "Anaheim",
        "Unknownville Rd 12",
        "Notting Hill",
        "Nonesuch Ln",
        "12345",
        "",
        "   ",
        "Ave Maria",
        "No Name Rd",
        "Street",
    ],
)
def test_values_that_are_not_placeholders(text: str) -> None:
    assert not is_placeholder(text)


@pytest.mark.parametrize("name", ["Na", "NA", "Nil", "House", "Street", "Field", "Doe", "Do"])
def test_real_names_are_not_placeholders_for_name_fields(name: str) -> None:
    assert not is_placeholder(name, NAME_NULL_WORDS)


@pytest.mark.parametrize("name", ["FNU", "LNU", "Unknown", "N/A", "?", "NFN", "xxx"])
def test_name_placeholders(name: str) -> None:
    assert is_placeholder(name, NAME_NULL_WORDS)


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("Main\x00St", True),
        ("a\x1bb", True),
        ("a\u202eb", True),
        ("Caf\ufffd", True),
        ("123 Main St\nApt 4", False),
        ("José\tRuiz", False),
        ("Zoë", False),
    ],
)
def test_bad_characters(text: str, bad: bool) -> None:
    assert (bad_characters(text) is not None) is bad


@settings(deadline=None)
@given(st.text(alphabet=st.characters(whitelist_categories=("P", "Zs")), min_size=1))
def test_punctuation_alone_is_always_a_placeholder(text: str) -> None:
    if text.strip():
        assert is_placeholder(text)
