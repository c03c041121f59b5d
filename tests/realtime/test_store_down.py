"""docs/live-events.md: "If the store is down, the change is kept in memory and retried after the next batch".

The store is a real PostgreSQL database taken down for real: new connections refused (``ALLOW_CONNECTIONS
false``) and the open ones terminated, so the store's pool cannot reach it. Skips when no PostgreSQL server is
reachable (fails under ``CALLOPS_REQUIRE_SERVICES=1``), like the store tests.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from callops import tenancy
from callops.realtime.alerts import parse_rules
from callops.realtime.hub import LiveHub
from callops.realtime.state import LiveConfig, QueueConfig
from callops.store import outbox, tenants
from callops.store.db import Store

PG_ADMIN_URL = os.environ.get("CALLOPS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
T0 = 1_709_514_000.0  # 2024-03-04 09:00 +08:00
RULES = """
alerts:
  - name: long-wait
    measure: longest_wait_s
    scope: queue
    levels: {yellow: 60, orange: 120, red: 180, black: 300}
    cooldown_s: 0
"""


def _admin() -> sa.Engine:
    return sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})


@pytest.fixture
def pg_store() -> Iterator[tuple[Store, str]]:
    """A migrated store on a fresh PostgreSQL database (dropped afterwards) and that database's name."""
    admin = _admin()
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        if os.environ.get("CALLOPS_REQUIRE_SERVICES") == "1":
            pytest.fail(f"PostgreSQL not reachable: {exc.__class__.__name__}")
        pytest.skip(f"PostgreSQL not reachable: {exc.__class__.__name__}")
    name = f"callops_test_{secrets.token_hex(6)}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    store = None
    try:
        store = Store(make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False))
        with store.session() as s:
            tenants.upsert_tenant(s, tenancy.Tenant("demo", "Asia/Shanghai", datetime(2024, 3, 1, tzinfo=UTC)))
        yield store, name
    finally:
        if store is not None:
            store.close()
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _set_down(name: str, down: bool) -> None:
    """Refuse (or allow again) connections to database ``name``; going down also ends the open ones."""
    admin = _admin()
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"false" if down else "true"}'))
            if down:
                conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                     "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})  # fmt: skip
    finally:
        admin.dispose()


def _offer(i: int, t: float) -> str:
    return json.dumps({"type": "contact.offered", "ts": datetime.fromtimestamp(t, UTC).isoformat(),
                       "tenant": "demo", "contact_id": f"c{i}", "queue": "billing", "channel": "voice"})  # fmt: skip


def _levels(store: Store) -> list[str]:
    """Alert levels of the outbox rows, oldest first."""
    with store.session() as s:
        rows = outbox.list_messages(s, "demo", limit=1000)
    return [r.payload["alert"]["level"] for r in sorted(rows, key=lambda r: r.id)]


def test_alert_changes_made_while_the_store_is_down_reach_the_outbox_once_it_is_back(
    pg_store: tuple[Store, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One contact waits in billing; each later offer moves the clock, and its long wait crosses yellow (60 s),
    orange (120 s) and red (180 s). Yellow and orange happen while the store is down: the batches are still
    accepted, nothing is lost, and the batch after the store is back writes all three changes, in order, once
    each (the outbox's dedup keys), with the one made during that batch."""
    store, name = pg_store
    monkeypatch.setenv("CALLOPS_HOME", str(tmp_path / "home"))
    config = LiveConfig("demo", queues={"billing": QueueConfig("north-1", "voice")})
    hub = LiveHub(config, rules=parse_rules(RULES))
    routes = tmp_path / "notify.yaml"
    routes.write_text("notify:\n  - {levels: [yellow, orange, red, black], channel: inapp, to: [supervisors]}\n")
    assert hub.attach_notifier(store, routes) == 0
    assert hub.submit([_offer(0, T0)], "t")["accepted"] == 1
    assert _levels(store) == []

    _set_down(name, True)
    try:
        with pytest.raises(sa.exc.OperationalError), store.session() as s:  # really down
            s.execute(sa.text("SELECT 1"))
        assert hub.submit([_offer(1, T0 + 70)], "t")["accepted"] == 1  # yellow: the engine does not fail
        assert hub.submit([_offer(2, T0 + 130)], "t")["accepted"] == 1  # orange, and the retry fails again
        assert [e.level_name for e in hub.engine.events] == ["yellow", "orange"]
    finally:
        _set_down(name, False)
    assert _levels(store) == []  # nothing was written while down
    assert hub.submit([_offer(3, T0 + 190)], "t")["accepted"] == 1  # red; the retry after the batch
    assert _levels(store) == ["yellow", "orange", "red"]
    assert hub.submit([_offer(4, T0 + 200)], "t")["accepted"] == 1  # no new change: nothing written twice
    assert _levels(store) == ["yellow", "orange", "red"]
