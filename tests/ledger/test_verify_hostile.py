"""Stored bytes that used to crash verify or append now become findings or our errors."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ftigate.errors import BackendError, IntegrityError
from ftigate.ledger import log, merkle
from ftigate.ledger.verify import verify_ledger
from ftigate.store.db import Database
from ftigate.store.ledger_tables import ledger_leaves
from ftigate.store.tables import decisions

from .fixtures import ORIGIN, TIN_KEY, Ledger, build
from .records import many


@pytest.fixture
def ledger(any_db: Database) -> Ledger:
    return build(any_db)


def run(ledger: Ledger):
    with ledger.db.reading() as conn:
        return verify_ledger(conn, [ledger.verifier], origin=ORIGIN, hmac_key=TIN_KEY, chunk=4)


def replace_leaf(ledger: Ledger, index: int, data: bytes) -> None:
    with ledger.db.transaction() as conn:
        conn.execute(
            ledger_leaves.update()
            .where(ledger_leaves.c.idx == index)
            .values(record=data, leaf_hash=merkle.hash_leaf(data))
        )


def test_a_decision_row_whose_tin_is_not_a_tin(ledger: Ledger) -> None:
    with ledger.db.transaction() as conn:
        conn.execute(decisions.update().where(decisions.c.leaf_index == 3).values(tin="12-X"))
    report = run(ledger)
    assert report.first.index == 3 and report.first.code == "DECISION_MISMATCH"
    assert "tin_hmac" in report.first.message


@pytest.mark.parametrize(
    "edit",
    [
        lambda data: data.replace(b'"R0000004"', b'"\\ud800"'),  # parses; has no UTF-8
        lambda data: b"[" * 100_000,  # deeper than the parser goes
        lambda data: data.replace(b'"line":6', b'"line":' + b"9" * 5000),  # too long an int
    ],
)
def test_hostile_leaf_bytes_are_a_finding_at_their_index(ledger: Ledger, edit) -> None:
    with ledger.db.reading() as conn:
        data = log.load_leaf(conn, 4).data
    replace_leaf(ledger, 4, edit(data))
    report = run(ledger)
    assert report.first.index == 4 and report.first.code == "RECORD_INVALID"


def test_a_failed_bulk_insert_is_our_error_and_leaves_nothing(any_db: Database) -> None:
    with any_db.transaction() as conn:
        log.append(conn, many(3))
        # a stray row where the next leaf goes: the bulk insert (COPY on PostgreSQL) fails
        conn.execute(
            ledger_leaves.insert().values(
                idx=4, kind="DECISION", batch_id="x", request_id="x", record=b"x", leaf_hash=b"x"
            )
        )
    with pytest.raises(BackendError), any_db.transaction() as conn:
        log.append(conn, many(3, start=3))
    with any_db.reading() as conn:
        assert log.tree_size(conn) == 3
        count = conn.execute(sa.select(sa.func.count()).select_from(ledger_leaves)).scalar()
        assert count == 4


def test_reading_leaves_for_export_stops_at_a_gap(any_db: Database) -> None:
    with any_db.transaction() as conn:
        log.append(conn, many(6))
        conn.execute(ledger_leaves.delete().where(ledger_leaves.c.idx == 2))
    with any_db.reading() as conn:
        got = []
        with pytest.raises(IntegrityError) as e:
            got.extend(log.iter_leaf_data(conn, 6, chunk=2))
        assert len(got) == 2 and e.value.index == 2
