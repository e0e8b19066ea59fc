"""The state store: SQLAlchemy Core tables, Alembic migrations and repositories.

SQLite is the embedded default; PostgreSQL is the production store. Every use case in
``ftigate.service`` runs inside one :meth:`Database.transaction`, so a failure leaves no
half-written state.
"""
