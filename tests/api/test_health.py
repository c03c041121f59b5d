"""``/healthz`` and ``/readyz`` (issue 17, operations) against real services: SQLite and PostgreSQL stores, DuckDB
warehouses, the NATS broker, the serving process's real background threads.

PostgreSQL goes down for real (new connections refused, open ones terminated, as in
tests/realtime/test_store_down.py); the warehouse is held by another process (DuckDB's file lock: what a second
API process on the same file meets). Skips without PostgreSQL or NATS unless ``CALLOPS_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from callops.api.app import create_app
from callops.api.routers import health
from callops.store.db import Store

PG_ADMIN_URL = os.environ.get("CALLOPS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
NATS_URL = os.environ.get("CALLOPS_NATS_URL", "nats://127.0.0.1:4222")
PASSWORD = "s3cret-Pa55word"


def _skip_or_fail(message: str) -> None:
    if os.environ.get("CALLOPS_REQUIRE_SERVICES") == "1":
        pytest.fail(message)
    pytest.skip(message)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _secret_free(text: str, *secrets_: str) -> None:
    """The body names no password, host, database, path or tenant."""
    for s in (PASSWORD, "127.0.0.1", "localhost", "postgresql", "sqlite", "duckdb", "nats://", "/tmp", "/root",
              os.sep + "home", "acme", *secrets_):  # fmt: skip
        assert s not in text, (s, text)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh CALLOPS_HOME, no NATS configured."""
    monkeypatch.setenv("CALLOPS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CALLOPS_WAREHOUSE", raising=False)
    monkeypatch.delenv("CALLOPS_STORE_URL", raising=False)
    monkeypatch.delenv(health.NATS_ENV, raising=False)
    return tmp_path / "home"


def _app(store_url: str, wh: Path) -> Any:
    return create_app(store_url, console=False, warehouse_url=f"duckdb://{wh}")


def _ready(client: TestClient) -> tuple[int, dict]:
    time.sleep(health.CACHE_S + 0.05)  # past the cached answer of the previous call
    r = client.get("/readyz")
    return r.status_code, r.json()


def test_liveness_and_readiness_on_sqlite_and_duckdb(home: Path, tmp_path: Path) -> None:
    app = _app(f"sqlite:///{tmp_path / 'store.sqlite3'}", tmp_path / "wh.duckdb")
    with TestClient(app) as client:
        r = client.get("/healthz")
        assert r.status_code == 200 and r.json() == {"status": "ok"}
        r = client.get("/readyz")
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["status"] == "ready" and doc["failing"] == []
        assert set(doc["checks"]) == {"store", "warehouse"}  # no NATS configured, no workers started
        for check in doc["checks"].values():
            assert check["ok"] is True and 0 <= check["ms"] < health.TIMEOUT_S * 1000
        assert r.headers["cache-control"] == "no-store"
        # no token needed, none looked at: a bad one changes nothing
        assert client.get("/readyz", headers={"Authorization": "Bearer nonsense"}).status_code == 200
        _secret_free(r.text, str(tmp_path))


def test_answers_are_cached_for_a_second(home: Path, tmp_path: Path) -> None:
    app = _app(f"sqlite:///{tmp_path / 'store.sqlite3'}", tmp_path / "wh.duckdb")
    with TestClient(app) as client:
        first = client.get("/readyz").json()
        assert client.get("/readyz").json() == first  # same round, same timings and stamp
        time.sleep(health.CACHE_S + 0.1)
        later = client.get("/readyz").json()
        assert later["checked_at"] > first["checked_at"]


