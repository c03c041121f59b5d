"""Hot topics pushed without anybody asking: a worker in every serving process (``callops serve``, the demo's
server) runs hot-topic detection with notifications for every tenant every ``CALLOPS_KB_HOT_INTERVAL_S`` seconds
(default 900; 0 turns it off).

Why here: like the live landing (``realtime.landing.land_served_hubs``), the serving process is the one that runs
all day and already holds the store and a warehouse; a cron job would need a second process with its own
warehouse handle. Each round is idempotent: the outbox keys a notification by topic and day, and a knowledge-gap
task is opened once per subject (``hot.detect_for_tenant``), so rounds and several serving processes never
duplicate them; the outbox's dispatcher delivers as for alerts. ``callops kb hot --notify`` stays for one-off
runs and schedulers outside the server.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from callops.errors import CallopsError
from callops.knowledge import hot

log = logging.getLogger("callops.knowledge.push")
DEFAULT_INTERVAL_S = 900.0


def interval_s() -> float:
    """The push interval from ``CALLOPS_KB_HOT_INTERVAL_S`` (seconds; 0 = off), default 15 minutes."""
    raw = os.environ.get("CALLOPS_KB_HOT_INTERVAL_S", "")
    try:
        value = float(raw) if raw.strip() else DEFAULT_INTERVAL_S
    except ValueError:
        raise CallopsError(f"CALLOPS_KB_HOT_INTERVAL_S={raw!r} is not a number of seconds") from None
    if value < 0 or value != value:
        raise CallopsError(f"CALLOPS_KB_HOT_INTERVAL_S={raw!r} must be 0 (off) or a positive number of seconds")
    return value


def push_round(resources: Any, *, now: datetime | None = None, alpha: float = 0.01) -> dict[str, list[dict]]:
    """One round for every tenant of the store: detect hot topics, queue notifications, open gap tasks.
    Returns the topics per tenant. A tenant the warehouse lacks is checked on its knowledge events alone; a
    tenant whose round fails is logged and skipped (the others still run)."""
    from callops.store.tenants import list_tenants

    store = resources.store
    with store.session() as s:
        tenants = [t.id for t in list_tenants(s)]
    out: dict[str, list[dict]] = {}
    for tenant in tenants:
        try:
            try:
                with resources.reading() as wh:
                    topics = hot.detect_for_tenant(store, tenant, wh=wh, now=now, alpha=alpha, notify=True)
            except CallopsError:  # no such tenant in the warehouse: the knowledge events still count
                topics = hot.detect_for_tenant(store, tenant, now=now, alpha=alpha, notify=True)
        except Exception:  # one tenant's failure must not stop the others' pushes
            log.exception("hot-topic push failed for tenant %s", tenant)
            continue
        out[tenant] = [t.as_dict() for t in topics]
    return out


def push_hot_topics(resources: Any, every_s: float | None = None,
                    clock: Callable[[], datetime] | None = None) -> Callable[[], None]:  # fmt: skip
    """Start the worker (first round at once, then every ``every_s``); returns ``stop()``. Off when 0."""
    every = interval_s() if every_s is None else every_s
    if every <= 0:
        return lambda: None
    stopping = threading.Event()

    def loop() -> None:
        while not stopping.is_set():
            try:
                push_round(resources, now=clock() if clock else None)
            except Exception:  # the worker lives as long as the server
                log.exception("hot-topic push round failed")
            stopping.wait(every)

    worker = threading.Thread(target=loop, name="kb-hot-push", daemon=True)
    worker.start()

    def stop() -> None:
        stopping.set()
        worker.join(timeout=30)

    return stop
