"""Initial schema: agreements, snapshots, batches, requests, decisions, reviews, releases, audit.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agreement_status",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("agreement_id", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("principal", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_status")),
    )
    op.create_table(
        "agreements",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("requesting_agency", sa.String(length=100), nullable=False),
        sa.Column("yaml_text", sa.Text(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("loaded_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", "version", name=op.f("pk_agreements")),
        sa.UniqueConstraint("sha256", name=op.f("uq_agreements_sha256")),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("principal", sa.String(length=100), nullable=False),
        sa.Column("event_type", sa.String(length=60), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("origin", sa.String(length=100), nullable=False),
        sa.Column("object", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_table(
        "batches",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("requester", sa.String(length=100), nullable=False),
        sa.Column("agreement_id", sa.String(length=100), nullable=True),
        sa.Column("agreement_version", sa.Integer(), nullable=True),
        sa.Column("agreement_sha256", sa.String(length=64), nullable=True),
        sa.Column("manifest_json", sa.Text(), nullable=False),
        sa.Column("signature_b64", sa.Text(), nullable=False),
        sa.Column("signer", sa.String(length=200), nullable=False),
        sa.Column("requests_sha256", sa.String(length=64), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("refusal_code", sa.String(length=40), nullable=True),
        sa.Column("refusal_message", sa.Text(), nullable=True),
        sa.Column("snapshot_id", sa.String(length=40), nullable=True),
        sa.Column("model_sha256", sa.String(length=64), nullable=True),
        sa.Column("software_version", sa.String(length=40), nullable=True),
        sa.Column("matched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batches")),
    )
    op.create_table(
        "snapshots",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("taxpayers", sa.Integer(), nullable=False),
        sa.Column("addresses", sa.Integer(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("model_path", sa.Text(), nullable=True),
        sa.Column("model_sha256", sa.String(length=64), nullable=True),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snapshots")),
    )
    op.create_table(
        "decisions",
        sa.Column("batch_id", sa.String(length=100), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=True),
        sa.Column("refusal_codes", sa.Text(), nullable=False),
        sa.Column("tin", sa.String(length=11), nullable=True),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("runner_up_probability", sa.Float(), nullable=True),
        sa.Column("rules_json", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("final_outcome", sa.String(length=20), nullable=True),
        sa.Column("final_reason", sa.String(length=40), nullable=True),
        sa.Column("leaf_index", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_decisions_batch_id_batches")
        ),
        sa.PrimaryKeyConstraint("batch_id", "line", name=op.f("pk_decisions")),
        sa.UniqueConstraint("leaf_index", name=op.f("uq_decisions_leaf_index")),
    )
    op.create_table(
        "releases",
        sa.Column("batch_id", sa.String(length=100), nullable=False),
        sa.Column("officer", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_leaf", sa.BigInteger(), nullable=False),
        sa.Column("leaf_count", sa.Integer(), nullable=False),
        sa.Column("checkpoint_size", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_releases_batch_id_batches")
        ),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_releases")),
    )
    op.create_table(
        "requests",
        sa.Column("batch_id", sa.String(length=100), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=200), nullable=False),
        sa.Column("row_json", sa.Text(), nullable=False),
        sa.Column("findings_json", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_requests_batch_id_batches")
        ),
        sa.PrimaryKeyConstraint("batch_id", "line", name=op.f("pk_requests")),
    )
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.String(length=100), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("officer", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_reviews_batch_id_batches")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
    )
    op.create_index(
        op.f("ix_agreement_status_agreement_id"), "agreement_status", ["agreement_id"], unique=False
    )
    op.create_index(op.f("ix_audit_events_at"), "audit_events", ["at"], unique=False)
    op.create_index(op.f("ix_batches_requester"), "batches", ["requester"], unique=False)
    op.create_index(op.f("ix_reviews_batch_id"), "reviews", ["batch_id"], unique=False)


def downgrade() -> None:
    op.drop_table("reviews")
    op.drop_table("requests")
    op.drop_table("releases")
    op.drop_table("decisions")
    op.drop_table("snapshots")
    op.drop_table("batches")
    op.drop_table("audit_events")
    op.drop_table("agreements")
    op.drop_table("agreement_status")
