"""``ftigate ledger export DIR``: write the self-contained bundle ``ftigate-verify`` checks.

The bundle (format in :mod:`ftigate.ledger.bundle`) holds the leaves covered by the latest
checkpoint and every checkpoint, with the log's verifier key. Leaves appended after the latest
checkpoint are left out: nothing unsigned leaves the building as if it were signed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Connection

from ftigate.errors import Conflict
from ftigate.ledger import bundle, log, note


@dataclass(frozen=True, slots=True)
class Exported:
    path: Path
    leaves: int
    checkpoints: int


def export_bundle(
    conn: Connection, out: Path, verifier: note.NoteVerifier, origin: str
) -> Exported:
    latest = log.latest_checkpoint(conn)
    if latest is None:
        raise Conflict("the ledger has no checkpoint yet; run `ftigate ledger checkpoint` first")
    texts = [c.text for c in log.load_checkpoints(conn)]
    leaves = bundle.write_bundle(
        out,
        origin=origin,
        vkey=verifier.vkey,
        leaves=log.iter_leaf_data(conn, latest.size),
        checkpoints=texts,
    )
    return Exported(out, leaves, len(texts))
