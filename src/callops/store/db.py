"""Opening the store: SQLite under ``$CALLOPS_HOME`` by default, PostgreSQL by URL.

``CALLOPS_STORE_URL=postgresql+psycopg://user@host/db`` selects PostgreSQL; a bare
``postgresql://`` or ``postgres://`` URL is read as psycopg 3. SQLite connections run with
foreign keys on, WAL and a busy timeout, and with transactions begun by us (the pysqlite
driver's own BEGIN handling is switched off) so that a writer can ask for ``BEGIN IMMEDIATE``.

On SQLite every ORM session (:meth:`Store.session`) begins ``IMMEDIATE``, as Rails and Django now do:
a deferred transaction that reads and then writes cannot wait for the write lock (SQLite answers
"database is locked" at once, whatever the busy timeout, because its snapshot may be stale), so under
concurrent writers (API requests, the decision log's writer) a read-modify-write failed instead of
queueing. ``engine.connect()`` stays deferred for plain reads.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from callops.errors import CallopsError
from callops.settings import callops_home

# Execution option that makes the next transaction on a SQLite connection BEGIN IMMEDIATE.
SQLITE_IMMEDIATE = "callops_sqlite_immediate"
SQLITE_BUSY_TIMEOUT_MS = 10_000


def store_url() -> str:
    """The store's URL: ``$CALLOPS_STORE_URL`` or ``sqlite:///$CALLOPS_HOME/store.sqlite3``."""
    url = os.environ.get("CALLOPS_STORE_URL")
    if url:
        return normalize_url(url)
    return f"sqlite:///{callops_home() / 'store.sqlite3'}"


def normalize_url(url: str) -> str:
    """Read plain PostgreSQL URLs as psycopg 3 and refuse backends the store is not tested on."""
    for plain in ("postgres://", "postgresql://"):
        if url.startswith(plain):
            url = "postgresql+psycopg://" + url[len(plain) :]
    try:
        parsed = make_url(url)
    except Exception:
        raise CallopsError(
            f"store URL {url!r} is not a database URL (sqlite:///PATH or postgresql+psycopg://...)"
        ) from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise CallopsError(f"store URL {url!r}: only sqlite and postgresql stores are supported")
    return url


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for the store at ``url`` (default :func:`store_url`), with the SQLite settings applied."""
    url = normalize_url(url) if url else store_url()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(SQLITE_IMMEDIATE)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Store:
    """An open store: an engine and a session factory. Use as a context manager or call :meth:`close`."""

    def __init__(self, url: str | None = None, *, upgrade: bool = True) -> None:
        """Open the store at ``url`` (default :func:`store_url`); bring its schema to head unless ``upgrade=False``."""
        self.url = normalize_url(url) if url else store_url()
        if upgrade:
            from callops.store.migrate import upgrade_to_head

            upgrade_to_head(self.url)
        self.engine = make_engine(self.url)
        # sessions take SQLite's write lock up front (see the module's docstring); PostgreSQL locks rows
        bind = self.engine.execution_options(**{SQLITE_IMMEDIATE: True}) if self.dialect == "sqlite" else self.engine
        self._sessions = sessionmaker(bind, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits when the block ends and rolls back on error."""
        with self._sessions() as s, s.begin():
            yield s

    def close(self) -> None:
        """Release the engine's connections."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
