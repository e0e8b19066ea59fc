"""The ledger's tables, on the shared metadata (so Alembic sees them).

* ``ledger_head`` - one row: the tree size. Appenders update it first, which serialises them
  (PostgreSQL holds the row lock until commit; SQLite has one writer at a time anyway).
* ``ledger_leaves`` - one row per leaf: the canonical record bytes, their leaf hash, and the
  columns proofs and accounting look leaves up by (batch and request, TIN HMAC).
* ``ledger_nodes`` - every *perfect* interior node (level >= 1) by (level, index); written once
  when its last leaf arrives, never updated. Level 0 is ``ledger_leaves.leaf_hash``. A proof
  reads at most about 2·log2(n) of them.
* ``ledger_checkpoints`` - every signed checkpoint, in signing order.

Nothing here is ever updated or deleted except ``ledger_head.size``.
"""

from __future__ import annotations

import sqlalchemy as sa

from ftigate.store.tables import TS, metadata

ledger_head = sa.Table(
    "ledger_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("size", sa.BigInteger, nullable=False),
)

ledger_leaves = sa.Table(
    "ledger_leaves",
    metadata,
    sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("batch_id", sa.String(100), nullable=False),
    sa.Column("request_id", sa.String(200), nullable=False),
    sa.Column("tin_hmac", sa.String(64), nullable=True, index=True),
    sa.Column("record", sa.LargeBinary, nullable=False),
    sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
    sa.Index("ix_ledger_leaves_batch_request", "batch_id", "request_id"),
)

ledger_nodes = sa.Table(
    "ledger_nodes",
    metadata,
    sa.Column("level", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.LargeBinary(32), nullable=False),
)

ledger_checkpoints = sa.Table(
    "ledger_checkpoints",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("size", sa.BigInteger, nullable=False, index=True),
    sa.Column("root", sa.LargeBinary(32), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("signed_at", TS, nullable=False),
)
