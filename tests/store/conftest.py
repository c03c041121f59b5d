"""Store fixtures: every store test runs on SQLite and on a real PostgreSQL server.

PostgreSQL: a database with a random name is created on the server at ``CALLOPS_TEST_PG_URL``
(default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``, trust auth) for the test run,
migrated once, emptied before each test and dropped at the end. When the server cannot be reached
the PostgreSQL cases skip — or fail under ``CALLOPS_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from callops.store.db import Store
from callops.store.migrate import upgrade_to_head
from callops.store.models import Base

from .storetest import add_tenant

PG_ADMIN_URL = os.environ.get("CALLOPS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
# Every table but the seeded roles.
DATA_TABLES = [t.name for t in Base.metadata.sorted_tables if t.name != "roles"]


def _pg_admin_engine() -> sa.Engine:
    return sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The admin URL of a reachable PostgreSQL server (skip, or fail under CALLOPS_REQUIRE_SERVICES=1)."""
    engine = _pg_admin_engine()
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        message = f"PostgreSQL not reachable at {make_url(PG_ADMIN_URL).render_as_string()}: {exc.__class__.__name__}"
        if os.environ.get("CALLOPS_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    finally:
        engine.dispose()
    return PG_ADMIN_URL


def create_pg_database(admin_url: str) -> str:
    """Create an empty database with a random name; return its URL."""
    name = f"callops_test_{secrets.token_hex(6)}"
    engine = _pg_admin_engine()
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    """Drop a database made by :func:`create_pg_database` (disconnecting anyone left)."""
    name = make_url(url).database
    engine = _pg_admin_engine()
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def pg_url(pg_server: str) -> Iterator[str]:
    """A migrated PostgreSQL database for this test run (dropped afterwards)."""
    url = create_pg_database(pg_server)
    try:
        upgrade_to_head(url)
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture
def fresh_pg_url(pg_server: str) -> Iterator[str]:
    """An empty, unmigrated PostgreSQL database for one test."""
    url = create_pg_database(pg_server)
    try:
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite store file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("store-template") / "store.sqlite3"
    upgrade_to_head(f"sqlite:///{path}")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty store on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "store.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_url")
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            # every tenant-owned row cascades from its tenant; cheaper than TRUNCATE for tiny tables
            conn.execute(sa.text("DELETE FROM tenants"))
            assert all(conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar() == 0 for t in DATA_TABLES)
    finally:
        engine.dispose()
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """An open store (already migrated)."""
    s = Store(store_url, upgrade=False)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def two_tenants(store: Store) -> tuple[str, str]:
    """Tenants ``acme`` and ``beta`` in the store."""
    return add_tenant(store, "acme"), add_tenant(store, "beta", "Europe/Paris")
