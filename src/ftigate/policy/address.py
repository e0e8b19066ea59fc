"""Does a request set forth the taxpayer's address? (pure)

26 U.S.C. 6103(i)(2)(B)(i) requires a request to set forth "the name and address of the
taxpayer". In 2025 the only test was whether a field held a 5- or 9-digit number, so rows reading
"Failed to Provide", "Unknown Address" or "NA NA" were answered; a court found about 90% of those
disclosures unlawful. Here an address is judged by its structure, not by a list of bad strings:

* **MISSING_ADDRESS**: every address field (street, unit, city, state, zip) is blank.
* **ADDRESS_NOT_SPECIFIC**: something was written, but it is not a street-level address:

  - any address field is a placeholder (:func:`ftigate.policy.text.is_placeholder`: "N/A",
    "Unknown", "Don't Care 12345", "?", "0") or holds a word no real address holds ("123 Main
    St Unknown"), a state that is no U.S. state or territory, a ZIP that could not exist;
  - there is no delivery line (a city, state or ZIP alone);
  - the delivery line, parsed with ``usaddress``, has no house number *and* street name
    ("Main St", "123", a bare ZIP, an intersection, "Harris County Jail", "General Delivery"),
    unless it is a recognised rural form: a rural route or highway contract route *with a box*
    ("RR 2 Box 152", "HC 1 Box 20"), or a Spanish street form with a number ("Calle Luna 45").
    A line the statistical parser misreads but that plainly opens with a house number and goes
    on to a name is a street too ("1 Via Mesa Verde", "1 8th Ctt"), unless that name is only a
    unit or a facility ("5 Apt", "12 Detention Center");
  - it is a PO box (or a military PSC/CMR box) and the agreement does not allow PO boxes;
  - there is no locality: neither city and state nor a ZIP, in the fields or the street line.

The unit is never required and a placeholder unit ("N/A") means "no unit". Judgement calls,
all in the direction of refusing (a refused request can be corrected and resent; a disclosure
cannot be taken back): a street *name* made only of placeholder words is a placeholder, so
"1 Unknown Rd" and "123 Fake St" are refused while "123 Nashville Ave" is not; a 5-digit number
followed by the request's own city and no street type ("60601 Chicago") is a ZIP, not a house.

Example:
    >>> from ftigate.model import Request
    >>> ok = Request(2, "R1", street="123 Nashville Ave", city="Austin", state="TX", zip="78701")
    >>> address_findings(ok, po_box_allowed=False)
    []
    >>> bad = Request(3, "R2", street="Failed to Provide", zip="78701")
    >>> [f.code.value for f in address_findings(bad, po_box_allowed=False)]
    ['ADDRESS_NOT_SPECIFIC']
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import usaddress

from ftigate.errors import RefusalCode
from ftigate.model import Finding, Request
from ftigate.policy.text import (
    NULL_WORDS,
    content_words,
    fold,
    is_placeholder,
    placeholder_word,
    word_set,
    words,
)

_STATES = {
    "AL": "alabama", "AK": "alaska", "AZ": "arizona", "AR": "arkansas", "CA": "california",
    "CO": "colorado", "CT": "connecticut", "DE": "delaware", "FL": "florida", "GA": "georgia",
    "HI": "hawaii", "ID": "idaho", "IL": "illinois", "IN": "indiana", "IA": "iowa",
    "KS": "kansas", "KY": "kentucky", "LA": "louisiana", "ME": "maine", "MD": "maryland",
    "MA": "massachusetts", "MI": "michigan", "MN": "minnesota", "MS": "mississippi",
    "MO": "missouri", "MT": "montana", "NE": "nebraska", "NV": "nevada", "NH": "new hampshire",
    "NJ": "new jersey", "NM": "new mexico", "NY": "new york", "NC": "north carolina",
    "ND": "north dakota", "OH": "ohio", "OK": "oklahoma", "OR": "oregon", "PA": "pennsylvania",
    "RI": "rhode island", "SC": "south carolina", "SD": "south dakota", "TN": "tennessee",
    "TX": "texas", "UT": "utah", "VT": "vermont", "VA": "virginia", "WA": "washington",
    "WV": "west virginia", "WI": "wisconsin", "WY": "wyoming", "DC": "district of columbia",
    "PR": "puerto rico", "GU": "guam", "VI": "virgin islands", "AS": "american samoa",
    "MP": "northern mariana islands", "FM": "micronesia", "MH": "marshall islands",
    "PW": "palau", "AA": "armed forces americas", "AE": "armed forces europe",
    "AP": "armed forces pacific",
}  # fmt: skip
_NOT_LETTER = re.compile(r"[^a-z]")
_STATE_NAMES = {_NOT_LETTER.sub("", name): code for code, name in _STATES.items()}
_STATE_NAMES["usvirginislands"] = "VI"
_STATE_NAMES["washingtondc"] = "DC"

_ZIP = re.compile(r"^(\d{5})(?:[- ]?(\d{4}))?$")
_NUMBER_WORDS = word_set(
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty thirty forty fifty hundred"
)
_RURAL = re.compile(
    r"\b(?:r\s*r|rural\s+(?:route|rte)|h\s*c\s*r?|highway\s+contract(?:\s+route)?|star\s+route)"
    r"\s*#?\s*\d*\s*,?\s*box\s*#?\s*\w*\d"
)
_PO_BOX = re.compile(
    r"\b(?:p\s*o\s*b(?:ox)?|post\s*office\s*box|postal\s*box|lock\s*box|box|apartado|drawer|"
    r"caller|pmb)\s*#?\s*\w*\d"
)
_SPANISH_STREET = word_set(
    "calle avenida avda av carretera carr camino paseo callejon urbanizacion urb barrio bo "
    "sector residencial condominio cond via"
)
_FACILITY = word_set(
    "jail detention detained detainee prison penitentiary correctional corrections custody "
    "incarcerated inmate processing facility ice cbp bop institution shelter encampment"
)


_HOUSE_NUMBER = re.compile(r"^(?:\d+[a-z]?|\d+-\d+[a-z]?|[nsew]\d+[nsew]\d+)$", re.IGNORECASE)
_OCCUPANCY = word_set(
    "apt apartment unit suite ste lot room rm fl floor bldg building space trlr "
    "center centre complex"
)


class StreetForm(StrEnum):
    STREET = "street"  # house number and street name
    RURAL_ROUTE = "rural_route"  # RR/HC route with a box: the delivery point of a residence
    PO_BOX = "po_box"  # a box at a post office (or a military post office)
    NONE = "none"  # not a delivery line that locates anyone


@dataclass(frozen=True, slots=True)
class StreetReading:
    """What a delivery line is; ``why`` explains a NONE; the rest is locality found in the line."""

    form: StreetForm
    why: str = ""
    place: str = ""
    state: str = ""
    zip: str = ""


def address_findings(request: Request, po_box_allowed: bool) -> list[Finding]:
    """Every reason the request's address is missing or not street-level (empty when fine)."""
    street, unit, city = _clean(request.street), _clean(request.unit), _clean(request.city)
    state, zip_code = _clean(request.state), _clean(request.zip)
    if not (street or unit or city or state or zip_code):
        return [
            Finding(
                RefusalCode.MISSING_ADDRESS,
                "the request sets forth no address (26 U.S.C. 6103(i)(2)(B)(i))",
                "street",
            )
        ]
    out: list[Finding] = []

    def flag(field: str, message: str) -> None:
        out.append(Finding(RefusalCode.ADDRESS_NOT_SPECIFIC, message, field))

    city_ok = state_ok = zip_ok = False
    if city:
        if is_placeholder(city) or placeholder_word(city):
            flag("city", f"city {_show(city)} is a placeholder")
        elif sum(ch.isalpha() for ch in city) < 2:
            flag("city", f"city {_show(city)} is not a place name")
        else:
            city_ok = True
    if state:
        state_ok = state_code(state) is not None
        if not state_ok:
            flag("state", f"state {_show(state)} is not a U.S. state or territory")
    if zip_code:
        zip_ok = valid_zip(zip_code)
        if not zip_ok:
            flag("zip", f"ZIP {_show(zip_code)} is not a ZIP code that can exist (5 or 9 digits)")

    reading: StreetReading | None = None
    if not street:
        present = [
            n for n, v in (("unit", unit), ("city", city), ("state", state), ("ZIP", zip_code)) if v
        ]
        flag("street", f"no street address: {', '.join(present)} alone does not locate a person")
    elif is_placeholder(street):
        flag("street", f"street {_show(street)} is a placeholder, not an address")
    elif placeholder_word(street):
        flag(
            "street",
            f"street {_show(street)} contains the placeholder {placeholder_word(street)!r}",
        )
    else:
        reading = read_street(street, zip_code, city)
        if reading.form is StreetForm.NONE:
            flag("street", reading.why)
        elif reading.form is StreetForm.PO_BOX and not po_box_allowed:
            flag("street", "a PO box is not where a person can be found; the agreement forbids it")

    if reading is not None and not any(f.field in ("city", "state", "zip") for f in out):
        in_line = valid_zip(reading.zip) or (
            bool(reading.place) and state_code(reading.state) is not None
        )
        if not (zip_ok or (city_ok and state_ok) or in_line):
            missing = "state" if city_ok else "city" if state_ok else "city and state"
            flag("city", f"no locality: the {missing} and the ZIP are missing")
    return out


