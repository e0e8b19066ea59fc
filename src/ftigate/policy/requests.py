"""Every row-level rule over a whole batch of requests (pure).

:func:`validate_requests` checks every row against every rule and returns *all* findings per
row, keyed by the row's line; a row with no findings proceeds to matching. The rules, in the
order their findings are listed:

=========================  ===================================================================
code                       a row gets it when ...
=========================  ===================================================================
MALFORMED_ROW              the reader could not split the row into its columns; a value holds
                           control characters or is absurdly long; request_id is blank; a name
                           holds digits; dob is not a real date (YYYY-MM-DD, YYYY/MM/DD,
                           MM/DD/YYYY or YYYYMMDD, 1900 to the day of receipt); a TIN is given
                           and is no valid SSN or ITIN; a tax period is not a period; a field the
                           agreement requires that no other rule covers (e.g. dob) is missing
DUPLICATE_REQUEST          its request_id already appeared on an earlier row
MISSING_NAME               first or last name is blank or a placeholder ("Unknown", "FNU")
MISSING_ADDRESS /          see :mod:`ftigate.policy.address`; also an address field the
ADDRESS_NOT_SPECIFIC       agreement requires (e.g. zip) is blank
MISSING_TAX_PERIOD         tax_periods is blank or a placeholder
STATUTE_NOT_IN_AGREEMENT   the statute is blank, unrecognised, or any statute cited is not
                           covered by one the agreement allows (:mod:`ftigate.policy.statutes`)
MISSING_REASON             the reason is blank, a placeholder, or boilerplate with no specific
                           word ("Immigration enforcement", "criminal investigation")
MISSING_OFFICER            no officer is named, or only placeholders or agencies ("ICE"); or
                           the agreement requires a case_number and it is missing
ENGAGEMENT_IMPLAUSIBLE     an officer on the row is named on more distinct cases in the batch
                           than the agreement's ``max_cases_per_officer`` (every such row)
FIELD_NOT_DISCLOSABLE      requested_fields names a field the agreement does not allow
=========================  ===================================================================

Decisions worth knowing. **Tax periods** are separated by ``;``, ``,`` or spaces; each is a year
(``2023``, ``TY2023``), a quarter (``2023-Q1``, ``2023Q1``), an IRS period ending month
(``202312``, ``2023-12``) or a range of years (``2021-2023``, ``2021 to 2023``), from 1913 to
the year of receipt. **A blank requested_fields** means the agreement's disclosable fields
(the gateway never gives more than those anyway); ``address`` and ``lka`` name the last known
address.
**Placeholders in optional fields** (unit "N/A", middle name "NMN", tin "Unknown") are blanks.
**A TIN changes nothing here**: it is a matching signal only, so the 2025 pattern (exact name,
correct TIN, address "Failed to Provide") is refused ADDRESS_NOT_SPECIFIC like any other row.

Example:
    >>> from ftigate.model import Request
    >>> from ftigate.policy.agreement import parse_agreement
    >>> ag = parse_agreement(open("agreements/irs-ice-2025.yaml").read(), "s")  # doctest: +SKIP
    >>> row = Request(2, "R1", "Ana", "", "Ruiz", tin="912-70-1234", street="Failed to Provide")
    >>> [f.code.value for f in validate_requests([row], ag)[2]]  # doctest: +SKIP
    ['ADDRESS_NOT_SPECIFIC', 'MISSING_TAX_PERIOD', 'STATUTE_NOT_IN_AGREEMENT', ...]
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import date

from ftigate.errors import Detail, RefusalCode
from ftigate.model import REQUEST_FIELDS, Agreement, Finding, Request
from ftigate.policy.address import address_findings
from ftigate.policy.agreement import STATUTORY_FIELDS
from ftigate.policy.statutes import Citation, parse_citation, split_citations
from ftigate.policy.text import (
    NAME_NULL_WORDS,
    NULL_WORDS,
    bad_characters,
    content_words,
    is_placeholder,
    word_set,
    words,
)
from ftigate.tin import tin_type_of

_R = RefusalCode
ADDRESS_FIELDS: tuple[str, ...] = ("street", "unit", "city", "state", "zip")
MAX_VALUE_LENGTH = 500
MAX_REASON_LENGTH = 4000

MISSING_CODE: dict[str, RefusalCode] = {
    "first_name": _R.MISSING_NAME,
    "last_name": _R.MISSING_NAME,
    "tax_periods": _R.MISSING_TAX_PERIOD,
    "statute": _R.STATUTE_NOT_IN_AGREEMENT,
    "reason": _R.MISSING_REASON,
    "officer_id": _R.MISSING_OFFICER,
    "case_number": _R.MISSING_OFFICER,
}
"""The code a required field earns when missing; address fields have their own rule and any
other required field (dob, middle_name, tin, ...) earns MALFORMED_ROW."""

FIELD_ALIASES: dict[str, str] = {"address": "last_known_address", "lka": "last_known_address"}

GENERIC_REASON_WORDS: frozenset[str] = word_set(
    """
    immigration enforcement enforce enforcing investigation investigations investigative
    investigate law legal purpose purposes official business criminal civil case cases matter
    proceeding proceedings federal ice dhs hsi ero cbp request requested requesting lookup look
    up locate locating find finding need needed needs required require requirement agreement
    mou memorandum statute statutory authority pursuant under usc section sec relevant
    relevance because reason reasons routine standard batch bulk match matching verification
    verify confirm identity subject person individual target alien aliens noncitizen
    information address addresses last known current whereabouts national security public
    safety priority general purposes ongoing active open pending related regarding re
    """
)
"""Words every request could use; a reason made only of these says nothing specific."""

_NOT_A_PERSON = word_set(
    "ice dhs ero hsi cbp uscis agency office field unit team division department system "
    "automated batch all various multiple any officer officers agent agents staff"
)
_NAME_CHARS = re.compile(r"^[^\W\d_]+(?:[\s'’.,-]+[^\W\d_]+)*[.]?$")
_PERIOD_SEPARATORS = re.compile(r"[;,\s]+")
_RANGE = re.compile(r"(\d{4})\s*(?:-|–|—|\.\.|to|thru|through)\s*(\d{4})")
_PERIOD = re.compile(r"^(?:ty|cy|fy)?(\d{4})(?:-?q([1-4])|-?(\d{2}))?$")
_DOB_FORMATS = (
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"), (1, 2, 3)),
    (re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"), (1, 2, 3)),
    (re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$"), (3, 1, 2)),
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), (1, 2, 3)),
)
FIRST_TAX_YEAR = 1913
EARLIEST_DOB = date(1900, 1, 1)


@dataclass
class _Batch:
    """What one row's rules need to know about the whole batch."""

    agreement: Agreement
    as_of: date | None
    required: frozenset[str]
    allowed: tuple[Citation, ...]
    unreadable: dict[int, list[str]] = field(default_factory=dict)
    first_line: dict[str, int] = field(default_factory=dict)
    cases: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


