"""Shared fixtures. PostgreSQL tests use FTIGATE_TEST_DATABASE_URL and must run in CI."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ftigate.store.db import Database


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    db = Database.connect(f"sqlite:///{tmp_path / 'ftigate.db'}")
    db.migrate()
    yield db
    db.dispose()


def postgres_url() -> str | None:
    url = os.environ.get("FTIGATE_TEST_DATABASE_URL")
    if not url:
        if os.environ.get("CI"):
            pytest.fail(
                "FTIGATE_TEST_DATABASE_URL must be set in CI: PostgreSQL tests may not skip"
            )
        pytest.skip("FTIGATE_TEST_DATABASE_URL is not set")
    return url


@pytest.fixture
def postgres_db() -> Iterator[Database]:
    """A fresh schema on the test server, so parallel workers never share tables."""
    url = postgres_url()
    assert url is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = Database.connect(url)
    with admin.engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = sa.create_engine(
        admin.engine.url, connect_args={"options": f"-csearch_path={schema}"}, future=True
    )
    db = Database(engine)
    db.migrate()
    try:
        yield db
    finally:
        db.dispose()
        with admin.engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """Runs a store test on both SQLite and PostgreSQL."""
    if request.param == "sqlite":
        yield from sqlite_db.__wrapped__(tmp_path)  # type: ignore[attr-defined]
    else:
        yield from postgres_db.__wrapped__()  # type: ignore[attr-defined]
