"""What each role may read about batches, the review queue and the ledger (the API's reads).

Each function takes the caller's :class:`Principal`, checks role and ownership (a denial is an
audit event), reads in one audited transaction and returns plain values that carry exactly what
that role may see:

* a requester sees its own agency's batches: status, counts by *response* status after release,
  intake refusal codes - never internal reasons (they would reveal whether a person files);
* an officer sees the review queue with the candidate's identity and addresses (IRS staff need
  them to judge a match) - these values are never logged;
* an auditor sees ledger proofs, checkpoints and reports: counts and hashes, no FTI.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from ftigate.disclosure.last_known import last_known_address
from ftigate.errors import FtigateError, NotFound
from ftigate.ledger import log as ledger_log
from ftigate.model import REQUEST_FIELDS, Agreement, Outcome, Reason, Request
from ftigate.policy.agreement import parse_agreement
from ftigate.reports.batch import BatchReport
from ftigate.service import accounts as acc
from ftigate.service.admin import effective_agreement, store_agreement
from ftigate.service.context import Gateway, Principal
from ftigate.service.reporting import batch_report
from ftigate.service.response import ResponseFiles
from ftigate.service.response import response_files as build_response_files
from ftigate.service.review import APPROVE, SIGN_OFF, WITHHOLD
from ftigate.store import repo
from ftigate.store.register import load_address_histories, load_people

IRS_READERS = (acc.OFFICER, acc.AUDITOR, acc.ADMIN)


def _visible(gw: Gateway, principal: Principal, batch_id: str, event_type: str) -> None:
    """Ownership first, in its own read: a hidden batch is one recorded denial, not two."""
    with gw.reading() as conn:
        acc.visible_batch(gw, conn, principal, batch_id, event_type)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else repo._aware(value).isoformat()


# --- batches ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchView:
    """A batch as its reader may see it. ``internal`` is None for requesters."""

    id: str
    agreement_id: str | None
    status: str
    rows: int
    received_at: str | None
    matched_at: str | None
    released_at: str | None
    refusal_code: str | None
    refusal_message: str | None
    intake_refusals: Mapping[str, int]
    response_counts: Mapping[str, int] | None
    internal: Mapping[str, Any] | None = None


def _response_counts(conn: Connection, batch_id: str) -> dict[str, int]:
    stored = repo.load_decisions(conn, batch_id)
    names = {
        Outcome.DISCLOSE: "DISCLOSED",
        Outcome.NOT_DISCLOSED: "NOT_DISCLOSED",
        Outcome.REFUSED: "REFUSED",
    }
    counts = Counter(names[s.final_outcome] for s in stored if s.final_outcome in names)
    return {k: counts.get(k, 0) for k in ("DISCLOSED", "NOT_DISCLOSED", "REFUSED")}


def _batch_view(
    conn: Connection, principal: Principal, batch: Mapping[str, Any], detailed: bool
) -> BatchView:
    batch_id = str(batch["id"])
    intake: Counter[str] = Counter()
    internal: dict[str, Any] | None = None
    if detailed:
        intake = Counter(str(f[0].code) for _, f in repo.load_requests(conn, batch_id) if f)
        if principal.role != acc.REQUESTER:
            stored = repo.load_decisions(conn, batch_id)
            reviews = repo.load_reviews(conn, batch_id)
            internal = {
                "outcomes": dict(Counter(str(s.decision.outcome) for s in stored)),
                "reasons": dict(
                    Counter(str(s.decision.reason) for s in stored if s.decision.reason)
                ),
                "reviewers": sorted({r.officer for r in reviews}),
                "signed_off": any(r.action == SIGN_OFF for r in reviews),
                "snapshot_id": batch.get("snapshot_id"),
                "model_sha256": batch.get("model_sha256"),
            }
    released = batch["status"] == repo.BATCH_RELEASED
    return BatchView(
        id=batch_id,
        agreement_id=batch.get("agreement_id"),
        status=str(batch["status"]),
        rows=int(batch["row_count"]),
        received_at=_iso(batch.get("received_at")),
        matched_at=_iso(batch.get("matched_at")),
        released_at=_iso(batch.get("released_at")),
        refusal_code=batch.get("refusal_code"),
        refusal_message=batch.get("refusal_message"),
        intake_refusals=dict(intake),
        response_counts=_response_counts(conn, batch_id) if detailed and released else None,
        internal=internal,
    )


def list_batches(gw: Gateway, principal: Principal) -> list[BatchView]:
    """Every batch the caller may see, oldest first."""
    acc.authorize(gw, principal, (acc.REQUESTER, *IRS_READERS), "BATCH_LIST", "batches")

    def run(conn: Connection) -> list[BatchView]:
        return [
            _batch_view(conn, principal, b, detailed=False)
            for b in repo.list_batches(conn)
            if acc.may_see_batch(conn, principal, b)
        ]

    return gw.audited(principal, "BATCH_LIST", "batches", run)


def batch_status(gw: Gateway, principal: Principal, batch_id: str) -> BatchView:
    """One batch with its counts; another agency's batch is NotFound."""
    acc.authorize(gw, principal, (acc.REQUESTER, *IRS_READERS), "BATCH_READ", f"batch:{batch_id}")

    _visible(gw, principal, batch_id, "BATCH_READ")

    def run(conn: Connection) -> BatchView:
        return _batch_view(conn, principal, repo.get_batch(conn, batch_id), detailed=True)

    return gw.audited(principal, "BATCH_READ", f"batch:{batch_id}", run)