def state_code(text: str) -> str | None:
    """The USPS code of a state or territory written as a code or a name, else None.

    >>> [state_code(s) for s in ("tx", "New York", "D.C.", "XX")]
    ['TX', 'NY', 'DC', None]
    """
    compact = _NOT_LETTER.sub("", fold(text))
    if compact.upper() in _STATES:
        return compact.upper()
    return _STATE_NAMES.get(compact)


def valid_zip(text: str) -> bool:
    """A 5-digit ZIP or ZIP+4 that could exist: prefixes 000-004 are unassigned, and one digit
    repeated ("00000", "99999") is filler.

    >>> [valid_zip(s) for s in ("02134", "60601-1234", "606011234", "2134", "99999", "ABCDE")]
    [True, True, True, False, False, False]
    """
    m = _ZIP.match(text.strip())
    if m is None:
        return False
    five = m.group(1)
    return int(five[:3]) > 4 and len(set(five)) > 1


@lru_cache(maxsize=65536)
def read_street(street: str, zip_code: str = "", city: str = "") -> StreetReading:
    """Classify one delivery line. ``zip_code``/``city`` are the request's, to spot "ZIP City".

    >>> [read_street(s).form.value for s in ("123 Main St", "RR 2 Box 15", "PO Box 9", "Main St")]
    ['street', 'rural_route', 'po_box', 'none']
    """
    tagged: list[tuple[str, str]] = usaddress.parse(street)
    labels: dict[str, list[str]] = {}
    for token, label in tagged:
        labels.setdefault(label, []).append(token.strip(",;#"))
    locality = {
        "place": " ".join(labels.get("PlaceName", [])),
        "state": " ".join(labels.get("StateName", [])),
        "zip": " ".join(labels.get("ZipCode", [])),
    }
    flat = " ".join(words(street))

    def none(why: str) -> StreetReading:
        return StreetReading(StreetForm.NONE, why, **locality)

    number = " ".join(labels.get("AddressNumber", []))
    name = " ".join(labels.get("StreetName", []))
    typed = "StreetNamePreType" in labels or "StreetNamePostType" in labels
    if _house_number(number) and _street_name(name, typed):
        digits = re.sub(r"\D", "", number)
        if (
            not typed
            and len(digits) in (5, 9)
            and (digits[:5] == re.sub(r"\D", "", zip_code)[:5] or fold(name) == fold(city.strip()))
        ):
            return none("a ZIP code and a place name, not a house number and street")
        return StreetReading(StreetForm.STREET, **locality)
    if _RURAL.search(flat):
        return StreetReading(StreetForm.RURAL_ROUTE, **locality)
    if _PO_BOX.search(flat):
        return StreetReading(StreetForm.PO_BOX, **locality)
    if _spanish_street(flat) or _numbered_line(street, zip_code, city):
        return StreetReading(StreetForm.STREET, **locality)
    found = set(flat.split())
    compact = re.sub(r"[\s-]", "", street)
    if _ZIP.match(compact) or (compact.isdigit() and len(compact) in (5, 9)):
        return none("a bare ZIP code is not an address")
    if found & _FACILITY:
        return none("a facility named with no street location")
    if "general" in found and "delivery" in found:
        return none("General Delivery is mail held at a post office, not where anyone lives")
    if "IntersectionSeparator" in labels:
        return none("an intersection, not an address")
    if _house_number(number) or (compact.isdigit() and not name):
        return none("a house number with no street name")
    if name or labels.keys() & {"PlaceName", "StateName", "ZipCode"}:
        return none("no house number: a street or place name alone does not locate a person")
    return none("no house number and street name")