def validate_requests(
    requests: Sequence[Request],
    agreement: Agreement,
    *,
    as_of: date | None = None,
    read_problems: Sequence[Detail] = (),
) -> dict[int, tuple[Finding, ...]]:
    """All row-level findings of a batch, for every row's line (an empty tuple: no findings).

    ``as_of`` is the day the batch was received (bounds dob and tax years; None: no upper
    bound). ``read_problems`` are the reader's per-row details (wrong column count): such a row
    is MALFORMED_ROW and judged on nothing else, because its values cannot be trusted to sit
    in the right columns.
    """
    batch = _Batch(
        agreement=agreement,
        as_of=as_of,
        required=frozenset(agreement.required_fields) | frozenset(STATUTORY_FIELDS),
        allowed=tuple(c for c in map(parse_citation, agreement.allowed_statutes) if c),
    )
    for problem in read_problems:
        if problem.line is not None:
            batch.unreadable.setdefault(problem.line, []).append(problem.message)
    for r in requests:
        rid = r.request_id.strip()
        if rid and rid not in batch.first_line:
            batch.first_line[rid] = r.line
        case = _key(r.case_number)
        if r.line not in batch.unreadable and case and not is_placeholder(r.case_number):
            for officer in _officers(r):
                batch.cases[_key(officer)].add(case)
    out: dict[int, tuple[Finding, ...]] = {}
    for r in requests:
        found = tuple(_row_findings(r, batch))
        out[r.line] = out.get(r.line, ()) + found
    return out


def _row_findings(r: Request, b: _Batch) -> Iterator[Finding]:
    if r.line in b.unreadable:
        for message in b.unreadable[r.line]:
            yield Finding(_R.MALFORMED_ROW, message)
        yield from _duplicate(r, b)
        return
    yield from _integrity(r)
    yield from _duplicate(r, b)
    yield from _names(r)
    yield from _address(r, b)
    yield from _tax_periods(r, b)
    yield from _statute(r, b)
    yield from _reason(r)
    yield from _officer(r, b)
    yield from _requested_fields(r, b.agreement)
    yield from _dob(r, b)
    yield from _tin(r)
    yield from _other_required(r, b)