def response_files(gw: Gateway, principal: Principal, batch_id: str) -> ResponseFiles:
    """The signed response of a released batch, for its requester (or an officer)."""
    obj = f"batch:{batch_id}"
    acc.authorize(gw, principal, (acc.REQUESTER, acc.OFFICER), "RESPONSE_READ", obj)
    _visible(gw, principal, batch_id, "RESPONSE_READ")
    return build_response_files(gw, batch_id, principal, "RESPONSE_READ")


def report(gw: Gateway, principal: Principal, batch_id: str) -> BatchReport:
    """The batch report (counts, codes, hashes; no FTI) for auditors, officers and admins."""
    obj = f"batch:{batch_id}"
    acc.authorize(gw, principal, IRS_READERS, "REPORT_READ", obj)

    _visible(gw, principal, batch_id, "REPORT_READ")
    return gw.audited(principal, "REPORT_READ", obj, lambda conn: batch_report(conn, batch_id))


# --- the review queue ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewItem:
    """One REVIEW decision: the request beside its best candidate. Holds FTI: never log it."""

    request_id: str
    line: int
    state: str  # pending | approved | withheld
    acted_by: str | None
    probability: float | None
    runner_up_probability: float | None
    reason: str | None
    rules: tuple[str, ...]
    request: Mapping[str, str]
    candidate: Mapping[str, Any] | None
    clean: bool
    not_clean_because: tuple[str, ...]


@dataclass(frozen=True)
class ReviewQueue:
    batch_id: str
    agreement_id: str | None
    status: str
    rows: int
    threshold: float | None
    margin: float | None
    items: list[ReviewItem]
    counts: Mapping[str, int]
    reviewers: tuple[str, ...]
    signed_off_by: tuple[str, ...]
    may_review: bool
    may_release: bool
    release_blocked_because: str | None
    outcomes: Mapping[str, int] = field(default_factory=dict)


REQUEST_SHOWN = tuple(
    f for f in REQUEST_FIELDS if f not in ("request_id", "requested_fields", "tin")
)
"""The request fields an officer compares with the candidate (the TIN is shown masked)."""


def _mask_tin(tin: str) -> str:
    return f"***-**-{tin[-4:]}" if len(tin) >= 4 else ""


def clean_issues(
    request: Request,
    candidate: Mapping[str, Any] | None,
    probability: float | None,
    runner_up: float | None,
    reason: Reason | None,
    margin: float,
) -> tuple[str, ...]:
    """Why an item is not "clean" (empty: clean). "Approve all clean" approves only clean items.

    Clean means the machine's doubt is only its probability: the runner-up is clearly behind,
    the dates of birth agree, and no conflict or missing corroboration was found.
    """
    issues = []
    if candidate is None:
        issues.append("no candidate in the register snapshot")
    if runner_up is not None and runner_up >= (probability or 0.0) - margin:
        issues.append("runner-up within the agreement's margin")
    if reason in (Reason.DOB_CONFLICT, Reason.ADDRESS_NOT_CORROBORATED, Reason.AMBIGUOUS):
        issues.append(f"decision reason {reason}")
    if candidate is not None and (not request.dob or candidate.get("dob") != request.dob):
        issues.append("date of birth missing or different")
    return tuple(issues)


def _candidate(snapshot_path: Path | None, tins: Sequence[str]) -> dict[str, dict[str, Any]]:
    if snapshot_path is None or not tins:
        return {}
    people = load_people(snapshot_path, tins)
    histories = load_address_histories(snapshot_path, list(people))
    out: dict[str, dict[str, Any]] = {}
    for tin, p in people.items():
        history = sorted(histories.get(tin, []), key=lambda a: a.valid_from, reverse=True)
        last = last_known_address(history) if history else None
        out[tin] = {
            "tin_masked": _mask_tin(tin),
            "tin_type": p.tin_type,
            "first_name": p.first_name,
            "middle_name": p.middle_name,
            "last_name": p.last_name,
            "suffix": p.suffix,
            "dob": p.dob.isoformat() if p.dob else "",
            "last_known_address": None
            if last is None
            else {
                "street": last.street,
                "unit": last.unit,
                "city": last.city,
                "state": last.state,
                "zip": last.zip,
                "valid_from": last.valid_from.isoformat(),
            },
            "address_history": [
                {
                    "street": a.street,
                    "unit": a.unit,
                    "city": a.city,
                    "state": a.state,
                    "zip": a.zip,
                    "valid_from": a.valid_from.isoformat(),
                    "source": a.source,
                }
                for a in history[:10]
            ],
        }
    return out