def test_store_behind_head_is_not_ready(home: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    app = _app(url, tmp_path / "wh.duckdb")
    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 200
        head = health._head_revision()
        with Store(url, upgrade=False) as s, s.engine.begin() as conn:  # as if an older version's schema
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '0001_initial'"))
        status, doc = _ready(client)
        assert status == 503 and doc["failing"] == ["store"] and doc["detail"] == "not ready: store"
        reason = doc["checks"]["store"]["reason"]
        assert reason == f"migrations not at head (at 0001_initial, this version needs {head})"
        assert doc["checks"]["warehouse"]["ok"]


def test_a_warehouse_held_by_another_process_is_not_ready(home: Path, tmp_path: Path) -> None:
    """A second server on the same DuckDB file (what several API processes would meet) is taken out of rotation."""
    wh = tmp_path / "wh.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); sys.stdin.read()", str(wh)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        app = _app(f"sqlite:///{tmp_path / 'store.sqlite3'}", wh)
        with TestClient(app) as client:
            r = client.get("/readyz")
            assert r.status_code == 503, r.text
            doc = r.json()
            assert doc["failing"] == ["warehouse"]
            assert doc["checks"]["warehouse"]["reason"] == "locked by another process"
            assert doc["checks"]["store"]["ok"] and client.get("/healthz").status_code == 200
            _secret_free(r.text, str(wh), str(holder.pid))
            holder.communicate("", timeout=30)  # the other process ends: this one becomes ready
            status, doc = _ready(client)
            assert status == 200 and doc["failing"] == []
    finally:
        if holder.poll() is None:
            holder.kill()


def test_a_store_that_never_answers_is_not_ready_in_bounded_time(home: Path, tmp_path: Path) -> None:
    """A "database" that accepts the TCP connection and then says nothing (a hung server): /readyz answers 503 in
    about the check's time limit, and later rounds do not start another thread while that check still hangs."""
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # the kernel completes handshakes; nobody ever answers the startup message
    port = listener.getsockname()[1]
    app = _app(f"postgresql+psycopg://ops:{PASSWORD}@127.0.0.1:{port}/callops", tmp_path / "wh.duckdb")
    # A reader handle made first: api/deps.Resources makes new warehouse handles under the lock its store opener
    # holds, so a store hanging on its first open holds up every new warehouse handle too (readiness then rightly
    # names both). With one idle handle pooled, the warehouse check does not need that lock.
    res = app.state.resources
    res.readers.give(res.readers.take())
    try:
        with TestClient(app) as client, _closing(listener):
            t0 = time.perf_counter()
            r = client.get("/readyz")
            assert time.perf_counter() - t0 < health.TIMEOUT_S + 1.5
            assert r.status_code == 503 and r.json()["failing"] == ["store"]
            assert r.json()["checks"]["store"]["reason"] == f"no answer within {health.TIMEOUT_S:g} s"
            _secret_free(r.text, str(port))
            threads = threading.active_count()
            for _ in range(3):
                status, doc = _ready(client)
                assert status == 503 and doc["checks"]["store"]["reason"].startswith("no answer")
            assert threading.active_count() <= threads  # the hung check was not started again
    finally:
        listener.close()


@contextmanager
def _closing(listener: socket.socket) -> Iterator[None]:
    """Close the listener before the client's loop waits for its threads: the hung connection then fails."""
    try:
        yield
    finally:
        listener.close()


# ------------------------------------------------------------------------------------------ PostgreSQL
def _admin() -> sa.Engine:
    return sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})


def _set_down(name: str, down: bool) -> None:
    admin = _admin()
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {"false" if down else "true"}'))
            if down:
                conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                     "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})  # fmt: skip
    finally:
        admin.dispose()


