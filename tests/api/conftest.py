"""API fixtures: a world of two tenants on a real store (SQLite and PostgreSQL) and a real DuckDB warehouse.

``acme`` holds the bundled sample (4,364 contacts, two broken rows); ``beta`` holds a few contacts whose
every name contains ``beta`` (queue, centre, ids, users, live queue), so any answer to an ``acme`` token
that mentions ``beta`` is a leak. Each tenant has one user per role. PostgreSQL: a database with a random
name on ``CALLOPS_TEST_PG_URL`` (default the local server, trust auth), dropped afterwards; skipped when
absent unless ``CALLOPS_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from apitest import World
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from callops import demo, tenancy
from callops.api.app import create_app
from callops.ingest.loader import load_files
from callops.ingest.mapping import load_mapping
from callops.realtime.hub import reset_hubs
from callops.store.db import Store
from callops.store.roles import Role
from callops.store.tenants import create_tenant
from callops.store.users import create_user
from callops.warehouse import Warehouse

PG_ADMIN_URL = os.environ.get("CALLOPS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SAMPLE_CONTACTS = 4364  # rows of samples/contacts.csv.gz that load (two of 4,366 are broken on purpose)
BETA_CONTACTS_CSV = """contact_id,center,queue,channel,direction,offered_at,outcome,answered_at,ended_at
BETA-1,beta-center,beta-q,voice,inbound,2026-03-02T09:00:00+01:00,answered,2026-03-02T09:00:10+01:00,2026-03-02T09:03:00+01:00
BETA-2,beta-center,beta-q,voice,inbound,2026-03-02T09:05:00+01:00,abandoned,,2026-03-02T09:06:00+01:00
BETA-3,beta-center,beta-q,voice,inbound,2026-03-03T10:00:00+01:00,answered,2026-03-03T10:00:05+01:00,2026-03-03T10:04:00+01:00
BETA-4,beta-center,beta-q,voice,inbound,not-a-date-beta-broken,answered,,
"""
BETA_SCHEDULES_CSV = """agent_id,activity,start_at,end_at,queue
BETA-AGENT,work,2026-03-02T09:00:00+01:00,2026-03-02T17:00:00+01:00,beta-q
BETA-AGENT,work,2026-03-03T09:00:00+01:00,2026-03-03T17:00:00+01:00,beta-q
"""
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=timezone(timedelta(hours=1)))


def _pg_admin() -> sa.Engine:
    return sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """A reachable PostgreSQL server (skip, or fail under CALLOPS_REQUIRE_SERVICES=1)."""
    engine = _pg_admin()
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        msg = f"PostgreSQL not reachable at {make_url(PG_ADMIN_URL).render_as_string()}: {exc.__class__.__name__}"
        if os.environ.get("CALLOPS_REQUIRE_SERVICES") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    finally:
        engine.dispose()
    return PG_ADMIN_URL


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty store on each backend (a fresh PostgreSQL database, dropped at the end)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('api-store') / 'store.sqlite3'}"
        return
    admin = request.getfixturevalue("pg_admin_url")
    name = f"callops_api_{secrets.token_hex(6)}"
    engine = _pg_admin()
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def beta_live_events() -> list[dict]:
    """Forty calls piling up on beta's queue with no agent: opens a long-wait alert and a plan activation."""
    evs = [{"type": "contact.offered", "ts": (T0 + timedelta(seconds=10 * i)).isoformat(), "tenant": "beta",
            "contact_id": f"BETA-L{i}", "queue": "beta-q", "center": "beta-center", "channel": "voice"}
           for i in range(40)]  # fmt: skip
    evs.append({"type": "agent.state", "ts": (T0 + timedelta(seconds=700)).isoformat(), "tenant": "beta",
                "agent_id": "BETA-AGENT", "state": "ready", "queue": "beta-q"})  # fmt: skip
    return evs


@pytest.fixture(scope="module")
def world(store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The two-tenant world on ``store_url``, served by ``create_app(store_url, console=False)``."""
    home = tmp_path_factory.mktemp("api-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("CALLOPS_HOME", str(home))
    mp.delenv("CALLOPS_WAREHOUSE", raising=False)
    mp.delenv("CALLOPS_STORE_URL", raising=False)
    store = Store(store_url)
    tokens: dict[str, dict[Role, str]] = {}
    ids: dict[str, dict[Role, int]] = {}
    with Warehouse() as wh:
        for name, zone in (("acme", "Asia/Shanghai"), ("beta", "Europe/Paris")):
            create_tenant(store, wh, name, zone)
            with store.session() as s:
                for role in Role:
                    user, plain = create_user(s, name, f"{name}-{role.value}", role, "test")
                    tokens.setdefault(name, {})[role] = plain
                    ids.setdefault(name, {})[role] = user.id
        demo.load_sample(wh, tenancy.get_tenant(wh, "acme"))
        beta_csv = home / "beta-contacts.csv"
        beta_csv.write_text(BETA_CONTACTS_CSV, encoding="utf-8")
        beta_sched = home / "beta-schedules.csv"
        beta_sched.write_text(BETA_SCHEDULES_CSV, encoding="utf-8")
        beta = tenancy.get_tenant(wh, "beta")
        load_files(wh, beta, "contacts", [beta_csv], load_mapping("canonical", "contacts"))
        load_files(wh, beta, "schedules", [beta_sched], load_mapping("canonical", "schedules"))
    store.close()
    app = create_app(store_url, console=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        w = World(client, home, tokens, ids)
        r = client.post("/api/live/events", json=beta_live_events(), headers=w.auth("beta", Role.dispatcher))
        assert r.status_code == 200 and r.json()["accepted"] == 41, r.text
        yield w
    reset_hubs()
    mp.undo()