def _agreement(conn: Connection, batch: Mapping[str, Any]) -> Agreement | None:
    if not batch.get("agreement_id") or not batch.get("agreement_version"):
        return None
    try:
        return effective_agreement(conn, batch["agreement_id"], batch["agreement_version"])
    except NotFound:
        return None


def _queue(
    conn: Connection, principal: Principal, batch: Mapping[str, Any], with_items: bool
) -> ReviewQueue:
    batch_id = str(batch["id"])
    agreement = _agreement(conn, batch)
    margin = agreement.match_policy.margin if agreement else 0.0
    stored = repo.load_decisions(conn, batch_id)
    reviews = repo.load_reviews(conn, batch_id)
    acted = {r.line: r for r in reviews if r.line and r.action in (APPROVE, WITHHOLD)}
    queue = [s for s in stored if s.decision.outcome is Outcome.REVIEW]
    items: list[ReviewItem] = []
    if with_items and queue:
        requests = {r.line: r for r, _ in repo.load_requests(conn, batch_id)}
        snapshot_path = None
        if batch.get("snapshot_id"):
            snapshot_path = Path(repo.get_snapshot(conn, batch["snapshot_id"]).path)
        candidates = _candidate(snapshot_path, [s.decision.tin for s in queue if s.decision.tin])
        for s in queue:
            d = s.decision
            req = requests.get(s.line) or Request(line=s.line, request_id=d.request_id)
            cand = candidates.get(d.tin) if d.tin else None
            review = acted.get(s.line)
            state = (
                "pending"
                if review is None
                else ("approved" if review.action == APPROVE else "withheld")
            )
            shown = {k: getattr(req, k) for k in REQUEST_SHOWN}
            shown["tin_masked"] = _mask_tin(req.tin) if req.tin else ""
            issues = clean_issues(
                req, cand, d.probability, d.runner_up_probability, d.reason, margin
            )
            items.append(
                ReviewItem(
                    request_id=d.request_id,
                    line=s.line,
                    state=state,
                    acted_by=review.officer if review else None,
                    probability=d.probability,
                    runner_up_probability=d.runner_up_probability,
                    reason=str(d.reason) if d.reason else None,
                    rules=d.rules,
                    request=shown,
                    candidate=cand,
                    clean=not issues,
                    not_clean_because=issues,
                )
            )
    counts = Counter(
        "pending"
        if s.line not in acted
        else ("approved" if acted[s.line].action == APPROVE else "withheld")
        for s in queue
    )
    reviewers = tuple(sorted({r.officer for r in reviews}))
    signed = tuple(sorted({r.officer for r in reviews if r.action == SIGN_OFF}))
    matched = batch["status"] == repo.BATCH_MATCHED
    blocked = None
    if not matched:
        blocked = f"the batch is {batch['status']}"
    elif not signed:
        blocked = "no officer has signed off the review yet"
    elif principal.name in reviewers:
        blocked = "you reviewed this batch; a second officer must release it (four eyes)"
    return ReviewQueue(
        batch_id=batch_id,
        agreement_id=batch.get("agreement_id"),
        status=str(batch["status"]),
        rows=int(batch["row_count"]),
        threshold=agreement.match_policy.threshold if agreement else None,
        margin=agreement.match_policy.margin if agreement else None,
        items=items,
        counts={k: counts.get(k, 0) for k in ("pending", "approved", "withheld")},
        reviewers=reviewers,
        signed_off_by=signed,
        may_review=matched and not signed and principal.role == acc.OFFICER,
        may_release=blocked is None and principal.role == acc.OFFICER,
        release_blocked_because=blocked,
        outcomes=dict(Counter(str(s.decision.outcome) for s in stored)),
    )


def review_batches(gw: Gateway, principal: Principal) -> list[ReviewQueue]:
    """Matched batches awaiting review or release, with their queue counts (no items)."""
    acc.authorize(gw, principal, (acc.OFFICER,), "REVIEW_LIST", "batches")

    def run(conn: Connection) -> list[ReviewQueue]:
        return [
            _queue(conn, principal, b, with_items=False)
            for b in repo.list_batches(conn)
            if b["status"] == repo.BATCH_MATCHED
        ]

    return gw.audited(principal, "REVIEW_LIST", "batches", run)


