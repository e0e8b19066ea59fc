"""Name normalisation that knows how real names vary between two agencies' records.

A request and a tax record for the same person rarely spell the name the same way: accents are
dropped, a compound Hispanic surname is cut to one part or written in the other order, a
particle (de, de la, del, y) comes and goes, a given name becomes its hypocorism (Francisco /
Paco, José / Pepe, William / Bill), an Arabic or Chinese name is romanised differently
(Mohammed / Muhammad, Zhang / Chang), a Vietnamese name is written family-name first, and a
generational suffix (Jr, Sr, III) is put in the last-name field or dropped. This module turns
each name field into a small set of *features* that the Splink comparisons use:

* ``first``: the primary given name (first token of the first-name field), normalised;
* ``middle``: every other given token (rest of the first-name field, then the middle name);
* ``last_parts``: surname tokens without particles ("de la Cruz" -> ("cruz",));
* ``first_keys`` / ``given_keys`` / ``last_keys``: *equivalence keys* — the token itself plus
  the canonical names it may stand for. Two names are variants of each other when their key
  sets intersect ("bill" -> {bill, william, ...}; "william" -> {william}).
* ``suffix``: JR, SR, II, III, IV or "" — it separates father and son at one address, so it is
  extracted from whatever field it was written in and never thrown away.

Nothing here compares two names: comparisons live in :mod:`ftigate.linkage.settings`, as SQL.
A four-letter name control is never used (Williams and Williamson share WILL).

The register is normalised *per distinct field value* (``parse_given_field``,
``parse_surname_field``, ``parse_suffix_field``) and the fields are combined in SQL by the
backend; :func:`parse_name` is the same combination in Python, used for requests and as the
reference in tests.

Example:
    >>> n = parse_name("María José", "", "de la Cruz García y López", "")
    >>> n.first, n.middle, n.last_parts
    ('maria', 'jose', ('cruz', 'garcia', 'lopez'))
    >>> "francisco" in parse_name("Paco", "", "Pérez").first_keys
    True
    >>> parse_name("John", "", "Smith Jr.").suffix
    'JR'
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

from nicknames import NickNamer
from unidecode import unidecode

SUFFIXES: Mapping[str, str] = {
    "jr": "JR",
    "junior": "JR",
    "jnr": "JR",
    "sr": "SR",
    "senior": "SR",
    "snr": "SR",
    "ii": "II",
    "2nd": "II",
    "iii": "III",
    "3rd": "III",
    "iv": "IV",
    "4th": "IV",
}
"""Generational suffixes as written -> canonical code (after :func:`normalize_text`)."""

# Suffix words that are also plausible name tokens are only read as suffixes in the suffix field.
_FIELD_ONLY_SUFFIXES: Mapping[str, str] = {"v": "V", "5th": "V", "i": ""}

PARTICLES: frozenset[str] = frozenset(
    {
        "de",
        "del",
        "la",
        "las",
        "los",
        "y",
        "e",
        "da",
        "das",
        "do",
        "dos",
        "di",
        "du",
        "van",
        "von",
        "der",
        "den",
        "le",
        "al",
        "el",
        "bin",
        "ibn",
        "bint",
        "ben",
        "st",
    }
)
"""Surname particles and conjunctions dropped from ``last_parts`` when a real part remains.

