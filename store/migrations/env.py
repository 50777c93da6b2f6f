"""Alembic environment: the engine comes from Domus (store.db.alembic_config)."""

from alembic import context
from sqlalchemy import text

from store.tables import metadata

ADVISORY_LOCK = 74_201_123  # serialises concurrent upgrades on PostgreSQL


def run_migrations_online() -> None:
    engine = context.config.attributes["engine"]
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
