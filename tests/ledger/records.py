"""Record builders shared by the ledger tests."""

from __future__ import annotations

from dataclasses import replace

from ftigate.ledger.leaf import LedgerRecord, RecordKind, tin_hmac
from ftigate.model import Outcome, Reason

TIN_KEY = b"t" * 32


def decision(
    i: int = 0, *, batch: str = "B-1", tin: str | None = "123-45-6789", **kw
) -> LedgerRecord:
    """A disclosure when ``tin`` is given, otherwise a refusal."""
    base = LedgerRecord(
        kind=RecordKind.DECISION,
        batch_id=batch,
        request_id=f"R{i:07d}",
        line=i + 2,
        agreement_id="irs-dhs-2025",
        agreement_sha256="a" * 64,
        statute="8 U.S.C. 1253(a)(1)",
        outcome=Outcome.DISCLOSE if tin else Outcome.REFUSED,
        reason=Reason.APPROVED_BY_OFFICER if tin else None,
        refusal_codes=() if tin else ("MISSING_ADDRESS",),
        fields_disclosed=("street", "city", "state", "zip") if tin else (),
        reviewers=("officer-a",),
        releaser="officer-b",
        time="2025-08-07T12:00:00Z",
        tin_hmac=tin_hmac(TIN_KEY, tin) if tin else None,
        snapshot_id="snap-1",
        model_sha256="c" * 64,
        software_version="0.1.0",
        salt=f"{i:032x}",
    )
    return replace(base, **kw) if kw else base


def many(n: int, start: int = 0, batch: str = "B-1") -> list[LedgerRecord]:
    return [
        decision(i, batch=batch, tin=None if i % 3 else f"{100000000 + i:09d}")
        for i in range(start, start + n)
    ]
