"""Match a submitted batch against the current register snapshot and decide every request."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Connection

from ftigate.errors import Conflict
from ftigate.linkage.decide import decide_request, estimated_false_disclosures
from ftigate.model import AgreementStatus, Decision, Finding, Outcome, Request
from ftigate.service.admin import effective_agreement
from ftigate.service.context import SOFTWARE_VERSION, Gateway, Principal
from ftigate.service.linkage_backend import backend_for
from ftigate.service.register import ensure_trained
from ftigate.store import repo


@dataclass(frozen=True)
class MatchResult:
    batch_id: str
    snapshot_id: str
    model_sha256: str
    outcomes: Counter[str]
    refusal_codes: Counter[str]
    estimated_false_disclosures: float
    seconds: dict[str, float] = field(default_factory=dict)


def refusal_decision(request: Request, findings: tuple[Finding, ...]) -> Decision:
    """A row the policy refused: every code it earned, in first-seen order."""
    codes = tuple(dict.fromkeys(f.code for f in findings))
    return Decision(
        request.request_id,
        Outcome.REFUSED,
        refusal_codes=codes,
        rules=tuple(f"{f.code}: {f.message}" for f in findings),
    )


def match_batch(
    gw: Gateway, batch_id: str, principal: Principal, progress: Callable[[str], None] | None = None
) -> MatchResult:
    say = progress or (lambda _m: None)
    timings: dict[str, float] = {}
    with gw.reading() as conn:
        batch = repo.get_batch(conn, batch_id)
        if batch["status"] != repo.BATCH_RECEIVED:
            raise Conflict(
                f"batch {batch_id} is {batch['status']}; only a RECEIVED batch can be matched"
            )
        agreement = effective_agreement(conn, batch["agreement_id"], batch["agreement_version"])
        if agreement.status is AgreementStatus.SUSPENDED:
            raise Conflict(
                f"agreement {agreement.id} is suspended ({agreement.status_reason}); "
                "nothing may be matched or released under it"
            )
        rows = repo.load_requests(conn, batch_id)
        snapshot = repo.get_snapshot(conn)
    snapshot = ensure_trained(gw, snapshot, principal)
    assert snapshot.model_path is not None and snapshot.model_sha256 is not None

    to_match = [r for r, found in rows if not found]
    say(f"matching {len(to_match)} requests against {snapshot.taxpayers} taxpayers")
    t0 = time.perf_counter()
    candidates = backend_for(gw.settings).match(
        Path(snapshot.path), Path(snapshot.model_path), to_match, gw.settings
    )
    timings["match"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    decided: list[tuple[int, Decision]] = []
    for request, found in rows:
        if found:
            decided.append((request.line, refusal_decision(request, found)))
        else:
            cands = candidates.get(request.line, [])
            decided.append((request.line, decide_request(request, cands, agreement.match_policy)))
    timings["decide"] = time.perf_counter() - t0

    def run(conn: Connection) -> None:
        # matching ran outside the transaction; a concurrent match of the same batch may have
        # finished first, and then this one must not write a second set of decisions
        status = repo.get_batch(conn, batch_id)["status"]
        if status != repo.BATCH_RECEIVED:
            raise Conflict(f"batch {batch_id} was {status.lower()} while this match ran")
        repo.insert_decisions(conn, batch_id, decided)
        repo.update_batch(
            conn,
            batch_id,
            status=repo.BATCH_MATCHED,
            snapshot_id=snapshot.id,
            model_sha256=snapshot.model_sha256,
            software_version=SOFTWARE_VERSION,
            matched_at=repo.now(),
        )

    t0 = time.perf_counter()
    gw.audited(principal, "BATCH_MATCH", f"batch:{batch_id}", run)
    timings["store"] = time.perf_counter() - t0
    decisions = [d for _, d in decided]
    return MatchResult(
        batch_id,
        snapshot.id,
        snapshot.model_sha256,
        Counter(str(d.outcome) for d in decisions),
        Counter(str(c) for d in decisions for c in d.refusal_codes[:1]),
        estimated_false_disclosures(decisions),
        timings,
    )
