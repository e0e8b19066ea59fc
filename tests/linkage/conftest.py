"""The small seeded world most linkage tests share: a 300-person register with planted hard
cases, prepared and trained by the DuckDB backend once per test process, and its candidates."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ftigate.config import Settings
from ftigate.linkage import duckdb_backend
from ftigate.model import Candidate

from .fixtures import Fixture, make_fixture

World = tuple[Fixture, Path, Path, Settings]
"""The fixture, its prepared and trained snapshot folder, the model file, the settings."""


@pytest.fixture(scope="package")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("linkage")
    fx = make_fixture(n_people=300, seed=11)
    snap = fx.write_snapshot(root / "snapshot")
    settings = Settings(data_dir=str(root), duckdb_threads=1)
    duckdb_backend.prepare_register(snap, settings)
    model = duckdb_backend.train(snap, settings)
    yield fx, snap, model, settings


@pytest.fixture(scope="package")
def matched(world: World) -> dict[int, list[Candidate]]:
    fx, snap, model, settings = world
    return duckdb_backend.match(snap, model, fx.requests, settings)
