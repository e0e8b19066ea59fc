"""Turn a batch's final decisions into ledger records (one per request)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ftigate.disclosure.response import FIELD_GROUPS
from ftigate.ledger.leaf import LedgerRecord, RecordKind, tin_hmac, utc_timestamp
from ftigate.model import Agreement, Outcome, Reason, Request
from ftigate.service.context import SOFTWARE_VERSION
from ftigate.store.repo import StoredDecision


def decision_records(
    batch: Mapping[str, Any],
    agreement: Agreement | None,
    requests: Mapping[int, Request],
    finals: Sequence[tuple[StoredDecision, Outcome, Reason | None]],
    hmac_key: bytes,
    *,
    reviewers: tuple[str, ...],
    releaser: str | None,
    at: datetime | None = None,
) -> list[LedgerRecord]:
    """Ledger records for ``finals`` in line order; the TIN only ever as its keyed HMAC."""
    when = utc_timestamp(at or datetime.now(UTC))
    groups = tuple(agreement.disclosable_fields) if agreement else ()
    field_names = tuple(c for g in groups for c in FIELD_GROUPS.get(g, ()))
    out = []
    for stored, outcome, reason in finals:
        d = stored.decision
        request = requests.get(stored.line)
        out.append(
            LedgerRecord(
                kind=RecordKind.DECISION,
                batch_id=str(batch["id"]),
                request_id=d.request_id or f"line-{stored.line}",
                line=stored.line,
                agreement_id=str(batch["agreement_id"] or "unknown"),
                agreement_sha256=str(batch["agreement_sha256"] or "0" * 64),
                statute=request.statute if request else "",
                outcome=outcome,
                reason=reason,
                refusal_codes=tuple(str(c) for c in d.refusal_codes)
                if outcome is Outcome.REFUSED
                else (),
                fields_disclosed=field_names if outcome is Outcome.DISCLOSE else (),
                reviewers=reviewers,
                releaser=releaser,
                time=when,
                tin_hmac=tin_hmac(hmac_key, d.tin) if d.tin else None,
                snapshot_id=batch.get("snapshot_id"),
                model_sha256=batch.get("model_sha256"),
                software_version=str(batch.get("software_version") or SOFTWARE_VERSION),
            )
        )
    return out
