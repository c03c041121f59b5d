"""Migrations: up and down on both backends, and the models agree with them (autogenerate finds nothing)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from callops.errors import CallopsError
from callops.store import migrate
from callops.store.db import Store, make_engine, normalize_url, store_url
from callops.store.models import Base

# The roles issue 7 names, typed out here rather than read from the code.
ISSUE_ROLES = {"admin", "director", "planner", "dispatcher", "team_lead", "analyst", "agent"}  # agent: issue 19


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    return request.getfixturevalue("fresh_pg_url")


def test_up_down_up(empty_url: str) -> None:
    model_tables = set(Base.metadata.tables)
    assert migrate.current_revision(empty_url) is None
    migrate.upgrade_to_head(empty_url)
    assert migrate.current_revision(empty_url) == migrate.head_revision()
    assert _tables(empty_url) == model_tables | {"alembic_version"}
    migrate.upgrade_to_head(empty_url)  # idempotent
    migrate.downgrade(empty_url, "base")
    assert migrate.current_revision(empty_url) is None
    assert _tables(empty_url) <= {"alembic_version"}
    migrate.upgrade_to_head(empty_url)
    assert _tables(empty_url) == model_tables | {"alembic_version"}


def test_models_match_migrations(store_url: str) -> None:
    engine = make_engine(store_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
            diff = compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], f"models and migrations differ; write a migration: {diff}"


def test_roles_seeded(store_url: str) -> None:
    engine = make_engine(store_url)
    try:
        with engine.connect() as conn:
            roles = {r[0] for r in conn.execute(sa.text("SELECT name FROM roles"))}
    finally:
        engine.dispose()
    assert roles == ISSUE_ROLES


def test_foreign_keys_enforced(store_url: str) -> None:
    """SQLite needs PRAGMA foreign_keys on every connection; a row for an unknown tenant must fail."""
    engine = make_engine(store_url)
    try:
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO users (tenant_id, name, role, locale, created_at) "
                    "VALUES ('ghost', 'x', 'admin', 'en', CURRENT_TIMESTAMP)"
                )
            )
    finally:
        engine.dispose()


def test_default_url_is_sqlite_under_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLOPS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CALLOPS_STORE_URL", raising=False)
    assert store_url() == f"sqlite:///{tmp_path / 'home' / 'store.sqlite3'}"
    with Store() as s:
        assert s.dialect == "sqlite"
    assert (tmp_path / "home" / "store.sqlite3").exists()


def test_url_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CALLOPS_STORE_URL", "postgresql://u@db.example/ops")
    assert store_url() == "postgresql+psycopg://u@db.example/ops"
    with pytest.raises(CallopsError, match="only sqlite and postgresql"):
        normalize_url("mysql://u@h/db")
    with pytest.raises(CallopsError, match="not a database URL"):
        normalize_url("not a url")


def test_concurrent_upgrades_on_postgresql(fresh_pg_url: str) -> None:
    """Processes opening a new store at once: the advisory lock makes all but one wait; all end at head."""
    code = "import sys; from callops.store.migrate import upgrade_to_head; upgrade_to_head(sys.argv[1])"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, fresh_pg_url], stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    failures = [p.stderr.read() for p in procs if p.wait(timeout=120) != 0]
    assert not failures, failures
    assert migrate.current_revision(fresh_pg_url) == migrate.head_revision()
