"""API accounts: who may call the gateway over HTTP, in which role, for which agency.

The table lives on the shared ``metadata`` (migration ``0003``). A token is never stored: only
its SHA-256, which is enough because a token carries 256 random bits (a slow password hash
protects low-entropy secrets; here brute force is already out of reach). Accounts are never
deleted, so the audit trail's principal names always resolve; they are disabled instead.

Contracts: ``get_*`` raise :class:`NotFound`; ``insert_account`` raises :class:`Conflict` when the
name is taken. The caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from ftigate.errors import Conflict, NotFound
from ftigate.store.tables import TS, metadata

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("agency", sa.String(200), nullable=True),
    sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("created_by", sa.String(100), nullable=False),
    sa.Column("disabled_at", TS, nullable=True),
    sa.Column("disabled_by", sa.String(100), nullable=True),
    sa.Column("token_rotated_at", TS, nullable=True),
)


@dataclass(frozen=True)
class StoredAccount:
    name: str
    role: str
    agency: str | None
    disabled: bool
    created_at: datetime
    created_by: str
    disabled_at: datetime | None


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes for timezone=True columns; they were written as UTC.
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _account(row: sa.Row[tuple[object, ...]] | sa.RowMapping) -> StoredAccount:
    m = row._mapping if isinstance(row, sa.Row) else row
    created = _aware(m["created_at"])
    assert created is not None
    return StoredAccount(
        name=m["name"],
        role=m["role"],
        agency=m["agency"],
        disabled=bool(m["disabled"]),
        created_at=created,
        created_by=m["created_by"],
        disabled_at=_aware(m["disabled_at"]),
    )


def insert_account(
    conn: Connection, *, name: str, role: str, agency: str | None, token_sha256: str, principal: str
) -> StoredAccount:
    try:
        with conn.begin_nested():
            conn.execute(
                accounts.insert().values(
                    name=name,
                    role=role,
                    agency=agency,
                    token_sha256=token_sha256,
                    disabled=False,
                    created_at=datetime.now(UTC),
                    created_by=principal,
                )
            )
    except SAIntegrityError as e:
        raise Conflict(f"an account named {name!r} already exists; names are never reused") from e
    return get_account(conn, name)


def get_account(conn: Connection, name: str) -> StoredAccount:
    row = conn.execute(sa.select(accounts).where(accounts.c.name == name)).first()
    if row is None:
        raise NotFound(f"no account {name!r}")
    return _account(row)


def find_by_token_hash(conn: Connection, token_sha256: str) -> StoredAccount | None:
    """The account holding this token hash, disabled or not; None when no account has it."""
    row = conn.execute(sa.select(accounts).where(accounts.c.token_sha256 == token_sha256)).first()
    return None if row is None else _account(row)


def list_accounts(conn: Connection) -> list[StoredAccount]:
    return [_account(r) for r in conn.execute(sa.select(accounts).order_by(accounts.c.name))]


def disable_account(conn: Connection, name: str, principal: str) -> StoredAccount:
    """Disable ``name`` at once; its token stops working on the next request."""
    current = get_account(conn, name)
    if current.disabled:
        raise Conflict(f"account {name!r} is already disabled")
    conn.execute(
        accounts.update()
        .where(accounts.c.name == name)
        .values(disabled=True, disabled_at=datetime.now(UTC), disabled_by=principal)
    )
    return get_account(conn, name)


def replace_token(conn: Connection, name: str, token_sha256: str) -> StoredAccount:
    """Give ``name`` a new token hash (the old token stops working)."""
    current = get_account(conn, name)
    if current.disabled:
        raise Conflict(f"account {name!r} is disabled; create a new account instead")
    conn.execute(
        accounts.update()
        .where(accounts.c.name == name)
        .values(token_sha256=token_sha256, token_rotated_at=datetime.now(UTC))
    )
    return current
