"""The store's tables (SQLAlchemy Core). Alembic migrations create them; never ``create_all``.

Nothing is deleted: agreement status, reviews, releases and audit events are append-only
histories; a decision row gains its final outcome and ledger index at release.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

TS = sa.DateTime(timezone=True)

agreements = sa.Table(
    "agreements",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("requesting_agency", sa.String(100), nullable=False),
    sa.Column("yaml_text", sa.Text, nullable=False),
    sa.Column("loaded_at", TS, nullable=False),
    sa.Column("loaded_by", sa.String(100), nullable=False),
)

agreement_status = sa.Table(
    "agreement_status",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("agreement_id", sa.String(100), nullable=False, index=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("at", TS, nullable=False),
    sa.Column("principal", sa.String(100), nullable=False),
)

snapshots = sa.Table(
    "snapshots",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("taxpayers", sa.Integer, nullable=False),
    sa.Column("addresses", sa.Integer, nullable=False),
    sa.Column("content_sha256", sa.String(64), nullable=False),
    sa.Column("model_path", sa.Text, nullable=True),
    sa.Column("model_sha256", sa.String(64), nullable=True),
    sa.Column("trained_at", TS, nullable=True),
    sa.Column("is_current", sa.Boolean, nullable=False, default=False),
)

batches = sa.Table(
    "batches",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("requester", sa.String(100), nullable=False, index=True),
    sa.Column("agreement_id", sa.String(100), nullable=True),
    sa.Column("agreement_version", sa.Integer, nullable=True),
    sa.Column("agreement_sha256", sa.String(64), nullable=True),
    sa.Column("manifest_json", sa.Text, nullable=False),
    sa.Column("signature_b64", sa.Text, nullable=False),
    sa.Column("signer", sa.String(200), nullable=False),
    sa.Column("requests_sha256", sa.String(64), nullable=False),
    sa.Column("row_count", sa.Integer, nullable=False),
    sa.Column("received_at", TS, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("refusal_code", sa.String(40), nullable=True),
    sa.Column("refusal_message", sa.Text, nullable=True),
    sa.Column("snapshot_id", sa.String(40), nullable=True),
    sa.Column("model_sha256", sa.String(64), nullable=True),
    sa.Column("software_version", sa.String(40), nullable=True),
    sa.Column("matched_at", TS, nullable=True),
    sa.Column("released_at", TS, nullable=True),
)

requests = sa.Table(
    "requests",
    metadata,
    sa.Column("batch_id", sa.String(100), sa.ForeignKey("batches.id"), primary_key=True),
    sa.Column("line", sa.Integer, primary_key=True),
    sa.Column("request_id", sa.String(200), nullable=False),
    sa.Column("row_json", sa.Text, nullable=False),
    sa.Column("findings_json", sa.Text, nullable=False),
)

decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("batch_id", sa.String(100), sa.ForeignKey("batches.id"), primary_key=True),
    sa.Column("line", sa.Integer, primary_key=True),
    sa.Column("request_id", sa.String(200), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("reason", sa.String(40), nullable=True),
    sa.Column("refusal_codes", sa.Text, nullable=False, default=""),
    sa.Column("tin", sa.String(11), nullable=True),
    sa.Column("probability", sa.Float, nullable=True),
    sa.Column("runner_up_probability", sa.Float, nullable=True),
    sa.Column("rules_json", sa.Text, nullable=False),
    sa.Column("decided_at", TS, nullable=False),
    sa.Column("final_outcome", sa.String(20), nullable=True),
    sa.Column("final_reason", sa.String(40), nullable=True),
    sa.Column("leaf_index", sa.BigInteger, nullable=True, unique=True),
)

reviews = sa.Table(
    "reviews",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("batch_id", sa.String(100), sa.ForeignKey("batches.id"), nullable=False, index=True),
    sa.Column("line", sa.Integer, nullable=False),
    sa.Column("officer", sa.String(100), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("at", TS, nullable=False),
)

releases = sa.Table(
    "releases",
    metadata,
    sa.Column("batch_id", sa.String(100), sa.ForeignKey("batches.id"), primary_key=True),
    sa.Column("officer", sa.String(100), nullable=False),
    sa.Column("at", TS, nullable=False),
    sa.Column("first_leaf", sa.BigInteger, nullable=False),
    sa.Column("leaf_count", sa.Integer, nullable=False),
    sa.Column("checkpoint_size", sa.BigInteger, nullable=False),
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", TS, nullable=False, index=True),
    sa.Column("principal", sa.String(100), nullable=False),
    sa.Column("event_type", sa.String(60), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),
    sa.Column("origin", sa.String(100), nullable=False),
    sa.Column("object", sa.String(200), nullable=False),
    sa.Column("detail", sa.Text, nullable=True),
)

from ftigate.store import accounts as _accounts  # noqa: E402,F401  (adds the accounts table)
from ftigate.store import ledger_tables  # noqa: E402,F401  (adds the ledger tables)
