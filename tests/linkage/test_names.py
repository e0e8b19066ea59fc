"""Name normalisation: real-world variation, suffixes, particles and idempotence."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ftigate.linkage.names import (
    given_keys,
    names_equivalent,
    normalize_text,
    parse_name,
    parse_surname_field,
    surname_keys,
)


def test_accents_case_and_punctuation_are_normalised() -> None:
    assert normalize_text("  María-José O'Brien ") == "maria jose obrien"
    assert parse_name("JOSÉ", "", "NÚÑEZ").first == "jose"
    assert parse_name("José", "", "Núñez") == parse_name("JOSE", "", "nunez")


def test_compound_hispanic_surname_with_particles() -> None:
    n = parse_name("María", "", "de la Cruz García y López")
    assert n.last_parts == ("cruz", "garcia", "lopez")
    assert n.last == "cruz garcia lopez"
    assert parse_surname_field("de la Cruz").parts == ("cruz",)
    assert parse_surname_field("Del Río").parts == ("rio",)


def test_particle_that_is_a_whole_surname_is_kept() -> None:
    # Le and Do are Vietnamese family names, not particles, when they stand alone.
    assert parse_surname_field("Le").parts == ("le",)
    assert parse_surname_field("Do").parts == ("do",)


def test_spanish_hypocorisms_are_variants() -> None:
    pairs = [
        ("Paco", "Francisco"),
        ("Pancho", "Francisco"),
        ("Curro", "Francisco"),
        ("Pepe", "José"),
        ("Lupe", "Guadalupe"),
        ("Nacho", "Ignacio"),
        ("Chuy", "Jesús"),
        ("Quique", "Enrique"),
        ("Concha", "Concepción"),
        ("Lola", "Dolores"),
        ("Chayo", "Rosario"),
        ("Manolo", "Manuel"),
        ("Beto", "Roberto"),
        ("Beto", "Alberto"),
        ("Lalo", "Eduardo"),
        ("Memo", "Guillermo"),
        ("Rafa", "Rafael"),
        ("Toño", "Antonio"),
        ("Meche", "Mercedes"),
    ]
    for nick, full in pairs:
        a, b = parse_name(nick, "", "X"), parse_name(full, "", "X")
        assert set(a.first_keys) & set(b.first_keys), (nick, full)


def test_english_nicknames_come_from_the_nicknames_package() -> None:
    assert names_equivalent("bill", "william")
    assert names_equivalent("peggy", "margaret")
    assert not names_equivalent("ana", "eva")


def test_arabic_transliterations_and_abd_compounds() -> None:
    assert names_equivalent("mohamed", "muhammad")
    assert names_equivalent("mohammed", "mohamad")
    forms = ["Abd al-Rahman", "Abdul Rahman", "Abdel Rahman", "Abd-El-Rahman", "Abdulrahman"]
    assert {parse_name(f, "", "X").first for f in forms} == {"abdulrahman"}
    assert "hasan" in parse_name("Ali", "", "Al-Hassan").last_keys
    assert parse_name("Ali", "", "Al-Hassan").last_parts == ("hassan",)


def test_chinese_and_vietnamese_romanisations() -> None:
    assert set(surname_keys("chang")) & set(surname_keys("zhang"))
    assert set(surname_keys("cheung")) & set(surname_keys("zhang"))
    assert set(surname_keys("huynh")) & set(surname_keys("hoang"))
    assert parse_name("Nguyễn", "", "Trần").first == "nguyen"


def test_vietnamese_middle_markers_give_no_keys() -> None:
    n = parse_name("Minh", "Van", "Nguyen")
    assert n.middle == "van"
    assert "van" not in n.given_keys


def test_suffix_is_extracted_from_any_field_and_kept() -> None:
    assert parse_name("John", "", "Smith Jr.").suffix == "JR"
    assert parse_name("John", "", "Smith", "Sr").suffix == "SR"
    assert parse_name("John", "III", "Smith").suffix == "III"
    assert parse_name("John", "", "Smith Jr.").last == "smith"
    # the suffix field wins over a suffix written in the last name
    assert parse_name("John", "", "Smith Jr", "Sr").suffix == "SR"


def test_no_four_letter_name_control() -> None:
    williams, williamson = parse_name("A", "", "Williams"), parse_name("A", "", "Williamson")
    assert williams.last != williamson.last
    assert not set(williams.last_keys) & set(williamson.last_keys)


def test_given_keys_are_sorted_and_include_the_token() -> None:
    keys = given_keys("beto")
    assert list(keys) == sorted(keys)
    assert {"beto", "roberto", "alberto"} <= set(keys)


name_text = st.text(
    alphabet=st.sampled_from(list("abcdeéñüABCÑ -'.,jrsiv")), min_size=0, max_size=24
)


@given(name_text)
def test_normalize_text_is_idempotent(value: str) -> None:
    once = normalize_text(value)
    assert normalize_text(once) == once


@given(name_text, name_text, name_text, name_text)
def test_parse_name_is_idempotent(first: str, middle: str, last: str, suffix: str) -> None:
    n = parse_name(first, middle, last, suffix)
    assert parse_name(n.first, n.middle, n.last, n.suffix) == n


def test_cross_language_short_forms() -> None:
    # An English short form for a Spanish name, and common short forms of long names.
    assert names_equivalent("pete", "pedro")
    assert names_equivalent("rigo", "rodrigo") and names_equivalent("rigo", "rigoberto")
    assert names_equivalent("terri", "teresa")
    assert names_equivalent("mo", "mohammed")
    assert not names_equivalent("pedro", "pablo")
