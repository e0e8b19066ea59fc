"""A small released ledger in a real store: batch, decisions with leaf indices, checkpoints."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ftigate.ledger import log, note
from ftigate.ledger.leaf import LedgerRecord
from ftigate.store.db import Database
from ftigate.store.tables import batches, decisions

from .records import TIN_KEY, decision

ORIGIN = "ftigate.test/ledger"


@dataclass
class Ledger:
    db: Database
    key: Ed25519PrivateKey
    records: list[LedgerRecord]
    tins: list[str | None]

    @property
    def verifier(self) -> note.NoteVerifier:
        return note.NoteSigner(ORIGIN, self.key).verifier


def _tin(i: int) -> str | None:
    return None if i % 3 == 1 else f"{200000000 + i:09d}"


def release(db: Database, key: Ed25519PrivateKey, batch: str, start: int, n: int) -> list:
    """What the service's release does, minimally: decisions, leaves, checkpoint, one tx."""
    now = datetime.now(UTC)
    tins = [_tin(i) for i in range(start, start + n)]
    records = [decision(i, batch=batch, tin=t) for i, t in zip(range(start, start + n), tins)]
    with db.transaction() as conn:
        conn.execute(
            batches.insert().values(
                id=batch,
                requester="ICE",
                manifest_json="{}",
                signature_b64="",
                signer="s",
                requests_sha256="0" * 64,
                row_count=n,
                received_at=now,
                status="RELEASED",
            )
        )
        first = log.append(conn, records)
        conn.execute(
            decisions.insert(),
            [
                {
                    "batch_id": batch,
                    "line": r.line,
                    "request_id": r.request_id,
                    "outcome": "REVIEW"
                    if r.outcome and r.outcome.value == "DISCLOSE"
                    else str(r.outcome),
                    "reason": None,
                    "refusal_codes": ";".join(r.refusal_codes),
                    "tin": t,
                    "rules_json": "[]",
                    "decided_at": now,
                    "final_outcome": str(r.outcome),
                    "final_reason": str(r.reason) if r.reason else None,
                    "leaf_index": first + k,
                }
                for k, (r, t) in enumerate(zip(records, tins))
            ],
        )
        log.sign_checkpoint(conn, key, ORIGIN)
    return list(zip(records, tins))


def build(db: Database, batches_of: tuple[int, ...] = (5, 6, 4)) -> Ledger:
    key = Ed25519PrivateKey.generate()
    got: list = []
    start = 0
    for b, n in enumerate(batches_of):
        got += release(db, key, f"B-{b}", start, n)
        start += n
    return Ledger(db, key, [r for r, _ in got], [t for _, t in got])


def count(db: Database, table: sa.Table) -> int:
    with db.reading() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


__all__ = ["ORIGIN", "TIN_KEY", "Ledger", "build", "count", "release"]
