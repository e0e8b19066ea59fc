"""The request cases, in one table: name, share of the batch, expected outcome, and how.

Each request row belongs to exactly one case. ``expected`` is what a careful gateway must do:

* ``DISCLOSE`` - the row is lawful and names one register person unambiguously;
* ``REFUSE`` - the row must be refused by policy, whoever it is about (``refusal`` lists the
  codes; a matching TIN never rescues it);
* ``NOT_DISCLOSED`` - the person is not in the register, or the row fits several people, or its
  identifiers contradict each other: disclosing anyone would risk the wrong person.

When a row has several problems REFUSE wins, and ``truth.csv`` lists every code (first the one
that comes first in :data:`ftigate.errors.REFUSAL_CODES`).

``subject`` says whom a row is about (a register person, a decoy structure, or somebody absent)
and ``tin`` how its TIN column is filled: ``overlay`` rows get the right TIN (or a mistyped
one) at the rate that makes about a third of all rows carry a TIN.

Example:
    >>> counts = allocate(CASES, 1000)
    >>> sum(counts.values()), counts["officer_overloaded"] > 200
    (1000, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from ftigate.errors import RefusalCode

R = RefusalCode


class Expected(StrEnum):
    DISCLOSE = "DISCLOSE"
    REFUSE = "REFUSE"
    NOT_DISCLOSED = "NOT_DISCLOSED"


Subject = Literal["register", "twin", "jr_sr", "crowd", "absent"]
TinRule = Literal["overlay", "right", "none", "conflict", "other_person", "unknown"]


@dataclass(frozen=True)
class Case:
    name: str
    share: float
    expected: Expected
    refusal: tuple[RefusalCode, ...] = ()
    subject: Subject = "register"
    tin: TinRule = "overlay"
    doc: str = ""


D, N, X = Expected.DISCLOSE, Expected.NOT_DISCLOSED, Expected.REFUSE

# fmt: off
CASES: tuple[Case, ...] = (
    # -- disclosable: the person is in the register and the request is lawful ------------------
    Case("exact", 0.170, D, doc="every field as the register has it"),
    Case("typo", 0.070, D, doc="1-2 character edits in first name, surname or street name"),
    Case("nickname", 0.040, D, doc="William as Bill, Francisco as Paco, José as Pepe"),
    Case("surname_swap", 0.040, D,
         doc="compound surname swapped, hyphenated or cut to one (García López -> López García)"),
    Case("name_order_swap", 0.010, D, doc="given and family name exchanged (Minh Nguyen)"),
    Case("accents_dropped", 0.040, D, doc="José Núñez as Jose Nunez, Nguyễn as Nguyen"),
    Case("stale_address", 0.050, D, doc="an older address of the person's history, not the last"),
    Case("partial_address", 0.030, D, doc="the last address without its unit or without its ZIP"),
    Case("missing_dob", 0.030, D, doc="no date of birth; name and full address identify"),
    Case("twin", 0.010, D, subject="twin", doc="one of twins, by their own first name"),
    Case("jr_sr", 0.010, D, subject="jr_sr",
         doc="father or son at one address, suffix omitted, dob given"),
    Case("crowd_member", 0.010, D, subject="crowd",
         doc="one of a crowd of namesakes in one city, with street and dob"),
    # -- must not be disclosed: ambiguous, contradictory, or absent ----------------------------
    Case("twin_ambiguous", 0.005, N, subject="twin", tin="none",
         doc="twins sharing an initial; the request gives only the initial"),
    Case("jr_sr_ambiguous", 0.005, N, subject="jr_sr", tin="none",
         doc="father or son, suffix omitted and no dob"),
    Case("tin_conflict", 0.010, N, tin="conflict",
         doc="a filer's name and address with another filer's TIN"),
    Case("absent", 0.200, N, subject="absent", tin="unknown",
         doc="somebody not in the register"),
    Case("near_miss", 0.060, N, subject="absent", tin="none",
         doc="a real filer's name with one edit, another street, another dob"),
    Case("tin_other_person", 0.030, N, subject="absent", tin="other_person",
         doc="somebody not in the register, with a real filer's TIN"),
    Case("crowd", 0.010, N, subject="crowd", tin="none",
         doc="a crowd's name and city, a street none of them lived on, no dob"),
    # -- must be refused, whoever it is about -------------------------------------------------
    Case("blank_address", 0.015, X, (R.MISSING_ADDRESS,), doc="no address at all"),
    Case("pattern_2025", 0.030, X, (R.ADDRESS_NOT_SPECIFIC,), tin="right",
         doc="exact name and correct TIN; address 'Failed to Provide', 'NA NA', a bare ZIP..."),
    Case("facility_address", 0.010, X, (R.ADDRESS_NOT_SPECIFIC,),
         doc="a jail or detention centre named without a street location"),
    Case("wrong_statute", 0.020, X, (R.STATUTE_NOT_IN_AGREEMENT,),
         doc="a civil, tax or other statute the agreement does not allow"),
    Case("missing_tax_period", 0.010, X, (R.MISSING_TAX_PERIOD,)),
    Case("missing_reason", 0.010, X, (R.MISSING_REASON,)),
    Case("missing_officer", 0.005, X, (R.MISSING_OFFICER,)),
    Case("missing_name", 0.005, X, (R.MISSING_NAME,)),
    Case("field_not_disclosable", 0.015, X, (R.FIELD_NOT_DISCLOSABLE,),
         doc="phone or email requested"),
    Case("malformed_row", 0.005, X, (R.MALFORMED_ROW,), doc="an impossible date of birth"),
    Case("duplicate_request", 0.010, X, (R.DUPLICATE_REQUEST,),
         doc="a request id seen earlier in the batch (this is the second occurrence)"),
    Case("multi_refusal", 0.005, X,
         doc="two problems at once (codes per row: statute+reason or placeholder+phone)"),
    Case("officer_overloaded", 0.020, X, (R.ENGAGEMENT_IMPLAUSIBLE,),
         doc="the one officer named on far more cases than the agreement allows"),
)
# fmt: on

CASE_BY_NAME: dict[str, Case] = {c.name: c for c in CASES}
OFFICER_CASE_LIMIT = 200
"""The sample agreement's most cases per named officer in one batch."""
OVERLOADED_MIN_ROWS = 250
"""The overloaded officer is named on at least this many rows, so the limit is plainly broken."""