def _integrity(r: Request) -> Iterator[Finding]:
    if not r.request_id.strip():
        yield Finding(_R.MALFORMED_ROW, "request_id is blank", "request_id")
    for f in fields(r):
        value = getattr(r, f.name)
        if not isinstance(value, str):
            continue
        problem = bad_characters(value)
        if problem:
            yield Finding(_R.MALFORMED_ROW, f"{f.name} holds a {problem}", f.name)
        limit = MAX_REASON_LENGTH if f.name == "reason" else MAX_VALUE_LENGTH
        if len(value) > limit:
            yield Finding(_R.MALFORMED_ROW, f"{f.name} is longer than {limit} characters", f.name)


def _duplicate(r: Request, b: _Batch) -> Iterator[Finding]:
    rid = r.request_id.strip()
    first = b.first_line.get(rid)
    if rid and first is not None and first != r.line:
        yield Finding(
            _R.DUPLICATE_REQUEST, f"request_id {rid!r} first appeared on line {first}", "request_id"
        )


def _names(r: Request) -> Iterator[Finding]:
    missing = [n for n in ("first_name", "last_name") if _blank(getattr(r, n), NAME_NULL_WORDS)]
    if missing:
        yield Finding(
            _R.MISSING_NAME,
            f"{' and '.join(missing)} missing: 26 U.S.C. 6103(i)(2)(B)(i) requires the name",
            missing[0],
        )
    for n in ("first_name", "middle_name", "last_name"):
        value = " ".join(getattr(r, n).split())
        readable = n not in missing and value and not _blank(value, NAME_NULL_WORDS)
        if readable and not _NAME_CHARS.match(value):
            yield Finding(_R.MALFORMED_ROW, f"{n} holds digits or symbols", n)


def _address(r: Request, b: _Batch) -> Iterator[Finding]:
    found = address_findings(r, b.agreement.po_box_allowed)
    yield from found
    if any(f.code is _R.MISSING_ADDRESS for f in found):
        return
    flagged = {f.field for f in found}
    for n in ADDRESS_FIELDS:
        if n in b.required and n not in flagged and not getattr(r, n).strip():
            yield Finding(_R.ADDRESS_NOT_SPECIFIC, f"{n} is blank; the agreement requires it", n)


def _tax_periods(r: Request, b: _Batch) -> Iterator[Finding]:
    text = r.tax_periods
    if _blank(text):
        yield Finding(
            _R.MISSING_TAX_PERIOD,
            "no tax period: 26 U.S.C. 6103(i)(2)(B)(ii) requires the taxable period(s)",
            "tax_periods",
        )
        return
    problems = tax_period_problems(text, b.as_of)
    if problems:
        yield Finding(_R.MALFORMED_ROW, "; ".join(problems), "tax_periods")


def tax_period_problems(text: str, as_of: date | None = None) -> list[str]:
    """Why ``text`` is not a list of tax periods (empty when it is).

    >>> tax_period_problems("2022;2023, 2021-Q4 202312 2019-2020")
    []
    >>> tax_period_problems("2023-13; all", date(2026, 11, 25))
    ["'2023-13' is not a tax period", "'all' is not a tax period"]
    """
    last = as_of.year if as_of else 9999
    problems: list[str] = []
    spans = _RANGE.sub(r"\1..\2", text.casefold())
    for token in (t for t in _PERIOD_SEPARATORS.split(spans) if t):
        if ".." in token:
            start, end = (int(y) for y in token.split(".."))
            years = [start, end]
            if start > end:
                problems.append(f"range {token.replace('..', '-')!r} runs backwards")
                continue
        else:
            m = _PERIOD.match(token)
            month = int(m.group(3)) if m and m.group(3) else 1
            if m is None or not 1 <= month <= 12:
                problems.append(f"{token!r} is not a tax period")
                continue
            years = [int(m.group(1))]
        if any(not FIRST_TAX_YEAR <= y <= last for y in years):
            problems.append(f"{token!r} is outside {FIRST_TAX_YEAR}-{last}")
    return problems


def _statute(r: Request, b: _Batch) -> Iterator[Finding]:
    if _blank(r.statute):
        yield Finding(
            _R.STATUTE_NOT_IN_AGREEMENT,
            "no statute: 26 U.S.C. 6103(i)(2)(B)(iii) requires the statutory authority",
            "statute",
        )
        return
    for text in split_citations(r.statute):
        cited = parse_citation(text)
        if cited is None:
            yield Finding(
                _R.STATUTE_NOT_IN_AGREEMENT,
                f"{text!r} is not a recognised U.S.C. citation",
                "statute",
            )
        elif not any(a.covers(cited) for a in b.allowed):
            yield Finding(
                _R.STATUTE_NOT_IN_AGREEMENT,
                f"{cited} is not among the agreement's statutes "
                f"({'; '.join(b.agreement.allowed_statutes)})",
                "statute",
            )


