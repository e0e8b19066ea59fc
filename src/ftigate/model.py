"""Frozen values shared by every layer: agreements, requests, candidates, decisions, responses.

These are plain data. They carry no behaviour that touches the world, so the pure core (policy,
linkage decision, disclosure, ledger math) can be tested with nothing but constructors.

A :class:`Request` keeps the requester's values as the strings they sent (stripped, ``""`` when
blank): validation must judge what was asked, not what a parser made of it, and the ledger
records exactly that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from types import MappingProxyType

from ftigate.errors import RefusalCode


class TinType(StrEnum):
    SSN = "SSN"
    ITIN = "ITIN"


class AgreementStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


@dataclass(frozen=True, slots=True)
class Signer:
    """A person the requesting agency authorises to sign batches."""

    name: str
    role: str
    public_key: bytes  # raw 32-byte Ed25519 public key


@dataclass(frozen=True, slots=True)
class SafeguardFinding:
    """An open or closed finding from a safeguard review of the recipient (Pub. 1075)."""

    id: str
    description: str
    opened: date
    corrective_action_plan: str | None = None  # None: no plan on file
    closed: date | None = None

    @property
    def blocks_disclosure(self) -> bool:
        return self.closed is None and not self.corrective_action_plan


@dataclass(frozen=True, slots=True)
class MatchPolicy:
    """How sure the gateway must be before a disclosure.

    ``threshold``: the best candidate's match probability must reach it.
    ``margin``: the runner-up must be below ``best - margin``.
    ``review_floor``: a best candidate in ``[review_floor, threshold)`` goes to an officer.
    ``require_address_corroboration``: the requested address must match an address in the
    candidate's history.
    """

    threshold: float = 0.999
    margin: float = 0.05
    review_floor: float = 0.95
    require_address_corroboration: bool = True


@dataclass(frozen=True, slots=True)
class Agreement:
    """One version of a disclosure agreement, as loaded from its YAML file."""

    id: str
    version: int
    title: str
    disclosing_agency: str
    requesting_agency: str
    legal_basis: str
    status: AgreementStatus
    status_reason: str | None
    status_date: date | None
    effective: date
    expires: date
    allowed_statutes: tuple[str, ...]
    required_fields: tuple[str, ...]
    disclosable_fields: tuple[str, ...]
    match_policy: MatchPolicy
    max_batch_rows: int
    max_cases_per_officer: int
    po_box_allowed: bool
    safeguard_findings: tuple[SafeguardFinding, ...]
    signers: tuple[Signer, ...]
    sha256: str  # of the YAML bytes; recorded with every decision


@dataclass(frozen=True, slots=True)
class Manifest:
    """The requester's signed description of a batch (``manifest.json``)."""

    batch_id: str
    agreement_id: str
    submitted_at: str
    signer: str
    row_count: int
    requests_sha256: str
    requests_file: str = "requests.csv"


REQUEST_FIELDS: tuple[str, ...] = (
    "request_id",
    "first_name",
    "middle_name",
    "last_name",
    "dob",
    "street",
    "unit",
    "city",
    "state",
    "zip",
    "tax_periods",
    "statute",
    "reason",
    "case_number",
    "officer_id",
    "requested_fields",
    "tin",
)
"""Columns of a batch's requests file, in order; ``tin`` is optional in the file."""


@dataclass(frozen=True, slots=True)
class Request:
    """One row of a batch as the requester sent it (strings, stripped, ``""`` when blank)."""

    line: int  # 1-based line (CSV: physical line of the row; JSONL: line; Parquet: row + 1)
    request_id: str
    first_name: str = ""
    middle_name: str = ""
    last_name: str = ""
    dob: str = ""
    street: str = ""
    unit: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    tax_periods: str = ""
    statute: str = ""
    reason: str = ""
    case_number: str = ""
    officer_id: str = ""
    requested_fields: str = ""
    tin: str = ""

    @property
    def officer_ids(self) -> tuple[str, ...]:
        return tuple(p.strip() for p in self.officer_id.split(";") if p.strip())

    @property
    def requested_field_list(self) -> tuple[str, ...]:
        return tuple(p.strip() for p in self.requested_fields.split(";") if p.strip())

    @property
    def tax_period_list(self) -> tuple[str, ...]:
        return tuple(p.strip() for p in self.tax_periods.split(";") if p.strip())


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason a request (or batch) is refused; a request collects all of its findings."""

    code: RefusalCode
    message: str
    field: str | None = None


class Outcome(StrEnum):
    DISCLOSE = "DISCLOSE"
    NOT_DISCLOSED = "NOT_DISCLOSED"
    REFUSED = "REFUSED"
    REVIEW = "REVIEW"


class Reason(StrEnum):
    """Internal reasons; never sent to the requester (they would reveal whether a person files)."""

    NO_MATCH = "NO_MATCH"
    AMBIGUOUS = "AMBIGUOUS"
    LOW_CONFIDENCE = "LOW_CONFIDENCE"
    DOB_CONFLICT = "DOB_CONFLICT"
    ADDRESS_NOT_CORROBORATED = "ADDRESS_NOT_CORROBORATED"
    WITHHELD_BY_OFFICER = "WITHHELD_BY_OFFICER"
    APPROVED_BY_OFFICER = "APPROVED_BY_OFFICER"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A register person scored against one request by the linkage model.

    ``dob_conflict``: both dobs are known and disagree beyond a typo-like relation.
    ``address_corroborated``: the requested address matches an address in the person's history.
    ``supplied_tin_matches``: the request carried a TIN and it is this person's (None: no TIN).
    ``evidence``: comparison levels that fired, for officers and the report.
    ``name_conflict`` / ``suffix_conflict``: hard evidence that this is another person.
    """

    tin: str
    probability: float
    match_weight: float = 0.0
    dob_conflict: bool = False
    address_corroborated: bool = False
    supplied_tin_matches: bool | None = None
    evidence: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    name_conflict: bool = False  # given names bear no name-like relation (twins: Ana vs Eva)
    suffix_conflict: bool = False  # both carry a generational suffix and they differ (JR vs SR)


@dataclass(frozen=True, slots=True)
class Decision:
    """What the gateway decided for one request, with the rules that fired."""

    request_id: str
    outcome: Outcome
    reason: Reason | None = None
    refusal_codes: tuple[RefusalCode, ...] = ()
    tin: str | None = None  # the candidate the decision is about, if any
    probability: float | None = None
    runner_up_probability: float | None = None
    rules: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AddressRecord:
    """One address in a taxpayer's history, with the return or form that supplied it."""

    tin: str
    street: str
    unit: str
    city: str
    state: str
    zip: str
    valid_from: date
    source: str


@dataclass(frozen=True, slots=True)
class LastKnownAddress:
    street: str
    unit: str
    city: str
    state: str
    zip: str
    valid_from: date


class ResponseStatus(StrEnum):
    DISCLOSED = "DISCLOSED"
    NOT_DISCLOSED = "NOT_DISCLOSED"
    REFUSED = "REFUSED"


@dataclass(frozen=True, slots=True)
class ResponseRow:
    """One line of the response: only the status, a refusal code, and the disclosed fields."""

    request_id: str
    status: ResponseStatus
    refusal_code: RefusalCode | None = None
    fields: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
