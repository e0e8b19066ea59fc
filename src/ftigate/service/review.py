"""Officer review and the four-eyes release.

An officer reviews a matched batch: each REVIEW item is approved or withheld, and the review
ends with that officer's sign-off of the whole batch. A *different* officer releases it. Release
is one transaction: final outcomes, one ledger leaf per request, the release row and a signed
checkpoint are written together or not at all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

from sqlalchemy.engine import Connection

from ftigate.errors import Conflict, Forbidden, InputError
from ftigate.ledger import log as ledger_log
from ftigate.model import AgreementStatus, Outcome, Reason
from ftigate.service.admin import effective_agreement
from ftigate.service.context import Gateway, Principal
from ftigate.service.records import decision_records
from ftigate.store import repo

APPROVE = "approve"
WITHHOLD = "withhold"
SIGN_OFF = "approve_batch"


def _require_officer(principal: Principal) -> None:
    if principal.role != "officer":
        raise Forbidden("only a disclosure officer may review or release a batch")


@dataclass(frozen=True)
class ReviewResult:
    approved: int
    withheld: int
    pending: int
    signed_off: bool


def review_batch(
    gw: Gateway,
    batch_id: str,
    principal: Principal,
    *,
    approve: Collection[str] | None = None,
    withhold: Collection[str] | None = None,
    approve_all: bool = False,
    withhold_all: bool = False,
    note: str | None = None,
) -> ReviewResult:
    """Approve or withhold REVIEW items (by request id, or all); sign off when none remain."""
    _require_officer(principal)
    if approve_all and withhold_all:
        raise InputError("choose --approve-all or --withhold-all, not both")
    approve_ids, withhold_ids = set(approve or ()), set(withhold or ())
    if approve_ids & withhold_ids:
        raise InputError(
            f"request(s) both approved and withheld: {sorted(approve_ids & withhold_ids)}"
        )

    def run(conn: Connection) -> ReviewResult:
        batch = repo.get_batch(conn, batch_id)
        if batch["status"] != repo.BATCH_MATCHED:
            raise Conflict(
                f"batch {batch_id} is {batch['status']}; only a MATCHED batch is reviewed"
            )
        resolved = {r.line for r in repo.load_reviews(conn, batch_id) if r.line}
        queue = [
            d
            for d in repo.load_decisions(conn, batch_id)
            if d.decision.outcome is Outcome.REVIEW and d.line not in resolved
        ]
        known = {d.decision.request_id for d in queue}
        unknown = (approve_ids | withhold_ids) - known
        if unknown:
            raise InputError(f"not in the review queue of batch {batch_id}: {sorted(unknown)[:10]}")
        actions: list[tuple[int, str, str, str | None]] = []
        for d in queue:
            rid = d.decision.request_id
            if approve_all or rid in approve_ids:
                actions.append((d.line, principal.name, APPROVE, note))
            elif withhold_all or rid in withhold_ids:
                actions.append((d.line, principal.name, WITHHOLD, note))
        pending = len(queue) - len(actions)
        if pending == 0:
            actions.append((0, principal.name, SIGN_OFF, note))
        repo.insert_reviews(conn, batch_id, actions)
        counts = Counter(a[2] for a in actions)
        return ReviewResult(counts[APPROVE], counts[WITHHOLD], pending, pending == 0)

    return gw.audited(principal, "BATCH_REVIEW", f"batch:{batch_id}", run)


@dataclass(frozen=True)
class ReleaseResult:
    batch_id: str
    first_leaf: int
    leaf_count: int
    checkpoint: str
    outcomes: Counter[str]


def final_outcome(
    outcome: Outcome, reason: Reason | None, review_action: str | None
) -> tuple[Outcome, Reason | None]:
    """What a decision becomes at release, given the officer's action on a REVIEW item."""
    if outcome is not Outcome.REVIEW:
        return outcome, reason
    if review_action == APPROVE:
        return Outcome.DISCLOSE, Reason.APPROVED_BY_OFFICER
    if review_action == WITHHOLD:
        return Outcome.NOT_DISCLOSED, Reason.WITHHELD_BY_OFFICER
    raise Conflict("a REVIEW item has no officer action; review it before release")


def release_batch(
    gw: Gateway, batch_id: str, principal: Principal, today: date | None = None
) -> ReleaseResult:
    """Release a reviewed batch (second officer): finals, ledger leaves and checkpoint, at once."""
    _require_officer(principal)
    signing_key, hmac_key = gw.signing_key, gw.tin_hmac_key  # fail before any write if missing

    def run(conn: Connection) -> ReleaseResult:
        batch = repo.get_batch(conn, batch_id)
        if batch["status"] != repo.BATCH_MATCHED:
            raise Conflict(
                f"batch {batch_id} is {batch['status']}; only a MATCHED batch is released"
            )
        agreement = effective_agreement(conn, batch["agreement_id"], batch["agreement_version"])
        if agreement.status is AgreementStatus.SUSPENDED:
            raise Conflict(
                f"agreement {agreement.id} is suspended ({agreement.status_reason}); "
                "release is refused"
            )
        day = today or date.today()
        if not agreement.effective <= day <= agreement.expires:
            raise Conflict(
                f"agreement {agreement.id} is outside its term today; release is refused"
            )
        reviews = repo.load_reviews(conn, batch_id)
        sign_offs = [r for r in reviews if r.action == SIGN_OFF]
        if not sign_offs:
            raise Conflict(
                f"batch {batch_id} has no officer sign-off; an officer must review it first"
            )
        reviewers = {r.officer for r in reviews}
        if principal.name in reviewers:
            raise Conflict(
                f"officer {principal.name} reviewed batch {batch_id}; a second officer "
                "must release it (four eyes)"
            )
        action_by_line = {r.line: r.action for r in reviews if r.line}
        stored = repo.load_decisions(conn, batch_id)
        finals = [
            (d, *final_outcome(d.decision.outcome, d.decision.reason, action_by_line.get(d.line)))
            for d in stored
        ]
        requests = {r.line: r for r, _ in repo.load_requests(conn, batch_id)}
        records = decision_records(
            batch,
            agreement,
            requests,
            finals,
            hmac_key,
            reviewers=tuple(sorted({r.officer for r in sign_offs})),
            releaser=principal.name,
        )
        first = ledger_log.append(conn, records)
        repo.finalise_decisions(
            conn,
            batch_id,
            [(d.line, outcome, reason, first + i) for i, (d, outcome, reason) in enumerate(finals)],
        )
        checkpoint = ledger_log.sign_checkpoint(conn, signing_key, gw.settings.log_origin)
        size = ledger_log.tree_size(conn)
        repo.insert_release(conn, batch_id, principal.name, first, len(records), size)
        repo.update_batch(conn, batch_id, status=repo.BATCH_RELEASED, released_at=repo.now())
        return ReleaseResult(
            batch_id, first, len(records), checkpoint, Counter(str(o) for _, o, _ in finals)
        )

    return gw.audited(principal, "BATCH_RELEASE", f"batch:{batch_id}", run)
