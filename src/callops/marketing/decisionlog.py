"""The decision log: written in small batches off the request path, read for the contact-policy limits.

A decision must answer within milliseconds; a synchronous INSERT + COMMIT per decision (an fsync on SQLite)
would cost more than the decision itself and serialise concurrent requests on the store's write lock. So
:func:`log` puts the row in a per-store queue and a daemon thread writes whatever has gathered every
``FLUSH_S`` seconds in one transaction (and at exit). Rows not written yet are still seen by
:func:`recent`, so the limits hold within a process at once and across processes within ``FLUSH_S``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert

from callops.store.db import Store, store_url
from callops.store.models_marketing import OfferDecision, OfferOutcome
from callops.store.scoping import get_owned, scoped, tenant_key

FLUSH_S = 0.2


class _Writer:
    """The queue and writer thread of one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.pending: list[dict[str, Any]] = []
        # the queued rows by (tenant, customer): recent() looks one customer up without scanning the whole queue
        self.by_customer: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.lock = threading.Lock()
        self.flushing = threading.Lock()
        self.wake = threading.Event()
        self.thread = threading.Thread(target=self._run, name="marketing-decision-log", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            self.wake.wait(FLUSH_S)
            self.wake.clear()
            with contextlib.suppress(Exception):  # a store hiccup must not kill the writer; rows stay queued
                self.flush()

    def flush(self) -> int:
        """Write everything queued, in one transaction; returns how many rows. Flushes are serialised: rows stay
        queued (and seen by :func:`recent`) until written, and new rows are only ever appended."""
        with self.flushing:
            with self.lock:
                rows = list(self.pending)
            if not rows:
                return 0
            with self.store.engine.begin() as conn:  # one executemany: the writer holds the GIL briefly
                conn.execute(insert(OfferDecision.__table__), rows)
            with self.lock:
                del self.pending[: len(rows)]
                self.by_customer = {}
                for r in self.pending:  # what arrived during the write (few rows)
                    self.by_customer.setdefault((r["tenant_id"], r["customer_id"]), []).append(r)
            return len(rows)


_WRITERS: dict[int, _Writer] = {}
_STORES: dict[str, Store] = {}
_BY_ENV: dict[tuple[str | None, str | None], Store] = {}
_LOCK = threading.Lock()


def default_store() -> Store:
    """One store per URL for this process (not migrated here: the decision path stays cheap)."""
    env = (os.environ.get("CALLOPS_STORE_URL"), os.environ.get("CALLOPS_HOME"))
    st = _BY_ENV.get(env)
    if st is not None:  # working the URL out resolves paths on disk: not on every decision
        return st
    url = store_url()
    with _LOCK:
        st = _STORES.get(url)
        if st is None:
            st = _STORES[url] = Store(url, upgrade=False)
        _BY_ENV[env] = st
        return st


def _writer(store: Store) -> _Writer:
    w = _WRITERS.get(id(store))
    if w is None or w.store is not store:
        with _LOCK:
            w = _WRITERS.get(id(store))
            if w is None or w.store is not store:
                w = _WRITERS[id(store)] = _Writer(store)
    return w


def log(store: Store, row: dict[str, Any]) -> None:
    """Queue one decision row (the keys of :class:`OfferDecision`)."""
    w = _writer(store)
    with w.lock:
        w.pending.append(row)
        w.by_customer.setdefault((row["tenant_id"], row["customer_id"]), []).append(row)


def flush(store: Store | None = None) -> int:
    """Write the queued rows now (of one store, or of every store); returns how many."""
    writers = [_writer(store)] if store is not None else list(_WRITERS.values())
    return sum(w.flush() for w in writers)


@atexit.register
def _flush_at_exit() -> None:
    for w in list(_WRITERS.values()):
        with contextlib.suppress(Exception):  # nothing left to report to at exit
            w.flush()


_QUERIES: dict[str, Any] = {}


def _recent_query(tenant_id: str) -> Any:
    """The tenant's scoped query of one customer's recent offers, built once (its SQL is then cached by
    SQLAlchemy: building the expression anew was most of a decision's time)."""
    q = _QUERIES.get(tenant_id)
    if q is None:
        q = _QUERIES[tenant_id] = (
            scoped(OfferDecision, tenant_id)
            .where(OfferDecision.customer_id == bindparam("customer"), OfferDecision.decided_at >= bindparam("since"),
                   OfferDecision.offer_id.is_not(None))
            .with_only_columns(OfferDecision.id, OfferDecision.offer_id, OfferDecision.contact_id,
                               OfferDecision.decided_at, OfferDecision.outcome))  # fmt: skip
    return q


def recent(store: Store, tenant: Any, customer_id: str, since: datetime) -> list[dict[str, Any]]:
    """The customer's decisions with an offer since ``since`` (written and still queued): offer, contact,
    time and outcome."""
    key = tenant_key(tenant)
    with store.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(_recent_query(key), {"customer": customer_id, "since": since})]
    seen = {r["id"] for r in rows}
    w = _writer(store)
    with w.lock:
        rows += [{k: r.get(k) for k in ("id", "offer_id", "contact_id", "decided_at", "outcome")}
                 for r in w.by_customer.get((key, customer_id), ())
                 if r.get("offer_id") and r["decided_at"] >= since and r["id"] not in seen]  # fmt: skip
    return rows


def record_outcome(store: Store, tenant: Any, decision_id: str, outcome: str, now: datetime) -> dict[str, Any]:
    """Record what the customer said to a decision's offer (404-style NotFound for another tenant's id)."""
    from callops.errors import CallopsError

    if outcome not in {o.value for o in OfferOutcome}:
        raise CallopsError(f"outcome must be one of: {', '.join(o.value for o in OfferOutcome)}")
    flush(store)
    with store.session() as s:
        row = get_owned(s, OfferDecision, tenant, decision_id)
        if row.offer_id is None:
            raise CallopsError(f"decision {decision_id!r} made no offer")
        row.outcome, row.outcome_at = outcome, now
        return {"decision_id": row.id, "offer_id": row.offer_id, "outcome": outcome, "at": now.isoformat()}


def decisions(store: Store, tenant: Any, limit: int = 100) -> list[dict[str, Any]]:
    """The tenant's latest decisions, newest first."""
    flush(store)
    q = scoped(OfferDecision, tenant).order_by(OfferDecision.decided_at.desc()).limit(limit)
    with store.session() as s:
        return [{c: getattr(r, c) for c in ("id", "decided_at", "customer_id", "contact_id", "channel", "reason",
                                            "offer_id", "campaign_id", "probability", "propensity", "value",
                                            "weight", "score", "policy", "model_version", "why", "outcome")}
                for r in s.scalars(q)]  # fmt: skip



def decision_counts(store: Store, tenant: Any, since: datetime, until: datetime) -> dict[str, int]:
    """Decisions that made an offer, per offer id, between ``since`` (inclusive) and ``until`` (exclusive)."""
    from sqlalchemy import func

    flush(store)
    q = (scoped(OfferDecision, tenant)
         .where(OfferDecision.decided_at >= since, OfferDecision.decided_at < until,
                OfferDecision.offer_id.is_not(None))
         .with_only_columns(OfferDecision.offer_id, func.count())
         .group_by(OfferDecision.offer_id))  # fmt: skip
    with store.engine.connect() as conn:
        return {oid: int(n) for oid, n in conn.execute(q)}
