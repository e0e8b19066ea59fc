"""Tampering with the store is caught by `verify`, which names the first bad index."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ftigate.ledger import leaf as lf
from ftigate.ledger import log, merkle, note
from ftigate.ledger.verify import verify_ledger
from ftigate.store.db import Database
from ftigate.store.ledger_tables import (
    ledger_checkpoints,
    ledger_head,
    ledger_leaves,
    ledger_nodes,
)
from ftigate.store.tables import decisions

from .fixtures import ORIGIN, TIN_KEY, Ledger, build


@pytest.fixture
def ledger(any_db: Database) -> Ledger:
    return build(any_db)  # 15 leaves in three releases: checkpoints at 5, 11, 15


def run(ledger: Ledger, **kw):
    with ledger.db.reading() as conn:
        return verify_ledger(
            conn, [ledger.verifier], origin=ORIGIN, hmac_key=TIN_KEY, chunk=kw.pop("chunk", 4), **kw
        )


def codes(report) -> set[str]:
    return {f.code for f in report.findings}


def test_an_untouched_ledger_verifies(ledger: Ledger) -> None:
    report = run(ledger)
    assert report.ok, report.findings
    assert (report.tree_size, report.leaves, report.checkpoints, report.decisions) == (
        15,
        15,
        3,
        15,
    )
    assert report.nodes == 15 // 2 + 15 // 4 + 15 // 8
    assert report.to_json()["first_bad_index"] is None
    assert run(ledger, chunk=1000).ok


def test_edited_decision_row(ledger: Ledger) -> None:
    with ledger.db.transaction() as conn:
        conn.execute(
            decisions.update()
            .where(decisions.c.leaf_index == 7)
            .values(final_outcome="DISCLOSE", final_reason="APPROVED_BY_OFFICER")
        )
    report = run(ledger)
    assert report.first.index == 7 and report.first.code == "DECISION_MISMATCH"
    assert "outcome" in report.first.message


def test_edited_tin_is_caught_only_with_the_hmac_key(ledger: Ledger) -> None:
    with ledger.db.transaction() as conn:
        conn.execute(decisions.update().where(decisions.c.leaf_index == 3).values(tin="999887777"))
    assert run(ledger).first.index == 3
    with ledger.db.reading() as conn:
        assert verify_ledger(conn, [ledger.verifier]).ok  # without the key it cannot know


def test_edited_leaf_record(ledger: Ledger) -> None:
    r = ledger.records[9]
    forged = lf.encode_record(
        lf.LedgerRecord(
            **{
                **{f: getattr(r, f) for f in r.__dataclass_fields__},
                "reason": None,
                "outcome": lf.Outcome.NOT_DISCLOSED,
                "fields_disclosed": (),
            }
        )
    )
    with ledger.db.transaction() as conn:
        conn.execute(ledger_leaves.update().where(ledger_leaves.c.idx == 9).values(record=forged))
    report = run(ledger)
    assert report.first.index == 9
    assert "LEAF_HASH_MISMATCH" in codes(report)


def test_edited_leaf_with_every_stored_hash_recomputed(ledger: Ledger) -> None:
    """A careful forger rewrites the leaf, its hash and the nodes: the signed root still differs."""
    r = ledger.records[2]
    forged = lf.encode_record(
        lf.LedgerRecord(
            **{**{f: getattr(r, f) for f in r.__dataclass_fields__}, "statute": "forged"}
        )
    )
    with ledger.db.transaction() as conn:
        conn.execute(
            ledger_leaves.update()
            .where(ledger_leaves.c.idx == 2)
            .values(record=forged, leaf_hash=merkle.hash_leaf(forged))
        )
        rows = conn.execute(sa.select(ledger_leaves.c.leaf_hash).order_by(ledger_leaves.c.idx))
        hashes = [bytes(h) for (h,) in rows]
        conn.execute(ledger_nodes.delete())
        edge = merkle.CompactRange()
        for h in hashes:
            for n, v in edge.append(h)[1:]:
                conn.execute(ledger_nodes.insert().values(level=n.level, idx=n.index, hash=v))
    report = run(ledger)
    # the statute is in no other table, so only the signatures catch it: the first checkpoint
    # (size 5) disagrees, which bounds the edit to leaves 0..4, and every later one too
    assert codes(report) == {"CHECKPOINT_ROOT_MISMATCH"}
    assert (report.first.index, report.first.end) == (0, 5)
    assert len(report.findings) == 3


def test_deleted_leaf(ledger: Ledger) -> None:
    with ledger.db.transaction() as conn:
        conn.execute(ledger_leaves.delete().where(ledger_leaves.c.idx == 6))
    report = run(ledger)
    assert report.first.index == 6 and report.first.code == "LEAF_MISSING"


def test_deleted_decision_row(ledger: Ledger) -> None:
    with ledger.db.transaction() as conn:
        conn.execute(decisions.delete().where(decisions.c.leaf_index == 12))
    report = run(ledger)
    assert report.first.index == 12 and report.first.code == "DECISION_MISSING"


def test_swapped_decision_rows(ledger: Ledger) -> None:
    with ledger.db.transaction() as conn:
        conn.execute(decisions.update().where(decisions.c.leaf_index == 4).values(leaf_index=-1))
        conn.execute(decisions.update().where(decisions.c.leaf_index == 8).values(leaf_index=4))
        conn.execute(decisions.update().where(decisions.c.leaf_index == -1).values(leaf_index=8))
    report = run(ledger)
    assert report.first.index == 4
    assert {f.index for f in report.findings if f.code == "DECISION_MISMATCH"} == {4, 8}


def test_swapped_leaves(ledger: Ledger) -> None:
    with ledger.db.transaction() as conn:
        a, b = (
            bytes(
                conn.execute(
                    sa.select(ledger_leaves.c.record).where(ledger_leaves.c.idx == i)
                ).scalar_one()
            )
            for i in (10, 13)
        )
        for i, data in ((10, b), (13, a)):
            conn.execute(
                ledger_leaves.update()
                .where(ledger_leaves.c.idx == i)
                .values(record=data, leaf_hash=merkle.hash_leaf(data))
            )
    report = run(ledger)
    assert report.first.index == 10
    assert codes(report) >= {"NODE_MISMATCH", "DECISION_MISMATCH", "CHECKPOINT_ROOT_MISMATCH"}


def test_truncated_log(ledger: Ledger) -> None:
    with ledger.db.transaction() as conn:
        conn.execute(ledger_leaves.delete().where(ledger_leaves.c.idx >= 12))
        conn.execute(
            ledger_nodes.delete().where(
                ((ledger_nodes.c.idx + 1) * sa.func.power(2, ledger_nodes.c.level)) > 12
            )
        )
        conn.execute(ledger_head.update().values(size=12))
    report = run(ledger)
    assert report.first.index == 12
    assert codes(report) >= {"LOG_TRUNCATED", "LEAF_MISSING"}
    with ledger.db.transaction() as conn, pytest.raises(log.IntegrityError):
        log.sign_checkpoint(conn, ledger.key, ORIGIN)  # and the gateway refuses to sign it


def test_replaced_checkpoint(ledger: Ledger) -> None:
    """A checkpoint swapped for one signed by the right key over a different root."""
    fake = note.sign_checkpoint(
        note.Checkpoint(ORIGIN, 11, b"\x01" * 32), note.NoteSigner(ORIGIN, ledger.key)
    )
    with ledger.db.transaction() as conn:
        conn.execute(
            ledger_checkpoints.update().where(ledger_checkpoints.c.size == 11).values(text=fake)
        )
    report = run(ledger)
    assert codes(report) == {"CHECKPOINT_ROOT_MISMATCH", "CHECKPOINT_COLUMNS"}
    assert report.first.index == 5  # leaves 5..10 are the ones it disagrees about


def test_checkpoint_signed_with_another_key(ledger: Ledger) -> None:
    with ledger.db.reading() as conn:
        cp = note.Checkpoint.parse(note.parse_note(log.checkpoint_at(conn, 5)).text)
    other = note.sign_checkpoint(cp, note.NoteSigner(ORIGIN, Ed25519PrivateKey.generate()))
    with ledger.db.transaction() as conn:
        conn.execute(
            ledger_checkpoints.update().where(ledger_checkpoints.c.size == 5).values(text=other)
        )
    report = run(ledger)
    assert codes(report) == {"CHECKPOINT_SIGNATURE"}
    assert report.first.index == 5 and "no signature by a known key" in report.first.message


def test_edited_interior_node(ledger: Ledger) -> None:
    with ledger.db.transaction() as conn:
        conn.execute(
            ledger_nodes.update()
            .where(ledger_nodes.c.level == 2, ledger_nodes.c.idx == 2)
            .values(hash=b"\x00" * 32)
        )
    report = run(ledger)
    assert codes(report) == {"NODE_MISMATCH"} and report.first.index == 8


def test_non_canonical_record(ledger: Ledger) -> None:
    with ledger.db.transaction() as conn:
        data = bytes(
            conn.execute(
                sa.select(ledger_leaves.c.record).where(ledger_leaves.c.idx == 1)
            ).scalar_one()
        )
        spaced = data.replace(b",", b", ", 1)
        conn.execute(
            ledger_leaves.update()
            .where(ledger_leaves.c.idx == 1)
            .values(record=spaced, leaf_hash=merkle.hash_leaf(spaced))
        )
    report = run(ledger)
    assert report.first.index == 1 and report.first.code == "RECORD_INVALID"
