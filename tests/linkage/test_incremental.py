"""Incremental matching: a batch against an unchanged snapshot reuses its prepared tables and
model; a changed register is a new snapshot, and every decision records which one it used.

Runs through the service (ingest, sign, submit, match, review, release) on the DuckDB backend.
"Reused" is proved without timing: the functions that would redo the work are replaced by ones
that fail, and the files they would rewrite keep their modification times.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ftigate.config import Settings
from ftigate.demo import SAMPLE_AGREEMENT, agreement_with_signer
from ftigate.ledger.log import find_leaves, load_leaf
from ftigate.linkage import duckdb_backend
from ftigate.service import Gateway, Principal
from ftigate.service.admin import init, load_agreement
from ftigate.service.intake import sign_batch, submit_batch
from ftigate.service.matching import MatchResult, match_batch
from ftigate.service.register import ingest
from ftigate.service.review import release_batch, review_batch
from ftigate.store import repo
from ftigate.synth import generate

ROOT = Path(__file__).parents[2]
ADMIN = Principal("tester", "admin")


@dataclass
class World:
    root: Path
    gw: Gateway
    synth: Path
    signer: dict[str, str]
    snapshot: repo.StoredSnapshot


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    import json

    root = tmp_path_factory.mktemp("incremental")
    synth = root / "synth"
    generate(taxpayers=3000, requests=200, seed=11, out=synth)
    settings = Settings(
        database_url=f"sqlite:///{root / 'ftigate.db'}",
        data_dir=str(root / "data"),
        duckdb_threads=1,
    )
    gw = Gateway(settings)
    init(gw)
    signer = json.loads((synth / "keys" / "signer.json").read_text())
    agreement = agreement_with_signer(ROOT / SAMPLE_AGREEMENT, signer, root / "agreement.yaml")
    load_agreement(gw, agreement, ADMIN)
    snapshot = ingest(gw, synth / "register", ADMIN).snapshot
    yield World(root, gw, synth, signer, snapshot)
    gw.db.dispose()


def submit_and_match(w: World, batch_id: str) -> MatchResult:
    batch = w.root / f"batch-{batch_id}"
    if not batch.exists():
        shutil.copytree(w.synth / "batch", batch)
    sign_batch(
        batch,
        w.synth / "keys" / "requester.key",
        signer=w.signer["name"],
        agreement_id="irs-ice-2025",
        batch_id=batch_id,
    )
    submit_batch(w.gw, batch, ADMIN)
    return match_batch(w.gw, batch_id, ADMIN)


def _fail(what: str) -> object:
    def fail(*_args: object, **_kwargs: object) -> None:
        raise AssertionError(f"{what} was called for a batch against an unchanged snapshot")

    return fail


def test_a_new_batch_reuses_the_prepared_tables_and_the_model(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = submit_and_match(world, "INC-1")
    with world.gw.reading() as conn:
        snap_dir = Path(repo.get_snapshot(conn, first.snapshot_id).path)
    linkage = snap_dir / "linkage"
    watched = [linkage / "model.json", linkage / "taxpayers.parquet", linkage / "prepared.json"]
    before = {p: p.stat().st_mtime_ns for p in watched}

    # Anything that would prepare, train or read the register files again now fails.
    monkeypatch.setattr(duckdb_backend, "prepare_register", _fail("prepare_register"))
    monkeypatch.setattr(duckdb_backend, "train", _fail("train"))
    monkeypatch.setattr("ftigate.service.register.ingest_register", _fail("register ingest"))
    monkeypatch.setattr("ftigate.store.register.read_table", _fail("reading register files"))

    second = submit_and_match(world, "INC-2")
    assert second.snapshot_id == first.snapshot_id
    assert second.model_sha256 == first.model_sha256
    assert {p: p.stat().st_mtime_ns for p in watched} == before
    assert not list(snap_dir.glob("*.csv")), "a snapshot holds Parquet only"

    # Same batch, snapshot, agreement and model: the same decisions (deterministic replay).
    with world.gw.reading() as conn:
        one = [(d.line, d.decision) for d in repo.load_decisions(conn, "INC-1")]
        two = [(d.line, d.decision) for d in repo.load_decisions(conn, "INC-2")]
    assert one == two
    assert second.outcomes == first.outcomes


def _changed_register(world: World) -> Path:
    """The register with one taxpayer's latest address moved to another ZIP."""
    changed = world.root / "register-changed"
    shutil.copytree(world.synth / "register", changed, dirs_exist_ok=True)
    path = changed / "addresses.csv"
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    rows[0]["street"] = "1 Changed Way"
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return changed


def _released_snapshot_ids(world: World, batch_id: str) -> set[str | None]:
    review_batch(world.gw, batch_id, Principal("alvarez", "officer"), approve_all=True)
    release_batch(world.gw, batch_id, Principal("brennan", "officer"))
    with world.gw.reading() as conn:
        request_ids = {d.decision.request_id for d in repo.load_decisions(conn, batch_id)}
        leaves = [i for rid in request_ids for i in find_leaves(conn, batch_id, rid)]
        return {load_leaf(conn, i).record.snapshot_id for i in leaves}


def test_a_changed_register_is_a_new_snapshot_recorded_with_every_decision(
    world: World,
) -> None:
    old = submit_and_match(world, "INC-OLD")
    assert _released_snapshot_ids(world, "INC-OLD") == {old.snapshot_id}

    new_snapshot = ingest(world.gw, _changed_register(world), ADMIN).snapshot
    assert new_snapshot.id != old.snapshot_id
    assert new_snapshot.model_path and Path(new_snapshot.model_path).parent.parent == Path(
        new_snapshot.path
    )

    new = submit_and_match(world, "INC-NEW")
    assert new.snapshot_id == new_snapshot.id != old.snapshot_id
    with world.gw.reading() as conn:
        assert repo.get_batch(conn, "INC-NEW")["snapshot_id"] == new_snapshot.id
        assert repo.get_batch(conn, "INC-OLD")["snapshot_id"] == old.snapshot_id
    assert _released_snapshot_ids(world, "INC-NEW") == {new_snapshot.id}