def _house_number(text: str) -> bool:
    if any(ch.isdigit() for ch in text):
        return any(ch in "123456789" for ch in text)  # "0", "000" are fillers
    return bool(text) and all(w in _NUMBER_WORDS for w in words(text))


def _street_name(text: str, typed: bool) -> bool:
    found = words(text)
    if not found or is_placeholder(text):
        return False
    if set(found) <= _FACILITY | NULL_WORDS:
        return False  # "12 Detention Center", "3 Homeless Shelter": a facility, not a street
    if any(not w.isdigit() for w in found):
        return True  # "Main", "5th", "A" (A Street exists)
    return typed  # "Highway 61", "County Road 12"; a bare "456" is no street name


def _spanish_street(flat: str) -> bool:
    """ "Calle Luna 45", "Urb Las Gladiolas 150 Calle A", "Calle 5 #12": usaddress misreads them."""
    found = flat.split()
    if not set(found) & _SPANISH_STREET:
        return False
    numbers = [w for w in found if w.isdigit() and w.strip("0")]
    others = [w for w in found if not w.isdigit() and w not in _SPANISH_STREET and len(w) > 1]
    return bool(numbers) and (len(numbers) > 1 or bool(others))


def _numbered_line(street: str, zip_code: str, city: str) -> bool:
    """ "1 Via Mesa Verde", "1 8th Ctt": a house number, then a name usaddress did not tag.

    The statistical parser misreads Spanish street types and misspelt suffixes; the structure
    is still plain, so the line passes when it opens with a house number and goes on to words
    that are not a unit, a facility or the request's own ZIP and city.
    """
    tokens = street.replace(",", " ").split()
    if len(tokens) < 2 or not _HOUSE_NUMBER.match(tokens[0]) or not tokens[0].strip("0"):
        return False
    rest = [w for w in words(" ".join(tokens[1:])) if not w.isdigit()]
    named = [w for w in content_words(" ".join(rest)) if w not in _OCCUPANCY | _FACILITY]
    digits = re.sub(r"\D", "", tokens[0])
    zip_like = len(digits) == 5 and (
        digits == re.sub(r"\D", "", zip_code)[:5] or fold(" ".join(tokens[1:])) == fold(city)
    )
    return bool(named) and not zip_like


def _clean(text: str) -> str:
    return " ".join(text.split())


def _show(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")
