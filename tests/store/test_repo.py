from __future__ import annotations

import pytest
import sqlalchemy as sa

from ftigate.errors import BackendError, Conflict, NotFound, RefusalCode
from ftigate.model import Decision, Finding, Outcome, Reason, Request
from ftigate.store import repo
from ftigate.store import tables as t
from ftigate.store.db import Database


def _batch(conn: sa.Connection, batch_id: str = "B1") -> None:
    repo.insert_batch(
        conn,
        id=batch_id,
        requester="ICE",
        agreement_id="a",
        agreement_version=1,
        agreement_sha256="0" * 64,
        manifest_json="{}",
        signature_b64="",
        signer="s",
        requests_sha256="0" * 64,
        row_count=2,
        status=repo.BATCH_RECEIVED,
    )


def test_agreement_versions_are_immutable(any_db: Database) -> None:
    with any_db.transaction() as conn:
        kw = dict(
            id="a",
            version=1,
            sha256="1" * 64,
            title="t",
            requesting_agency="ICE",
            yaml_text="x: 1",
            principal="admin",
        )
        assert repo.insert_agreement(conn, **kw) is True
        assert repo.insert_agreement(conn, **kw) is False
        with pytest.raises(Conflict, match="new version"):
            repo.insert_agreement(conn, **{**kw, "sha256": "2" * 64})
        assert repo.get_agreement(conn, "a").version == 1
        with pytest.raises(NotFound):
            repo.get_agreement(conn, "b")


def test_requests_and_decisions_round_trip(any_db: Database) -> None:
    req = Request(line=2, request_id="R1", first_name="José", last_name="Núñez", street="1 Main St")
    finding = Finding(RefusalCode.MISSING_TAX_PERIOD, "no tax period", "tax_periods")
    dec = Decision(
        "R1",
        Outcome.REVIEW,
        Reason.LOW_CONFIDENCE,
        tin="123456789",
        probability=0.97,
        runner_up_probability=0.01,
        rules=("best below threshold",),
    )
    with any_db.transaction() as conn:
        _batch(conn)
        repo.insert_requests(conn, "B1", [req], {2: [finding]})
        repo.insert_decisions(conn, "B1", [(2, dec)])
    with any_db.reading() as conn:
        [(r, found)] = repo.load_requests(conn, "B1")
        [stored] = repo.load_decisions(conn, "B1")
    assert r == req and found == (finding,)
    assert stored.decision == dec and stored.final_outcome is None


def test_duplicate_batch_is_a_conflict_and_the_transaction_survives(any_db: Database) -> None:
    with any_db.transaction() as conn:
        _batch(conn)
        with pytest.raises(Conflict):
            _batch(conn)
        repo.record_audit(
            conn, principal="p", event_type="X", outcome="success", origin="cli", object="o"
        )
    with any_db.reading() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.audit_events)).scalar() == 1


def test_failed_transaction_leaves_nothing(any_db: Database) -> None:
    with pytest.raises(RuntimeError), any_db.transaction() as conn:
        _batch(conn)
        raise RuntimeError("crash between steps")
    with any_db.reading() as conn:
        assert repo.list_batches(conn) == []


def test_store_errors_are_translated(any_db: Database) -> None:
    with pytest.raises(BackendError), any_db.transaction() as conn:
        conn.execute(sa.text("select * from no_such_table"))


def test_snapshot_current_switches(any_db: Database) -> None:
    with any_db.transaction() as conn:
        with pytest.raises(NotFound):
            repo.get_snapshot(conn)
        repo.upsert_current_snapshot(
            conn, id="s1", path="/p1", source="d", taxpayers=1, addresses=1, content_sha256="a" * 64
        )
        repo.upsert_current_snapshot(
            conn, id="s2", path="/p2", source="d", taxpayers=2, addresses=2, content_sha256="b" * 64
        )
        assert repo.get_snapshot(conn).id == "s2"
        repo.upsert_current_snapshot(
            conn, id="s1", path="/p1", source="d", taxpayers=1, addresses=1, content_sha256="a" * 64
        )
        assert repo.get_snapshot(conn).id == "s1" and not repo.get_snapshot(conn, "s2").is_current