def allocate(cases: Sequence[Case], requests: int) -> dict[str, int]:
    """Row counts per case: shares by largest remainder, at least one row per case.

    The overloaded officer needs more than :data:`OFFICER_CASE_LIMIT` rows to be overloaded at
    all, so it gets at least :data:`OVERLOADED_MIN_ROWS` and the other cases share the rest
    in proportion; below 1,000 requests (where that would be a quarter of the batch) the
    case is left out.
    """
    fixed: dict[str, int] = {}
    total = sum(c.share for c in cases)
    for c in cases:
        if c.name == "officer_overloaded":
            want = max(round(c.share / total * requests), OVERLOADED_MIN_ROWS)
            ok = c.share > 0 and requests >= 4 * OVERLOADED_MIN_ROWS
            fixed[c.name] = want if ok else 0
    rest = [c for c in cases if c.name not in fixed]
    left = requests - sum(fixed.values())
    weight = sum(c.share for c in rest)
    raw = {c.name: c.share / weight * left for c in rest}
    counts = {k: int(v) for k, v in raw.items()}
    spare = left - sum(counts.values())
    for k in sorted(raw, key=lambda k: (counts[k] - raw[k], k))[:spare]:
        counts[k] += 1
    if requests >= 2 * len(cases):  # every case at least once, taken from the largest
        wanted = {c.name for c in rest if c.share > 0}
        for k in sorted(counts):
            if counts[k] == 0 and k in wanted:
                counts[max(counts, key=lambda j: (counts[j], j))] -= 1
                counts[k] = 1
    return {c.name: {**counts, **fixed}[c.name] for c in cases}


def refusal_order(codes: set[str]) -> list[str]:
    """Codes in the order of the refusal-code table, so the first listed is the first code."""
    order = {str(c): i for i, c in enumerate(RefusalCode)}
    return sorted(codes, key=lambda c: order[c])
