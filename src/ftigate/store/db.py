"""Engine creation, migrations and the one transaction helper every write path uses.

Example:
    >>> db = Database.connect("sqlite:///:memory:")
    >>> db.migrate()  # returns the head revision
    '0003'
    >>> with db.transaction() as conn:
    ...     _ = conn.execute(sa.text("select 1"))
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from ftigate.errors import BackendError, InputError


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINTs; we take over
    # (SQLAlchemy's documented recipe) so that a rolled-back transaction really leaves nothing.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    conn.exec_driver_sql("BEGIN")


class Database:
    """A connection pool to the store plus the transaction boundary."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def connect(cls, url: str) -> Database:
        try:
            engine = sa.create_engine(_normalise_url(url), future=True)
        except (SQLAlchemyError, ImportError, ValueError) as e:
            raise InputError(
                f"cannot open database {redact_url(url)}: {e}", field="FTIGATE_DATABASE_URL"
            ) from e
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
        return cls(engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def migrate(self) -> str:
        """Bring the schema to the newest Alembic revision; return that revision."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(resources.files("ftigate.store") / "migrations"))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            try:
                command.upgrade(cfg, "head")
            except SQLAlchemyError as e:
                raise BackendError(f"migration failed: {e}", operation="migrate") from e
        return self.revision()

    def revision(self) -> str:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision() or ""

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One database transaction: committed on success, rolled back on any exception.

        SQLAlchemy errors are translated to :class:`BackendError`; ours pass through.
        """
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as e:
            raise BackendError(
                f"store operation failed: {type(e).__name__}: {e.args[0] if e.args else e}",
                operation="transaction",
            ) from e

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection whose reads all see one snapshot (a long ``ledger verify`` must not
        mix two states of the log): REPEATABLE READ on PostgreSQL; SQLite's read transaction
        in WAL mode already is one."""
        try:
            with self.engine.connect() as conn:
                if self.dialect == "postgresql":
                    conn.execution_options(isolation_level="REPEATABLE READ")
                yield conn
        except SQLAlchemyError as e:
            raise BackendError(f"store read failed: {type(e).__name__}", operation="read") from e

    def dispose(self) -> None:
        self.engine.dispose()


def _normalise_url(url: str) -> str:
    # "postgresql://" would pick psycopg2, which we do not ship; psycopg 3 is the driver.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # a URL we cannot parse is shown by scheme only
        return url.split("://", 1)[0] + "://..."
