"""The audit trail: listing in the Publication 1075 shape, and a purge that removes only what
is past retention (never a ledger leaf), recorded as an audit event itself."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from ftigate.cli import app
from ftigate.errors import Forbidden, InputError
from ftigate.ledger import log as ledger_log
from ftigate.service import Principal
from ftigate.service.retention import (
    PUB1075_COLUMNS,
    list_audit_events,
    purge_audit_events,
)
from ftigate.store import tables as t

from .conftest import ADMIN, AUDITOR, ICE, OFFICER_A, Store, build_store, cli_base, disclose

NOW = datetime.now(UTC).replace(microsecond=0)  # events are dated relative to the real clock
runner = CliRunner()


def add_event(store: Store, when: datetime, name: str) -> None:
    with store.gw.db.transaction() as conn:
        conn.execute(
            t.audit_events.insert().values(
                at=when,
                principal=name,
                event_type="BATCH_READ",
                outcome="success",
                origin="api",
                object="batch:B-old",
                detail=None,
            )
        )


def principals(store: Store) -> list[str]:
    with store.gw.reading() as conn:
        return list(
            conn.execute(sa.select(t.audit_events.c.principal).order_by(t.audit_events.c.id))
            .scalars()
            .all()
        )


@pytest.fixture
def aged(store: Store) -> Store:
    """A released batch (ledger leaves from today) and audit events of several ages."""
    store.make_batch("B1", [disclose("R1", "123456789")])
    store.release_by_hand("B1", datetime(2025, 3, 3, tzinfo=UTC))
    for age, name in (
        (timedelta(days=3000), "ancient"),
        (timedelta(days=2558), "just-expired"),
        (timedelta(days=2556), "just-kept"),
        (timedelta(hours=1), "new"),
    ):
        add_event(store, NOW - age, name)
    return store


def test_purge_removes_only_events_past_retention(aged: Store) -> None:
    leaves = aged.tree_size()
    before = principals(aged)
    result = purge_audit_events(aged.gw, ADMIN, now=NOW)
    assert result.retention_days == 2557 and result.purged == 2
    assert result.cutoff == NOW - timedelta(days=2557)
    after = principals(aged)
    assert "ancient" not in after and "just-expired" not in after
    assert [p for p in before if p not in ("ancient", "just-expired")] == after[:-1]
    assert "just-kept" in after and "new" in after
    # the purge is itself an audit event, and says what it removed
    purge = aged.audit(event_type="AUDIT_PURGE")
    assert len(purge) == 1 and purge[0]["outcome"] == "success"
    assert "events=2" in purge[0]["detail"] and "retention_days=2557" in purge[0]["detail"]
    # the ledger is never purged, however old its leaves
    assert aged.tree_size() == leaves
    with aged.gw.reading() as conn:
        assert ledger_log.load_leaf(conn, 0).record.time.startswith("2025-03-03")
    # a second purge finds nothing more
    assert purge_audit_events(aged.gw, ADMIN, now=NOW).purged == 0


def test_dry_run_deletes_nothing(aged: Store) -> None:
    before = principals(aged)
    result = purge_audit_events(aged.gw, ADMIN, now=NOW, dry_run=True)
    assert result.purged == 2 and result.dry_run
    assert principals(aged)[: len(before)] == before
    assert "dry run" in aged.audit(event_type="AUDIT_PURGE")[0]["detail"]


def test_retention_comes_from_the_setting(tmp_path: Path) -> None:
    store = build_store(tmp_path, audit_retention_days=30)
    add_event(store, NOW - timedelta(days=31), "month-old")
    add_event(store, NOW - timedelta(days=29), "recent")
    assert purge_audit_events(store.gw, ADMIN, now=NOW).purged == 1
    assert "recent" in principals(store) and "month-old" not in principals(store)
    store.gw.db.dispose()
    zero = build_store(tmp_path / "zero", audit_retention_days=0)
    with pytest.raises(InputError, match="at least 1"):
        purge_audit_events(zero.gw, ADMIN, now=NOW)
    zero.gw.db.dispose()


def test_only_an_administrator_purges(aged: Store) -> None:
    for who in (OFFICER_A, AUDITOR, Principal("ice", "requester", "api", ICE)):
        with pytest.raises(Forbidden):
            purge_audit_events(aged.gw, who, now=NOW)
    assert "ancient" in principals(aged)
    assert len(aged.audit(event_type="AUDIT_PURGE", outcome="failure")) == 3


def test_list_in_the_publication_1075_shape(aged: Store) -> None:
    events = list_audit_events(aged.gw, AUDITOR, since=NOW - timedelta(days=2557))
    old = [e for e in events if e.object == "batch:B-old"]
    assert [e.principal for e in old] == ["just-kept", "new"]
    assert {e.event_type for e in events} == {"AGREEMENT_LOAD", "BATCH_READ"}
    doc = old[0].to_json()
    assert set(PUB1075_COLUMNS) <= set(doc)
    assert doc["time"] == (NOW - timedelta(days=2556)).isoformat()
    everything = list_audit_events(aged.gw, ADMIN)
    assert [e.principal for e in everything if e.object == "batch:B-old"] == [
        "ancient",
        "just-expired",
        "just-kept",
        "new",
    ]
    assert everything[0].event_type == "AGREEMENT_LOAD"  # the store's own setup, oldest first
    # reading the trail is recorded; an officer or requester may not read it
    assert aged.audit(event_type="AUDIT_READ", principal="audra", outcome="success")
    with pytest.raises(Forbidden):
        list_audit_events(aged.gw, OFFICER_A)


def test_audit_commands(aged: Store) -> None:
    base = cli_base(aged)
    since = (NOW - timedelta(days=2)).date().isoformat()
    r = runner.invoke(app, [*base, "audit", "list", "--since", since, "--json"])
    assert r.exit_code == 0, r.output
    lines = [json.loads(line) for line in r.output.splitlines()]
    assert [e["principal"] for e in lines if e["object"] == "batch:B-old"] == ["new"]
    assert set(PUB1075_COLUMNS) <= set(lines[0])
    r = runner.invoke(app, [*base, "audit", "list", "--since", "yesterday"])
    assert r.exit_code == 3 and "--since" in r.output
    r = runner.invoke(app, [*base, "audit", "list"])
    total = len(list_audit_events(aged.gw, ADMIN)) - 1  # less that read's own event
    assert r.exit_code == 0 and f"{total} event(s)" in r.output
    r = runner.invoke(app, [*base, "audit", "purge", "--dry-run"])
    assert r.exit_code == 0 and "would purge 2 audit event(s)" in r.output
    assert "ancient" in principals(aged)
    # FTIGATE_AUDIT_RETENTION_DAYS=1: everything older than a day goes, the rest stays
    r = runner.invoke(app, [*base, "audit", "purge"], env={"FTIGATE_AUDIT_RETENTION_DAYS": "1"})
    assert r.exit_code == 0, r.output
    said = " ".join(r.output.split())
    assert "purged 3 audit event(s)" in said and "retention 1 days" in said
    left = principals(aged)
    assert "new" in left and not {"ancient", "just-expired", "just-kept"} & set(left)