def review_queue(gw: Gateway, principal: Principal, batch_id: str) -> ReviewQueue:
    """A batch's review queue with the candidates' details (FTI: for officers only)."""
    obj = f"batch:{batch_id}"
    acc.authorize(gw, principal, (acc.OFFICER,), "REVIEW_QUEUE_READ", obj)

    _visible(gw, principal, batch_id, "REVIEW_QUEUE_READ")

    def run(conn: Connection) -> ReviewQueue:
        return _queue(conn, principal, repo.get_batch(conn, batch_id), with_items=True)

    return gw.audited(
        principal, "REVIEW_QUEUE_READ", obj, run, detail="candidate identity and addresses shown"
    )


# --- ledger -------------------------------------------------------------------------------------

LEDGER_READERS = (acc.AUDITOR, acc.ADMIN, acc.OFFICER)


@dataclass(frozen=True)
class CheckpointView:
    size: int
    root_b64: str
    text: str
    signed_at: str


def checkpoint(gw: Gateway, principal: Principal, size: int | None = None) -> CheckpointView:
    """The newest signed checkpoint, or the one signed at ``size``."""
    obj = "ledger" if size is None else f"ledger:size:{size}"
    acc.authorize(gw, principal, LEDGER_READERS, "LEDGER_CHECKPOINT_READ", obj)

    def run(conn: Connection) -> CheckpointView:
        if size is None:
            latest = ledger_log.latest_checkpoint(conn)
            if latest is None:
                raise NotFound("no checkpoint has been signed yet (nothing was released)")
            return CheckpointView(
                latest.size,
                base64.b64encode(latest.root).decode(),
                latest.text,
                latest.signed_at.isoformat(),
            )
        matches = [c for c in ledger_log.load_checkpoints(conn) if c.size == size]
        if not matches:
            raise NotFound(f"no checkpoint was signed at tree size {size}")
        c = matches[-1]
        return CheckpointView(
            c.size, base64.b64encode(c.root).decode(), c.text, c.signed_at.isoformat()
        )

    return gw.audited(principal, "LEDGER_CHECKPOINT_READ", obj, run)


def inclusion_proof(gw: Gateway, principal: Principal, index: int, size: int) -> list[str]:
    """RFC 9162 inclusion proof of leaf ``index`` in the tree of ``size``, base64 hashes."""
    obj = f"ledger:leaf:{index}"
    acc.authorize(gw, principal, LEDGER_READERS, "LEDGER_PROOF_READ", obj)
    proof = gw.audited(
        principal,
        "LEDGER_PROOF_READ",
        obj,
        lambda conn: ledger_log.inclusion_proof(conn, index, size),
        detail=f"inclusion size={size}",
    )
    return [base64.b64encode(h).decode() for h in proof]


def consistency_proof(gw: Gateway, principal: Principal, size1: int, size2: int) -> list[str]:
    """RFC 9162 consistency proof from ``size1`` to ``size2``, base64 hashes."""
    obj = f"ledger:sizes:{size1}-{size2}"
    acc.authorize(gw, principal, LEDGER_READERS, "LEDGER_PROOF_READ", obj)
    proof = gw.audited(
        principal,
        "LEDGER_PROOF_READ",
        obj,
        lambda conn: ledger_log.consistency_proof(conn, size1, size2),
        detail="consistency",
    )
    return [base64.b64encode(h).decode() for h in proof]


def leaf(gw: Gateway, principal: Principal, index: int) -> dict[str, Any]:
    """One leaf: its canonical record (base64) and leaf hash. Records hold no FTI (TIN HMAC)."""
    obj = f"ledger:leaf:{index}"
    acc.authorize(gw, principal, LEDGER_READERS, "LEDGER_LEAF_READ", obj)
    stored = gw.audited(
        principal, "LEDGER_LEAF_READ", obj, lambda conn: ledger_log.load_leaf(conn, index)
    )
    return {
        "index": stored.index,
        "record_b64": base64.b64encode(stored.data).decode(),
        "leaf_hash_b64": base64.b64encode(stored.leaf_hash).decode(),
    }


# --- agreements from text -------------------------------------------------------------------


def load_agreement_text(
    gw: Gateway, text: str, principal: Principal, source: str = "agreement.yaml"
) -> tuple[Agreement, bool]:
    """:func:`ftigate.service.admin.load_agreement` for YAML that arrives as text (the API)."""
    acc.authorize(gw, principal, (acc.ADMIN,), "AGREEMENT_LOAD", "agreement:new")
    try:
        agreement = parse_agreement(text, source)
    except FtigateError as e:
        raise acc.record_denial(
            gw, principal, "AGREEMENT_LOAD", "agreement:new", e, "invalid agreement"
        ) from None

    return store_agreement(gw, agreement, text, principal)
