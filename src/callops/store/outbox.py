"""The notification outbox: written in the same transaction as the change that causes it, sent afterwards.

Life of a message::

    enqueue ──▶ pending ──claim_due──▶ sending (leased to a worker) ──mark_sent──▶ sent
                   ▲                        │
                   └──── mark_failed ◀──────┤  (back-off; after max_attempts ──▶ failed)
                   └──── lease expired ◀────┘  (the worker died: the next claim takes it again)

Guarantees and their boundary:

* **Never lost.** A message exists as soon as the transaction that enqueued it commits; it stays
  due until a worker marks it sent. A worker that crashes after claiming leaves rows in
  ``sending`` whose lease runs out, and they are claimed again.
* **Never enqueued twice.** ``(tenant, dedup_key)`` is unique; :func:`enqueue` returns False for a
  key it has seen (INSERT ... ON CONFLICT DO NOTHING, so the caller's transaction is unharmed).
* **At-least-once delivery, exactly-once effect where the receiver helps.** Between "the gateway
  accepted it" and "mark_sent committed" a crash can happen; the message is then sent again.
  No outbox can close that gap alone. Senders therefore pass ``dedup_key`` to the gateway as its
  idempotency key (``Idempotency-Key`` header for webhooks and SMS gateways that support it, the
  ``Message-ID`` for e-mail, the row key for in-app), which makes the second send a no-op where
  the receiver honours it. A worker whose lease expired cannot mark another worker's claim sent
  (:func:`mark_sent` returns False).
* **Claims never overlap.** On PostgreSQL due rows are picked with ``SELECT ... FOR UPDATE SKIP
  LOCKED`` inside one ``UPDATE ... RETURNING``, so concurrent workers take disjoint rows without
  waiting for each other. On SQLite the claim runs in a ``BEGIN IMMEDIATE`` transaction: one
  writer at a time, others wait on the busy timeout.

:func:`claim_due`, :func:`mark_sent` and :func:`mark_failed` serve the notifier, which works for
every tenant; they are the outbox's only cross-tenant operations. Everything else takes a tenant.
Call each in its own short transaction (``with store.session() as s: ...``) and send in between,
outside any transaction.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SAWarning
from sqlalchemy.orm import Session

from callops.errors import CallopsError
from callops.store import audit, models
from callops.store.db import SQLITE_IMMEDIATE
from callops.store.models import Channel, OutboxMessage, OutboxStatus
from callops.store.scoping import get_owned, scoped, tenant_key

DEFAULT_LEASE = timedelta(seconds=60)
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class Backoff:
    """Exponential back-off: failure ``n`` waits ``min(max_s, base_s * factor**(n-1))``; stop after ``max_attempts``."""

    base_s: float = 30.0
    factor: float = 2.0
    max_s: float = 3600.0
    max_attempts: int = 10

    def delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt (1-based)."""
        if attempts < 1:
            raise ValueError("attempts starts at 1")
        try:
            raw = self.base_s * self.factor ** (attempts - 1)
        except OverflowError:  # far past the cap anyway
            raw = math.inf
        return timedelta(seconds=min(self.max_s, raw))


@dataclass(frozen=True)
class ClaimedMessage:
    """A message leased to one worker until ``lease_until`` (usable after the session closes)."""

    id: int
    tenant_id: str
    channel: Channel
    dedup_key: str
    payload: dict[str, Any]
    attempts: int
    lease_until: datetime


def enqueue(
    session: Session,
    tenant: str,
    channel: str | Channel,
    dedup_key: str,
    payload: dict[str, Any],
    *,
    now: datetime | None = None,
) -> bool:
    """Add a message to the outbox in the caller's transaction; False if ``dedup_key`` is already there."""
    try:
        channel = Channel(channel)
    except ValueError:
        raise CallopsError(f"unknown channel {channel!r}; use one of: {', '.join(Channel)}") from None
    if not dedup_key:
        raise CallopsError("a notification needs a dedup key")
    now = now or models.utcnow()
    values = {
        "tenant_id": tenant_key(tenant),
        "channel": channel.value,
        "dedup_key": dedup_key,
        "payload": payload,
        "status": OutboxStatus.pending.value,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(OutboxMessage)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["tenant_id", "dedup_key"])
        .returning(OutboxMessage.id)  # a row comes back only when one was inserted
    )
    return session.execute(stmt).first() is not None


