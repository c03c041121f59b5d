"""The notification outbox: idempotent enqueue, leases, back-off, and claimers that never share a row."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from callops.errors import CallopsError
from callops.store import outbox
from callops.store.db import Store
from callops.store.models import OutboxMessage, OutboxStatus
from callops.store.outbox import Backoff

from .storetest import T0

LEASE = timedelta(seconds=60)


def _claim(store: Store, now, worker: str, limit: int = 100, lease: timedelta = LEASE) -> list[outbox.ClaimedMessage]:
    with store.session() as s:
        return outbox.claim_due(s, now, limit, worker, lease=lease)


def _enqueue(store: Store, tenant: str, n: int, *, now=T0, prefix: str = "k") -> None:
    with store.session() as s:
        for i in range(n):
            assert outbox.enqueue(s, tenant, "sms", f"{prefix}{i}", {"to": "+8613800000000", "i": i}, now=now)


def test_enqueue_is_idempotent(store: Store, two_tenants: tuple[str, str]) -> None:
    acme, beta = two_tenants
    with store.session() as s:
        assert outbox.enqueue(s, acme, "sms", "alert-1:red", {"text": "first"}, now=T0)
        assert not outbox.enqueue(s, acme, "sms", "alert-1:red", {"text": "second"}, now=T0)
        assert not outbox.enqueue(s, acme, "webhook", "alert-1:red", {"text": "third"}, now=T0)
        assert outbox.enqueue(s, beta, "sms", "alert-1:red", {"text": "beta's"}, now=T0)  # keys are per tenant
    with store.session() as s:
        rows = outbox.list_messages(s, acme)
        assert [(r.dedup_key, r.payload, r.status, r.attempts) for r in rows] == [
            ("alert-1:red", {"text": "first"}, "pending", 0)
        ]
        with pytest.raises(CallopsError, match="unknown channel 'fax'"):
            outbox.enqueue(s, acme, "fax", "x", {})


def test_enqueue_is_transactional(store: Store, two_tenants: tuple[str, str]) -> None:
    acme, _ = two_tenants
    with pytest.raises(RuntimeError), store.session() as s:
        outbox.enqueue(s, acme, "email", "k", {"to": "a@b.c"}, now=T0)
        raise RuntimeError("the change that caused the notification failed")
    assert _claim(store, T0 + timedelta(days=1), "w") == []


def test_claim_lease_and_expiry(store: Store, two_tenants: tuple[str, str]) -> None:
    acme, beta = two_tenants
    _enqueue(store, acme, 3)
    _enqueue(store, beta, 1, now=T0 + timedelta(minutes=10), prefix="later")
    first = _claim(store, T0, "A")
    assert [(c.tenant_id, c.dedup_key, c.attempts, c.lease_until) for c in first] == [
        (acme, f"k{i}", 1, T0 + LEASE) for i in range(3)
    ]
    assert first[0].payload == {"to": "+8613800000000", "i": 0}
    assert _claim(store, T0 + LEASE - timedelta(seconds=1), "B") == []  # leased to A
    # A dies; its lease runs out and B takes the rows again
    again = _claim(store, T0 + LEASE, "B")
    assert [(c.id, c.attempts) for c in again] == [(c.id, 2) for c in first]
    with store.session() as s:
        assert not outbox.mark_sent(s, first[0].id, "A", now=T0)  # A lost its claim
        assert outbox.mark_failed(s, first[0].id, "A", "late", now=T0) is None
        assert all(outbox.mark_sent(s, c.id, "B", now=T0 + LEASE) for c in again)
        assert not outbox.mark_sent(s, again[0].id, "B", now=T0 + LEASE)  # only once
    assert _claim(store, T0 + timedelta(minutes=9), "C") == []
    later = _claim(store, T0 + timedelta(minutes=10), "C")
    assert [(c.tenant_id, c.dedup_key) for c in later] == [(beta, "later0")]
    with store.session() as s:
        sent = outbox.list_messages(s, acme, status="sent")
        assert {(r.status, r.sent_at, r.lease_until, r.claimed_by) for r in sent} == {("sent", T0 + LEASE, None, "B")}


def test_claim_limit_and_order(store: Store, two_tenants: tuple[str, str]) -> None:
    acme, _ = two_tenants
    for minute in (5, 1, 3, 2, 4):
        with store.session() as s:
            outbox.enqueue(s, acme, "inapp", f"m{minute}", {}, now=T0 + timedelta(minutes=minute))
    got = _claim(store, T0 + timedelta(hours=1), "A", limit=2)
    assert sorted(c.dedup_key for c in got) == ["m1", "m2"]  # the longest-due first
    assert _claim(store, T0, "A", limit=0) == []


def test_exponential_backoff_then_failed(store: Store, two_tenants: tuple[str, str]) -> None:
    acme, _ = two_tenants
    policy = Backoff(base_s=30, factor=2, max_s=200, max_attempts=6)
    # waits after failures 1..5, worked by hand: 30, 60, 120, 240→capped 200, 480→capped 200
    expected = [30, 60, 120, 200, 200]
    _enqueue(store, acme, 1)
    now = T0
    for attempt, wait in enumerate(expected, start=1):
        (c,) = _claim(store, now, "W")
        assert c.attempts == attempt
        with store.session() as s:
            assert outbox.mark_failed(s, c.id, "W", f"gateway 503 #{attempt}", now=now, backoff=policy) == "pending"
        due = now + timedelta(seconds=wait)
        assert _claim(store, due - timedelta(microseconds=1), "W") == []
        now = due
    (c,) = _claim(store, now, "W")
    assert c.attempts == 6
    with store.session() as s:
        assert outbox.mark_failed(s, c.id, "W", "x" * 5000, now=now, backoff=policy) == OutboxStatus.failed
    assert _claim(store, now + timedelta(days=365), "W") == []
    with store.session() as s:
        (row,) = outbox.list_messages(s, acme, status="failed")
        assert len(row.last_error) == outbox.MAX_ERROR_CHARS
        outbox.retry(s, acme, row.id, "admin:ann", now=now)
        with pytest.raises(CallopsError, match="only failed messages"):
            outbox.retry(s, acme, row.id, "admin:ann")
    (c,) = _claim(store, now, "W")
    assert c.attempts == 1


def test_backoff_delays() -> None:
    b = Backoff(base_s=1, factor=3, max_s=1e9, max_attempts=99)
    assert [b.delay(n).total_seconds() for n in range(1, 6)] == [1, 3, 9, 27, 81]
    assert Backoff().delay(10_000) == timedelta(seconds=3600)  # no overflow far out
    with pytest.raises(ValueError):
        b.delay(0)


def test_permanent_failure(store: Store, two_tenants: tuple[str, str]) -> None:
    acme, _ = two_tenants
    _enqueue(store, acme, 1)
    (c,) = _claim(store, T0, "W")
    with store.session() as s:
        assert outbox.mark_failed(s, c.id, "W", "400 invalid number", now=T0, permanent=True) == "failed"


def test_concurrent_claimers_never_share_a_row(store: Store, two_tenants: tuple[str, str]) -> None:
    acme, beta = two_tenants
    _enqueue(store, acme, 60)
    _enqueue(store, beta, 60)
    workers = 4
    start = threading.Barrier(workers)
    claimed: dict[str, list[int]] = {f"w{i}": [] for i in range(workers)}
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            start.wait()
            while batch := _claim(store, T0, name, limit=3):
                claimed[name].extend(c.id for c in batch)
                with store.session() as s:
                    for c in batch:
                        assert outbox.mark_sent(s, c.id, name, now=T0)
        except BaseException as exc:  # reported below; a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(name,)) for name in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    every = [i for ids in claimed.values() for i in ids]
    assert len(every) == len(set(every)) == 120
    assert sum(1 for ids in claimed.values() if ids) >= 2  # the claimers really did interleave
    with store.engine.connect() as conn:
        statuses = conn.execute(sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)).all()
    assert dict(statuses) == {"sent": 120}


def test_skip_locked_on_postgresql(store: Store, two_tenants: tuple[str, str]) -> None:
    """A claim in flight (rows locked, not committed) is skipped, not waited for, by a second claimer."""
    if store.dialect != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite serialises claims with BEGIN IMMEDIATE")
    acme, _ = two_tenants
    _enqueue(store, acme, 10)
    with store.session() as first:
        a = outbox.claim_due(first, T0, 4, "A")  # not committed yet: its rows stay locked
        with store.session() as second:
            second.execute(sa.text("SET LOCAL lock_timeout = '2s'"))  # would raise instead of hanging
            b = outbox.claim_due(second, T0, 10, "B")
        assert len(a) == 4 and len(b) == 6
        assert not {c.id for c in a} & {c.id for c in b}
        first.rollback()  # A crashes before committing: its rows were never taken
    again = _claim(store, T0, "C")
    assert sorted(c.id for c in again) == sorted(c.id for c in a)
    assert all(c.attempts == 1 for c in again)
