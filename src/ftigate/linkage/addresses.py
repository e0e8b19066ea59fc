"""US street addresses parsed into the parts the matcher compares: number, street, unit, city,
state and 5-digit ZIP.

Two records of one address differ in spelling, not in substance: "123 North Main Street Apt 4"
and "123 N Main St #4" are the same door. We split off the house number with a regular
expression (the same pattern the backend runs in SQL over millions of register rows, see
:data:`NUMBER_PATTERN`), tag the rest with ``usaddress`` and standardise every street token
with USPS Publication 28 abbreviations where a word is a street type or a directional by its
position (STREET -> ST, NORTH -> N; "Lake" in "Lake Shore Dr" is a name and stays), and ordinals
1-10 as words (5TH -> FIFTH). The rest of
the street line is parsed per *distinct* value, so a register shares the work among everyone
on one street.

usaddress raises ``RepeatedLabelError`` on lines like "99 Elm St Unit 3 Unit 4"; we then use
its token-level tagging and keep the first of each label, so parsing never fails. Parsing is
idempotent: parsing the formatted result again gives the same result.

Example:
    >>> a = parse_address("123 North Main Street Apt 4B", "", "Saint Paul", "Minnesota",
    ...                   "55101-1234")
    >>> a.number, a.street, a.unit, a.city, a.state, a.zip5
    ('123', 'N MAIN ST', '4B', 'ST PAUL', 'MN', '55101')
    >>> parse_address("9 Lake Center Road", "", "", "", "").street
    'LAKE CENTER RD'
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

import usaddress
from unidecode import unidecode

NUMBER_PATTERN = r"^([0-9]+(?:-[0-9]+)?[A-Z]?)(?: +(.*))?$"
"""House number and the rest of a normalised (upper-case) street line; RE2- and re-compatible."""
_NUMBER_RE = re.compile(NUMBER_PATTERN)

STREET_TYPES: Mapping[str, str] = {
    "ALLEY": "ALY",
    "AVENUE": "AVE",
    "AV": "AVE",
    "AVEN": "AVE",
    "BOULEVARD": "BLVD",
    "BOUL": "BLVD",
    "CIRCLE": "CIR",
    "CIRC": "CIR",
    "COURT": "CT",
    "COVE": "CV",
    "CROSSING": "XING",
    "DRIVE": "DR",
    "DRV": "DR",
    "EXPRESSWAY": "EXPY",
    "FREEWAY": "FWY",
    "HEIGHTS": "HTS",
    "HIGHWAY": "HWY",
    "HIWAY": "HWY",
    "LANE": "LN",
    "LOOP": "LOOP",
    "PARKWAY": "PKWY",
    "PKY": "PKWY",
    "PLACE": "PL",
    "PLAZA": "PLZ",
    "POINT": "PT",
    "ROAD": "RD",
    "ROUTE": "RTE",
    "SQUARE": "SQ",
    "STREET": "ST",
    "STR": "ST",
    "TERRACE": "TER",
    "TRAIL": "TRL",
    "TURNPIKE": "TPKE",
    "WAY": "WAY",
    "CENTER": "CTR",
    "CREEK": "CRK",
    "ESTATES": "EST",
    "GARDENS": "GDNS",
    "GROVE": "GRV",
    "HILL": "HL",
    "LAKE": "LK",
    "MANOR": "MNR",
    "MEADOWS": "MDWS",
    "PARK": "PARK",
    "RIDGE": "RDG",
    "RUN": "RUN",
    "VIEW": "VW",
    "VILLAGE": "VLG",
    "VISTA": "VIS",
    "WALK": "WALK",
}
"""Street-type spellings -> the USPS standard (Pub. 28, C1: the common ones)."""

DIRECTIONALS: Mapping[str, str] = {
    "NORTH": "N",
    "SOUTH": "S",
    "EAST": "E",
    "WEST": "W",
    "NORTHEAST": "NE",
    "NORTHWEST": "NW",
    "SOUTHEAST": "SE",
    "SOUTHWEST": "SW",
}
"""Directional spellings -> the USPS standard."""

ORDINALS: Mapping[str, str] = {
    "1ST": "FIRST",
    "2ND": "SECOND",
    "3RD": "THIRD",
    "4TH": "FOURTH",
    "5TH": "FIFTH",
    "6TH": "SIXTH",
    "7TH": "SEVENTH",
    "8TH": "EIGHTH",
    "9TH": "NINTH",
    "10TH": "TENTH",
}
"""Numbered street names 1-10 -> the word ("5TH" -> "FIFTH"), so "5th" and "Fifth" agree and a
typo in "Fifth" still looks like "FIFTH"."""

STREET_ABBREVIATIONS: Mapping[str, str] = {
    **STREET_TYPES,
    **DIRECTIONALS,
    **{num: word for num, word in ORDINALS.items()},
    "POST": "PO",
    "P": "P",
    "OFFICE": "OFFICE",
}
"""Every street-token spelling we standardise, whatever its position (for reference)."""

UNIT_DESIGNATORS: frozenset[str] = frozenset(
    {
        "APT",
        "APARTMENT",
        "UNIT",
        "STE",
        "SUITE",
        "RM",
        "ROOM",
        "FL",
        "FLOOR",
        "BLDG",
        "BUILDING",
        "LOT",
        "SPC",
        "SPACE",
        "TRLR",
        "TRAILER",
        "DEPT",
        "NO",
        "NUM",
        "#",
    }
)

CITY_ABBREVIATIONS: Mapping[str, str] = {
    "SAINT": "ST",
    "STE": "ST",
    "FORT": "FT",
    "MOUNT": "MT",
    "MOUNTAIN": "MTN",
    "NORTH": "N",
    "SOUTH": "S",
    "EAST": "E",
    "WEST": "W",
}

STATES: Mapping[str, str] = {
    "ALABAMA": "AL",
    "ALASKA": "AK",
    "ARIZONA": "AZ",
    "ARKANSAS": "AR",
    "CALIFORNIA": "CA",
    "COLORADO": "CO",
    "CONNECTICUT": "CT",
    "DELAWARE": "DE",
    "DISTRICT OF COLUMBIA": "DC",
    "FLORIDA": "FL",
    "GEORGIA": "GA",
    "HAWAII": "HI",
    "IDAHO": "ID",
    "ILLINOIS": "IL",
    "INDIANA": "IN",
    "IOWA": "IA",
    "KANSAS": "KS",
    "KENTUCKY": "KY",
    "LOUISIANA": "LA",
    "MAINE": "ME",
    "MARYLAND": "MD",
    "MASSACHUSETTS": "MA",
    "MICHIGAN": "MI",
    "MINNESOTA": "MN",
    "MISSISSIPPI": "MS",
    "MISSOURI": "MO",
    "MONTANA": "MT",
    "NEBRASKA": "NE",
    "NEVADA": "NV",
    "NEW HAMPSHIRE": "NH",
    "NEW JERSEY": "NJ",
    "NEW MEXICO": "NM",
    "NEW YORK": "NY",
    "NORTH CAROLINA": "NC",
    "NORTH DAKOTA": "ND",
    "OHIO": "OH",
    "OKLAHOMA": "OK",
    "OREGON": "OR",
    "PENNSYLVANIA": "PA",
    "RHODE ISLAND": "RI",
    "SOUTH CAROLINA": "SC",
    "SOUTH DAKOTA": "SD",
    "TENNESSEE": "TN",
    "TEXAS": "TX",
    "UTAH": "UT",
    "VERMONT": "VT",
    "VIRGINIA": "VA",
    "WASHINGTON": "WA",
    "WEST VIRGINIA": "WV",
    "WISCONSIN": "WI",
    "WYOMING": "WY",
    "PUERTO RICO": "PR",
    "GUAM": "GU",
    "VIRGIN ISLANDS": "VI",
}

_NOT_ALNUM = re.compile(r"[^A-Z0-9# ]+")
_SPACES = re.compile(r"\s+")
_DROP_LABELS = frozenset(
    {
        "AddressNumber",
        "PlaceName",
        "StateName",
        "ZipCode",
        "CountryName",
        "Recipient",
        "NotAddress",
        "IntersectionSeparator",
    }
)


@dataclass(frozen=True, slots=True)
class Address:
    """A parsed address; every part is ``""`` when absent."""

    number: str
    street: str
    unit: str
    city: str
    state: str
    zip5: str

    @property
    def number_street(self) -> str:
        """ "123 N MAIN ST", the part of an address that names a door."""
        return f"{self.number} {self.street}".strip()

    @property
    def has_street(self) -> bool:
        return bool(self.number and self.street)


def normalize_line(value: str) -> str:
    """Upper-case ASCII with punctuation (but ``#``) removed and single spaces.

    >>> normalize_line(" 12 n. main st., #4 ")
    '12 N MAIN ST # 4'
    """
    text = unidecode(value).upper().replace("#", " # ").replace("'", "")
    text = _NOT_ALNUM.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def split_number(line: str) -> tuple[str, str]:
    """Split a normalised street line into house number and the rest.

    >>> split_number("123 N MAIN ST")
    ('123', 'N MAIN ST')
    >>> split_number("PO BOX 7")
    ('', 'PO BOX 7')
    """
    m = _NUMBER_RE.match(line)
    return (m.group(1), m.group(2) or "") if m else ("", line)


_PO_WORDS: Mapping[str, str] = {"POST": "PO"}


def standardize_tokens(tokens: Sequence[str]) -> list[str]:
    """USPS spellings for the words whose *position* makes them a type or a directional.

    "Center", "Park", "Lake" and "Hill" are street types at the end of a line and names
    elsewhere ("Lake Shore Dr", "Center St"), and "North" is the name of "North St": a word is
    abbreviated only where it plays that part, so a name keeps its letters and a typo in it
    still looks like the name. Ordinals 1-10 become words in every position.

    >>> standardize_tokens("NORTH LAKE SHORE DRIVE".split())
    ['N', 'LAKE', 'SHORE', 'DR']
    >>> standardize_tokens("CENTER STREET".split()), standardize_tokens("NORTH ST".split())
    (['CENTER', 'ST'], ['NORTH', 'ST'])
    >>> standardize_tokens("5TH AVENUE SOUTH".split())
    ['FIFTH', 'AVE', 'S']
    """
    out = [ORDINALS.get(t, _PO_WORDS.get(t, t)) for t in tokens]
    n = len(out)
    if n >= 3 and out[0] in DIRECTIONALS:
        out[0] = DIRECTIONALS[out[0]]
    trailing_dir = n >= 3 and out[-1] in DIRECTIONALS
    if trailing_dir:
        out[-1] = DIRECTIONALS[out[-1]]
    last = n - 2 if trailing_dir else n - 1
    if last >= 1 and out[last] in STREET_TYPES:
        out[last] = STREET_TYPES[out[last]]
    return out


def _tagged(rest: str) -> list[tuple[str, str]]:
    """usaddress token labels for a street line without its number (a dummy one is prefixed)."""
    try:
        pairs: list[tuple[str, str]] = list(usaddress.parse("1 " + rest))
    except Exception:  # usaddress is a CRF model; on any failure we fall back to plain tokens
        return [(tok, "StreetName") for tok in rest.split()]
    return pairs[1:] if pairs and pairs[0][1] == "AddressNumber" else pairs


@lru_cache(maxsize=1 << 18)
def standardize_street(rest: str) -> tuple[str, str]:
    """Standardise the part of a street line after the number: ``(street, unit)``.

    Takes usaddress's token labels (never its ``tag``, which raises on repeated labels) and
    keeps the first occupancy identifier as the unit.

    >>> standardize_street("NORTH MAIN STREET APT 4B")
    ('N MAIN ST', '4B')
    >>> standardize_street("ELM ST UNIT 3 UNIT 4")
    ('ELM ST', '3')
    """
    street: list[str] = []
    unit = ""
    for token, label in _tagged(rest):
        if label == "OccupancyIdentifier":
            if not unit:
                unit = normalize_unit(token)
        elif label == "OccupancyType" or label in _DROP_LABELS:
            continue
        elif token != "#":  # noqa: S105 - a unit sign, not a password
            street.append(token)
    if not street:  # e.g. usaddress read every token as a unit: keep the words as the street
        street = [t for t in rest.split() if t not in UNIT_DESIGNATORS and t != "#"]
    return " ".join(standardize_tokens(street)), unit


def normalize_unit(value: str) -> str:
    """A unit field without its designator: "Apt. 4B" -> "4B", "# 12" -> "12".

    >>> normalize_unit("Apartment 4-B")
    '4B'
    """
    if not value:  # most addresses have none
        return ""
    return "".join(t for t in normalize_line(value).split() if t not in UNIT_DESIGNATORS)


@cache
def normalize_city(value: str) -> str:
    """Upper-case city with common words abbreviated.

    >>> normalize_city("St. Louis"), normalize_city("Saint Louis")
    ('ST LOUIS', 'ST LOUIS')
    """
    return " ".join(CITY_ABBREVIATIONS.get(t, t) for t in normalize_line(value).split() if t != "#")


def normalize_state(value: str) -> str:
    """The two-letter code of a state written either way ("" when unrecognisable).

    >>> normalize_state("new york"), normalize_state("ny")
    ('NY', 'NY')
    """
    text = normalize_line(value).replace("#", "").strip()
    return STATES.get(text, text if len(text) == 2 else "")


def normalize_zip(value: str) -> str:
    """The 5-digit ZIP; a 4-digit value lost its leading zero to a spreadsheet and gets it back.

    >>> normalize_zip("02134-1234"), normalize_zip("2134"), normalize_zip("n/a")
    ('02134', '02134', '')
    """
    digits = re.sub(r"[^0-9]", "", value.split("-")[0] if "-" in value else value)
    if len(digits) in (5, 9):
        return digits[:5]
    if len(digits) == 4:
        return "0" + digits
    return ""


def parse_street_line(street: str, unit: str = "") -> tuple[str, str, str]:
    """``(number, street, unit)`` from a street line and an optional separate unit field.

    >>> parse_street_line("4500 W. Martin Luther King Jr Boulevard", "Suite 200")
    ('4500', 'W MARTIN LUTHER KING JR BLVD', '200')
    """
    result = _parse_street_once(street, unit)
    # Odd lines ("#0") can read differently once standardised; iterate to the fixed point so
    # that parsing is idempotent (it converges in one or two steps).
    for _ in range(3):
        again = _parse_street_once(f"{result[0]} {result[1]}", result[2])
        if again == result:
            break
        result = again
    return result


def _parse_street_once(street: str, unit: str) -> tuple[str, str, str]:
    number, rest = split_number(normalize_line(street))
    std_street, line_unit = standardize_street(rest) if rest else ("", "")
    return number, std_street, normalize_unit(unit) or line_unit


def parse_address(street: str, unit: str, city: str, state: str, zip_code: str) -> Address:
    """Parse one address given as separate fields (as in the register and in requests)."""
    number, std_street, unit_norm = parse_street_line(street, unit)
    return Address(
        number=number,
        street=std_street,
        unit=unit_norm,
        city=normalize_city(city),
        state=normalize_state(state),
        zip5=normalize_zip(zip_code),
    )
