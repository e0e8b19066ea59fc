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

The store is read in chunks of leaves by primary key with the driver's own cursor, so memory
stays flat. Each chunk is checked in one pass (:func:`ftigate.ledger.replay.examine_leaves`:
the fast record check, whose acceptance set the tests hold equal to ``decode_record``'s), then
compared with one range query per node level and one for the decisions. A million leaves take
about 25 CPU seconds (``bench/ledger_bench.py``). Spreading the examination over worker
processes was measured and dropped: on a shared 2-core machine it cost a third more CPU and
was slower.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ftigate.errors import InputError
from ftigate.ledger import log, note
from ftigate.ledger.leaf import RecordKind, tin_hmac
from ftigate.ledger.merkle import NodeID
from ftigate.ledger.replay import Finding, LeafFacts, Replayer, examine_leaves, first_finding
from ftigate.store.ledger_tables import ledger_nodes
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
    for rows in log.load_leaf_chunks(conn, chunk=chunk):
        indices = [r[0] for r in rows]
        examined = examine_leaves([r[1] for r in rows])
        nodes = replay.add_examined(indices, examined, [r[2] for r in rows])
        report.leaves += len(rows)
        report.nodes += _compare_nodes(conn, nodes, replay.findings)
        report.decisions += _compare_decisions(
            conn,
            dict(zip(indices, examined.facts, strict=True)),
            indices[0],
            indices[-1],
            hmac_key,
            replay.findings,
            seen_rows,
        )
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


def nodes_range_sql(mark: str) -> str:
    """The stored nodes of one level in an index range: ``(index, hash)``."""
    n = ledger_nodes.c
    return (
        f"SELECT {n.idx.name}, {n.hash.name} FROM {ledger_nodes.name} "
        f"WHERE {n.level.name} = {mark} AND {n.idx.name} BETWEEN {mark} AND {mark}"
    )


def _compare_nodes(
    conn: Connection, computed: Sequence[tuple[int, int, bytes]], out: list[Finding]
) -> int:
    """Compare recomputed interior nodes with stored ones, one range query per level."""
    by_level: dict[int, dict[int, bytes]] = defaultdict(dict)
    for level, idx, h in computed:
        by_level[level][idx] = h
    sql = nodes_range_sql(log.placeholder(conn))
    for level, want in sorted(by_level.items()):
        rows = log.driver_rows(conn, sql, (level, min(want), max(want)))
        stored = {int(i): bytes(h) for i, h in rows}
        if stored == want:
            continue
        for idx, h in want.items():
            have = stored.get(idx)
            if have != h:
                node = NodeID(level, idx)
                what = "is missing" if have is None else f"holds {have.hex()}"
                out.append(
                    Finding(
                        "NODE_MISMATCH",
                        node.begin,
                        f"node {node} (leaves {node.begin}..{node.end - 1}) {what}, "
                        f"the leaves give {h.hex()}",
                        end=node.end,
                    )
                )
    return len(computed)


class _DecisionRow(NamedTuple):
    batch_id: str
    line: int
    request_id: str
    outcome: str
    reason: str | None
    final_outcome: str | None
    final_reason: str | None
    refusal_codes: str | None
    tin: str | None
    leaf_index: int


def decisions_sql(mark: str) -> str:
    """The decision rows pointing to leaves in an index range, as :class:`_DecisionRow` s."""
    c = decisions.c
    return (
        f"SELECT {', '.join(_DecisionRow._fields)} FROM {decisions.name} "
        f"WHERE {c.leaf_index.name} BETWEEN {mark} AND {mark}"
    )


_DECISION = str(RecordKind.DECISION)


def _compare_decisions(
    conn: Connection,
    leaves: dict[int, LeafFacts | None],
    lo: int,
    hi: int,
    hmac_key: bytes | None,
    out: list[Finding],
    seen: set[int],
) -> int:
    found = log.driver_rows(conn, decisions_sql(log.placeholder(conn)), (lo, hi))
    rows = {int(r[-1]): r for r in found}
    seen.update(rows)
    for index, leaf in leaves.items():  # in index order, as the store returned them
        if leaf is None or leaf.kind != _DECISION:
            continue
        row = rows.get(index)
        if row is None:
            out.append(
                Finding(
                    "DECISION_MISSING",
                    index,
                    f"leaf {index} records a decision on {leaf.batch_id} line "
                    f"{leaf.line}, but no decision row points to it",
                )
            )
            continue
        # the comparisons of _differences at once; it names them only when one fails
        batch_id, line, request_id, outcome, reason, final_outcome, final_reason, codes, tin = row[
            :9
        ]
        if final_outcome is not None:
            outcome, reason = final_outcome, final_reason
        if (
            batch_id == leaf.batch_id
            and line == leaf.line
            and request_id == leaf.request_id
            and outcome == leaf.outcome
            and reason == leaf.reason
            and (not leaf.refusal_codes or _codes(codes) == list(leaf.refusal_codes))
            and (hmac_key is None or _row_tin_hmac(hmac_key, tin) == leaf.tin_hmac)
        ):
            continue
        bad = _DecisionRow._make(row)
        out.append(
            Finding(
                "DECISION_MISMATCH",
                index,
                f"decision row {bad.batch_id} line {bad.line} differs from leaf "
                f"{index} in {', '.join(_differences(bad, leaf, hmac_key))}",
            )
        )
    for index in sorted(set(rows) - set(leaves)):  # inside the range but not a leaf we read
        bad = _DecisionRow._make(rows[index])
        out.append(
            Finding(
                "LEAF_MISSING",
                index,
                f"decision {bad.batch_id} line {bad.line} points to "
                f"leaf {index}, which is not in the store",
            )
        )
    return len(rows)


def _codes(stored: str | None) -> list[str]:
    return sorted(c for c in (stored or "").split(";") if c)


def _row_tin_hmac(hmac_key: bytes, tin: str | None) -> str | None:
    if not tin:
        return None
    try:
        return tin_hmac(hmac_key, tin)
    except InputError:  # not a TIN at all: it matches no leaf's HMAC, so it is reported
        return "(not a TIN)"


def _differences(row: _DecisionRow, leaf: LeafFacts, hmac_key: bytes | None) -> list[str]:
    final = row.final_outcome is not None
    outcome = row.final_outcome if final else row.outcome
    reason = row.final_reason if final else row.reason
    checks: list[tuple[str, object, object]] = [
        ("batch_id", row.batch_id, leaf.batch_id),
        ("line", row.line, leaf.line),
        ("request_id", row.request_id, leaf.request_id),
        ("outcome", outcome, leaf.outcome),
        ("reason", reason, leaf.reason),
    ]
    if leaf.refusal_codes:  # codes are logged for refusals only
        checks.append(("refusal_codes", _codes(row.refusal_codes), list(leaf.refusal_codes)))
    if hmac_key is not None:
        checks.append(("tin_hmac", _row_tin_hmac(hmac_key, row.tin), leaf.tin_hmac))
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
