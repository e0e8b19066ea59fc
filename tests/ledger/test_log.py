"""The ledger over SQLite and PostgreSQL: appends, proofs, checkpoints, accounting, rollback."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ftigate.errors import InputError, IntegrityError, NotFound
from ftigate.ledger import log, merkle, note
from ftigate.ledger.leaf import encode_record
from ftigate.store.db import Database
from ftigate.store.ledger_tables import ledger_leaves, ledger_nodes

from . import reference as ref
from .records import TIN_KEY, decision, many

ORIGIN = "ftigate.test/ledger"


def test_append_builds_the_rfc6962_tree(any_db: Database) -> None:
    records = many(37)
    with any_db.transaction() as conn:
        assert log.tree_size(conn) == 0
        assert log.root(conn) == merkle.EMPTY_ROOT
        assert log.append(conn, records[:1]) == 0
        assert log.append(conn, records[1:16]) == 1
        assert log.append(conn, records[16:17]) == 16
        assert log.append(conn, records[17:]) == 17
        assert log.append(conn, []) == 37
    leaves = [encode_record(r) for r in records]
    with any_db.reading() as conn:
        assert log.tree_size(conn) == 37
        for size in (0, 1, 2, 16, 17, 31, 32, 33, 37):
            assert log.root(conn, size) == ref.mth(leaves[:size])
        for index in (0, 1, 15, 16, 36):
            assert log.inclusion_proof(conn, index, 37) == ref.path(index, leaves)
            assert log.inclusion_proof(conn, index, 17 if index < 17 else 37) == ref.path(
                index, leaves[: 17 if index < 17 else 37]
            )
        batch = log.inclusion_proofs(conn, range(37), 37)
        assert batch == {i: ref.path(i, leaves) for i in range(37)}
        for s1 in (0, 1, 7, 16, 17, 36, 37):
            assert log.consistency_proof(conn, s1, 37) == ref.proof(s1, leaves[:37])
        leaf = log.load_leaf(conn, 5)
        assert leaf.data == leaves[5] and leaf.record == records[5]
        assert leaf.leaf_hash == merkle.hash_leaf(leaves[5])
        # stored nodes: level 0 lives with the leaves; only perfect interior nodes are stored
        count = conn.execute(sa.select(sa.func.count()).select_from(ledger_nodes)).scalar_one()
        assert count == sum(37 >> lvl for lvl in range(1, 7))


def test_reads_are_bounded(any_db: Database) -> None:
    with any_db.transaction() as conn:
        log.append(conn, many(20))
    with any_db.reading() as conn:
        with pytest.raises(InputError):
            log.root(conn, 21)
        with pytest.raises(InputError):
            log.inclusion_proof(conn, 0, 21)
        with pytest.raises(IntegrityError):
            log.inclusion_proof(conn, 20, 20)
        with pytest.raises(NotFound):
            log.load_leaf(conn, 20)
        with pytest.raises(NotFound):
            log.checkpoint_at(conn, 20)


def test_checkpoints_are_signed_stored_and_consistent(any_db: Database) -> None:
    key = Ed25519PrivateKey.generate()
    verifier = note.NoteSigner(ORIGIN, key).verifier
    with any_db.transaction() as conn:
        empty = log.sign_checkpoint(conn, key, ORIGIN)
        log.append(conn, many(5))
        five = log.sign_checkpoint(conn, key, ORIGIN)
        assert log.sign_checkpoint(conn, key, ORIGIN) == five  # unchanged tree: same text
        log.append(conn, many(6, start=5))
        eleven = log.sign_checkpoint(conn, key, ORIGIN)
    cp0 = note.open_checkpoint(empty, [verifier], origin=ORIGIN)
    cp5 = note.open_checkpoint(five, [verifier], origin=ORIGIN)
    cp11 = note.open_checkpoint(eleven, [verifier], origin=ORIGIN)
    assert (cp0.size, cp5.size, cp11.size) == (0, 5, 11)
    assert cp0.root == merkle.EMPTY_ROOT
    with any_db.reading() as conn:
        assert [c.size for c in log.load_checkpoints(conn)] == [0, 5, 11]
        assert log.checkpoint_at(conn, 5) == five
        latest = log.latest_checkpoint(conn)
        assert latest is not None and latest.text == eleven and latest.root == cp11.root
        proof = log.consistency_proof(conn, 5, 11)
        merkle.verify_consistency(5, 11, proof, cp5.root, cp11.root)
        incl = log.inclusion_proof(conn, 3, 11)
        merkle.verify_inclusion(3, 11, log.load_leaf(conn, 3).leaf_hash, incl, cp11.root)


def test_refuses_to_sign_a_fork(any_db: Database) -> None:
    key = Ed25519PrivateKey.generate()
    with any_db.transaction() as conn:
        log.append(conn, many(4))
        log.sign_checkpoint(conn, key, ORIGIN)
        log.append(conn, many(3, start=4))
        # someone rewrites a stored node inside the already signed range
        conn.execute(
            ledger_nodes.update()
            .where(ledger_nodes.c.level == 2, ledger_nodes.c.idx == 0)
            .values(hash=b"\x00" * 32)
        )
        with pytest.raises(IntegrityError):
            log.sign_checkpoint(conn, key, ORIGIN)


def test_accounting_finds_every_leaf_about_a_taxpayer(any_db: Database) -> None:
    mine = [decision(i, tin="123-45-6789") for i in range(3)]
    others = [decision(10 + i, tin="987-65-4321") for i in range(2)] + [decision(20, tin=None)]
    with any_db.transaction() as conn:
        log.append(conn, [others[0], mine[0], others[1], mine[1], others[2], mine[2]])
    with any_db.reading() as conn:
        found = log.accounting(conn, TIN_KEY, "123456789")
        assert [i for i, _ in found] == [1, 3, 5]
        assert [r for _, r in found] == mine
        assert log.accounting(conn, TIN_KEY, "111-11-1111") == []
        assert log.find_leaves(conn, "B-1", mine[1].request_id) == [3]
        with pytest.raises(NotFound):
            log.find_leaves(conn, "B-1", "nope")


class Crash(Exception):
    pass


def test_failure_between_decision_write_and_leaf_append_leaves_neither(any_db: Database) -> None:
    """A release writes decisions then leaves in one transaction; a crash keeps neither."""
    probe = sa.table("audit_events", sa.column("id"))
    with any_db.transaction() as conn:
        log.append(conn, many(3))

    def release(fail_after_decisions: bool, fail_after_leaves: bool) -> None:
        with any_db.transaction() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO audit_events (at, principal, event_type, outcome, origin, object) "
                    "VALUES (CURRENT_TIMESTAMP, 'officer', 'BATCH_RELEASE', 'ok', 'test', 'b')"
                )
            )
            if fail_after_decisions:
                raise Crash
            log.append(conn, many(4, start=3))
            if fail_after_leaves:
                raise Crash
            log.sign_checkpoint(conn, Ed25519PrivateKey.generate(), ORIGIN)

    for flags in [(True, False), (False, True)]:
        with pytest.raises(Crash):
            release(*flags)
        with any_db.reading() as conn:
            assert log.tree_size(conn) == 3
            assert conn.execute(sa.select(sa.func.count()).select_from(ledger_leaves)).scalar() == 3
            assert conn.execute(sa.select(sa.func.count()).select_from(probe)).scalar() == 0
            assert log.latest_checkpoint(conn) is None
    release(False, False)
    with any_db.reading() as conn:
        assert log.tree_size(conn) == 7
        assert conn.execute(sa.select(sa.func.count()).select_from(probe)).scalar() == 1


def test_missing_node_is_an_integrity_error_naming_the_leaf(any_db: Database) -> None:
    with any_db.transaction() as conn:
        log.append(conn, many(8))
        conn.execute(
            ledger_nodes.delete().where(ledger_nodes.c.level == 1, ledger_nodes.c.idx == 2)
        )
    with any_db.reading() as conn:
        with pytest.raises(IntegrityError) as e:
            log.inclusion_proof(conn, 7, 8)
        assert e.value.index == 4
