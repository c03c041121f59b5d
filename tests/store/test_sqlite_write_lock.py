"""Concurrent writers on the SQLite store queue for the write lock instead of failing.

A deferred SQLite transaction that has read cannot wait for the write lock: SQLite answers "database is
locked" at once, whatever the busy timeout. This is how the decision log's background writer made recording
an offer's outcome fail in CI. Store sessions therefore begin IMMEDIATE on SQLite; these tests fail if they
go back to deferred."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import sqlalchemy as sa

from callops.store.db import Store


def _table(store: Store) -> None:
    with store.engine.begin() as c:
        c.execute(sa.text("CREATE TABLE IF NOT EXISTS lock_probe (n INTEGER)"))


def test_a_read_then_write_session_waits_for_another_writer(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    mine, theirs = Store(url, upgrade=False), Store(url, upgrade=False)
    _table(mine)
    holding, done = threading.Event(), threading.Event()

    def other_writer() -> None:
        with theirs.engine.begin() as c:  # holds the write lock for a moment, then commits
            c.execute(sa.text("INSERT INTO lock_probe VALUES (1)"))
            holding.set()
            time.sleep(0.3)
        done.set()

    with mine.session() as s:
        s.execute(sa.text("SELECT count(*) FROM lock_probe")).scalar_one()  # the session reads first
        th = threading.Thread(target=other_writer)
        th.start()
        # the session already holds the write lock, so the other writer queues behind it (busy timeout)
        holding_before_commit = holding.wait(0.2)
        s.execute(sa.text("INSERT INTO lock_probe VALUES (2)"))
    th.join(10)
    assert not holding_before_commit and done.is_set()
    with mine.session() as s:
        assert s.execute(sa.text("SELECT count(*) FROM lock_probe")).scalar_one() == 2
    mine.close()
    theirs.close()


def test_a_session_queues_behind_a_writer_that_holds_the_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    mine, theirs = Store(url, upgrade=False), Store(url, upgrade=False)
    _table(mine)
    holding = threading.Event()

    def other_writer() -> None:
        with theirs.engine.begin() as c:
            c.execute(sa.text("INSERT INTO lock_probe VALUES (1)"))
            holding.set()
            time.sleep(0.3)

    th = threading.Thread(target=other_writer)
    th.start()
    holding.wait(5)
    with mine.session() as s:  # read, then write: must wait out the other writer, not fail
        seen = s.execute(sa.text("SELECT count(*) FROM lock_probe")).scalar_one()
        s.execute(sa.text("INSERT INTO lock_probe VALUES (2)"))
    th.join(10)
    assert seen == 1  # it began after the other writer committed
    mine.close()
    theirs.close()


def test_plain_reads_stay_concurrent_with_a_session(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    store = Store(url, upgrade=False)
    _table(store)
    with store.session() as s:
        s.execute(sa.text("INSERT INTO lock_probe VALUES (1)"))
        t = time.perf_counter()
        with store.engine.connect() as c:  # a deferred reader does not wait for the writer (WAL)
            assert c.execute(sa.text("SELECT count(*) FROM lock_probe")).scalar_one() == 0
        assert time.perf_counter() - t < 1.0
    store.close()
