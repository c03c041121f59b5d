"""Alembic migrations, run from Python: ``upgrade_to_head(url)`` — no alembic.ini needed.

The migration scripts live in ``callops/store/migrations`` and ship inside the package. To add
one after changing the models: ``python -m callops.store.migrate revision -m "what changed"``
(autogenerates against a scratch SQLite database brought to head first).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from callops.store.db import make_engine, normalize_url, store_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration pointing at the packaged scripts and the store at ``url``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["url"] = normalize_url(url) if url else store_url()
    return cfg


def upgrade_to_head(url: str | None = None) -> None:
    """Bring the store at ``url`` (default: the configured store) to the newest schema."""
    command.upgrade(alembic_config(url), "head")


def downgrade(url: str | None, revision: str) -> None:
    """Take the store at ``url`` back to ``revision`` (``base`` drops every table)."""
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str:
    """The newest revision among the packaged scripts."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def current_revision(url: str | None = None) -> str | None:
    """The revision the store at ``url`` is at (None for an empty database)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def _autogenerate(message: str) -> None:
    """Write a new migration script from the difference between the models and head."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'scratch.sqlite3'}"
        upgrade_to_head(url)
        command.revision(alembic_config(url), message=message, autogenerate=True)


if __name__ == "__main__":  # developer tool, not a user command
    if len(sys.argv) == 4 and sys.argv[1] == "revision" and sys.argv[2] == "-m":
        _autogenerate(sys.argv[3])
    else:
        sys.exit('usage: python -m callops.store.migrate revision -m "message"')
