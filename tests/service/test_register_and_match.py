"""Service guarantees around snapshots and matching that no single package can prove."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ftigate.config import Settings
from ftigate.demo import SAMPLE_AGREEMENT, agreement_with_signer
from ftigate.errors import Conflict
from ftigate.linkage import duckdb_backend
from ftigate.service import Gateway, Principal
from ftigate.service.admin import init, load_agreement
from ftigate.service.intake import sign_batch, submit_batch
from ftigate.service.matching import match_batch
from ftigate.service.register import ingest
from ftigate.store import repo
from ftigate.synth import generate

ROOT = Path(__file__).parents[2]
ADMIN = Principal("tester", "admin")


@pytest.fixture(scope="module")
def gw_and_synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, Path]]:
    root = tmp_path_factory.mktemp("svc")
    synth = root / "synth"
    generate(taxpayers=2000, requests=100, seed=3, out=synth)
    gw = Gateway(
        Settings(
            database_url=f"sqlite:///{root / 'ftigate.db'}",
            data_dir=str(root / "data"),
            duckdb_threads=1,
        )
    )
    init(gw)
    signer = json.loads((synth / "keys" / "signer.json").read_text())
    load_agreement(
        gw, agreement_with_signer(ROOT / SAMPLE_AGREEMENT, signer, root / "agreement.yaml"), ADMIN
    )
    ingest(gw, synth / "register", ADMIN)
    yield gw, synth
    gw.db.dispose()


def _submit(gw: Gateway, synth: Path, batch_id: str) -> None:
    folder = synth.parent / batch_id
    shutil.copytree(synth / "batch", folder)
    signer = json.loads((synth / "keys" / "signer.json").read_text())
    sign_batch(
        folder,
        synth / "keys" / "requester.key",
        signer=signer["name"],
        agreement_id="irs-ice-2025",
        batch_id=batch_id,
    )
    submit_batch(gw, folder, ADMIN)


@pytest.mark.slow
def test_reingesting_the_same_register_reuses_its_model(
    gw_and_synth: tuple[Gateway, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    gw, synth = gw_and_synth
    with gw.reading() as conn:
        first = repo.get_snapshot(conn)

    def no_training(*_a: object, **_k: object) -> None:
        raise AssertionError("an unchanged register was trained again")

    monkeypatch.setattr(duckdb_backend, "train", no_training)
    again = ingest(gw, synth / "register", ADMIN)
    assert again.reused and again.snapshot.id == first.id
    assert again.snapshot.model_sha256 == first.model_sha256


@pytest.mark.slow
def test_a_match_that_loses_a_race_writes_nothing(
    gw_and_synth: tuple[Gateway, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    gw, synth = gw_and_synth
    _submit(gw, synth, "RACE-1")
    real_match = duckdb_backend.match

    def match_while_another_finishes(*args: object, **kwargs: object) -> object:
        result = real_match(*args, **kwargs)  # type: ignore[arg-type]
        with gw.db.transaction() as conn:  # the other match commits first
            repo.update_batch(conn, "RACE-1", status=repo.BATCH_MATCHED)
        return result

    monkeypatch.setattr(duckdb_backend, "match", match_while_another_finishes)
    with pytest.raises(Conflict, match="while this match ran"):
        match_batch(gw, "RACE-1", ADMIN)
    with gw.reading() as conn:
        assert repo.load_decisions(conn, "RACE-1") == []
    with pytest.raises(Conflict):
        match_batch(gw, "RACE-1", ADMIN)