@pytest.fixture
def pg_db() -> Iterator[tuple[str, str]]:
    """A fresh PostgreSQL database (dropped afterwards): its URL, carrying a password, and its name."""
    admin = _admin()
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        admin.dispose()
        _skip_or_fail(f"PostgreSQL not reachable: {exc.__class__.__name__}")
    name = f"callops_health_{secrets.token_hex(6)}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name)
    if not url.password:  # trust auth ignores it; it is there to prove it never reaches the body
        url = url.set(password=PASSWORD)
    try:
        yield url.render_as_string(hide_password=False), name
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_postgresql_store_down_is_503_naming_it_and_back_up_is_ready(home: Path, tmp_path: Path,
                                                                      pg_db: tuple[str, str]) -> None:
    url, name = pg_db
    app = _app(url, tmp_path / "wh.duckdb")
    with TestClient(app) as client:
        r = client.get("/readyz")
        assert r.status_code == 200, r.text
        _set_down(name, True)
        try:
            t0 = time.perf_counter()
            status, doc = _ready(client)
            took = time.perf_counter() - t0 - health.CACHE_S
            assert status == 503 and doc["failing"] == ["store"] and doc["detail"] == "not ready: store"
            assert doc["checks"]["store"] == {"ok": False, "ms": doc["checks"]["store"]["ms"],
                                              "reason": "does not answer"}
            assert doc["checks"]["warehouse"]["ok"] is True
            assert took < health.TIMEOUT_S + 1.5  # answered in bounded time, even with the database gone
            text = client.get("/readyz").text
            _secret_free(text, name, url, str(tmp_path))
            assert client.get("/healthz").status_code == 200  # liveness never looks at the store
        finally:
            _set_down(name, False)
        status, doc = _ready(client)
        assert status == 200, doc


# ------------------------------------------------------------------------------------------ NATS
def _nats_reachable() -> bool:
    host, port = NATS_URL.removeprefix("nats://").rsplit("@", 1)[-1].rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


def test_nats_is_checked_when_configured_and_its_url_never_shown(home: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    if not _nats_reachable():
        _skip_or_fail(f"NATS JetStream not reachable at {NATS_URL} (start nats-server -js)")
    app = _app(f"sqlite:///{tmp_path / 'store.sqlite3'}", tmp_path / "wh.duckdb")
    with TestClient(app) as client:
        monkeypatch.setenv(health.NATS_ENV, NATS_URL)
        status, doc = _ready(client)
        assert status == 200 and doc["checks"]["nats"]["ok"] is True, doc
        # a broker that does not answer (closed port), with credentials in its URL
        monkeypatch.setenv(health.NATS_ENV, f"nats://ops:{PASSWORD}@127.0.0.1:{_closed_port()}")
        status, doc = _ready(client)
        assert status == 503 and doc["failing"] == ["nats"], doc
        assert doc["checks"]["nats"]["reason"] == "does not answer"
        _secret_free(client.get("/readyz").text, "ops:")
        # `live serve --nats URL --stream S` registers its source: a missing stream is not ready
        monkeypatch.delenv(health.NATS_ENV)
        health.watch_background(app, nats_url=NATS_URL, nats_stream=f"no-such-stream-{secrets.token_hex(4)}")
        status, doc = _ready(client)
        assert status == 503 and doc["failing"] == ["nats"]
        assert doc["checks"]["nats"]["reason"] == "JetStream stream missing"


# ------------------------------------------------------------------------------------------ workers
def test_background_workers_must_stay_alive(home: Path, tmp_path: Path) -> None:
    """The real landing and knowledge-push workers of a serving process: alive → ready; stopped → 503 'workers'."""
    from callops.knowledge.push import push_hot_topics
    from callops.realtime.hub import hub_for, reset_hubs
    from callops.realtime.landing import land_served_hubs

    app = _app(f"sqlite:///{tmp_path / 'store.sqlite3'}", tmp_path / "wh.duckdb")
    reset_hubs()
    with TestClient(app) as client:
        res = app.state.resources
        stop_landing = land_served_hubs(res, interval_s=3600)
        stop_push = push_hot_topics(res, every_s=3600)
        try:
            health.watch_background(app, landing=True)
            hub_for("acme", "Asia/Shanghai")  # a durable hub opened later (first live event): its worker starts
            status, doc = _ready(client)
            assert status == 200 and doc["checks"]["workers"]["ok"], doc
            stop_push()
            status, doc = _ready(client)
            assert status == 503 and doc["failing"] == ["workers"]
            assert doc["checks"]["workers"]["reason"] == "stopped: kb-hot-push"
            stop_landing()
            status, doc = _ready(client)
            assert doc["checks"]["workers"]["reason"] == "stopped: kb-hot-push; 1 of 1 live landing workers stopped"
            _secret_free(client.get("/readyz").text)
        finally:
            stop_push()
            stop_landing()
            reset_hubs()
