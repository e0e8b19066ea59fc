"""Alembic environment: runs on the connection ftigate hands it (``Database.migrate``)."""

from __future__ import annotations

from alembic import context

from ftigate.store.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - ftigate always passes its connection
    raise RuntimeError("run migrations through `ftigate init`, which passes its connection")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