def claim_due(
    session: Session, now: datetime, limit: int, worker_id: str, *, lease: timedelta = DEFAULT_LEASE
) -> list[ClaimedMessage]:
    """Lease up to ``limit`` due messages to ``worker_id`` (pending and due, or sending with an expired lease).

    Each claim counts as an attempt. Must be the first statement of its transaction (on SQLite that
    transaction is made ``BEGIN IMMEDIATE``); commit right after, before sending.
    """
    if limit < 1:
        return []
    if session.get_bind().dialect.name == "sqlite":
        # BEGIN IMMEDIATE takes the write lock up front, so reading the due rows and leasing them
        # is one step. If the caller's transaction already began, SQLAlchemy keeps its connection
        # (and warns); the claim is then still a single UPDATE, which SQLite runs atomically.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)
            session.connection(execution_options={SQLITE_IMMEDIATE: True})
    m = OutboxMessage
    due = (
        select(m.id)
        .where(
            or_(
                and_(m.status == OutboxStatus.pending.value, m.next_attempt_at <= now),
                and_(m.status == OutboxStatus.sending.value, m.lease_until <= now),
            )
        )
        .order_by(m.next_attempt_at, m.id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # rendered on PostgreSQL only
    )
    lease_until = now + lease
    stmt = (
        update(m)
        .where(m.id.in_(due.scalar_subquery()))
        .values(
            status=OutboxStatus.sending.value, claimed_by=worker_id, lease_until=lease_until, attempts=m.attempts + 1
        )
        .returning(m.id, m.tenant_id, m.channel, m.dedup_key, m.payload, m.attempts, m.lease_until)
        .execution_options(synchronize_session=False)
    )
    rows = session.execute(stmt).all()
    claimed = [
        ClaimedMessage(r.id, r.tenant_id, Channel(r.channel), r.dedup_key, r.payload, r.attempts, r.lease_until)
        for r in rows
    ]
    return sorted(claimed, key=lambda c: c.id)


def mark_sent(session: Session, message_id: int, worker_id: str, *, now: datetime | None = None) -> bool:
    """Record that ``worker_id`` delivered the message; False if it no longer holds the claim."""
    m = OutboxMessage
    stmt = (
        update(m)
        .where(m.id == message_id, m.status == OutboxStatus.sending.value, m.claimed_by == worker_id)
        .values(status=OutboxStatus.sent.value, sent_at=now or models.utcnow(), lease_until=None, last_error=None)
        .execution_options(synchronize_session=False)
    )
    return session.execute(stmt).rowcount == 1


def mark_failed(
    session: Session,
    message_id: int,
    worker_id: str,
    error: str,
    *,
    now: datetime | None = None,
    backoff: Backoff = Backoff(),
    permanent: bool = False,
) -> OutboxStatus | None:
    """Record a failed attempt: due again after the back-off, or ``failed`` for good after ``max_attempts``.

    ``permanent=True`` (the receiver refused the message itself) fails it at once. Returns the new
    status, or None if ``worker_id`` no longer holds the claim.
    """
    now = now or models.utcnow()
    m = OutboxMessage
    q = select(m).where(m.id == message_id, m.status == OutboxStatus.sending.value, m.claimed_by == worker_id)
    row = session.scalars(q.with_for_update()).one_or_none()
    if row is None:
        return None
    row.last_error = error[:MAX_ERROR_CHARS]
    row.lease_until = None
    if permanent or row.attempts >= backoff.max_attempts:
        row.status = OutboxStatus.failed.value
    else:
        row.status = OutboxStatus.pending.value
        row.next_attempt_at = now + backoff.delay(row.attempts)
    session.flush()
    return OutboxStatus(row.status)


def list_messages(
    session: Session, tenant: str, *, status: str | OutboxStatus | None = None, limit: int = 100
) -> list[OutboxMessage]:
    """The tenant's outbox, newest first, optionally in one status."""
    q = scoped(OutboxMessage, tenant)
    if status is not None:
        q = q.where(OutboxMessage.status == OutboxStatus(status).value)
    return list(session.scalars(q.order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()).limit(limit)))


def get_message(session: Session, tenant: str, message_id: int) -> OutboxMessage:
    """One of the tenant's outbox messages."""
    return get_owned(session, OutboxMessage, tenant, message_id)


def retry(session: Session, tenant: str, message_id: int, actor: str, *, now: datetime | None = None) -> OutboxMessage:
    """Put a ``failed`` message of the tenant back in the queue, due now (audited)."""
    row = get_message(session, tenant, message_id)
    if row.status != OutboxStatus.failed:
        raise CallopsError(f"message {message_id} is {row.status}; only failed messages can be retried")
    before = audit.snapshot(row, exclude=frozenset({"payload"}))
    row.status, row.next_attempt_at, row.attempts = OutboxStatus.pending.value, now or models.utcnow(), 0
    session.flush()
    after = audit.snapshot(row, exclude=frozenset({"payload"}))
    audit.record(session, tenant, actor, "outbox.retry", "outbox", row.id, before, after)
    return row
