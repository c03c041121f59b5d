"""Alembic environment of the callops store: the URL comes from the Config, never from alembic.ini."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from callops.store.db import make_engine
from callops.store.models import Base

config = context.config
target_metadata = Base.metadata
MIGRATION_LOCK_KEY = 0x63616C6C  # 'call': any constant shared by every callops process


def run_migrations_online() -> None:
    """Run the migrations on a connection to the configured store."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.attributes["url"])
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # two processes starting at once must not both migrate: the second waits, then finds head
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        context.run_migrations()
    if connection.in_transaction():
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) mode is not supported; run upgrade_to_head(url)")
run_migrations_online()