"Le" and "La" are also Vietnamese family names, and "Do" a Vietnamese and Korean one, so a
particle is only dropped when the field still has another, non-particle token.
"""

GIVEN_MARKERS: frozenset[str] = frozenset(
    {"van", "thi", "de", "del", "la", "y", "bin", "bint", "ibn"}
)
"""Given-name tokens that mark gender or lineage rather than identify (Vietnamese Van/Thi,
Arabic bin); they stay in ``middle`` but give no keys, or every Nguyen Van X would share one."""

# Arabic theophoric names: "Abd al-Rahman", "Abdul Rahman", "Abdel Rahman", "Abd-El-Rahman",
# "Abdulrahman" all become "abdulrahman" (one token, so they compare as equal strings).
_ABD_PREFIXES = ("abdul", "abdel", "abdal", "abdol", "abdoul", "abdur", "abdel", "abd")
_ABD_LINKS = frozenset({"al", "el", "ul", "ol", "ur", "ar", "as", "an"})

_NON_ALNUM = re.compile(r"[^a-z0-9 ]+")
_SPACES = re.compile(r"\s+")


def normalize_text(value: str) -> str:
    """Lower-case ASCII words separated by single spaces; apostrophes vanish, other marks split.

    Idempotent: ``normalize_text(normalize_text(x)) == normalize_text(x)``.

    >>> normalize_text("  O'Brien-SMITH, Núñez ")
    'obrien smith nunez'
    """
    text = unidecode(value).lower()
    text = text.replace("'", "").replace("`", "")
    text = _NON_ALNUM.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def _merge_abd(tokens: list[str]) -> list[str]:
    """Join an Arabic "Abd" prefix with the name it governs.

    ["abd", "al", "rahman"] -> ["abdulrahman"]
    """
    out: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok in _ABD_PREFIXES and i + 1 < len(tokens):
            j = i + 1
            if tokens[j] in _ABD_LINKS and j + 1 < len(tokens):
                j += 1
            out.append("abdul" + tokens[j])
            i = j + 1
            continue
        for prefix in ("abdel", "abdal", "abdol", "abdoul"):
            if tok.startswith(prefix) and len(tok) > len(prefix) + 2:
                tok = "abdul" + tok[len(prefix) :]
                break
        out.append(tok)
        i += 1
    return out


def _split_suffixes(
    tokens: list[str], *, field_only: bool, lone: bool = False
) -> tuple[list[str], str]:
    """Remove generational suffix tokens; return the rest and the (last) suffix found.

    A suffix word standing alone in a first- or last-name field stays a name (``lone`` False):
    "Jr" can be what someone is called. In the middle-name field it is read as a suffix.
    """
    found = ""
    rest: list[str] = []
    for tok in tokens:
        code = SUFFIXES.get(tok)
        if code is None and field_only:
            code = _FIELD_ONLY_SUFFIXES.get(tok)
        if code is not None and (field_only or lone or rest):
            found = code or found
        else:
            rest.append(tok)
    return rest, found


def name_tokens(value: str) -> list[str]:
    """Normalised tokens of one name field, Arabic "Abd" compounds merged.

    >>> name_tokens("Abd al-Rahman")
    ['abdulrahman']
    """
    return _merge_abd(normalize_text(value).split())


# --------------------------------------------------------------------------- variant tables


def _read_table(filename: str) -> dict[str, frozenset[str]]:
    """variant -> canonicals, from one of our curated CSV tables in ``linkage/data``."""
    out: dict[str, set[str]] = {}
    text = resources.files("ftigate.linkage").joinpath("data").joinpath(filename).read_text("utf-8")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    for row in csv.DictReader(lines):
        canonical = normalize_text(row["canonical"])
        for variant in normalize_text(row["variants"]).split():
            if variant != canonical:
                out.setdefault(variant, set()).add(canonical)
    return {k: frozenset(v) for k, v in out.items()}


GIVEN_TABLES = ("given_es.csv", "given_vi.csv", "arabic.csv")
SURNAME_TABLES = ("surnames_zh.csv", "surnames_vi.csv", "arabic.csv")


@cache
def _given_variants() -> dict[str, frozenset[str]]:
    merged: dict[str, set[str]] = {}
    for table in GIVEN_TABLES:
        for k, v in _read_table(table).items():
            merged.setdefault(k, set()).update(v)
    return {k: frozenset(v) for k, v in merged.items()}


@cache
def _surname_variants() -> dict[str, frozenset[str]]:
    merged: dict[str, set[str]] = {}
    for table in SURNAME_TABLES:
        for k, v in _read_table(table).items():
            merged.setdefault(k, set()).update(v)
    return {k: frozenset(v) for k, v in merged.items()}


@cache
def _nicknamer() -> NickNamer:
    return NickNamer()


@cache
def given_keys(token: str) -> tuple[str, ...]:
    """Equivalence keys of one given-name token: itself and every canonical it may stand for.

    English hypocorisms come from the ``nicknames`` package; Spanish, Vietnamese and Arabic
    ones from our tables. Keys are sorted, so the result is deterministic.

    >>> given_keys("pepe")
    ('jose', 'pepe')
    >>> "william" in given_keys("bill")
    True
    """
    if not token:
        return ()
    keys = {token}
    keys.update(_given_variants().get(token, ()))
    if token.startswith("abdul") and len(token) > len("abdul") + 1:
        keys.add("abdul")  # "Abdul" is how many an Abdulrahman or Abdulaziz is called
    if len(token) > 1:
        keys.update(normalize_text(c) for c in _nicknamer().canonicals_of(token))
    keys.discard("")
    return tuple(sorted(keys))


@cache
def surname_keys(token: str) -> tuple[str, ...]:
    """Equivalence keys of one surname token (romanisation variants: Zhang, Chang, Cheung).

    >>> surname_keys("chang")
    ('chang', 'zhang')
    """
    if not token:
        return ()
    keys = {token}
    keys.update(_surname_variants().get(token, ()))
    return tuple(sorted(keys))


# --------------------------------------------------------------------------- field parsers


@dataclass(frozen=True, slots=True)
class GivenField:
    """One given-name field (first or middle), parsed."""

    tokens: tuple[str, ...]
    suffix: str
    first_keys: tuple[str, ...]  # keys of the first token only
    all_keys: tuple[str, ...]  # keys of every token


@dataclass(frozen=True, slots=True)
class SurnameField:
    """A last-name field, parsed into parts without particles."""

    parts: tuple[str, ...]
    suffix: str
    keys: tuple[str, ...]


_GLUED_PARTICLES = ("delas", "delos", "dela", "del", "de", "van", "von", "al")


def surname_compact(parts: Iterable[str]) -> str:
    """Surname letters without spaces or a leading particle written solid ("DeLaGarza").

    Compares a surname typed as one word with the same surname written in parts; both sides
    go through it, so stripping a prefix that was not a particle ("Delgado") is harmless.

    >>> surname_compact(("delagarza",)), surname_compact(parse_surname_field("de la Garza").parts)
    ('garza', 'garza')
    """
    text = "".join(parts)
    for particle in _GLUED_PARTICLES:
        if text.startswith(particle) and len(text) > len(particle) + 1:
            return text[len(particle) :]
    return text


def _union(groups: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    out: set[str] = set()
    for g in groups:
        out.update(g)
    return tuple(sorted(out))


@cache
def parse_given_field(value: str, *, middle: bool = False) -> GivenField:
    """Parse a first- or middle-name field ("José Luis", "John Jr", "M.").

    >>> parse_given_field("José Luis").tokens
    ('jose', 'luis')
    >>> parse_given_field("Jr", middle=True).suffix
    'JR'
    """
    tokens, suffix = _split_suffixes(name_tokens(value), field_only=False, lone=middle)
    first_keys = given_keys(tokens[0]) if tokens else ()
    keyed = (t for t in tokens if len(t) > 1 and t not in GIVEN_MARKERS)
    return GivenField(tuple(tokens), suffix, first_keys, _union(given_keys(t) for t in keyed))


@cache
def parse_surname_field(value: str) -> SurnameField:
    """Parse a last-name field into surname parts without particles or suffix.

    >>> parse_surname_field("García-López Jr").parts
    ('garcia', 'lopez')
    >>> parse_surname_field("de la Cruz").parts
    ('cruz',)
    >>> parse_surname_field("Le").parts
    ('le',)
    """
    tokens, suffix = _split_suffixes(name_tokens(value), field_only=False)
    kept = [t for t in tokens if t not in PARTICLES]
    parts = tuple(kept) if kept else tuple(tokens)
    return SurnameField(parts, suffix, _union(surname_keys(p) for p in parts))


@cache
def parse_suffix_field(value: str) -> str:
    """The canonical suffix written in a dedicated suffix field ("Jr." -> "JR"), else "".

    >>> parse_suffix_field("III")
    'III'
    """
    _, suffix = _split_suffixes(normalize_text(value).split(), field_only=True)
    return suffix


# --------------------------------------------------------------------------- the whole name


@dataclass(frozen=True, slots=True)
class PersonName:
    """The comparison features of one person's name (see the module docstring)."""

    first: str
    middle: str
    last: str
    last_parts: tuple[str, ...]
    suffix: str
    first_keys: tuple[str, ...]
    given_keys: tuple[str, ...]
    last_keys: tuple[str, ...]

    @property
    def last_compact(self) -> str:
        return surname_compact(self.last_parts)

    @property
    def given_tokens(self) -> tuple[str, ...]:
        return tuple(t for t in (self.first, *self.middle.split()) if t)

    @property
    def is_blank(self) -> bool:
        return not self.first and not self.last