def _reason(r: Request) -> Iterator[Finding]:
    if _blank(r.reason):
        why = "no reason"
    elif not content_words(r.reason, GENERIC_REASON_WORDS):
        why = "boilerplate with nothing specific to this person"
    else:
        return
    yield Finding(
        _R.MISSING_REASON,
        f"{why}: 26 U.S.C. 6103(i)(2)(B)(iv) requires the specific reason the information "
        "is relevant",
        "reason",
    )


def _officers(r: Request) -> list[str]:
    """Officer ids that name a person: not a placeholder, not an agency or unit."""
    named = []
    for officer in r.officer_ids:
        found = words(officer)
        if is_placeholder(officer) or not found:
            continue
        if not any(ch.isdigit() for ch in officer) and set(found) <= NULL_WORDS | _NOT_A_PERSON:
            continue
        named.append(officer)
    return named


def _officer(r: Request, b: _Batch) -> Iterator[Finding]:
    named = _officers(r)
    if not named:
        yield Finding(
            _R.MISSING_OFFICER,
            "no officer personally and directly engaged in the case is named "
            "(26 U.S.C. 6103(i)(2)(A))",
            "officer_id",
        )
    if "case_number" in b.required and _blank(r.case_number):
        yield Finding(
            _R.MISSING_OFFICER,
            "no case number: the officer's engagement in a case cannot be shown",
            "case_number",
        )
    limit = b.agreement.max_cases_per_officer
    for officer in named:
        n = len(b.cases.get(_key(officer), ()))
        if n > limit:
            yield Finding(
                _R.ENGAGEMENT_IMPLAUSIBLE,
                f"officer {officer!r} is named on {n} cases in this batch; the agreement allows "
                f"{limit} per officer",
                "officer_id",
            )


def requested_fields_of(r: Request, agreement: Agreement) -> tuple[str, ...]:
    """The fields a request asks for; blank (or a placeholder) means the disclosable fields."""
    if _blank(r.requested_fields):
        return tuple(agreement.disclosable_fields)
    return field_names(r.requested_fields)


def field_names(text: str) -> tuple[str, ...]:
    """Field names in a ``;``- or ``,``-separated list, normalised, aliases resolved, no repeats.

    >>> field_names("Address; Phone Number, last-known-address")
    ('last_known_address', 'phone_number')
    """
    names: list[str] = []
    for part in re.split(r"[;,]", text):
        name = re.sub(r"[\s-]+", "_", part.strip().casefold())
        name = FIELD_ALIASES.get(name, name)
        if name and name not in names:
            names.append(name)
    return tuple(names)


def _requested_fields(r: Request, agreement: Agreement) -> Iterator[Finding]:
    refused = [
        f for f in requested_fields_of(r, agreement) if f not in agreement.disclosable_fields
    ]
    if refused:
        yield Finding(
            _R.FIELD_NOT_DISCLOSABLE,
            f"{', '.join(refused)} may not be disclosed; the agreement allows "
            f"{', '.join(agreement.disclosable_fields)}",
            "requested_fields",
        )


def parse_dob(text: str) -> date | None:
    """The date in ``text`` (YYYY-MM-DD, YYYY/MM/DD, MM/DD/YYYY, YYYYMMDD), else None.

    >>> parse_dob("03/04/1980"), parse_dob("1980-02-30")
    (datetime.date(1980, 3, 4), None)
    """
    text = text.strip()
    for pattern, (y, m, d) in _DOB_FORMATS:
        found = pattern.match(text)
        if found:
            try:
                return date(int(found.group(y)), int(found.group(m)), int(found.group(d)))
            except ValueError:
                return None
    return None


def _dob(r: Request, b: _Batch) -> Iterator[Finding]:
    if _blank(r.dob):
        return
    born = parse_dob(r.dob)
    if born is None:
        yield Finding(_R.MALFORMED_ROW, f"dob {r.dob[:20]!r} is not a date (YYYY-MM-DD)", "dob")
    elif born < EARLIEST_DOB or (b.as_of is not None and born > b.as_of):
        yield Finding(
            _R.MALFORMED_ROW, f"dob {born.isoformat()} is not a plausible birth date", "dob"
        )


def _tin(r: Request) -> Iterator[Finding]:
    if not _blank(r.tin) and tin_type_of(r.tin) is None:
        yield Finding(_R.MALFORMED_ROW, "tin is not a valid SSN or ITIN", "tin")


def _other_required(r: Request, b: _Batch) -> Iterator[Finding]:
    covered = {*MISSING_CODE, *ADDRESS_FIELDS, "request_id"}
    for n in REQUEST_FIELDS:
        if n in b.required and n not in covered and _blank(getattr(r, n)):
            yield Finding(_R.MALFORMED_ROW, f"{n} is blank; the agreement requires it", n)


def _blank(text: str, null_words: frozenset[str] = NULL_WORDS) -> bool:
    return not text.strip() or is_placeholder(text, null_words)


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()
