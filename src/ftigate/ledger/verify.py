"""``ftigate ledger verify``: recompute the whole ledger from storage and report tampering.

Checks, collecting every finding (see :class:`ftigate.ledger.replay.Finding`):

* every leaf is present, in order, and is a canonical record whose hash equals the stored one;
* every stored interior node equals the one recomputed from the leaves (proofs are served from
  them, so a bad node means a proof that would not verify);
* every stored checkpoint verifies under the gateway's key, matches its own size and root
  columns, and signs exactly the root the leaves give at its size; none is beyond the log;
* the ``decisions`` table agrees with the ledger: each decision with a ``leaf_index`` has a
  DECISION leaf with the same batch, line, request, outcome, internal reason and refusal codes
  (and, given the TIN HMAC key, the same TIN HMAC); each DECISION leaf has its decision row.

The store is read in chunks of leaves by primary key, so memory stays flat and a million leaves
take well under a minute (see ``bench/ledger_bench.py``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ftigate.ledger import log, note
from ftigate.ledger.leaf import LedgerRecord, RecordKind, tin_hmac
from ftigate.ledger.merkle import NodeID
from ftigate.ledger.replay import Finding, Replayer, first_finding
from ftigate.store.ledger_tables import ledger_leaves, ledger_nodes
from ftigate.store.tables import decisions

CHUNK = 65536


@dataclass(slots=True)
class Report:
    """What verify looked at and what it found. ``ok`` only when nothing was found."""

    tree_size: int = 0
    leaves: int = 0
    nodes: int = 0
    checkpoints: int = 0
    decisions: int = 0
    tin_checked: bool = False
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first(self) -> Finding | None:
        return first_finding(self.findings)

    def to_json(self) -> dict[str, Any]:
        first = self.first
        return {
            "ok": self.ok,
            "tree_size": self.tree_size,
            "leaves_checked": self.leaves,
            "nodes_checked": self.nodes,
            "checkpoints_checked": self.checkpoints,
            "decisions_checked": self.decisions,
            "tin_hmac_checked": self.tin_checked,
            "first_bad_index": None if first is None else first.index,
            "findings": [f.to_json() for f in self.findings],
        }


def verify_ledger(
    conn: Connection,
    verifiers: Sequence[note.NoteVerifier],
    *,
    origin: str | None = None,
    hmac_key: bytes | None = None,
    chunk: int = CHUNK,
) -> Report:
    """Verify everything in the store; never raises for tampering, reports it."""
    report = Report(tree_size=log.tree_size(conn), tin_checked=hmac_key is not None)
    stored = log.load_checkpoints(conn)
    report.checkpoints = len(stored)
    replay = Replayer(verifiers, [(f"checkpoint #{c.id}", c.text) for c in stored], origin)
    for c in stored:  # the indexed size/root columns must say what the signed text says
        size, root = _text_size_root(c.text)
        if (size, root) != (c.size, c.root):
            replay.findings.append(
                Finding(
                    "CHECKPOINT_COLUMNS",
                    c.size,
                    f"checkpoint #{c.id}: its size/root columns ({c.size}, {c.root.hex()}) differ "
                    f"from its signed text ({size}, {root.hex() if root else None})",
                )
            )
    seen_rows: set[int] = set()
    start = 0
    while True:
        rows = conn.execute(
            sa.select(ledger_leaves.c.idx, ledger_leaves.c.record, ledger_leaves.c.leaf_hash)
            .where(ledger_leaves.c.idx >= start)
            .order_by(ledger_leaves.c.idx)
            .limit(chunk)
        ).all()
        if not rows:
            break
        computed: dict[NodeID, bytes] = {}
        records: dict[int, LedgerRecord | None] = {}
        for idx, data, stored_hash in rows:
            record, done = replay.add(int(idx), bytes(data), bytes(stored_hash))
            records[int(idx)] = record
            computed.update(done[1:])
        report.leaves += len(rows)
        report.nodes += _compare_nodes(conn, computed, replay.findings)
        report.decisions += _compare_decisions(
            conn,
            records,
            int(rows[0].idx),
            int(rows[-1].idx),
            hmac_key,
            replay.findings,
            seen_rows,
        )
        start = int(rows[-1].idx) + 1
    replay.finish(report.tree_size)
    _orphan_decisions(conn, replay.size, replay.findings)
    report.findings = replay.findings
    return report


def _text_size_root(text: str) -> tuple[int | None, bytes | None]:
    try:
        cp = note.Checkpoint.parse(note.parse_note(text).text)
    except Exception:  # malformed text is reported by the replay's signature check
        return None, None
    return cp.size, cp.root


def _compare_nodes(conn: Connection, computed: dict[NodeID, bytes], out: list[Finding]) -> int:
    """Compare recomputed interior nodes with stored ones, one range query per level."""
    by_level: dict[int, list[int]] = defaultdict(list)
    for n in computed:
        by_level[n.level].append(n.index)
    checked = 0
    for level, idxs in sorted(by_level.items()):
        lo, hi = min(idxs), max(idxs)
        q = sa.select(ledger_nodes.c.idx, ledger_nodes.c.hash).where(
            ledger_nodes.c.level == level, ledger_nodes.c.idx.between(lo, hi)
        )
        stored = {int(i): bytes(h) for i, h in conn.execute(q)}
        for idx in idxs:
            node = NodeID(level, idx)
            have = stored.get(idx)
            checked += 1
            if have != computed[node]:
                what = "is missing" if have is None else f"holds {have.hex()}"
                out.append(
                    Finding(
                        "NODE_MISMATCH",
                        node.begin,
                        f"node {node} (leaves {node.begin}..{node.end - 1}) {what}, "
                        f"the leaves give {computed[node].hex()}",
                        end=node.end,
                    )
                )
    return checked


_DECISION_COLUMNS = (
    decisions.c.batch_id,
    decisions.c.line,
    decisions.c.request_id,
    decisions.c.outcome,
    decisions.c.reason,
    decisions.c.final_outcome,
    decisions.c.final_reason,
    decisions.c.refusal_codes,
    decisions.c.tin,
    decisions.c.leaf_index,
)


def _compare_decisions(
    conn: Connection,
    records: dict[int, LedgerRecord | None],
    lo: int,
    hi: int,
    hmac_key: bytes | None,
    out: list[Finding],
    seen: set[int],
) -> int:
    q = sa.select(*_DECISION_COLUMNS).where(decisions.c.leaf_index.between(lo, hi))
    rows = {int(r.leaf_index): r for r in conn.execute(q)}
    seen.update(rows)
    for index, record in sorted(records.items()):
        if record is None or record.kind is not RecordKind.DECISION:
            continue
        row = rows.get(index)
        if row is None:
            out.append(
                Finding(
                    "DECISION_MISSING",
                    index,
                    f"leaf {index} records a decision on {record.batch_id} line "
                    f"{record.line}, but no decision row points to it",
                )
            )
            continue
        wrong = _differences(row, record, hmac_key)
        if wrong:
            out.append(
                Finding(
                    "DECISION_MISMATCH",
                    index,
                    f"decision row {row.batch_id} line {row.line} differs from leaf "
                    f"{index} in {', '.join(wrong)}",
                )
            )
    for index in sorted(set(rows) - set(records)):  # inside the range but not a leaf we read
        out.append(
            Finding(
                "LEAF_MISSING",
                index,
                f"decision {rows[index].batch_id} line {rows[index].line} points to "
                f"leaf {index}, which is not in the store",
            )
        )
    return len(rows)


def _differences(row: Any, record: LedgerRecord, hmac_key: bytes | None) -> list[str]:
    final = row.final_outcome is not None
    outcome = row.final_outcome if final else row.outcome
    reason = row.final_reason if final else row.reason
    codes = sorted(c for c in (row.refusal_codes or "").split(";") if c)
    checks: list[tuple[str, object, object]] = [
        ("batch_id", row.batch_id, record.batch_id),
        ("line", row.line, record.line),
        ("request_id", row.request_id, record.request_id),
        ("outcome", outcome, str(record.outcome) if record.outcome else None),
        ("reason", reason, str(record.reason) if record.reason else None),
    ]
    if record.refusal_codes:  # codes are logged for refusals only
        checks.append(("refusal_codes", codes, list(record.refusal_codes)))
    if hmac_key is not None:
        mac = tin_hmac(hmac_key, row.tin) if row.tin else None
        checks.append(("tin_hmac", mac, record.tin_hmac))
    return [name for name, have, want in checks if have != want]


def _orphan_decisions(conn: Connection, size: int, out: list[Finding]) -> None:
    """Decision rows that point past the last leaf (a truncated log)."""
    q = (
        sa.select(decisions.c.batch_id, decisions.c.line, decisions.c.leaf_index)
        .where(decisions.c.leaf_index >= size)
        .order_by(decisions.c.leaf_index)
        .limit(20)
    )
    for r in conn.execute(q):
        out.append(
            Finding(
                "LEAF_MISSING",
                int(r.leaf_index),
                f"decision {r.batch_id} line {r.line} points to leaf {r.leaf_index}, "
                f"beyond the {size} leaves in the store",
            )
        )