def combine_suffix(suffix_field: str, last: str, first: str, middle: str) -> str:
    """Which suffix wins when several fields carry one: the suffix field, then last, first, middle.

    The backend's SQL uses the same order (``coalesce`` over the same fields).
    """
    for s in (suffix_field, last, first, middle):
        if s:
            return s
    return ""


def parse_name(first: str, middle: str, last: str, suffix: str = "") -> PersonName:
    """Normalise a whole name into comparison features.

    Idempotent on its own output: re-parsing ``(first, middle, last, suffix)`` of the result
    gives the same result.

    >>> n = parse_name("Abdul Rahman", "", "Al-Hassan")
    >>> n.first, n.last_parts, "hasan" in n.last_keys
    ('abdulrahman', ('hassan',), True)
    """
    g1 = parse_given_field(first)
    g2 = parse_given_field(middle, middle=True)
    sn = parse_surname_field(last)
    middle_tokens = (*g1.tokens[1:], *g2.tokens)
    return PersonName(
        first=g1.tokens[0] if g1.tokens else "",
        middle=" ".join(middle_tokens),
        last=" ".join(sn.parts),
        last_parts=sn.parts,
        suffix=combine_suffix(parse_suffix_field(suffix), sn.suffix, g1.suffix, g2.suffix),
        first_keys=g1.first_keys,
        given_keys=_union((g1.all_keys, g2.all_keys)),
        last_keys=sn.keys,
    )


def names_equivalent(a: str, b: str) -> bool:
    """Whether two given-name tokens are variants of each other (their keys intersect).

    >>> names_equivalent("paco", "francisco"), names_equivalent("williams", "williamson")
    (True, False)
    """
    return bool(set(given_keys(a)) & set(given_keys(b)))
