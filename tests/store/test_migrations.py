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


def test_0013_moves_the_floors_versions_into_the_one_history(empty_url: str) -> None:
    """Accepted offers' versions (per-day numbers) join the tenant's request versions, numbered after them; the
    offer points at its new number; the way back restores the per-day table."""
    from datetime import UTC, date, datetime

    from alembic import command
    from sqlalchemy.dialects import postgresql

    js = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    cfg = migrate.alembic_config(empty_url)
    command.upgrade(cfg, "0012")
    engine = make_engine(empty_url)
    now = datetime(2026, 11, 2, 2, tzinfo=UTC)
    added = [{"agent_id": "e1", "activity": "work", "start_at": "2026-11-02T10:45:00+08:00",
              "end_at": "2026-11-02T11:45:00+08:00", "queue": None}]  # fmt: skip
    tenants = sa.table("tenants", sa.column("id"), sa.column("name"), sa.column("timezone"), sa.column("created_at"))
    versions = sa.table("people_schedule_versions", sa.column("tenant_id"), sa.column("version"),
                        sa.column("agents", js), sa.column("before", js), sa.column("after", js), sa.column("actor"),
                        sa.column("created_at"))  # fmt: skip
    floor = sa.table("floor_schedule_versions", sa.column("tenant_id"), sa.column("day"), sa.column("version"),
                     sa.column("added", js), sa.column("removed", js), sa.column("reason"), sa.column("created_by"),
                     sa.column("created_at"))  # fmt: skip
    offers = sa.table("floor_offers", sa.column("tenant_id"), sa.column("kind"), sa.column("agent_id"),
                      sa.column("start_at"), sa.column("end_at"), sa.column("reason"), sa.column("status"),
                      sa.column("created_by"), sa.column("created_at"), sa.column("schedule_version"))  # fmt: skip
    window = {"agent_ids": ["x"], "start": "2026-11-01T00:00:00+00:00", "end": "2026-11-01T01:00:00+00:00"}
    with engine.begin() as c:
        c.execute(tenants.insert(), [{"id": t, "name": t, "timezone": "Asia/Shanghai", "created_at": now}
                                     for t in ("t1", "t10")])  # fmt: skip
        c.execute(versions.insert(), [{"tenant_id": t, "version": n, "agents": window, "before": {"rows": []},
                                       "after": {"rows": []}, "actor": "lead", "created_at": now}
                                      for t, n in (("t1", 1), ("t1", 2), ("t10", 1))])  # fmt: skip
        c.execute(floor.insert().values(tenant_id="t1", day=date(2026, 11, 2), version=1, added=added, removed=[],
                                        reason="offer 1 accepted: gap", created_by="e1-user", created_at=now))
        c.execute(offers.insert().values(tenant_id="t1", kind="overtime", agent_id="e1", reason="gap",
                                         start_at=datetime(2026, 11, 2, 2, 45), end_at=datetime(2026, 11, 2, 3, 45),
                                         status="accepted", created_by="lead", created_at=now,
                                         schedule_version=1))  # fmt: skip
    command.upgrade(cfg, "0013")
    with engine.begin() as c:
        rows = c.execute(sa.text("SELECT tenant_id, version, source, reason FROM people_schedule_versions "
                                 "ORDER BY tenant_id, version")).all()  # fmt: skip
        after = c.execute(sa.select(sa.table("people_schedule_versions", sa.column("after", js),
                                             sa.column("source")).c.after)
                          .where(sa.column("source") == "floor")).scalar_one()  # fmt: skip
        offer = c.execute(sa.text("SELECT schedule_version FROM floor_offers")).scalar_one()
    assert [tuple(r) for r in rows] == [("t1", 1, "request", ""), ("t1", 2, "request", ""),
                                        ("t1", 3, "floor", "offer 1 accepted: gap"), ("t10", 1, "request", "")]
    assert after == {"rows": added}
    assert offer == 3
    assert "floor_schedule_versions" not in _tables(empty_url)
    command.downgrade(cfg, "0012")
    with engine.begin() as c:
        back = c.execute(sa.text("SELECT tenant_id, day, version, reason FROM floor_schedule_versions")).all()
        left = c.execute(sa.text("SELECT count(*) FROM people_schedule_versions")).scalar_one()
    assert [(r[0], str(r[1]), r[2], r[3]) for r in back] == [("t1", "2026-11-02", 1, "offer 1 accepted: gap")]
    assert left == 3
    engine.dispose()
