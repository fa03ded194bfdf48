"""Persistence: SQLModel tables, engine and session, Alembic migrations, reference data."""
