"""``GET /healthz`` and ``GET /readyz``: liveness and readiness for an orchestrator (issue 17, operations).

* ``/healthz`` answers 200 as long as the process serves HTTP: no dependency is touched, so a slow database never
  gets a healthy process restarted.
* ``/readyz`` answers 200 when this process can do its work, else 503 naming the failing checks:

  - ``store``: the operational store answers ``SELECT 1`` and its Alembic revision is this version's head;
  - ``warehouse``: the DuckDB warehouse opens (it admits one process: a second server on the same file fails
    here) and answers ``SELECT 1``;
  - ``nats``: only when a live source was registered (``live serve --nats``) or ``CALLOPS_NATS_URL`` is set:
    the server answers and JetStream is on (and the registered stream exists);
  - ``workers``: the background threads this process started (live landing per durable hub, knowledge
    hot-topic push, ``live serve``'s NATS feed and notification sender) are alive.

Both need no token, so the body tells nothing about tenants or the installation: check names, ``ok``, timings in
milliseconds and a fixed short reason - never an exception's text, a URL (it may carry a password), a path, a host
or a tenant. The reason behind a failure goes to the server log, once per change.

Cheap enough to poll every second: one answer is computed at a time and reused for :data:`CACHE_S`; each check
runs in a worker thread with a :data:`TIMEOUT_S` limit, and a check still hanging from an earlier round is not
started again (it reports the timeout) so a dead host cannot pile up threads.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])

CACHE_S = 1.0  # an answer is reused this long: a poll every few seconds costs at most one round per second
TIMEOUT_S = 2.0  # per check: a store or broker that does not answer in this time is not ready
NATS_ENV = "CALLOPS_NATS_URL"


class NotReady(Exception):  # noqa: N818 - a state, not a programming error
    """A check failed; the message is the fixed, public reason (no URL, path, host or tenant)."""


@dataclass
class Health:
    """What ``/readyz`` checks in one app: registered extras, the cached answer and checks still running."""

    nats_url: str | None = None  # the live source of `live serve` (takes precedence over CALLOPS_NATS_URL)
    nats_stream: str | None = None
    workers: dict[str, Callable[[], str | None]] = field(default_factory=dict)  # name -> None or a reason
    threads: list[threading.Thread] = field(default_factory=list)  # started by this process, must stay alive
    answer: tuple[float, asyncio.Future] | None = None  # (expires at, in-flight or done round)
    running: dict[str, threading.Event] = field(default_factory=dict)  # set when a check's thread returns
    last_reason: dict[str, str | None] = field(default_factory=dict)  # for logging changes only


def health_of(app: FastAPI) -> Health:
    """The app's :class:`Health` (made on first use)."""
    h = getattr(app.state, "health", None)
    if h is None:
        h = app.state.health = Health()
    return h


# ------------------------------------------------------------------------------------------ registration
def watch_background(app: FastAPI, *, landing: bool = False, threads: Iterable[threading.Thread] = (),
                     names: Iterable[str] = ("kb-hot-push",), nats_url: str | None = None,
                     nats_stream: str | None = None) -> None:  # fmt: skip
    """Tell ``/readyz`` what this serving process started, after starting it.

    ``landing``: :func:`callops.realtime.landing.land_served_hubs` runs, so every durable hub this process opened
    must have its landing thread alive. ``threads``: thread objects that must stay alive. ``names``: threads
    alive now under these names (the knowledge push starts ``kb-hot-push`` unless switched off) must stay alive.
    ``nats_url``/``nats_stream``: the live source this process consumes; readiness checks it answers.
    """
    h = health_of(app)
    wanted = set(names)
    for t in [*threads, *(t for t in threading.enumerate() if t.name in wanted)]:
        if t.is_alive() and t not in h.threads:
            h.threads.append(t)
    if h.threads:
        h.workers["threads"] = lambda: _dead_threads(h.threads)
    if landing:
        h.workers["landing"] = _dead_landings
    if nats_url:
        h.nats_url, h.nats_stream = nats_url, nats_stream


def _dead_threads(threads: list[threading.Thread]) -> str | None:
    dead = sorted({t.name for t in threads if not t.is_alive()})  # fixed names (kb-hot-push, nats-feed, ...)
    return f"stopped: {', '.join(dead)}" if dead else None


def _dead_landings() -> str | None:
    """Every durable hub of this process has a live ``landing-<tenant>`` thread (counts only: no tenant names)."""
    from callops.realtime.hub import open_hubs

    durable = [t for t, hub in open_hubs().items() if hub.log is not None]
    alive = {t.name for t in threading.enumerate() if t.name.startswith("landing-")}
    dead = sum(f"landing-{t}" not in alive for t in durable)
    return f"{dead} of {len(durable)} live landing workers stopped" if dead else None


# ------------------------------------------------------------------------------------------ checks
def check_store(res: Any) -> str:
    """``SELECT 1`` on the store and its revision at head."""
    from sqlalchemy import text

    try:
        engine = res.store.engine  # opens (and migrates) the store on first use, as any request would
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = _current_revision(conn)
    except Exception as exc:
        raise NotReady("does not answer") from exc
    head = _head_revision()
    if current != head:
        raise NotReady(f"migrations not at head (at {current}, this version needs {head})")
    return f"revision {head}"


def _current_revision(conn: Any) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


_HEAD: list[str] = []


def _head_revision() -> str:
    if not _HEAD:  # reading the scripts takes ~50 ms: once per process
        from callops.store.migrate import head_revision

        _HEAD.append(head_revision())
    return _HEAD[0]


def check_warehouse(res: Any) -> str:
    """The warehouse opens (one process per file) and answers ``SELECT 1``."""
    try:
        wh = res.readers.take()
    except Exception as exc:
        reason = "locked by another process" if "lock" in str(exc).lower() else "cannot be opened"
        raise NotReady(reason) from exc
    try:
        wh.writer().execute("SELECT 1").fetchall()
    except Exception as exc:
        wh.close()  # a broken handle does not go back to the pool
        raise NotReady("does not answer") from exc
    res.readers.give(wh)
    return "answers"


def check_nats(url: str, stream: str | None) -> str:
    """NATS answers and JetStream is on (and ``stream`` exists when given)."""
    import nats

    async def quiet(_exc: Exception) -> None:  # nats-py logs every failed try with a traceback by default
        return None

    async def probe() -> str:
        try:  # one try, no 2 s pause before giving up (nats-py's default reconnect wait)
            nc = await nats.connect(url, connect_timeout=TIMEOUT_S, allow_reconnect=False, max_reconnect_attempts=1,
                                    reconnect_time_wait=0.05, error_cb=quiet)  # fmt: skip
        except Exception as exc:
            raise NotReady("does not answer") from exc
        try:
            js = nc.jetstream()
            try:
                if stream:
                    await js.stream_info(stream)
                else:
                    await js.account_info()
            except Exception as exc:
                raise NotReady("JetStream stream missing" if stream else "JetStream is off") from exc
        finally:
            await nc.close()
        return "JetStream answers"

    return asyncio.run(probe())


def check_workers(h: Health) -> str:
    """Every registered background worker is alive."""
    problems = [p for p in (fn() for fn in h.workers.values()) if p]
    if problems:
        raise NotReady("; ".join(problems))
    return f"{len(h.workers)} watched"


def _checks(app: FastAPI) -> dict[str, Callable[[], str]]:
    res, h = app.state.resources, health_of(app)
    checks: dict[str, Callable[[], str]] = {"store": lambda: check_store(res),
                                            "warehouse": lambda: check_warehouse(res)}
    url = h.nats_url or os.environ.get(NATS_ENV) or None
    if url:
        checks["nats"] = lambda: check_nats(url, h.nats_stream if h.nats_url else None)
    if h.workers:
        checks["workers"] = lambda: check_workers(h)
    return checks


async def _run_check(h: Health, name: str, fn: Callable[[], str]) -> dict[str, Any]:
    start = time.perf_counter()
    reason: str | None
    busy = h.running.get(name)
    if busy is not None and not busy.is_set():  # the last round's check still hangs: do not add a thread
        reason = f"no answer within {TIMEOUT_S:g} s"
    else:
        done = h.running[name] = threading.Event()

        def call() -> str:
            try:
                return fn()
            finally:
                done.set()

        task = asyncio.ensure_future(asyncio.to_thread(call))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # a late failure is not "unretrieved"
        try:
            await asyncio.wait_for(asyncio.shield(task), TIMEOUT_S)
            reason = None
        except TimeoutError:
            reason = f"no answer within {TIMEOUT_S:g} s"
        except NotReady as exc:
            reason = str(exc)
            if exc.__cause__ is not None:
                log.debug("readiness %s: %r", name, exc.__cause__)
        except Exception as exc:  # a bug in a check: not ready, said plainly in the log only
            reason = "check failed"
            log.warning("readiness check %s raised %r", name, exc)
    if h.last_reason.get(name, None) != reason:  # log transitions, not every poll
        if reason:
            log.warning("not ready: %s %s", name, reason)
        elif name in h.last_reason:
            log.info("ready again: %s", name)
    h.last_reason[name] = reason
    out: dict[str, Any] = {"ok": reason is None, "ms": round((time.perf_counter() - start) * 1000, 1)}
    if reason:
        out["reason"] = reason
    return out


async def _round(app: FastAPI) -> dict[str, Any]:
    h = health_of(app)
    checks = _checks(app)
    results = await asyncio.gather(*(_run_check(h, n, fn) for n, fn in checks.items()))
    doc = dict(zip(checks, results, strict=True))
    failing = [n for n, r in doc.items() if not r["ok"]]
    return {"status": "not ready" if failing else "ready", "failing": failing, "checks": doc,
            "checked_at": time.time()}


async def readiness(app: FastAPI) -> dict[str, Any]:
    """The readiness document: computed at most once per :data:`CACHE_S`, concurrent callers share it."""
    h = health_of(app)
    loop = asyncio.get_running_loop()
    now = loop.time()
    hit = h.answer
    if hit is None or hit[0] <= now or hit[1].get_loop() is not loop:
        task = loop.create_task(_round(app))
        h.answer = hit = (now + CACHE_S + TIMEOUT_S, task)  # the clock starts when the round ends (below)

        def restart_clock(_t: asyncio.Future, stamp: tuple = hit) -> None:
            if h.answer is stamp:
                h.answer = (loop.time() + CACHE_S, stamp[1])

        task.add_done_callback(restart_clock)
    return await asyncio.shield(hit[1])


# ------------------------------------------------------------------------------------------ routes
@router.get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    """Liveness: the process answers (no dependency is checked)."""
    return {"status": "ok"}


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> JSONResponse:
    """Readiness: 200 with each check's status and time, or 503 naming the failing checks."""
    doc = await readiness(request.app)
    if doc["failing"]:
        return JSONResponse({"detail": f"not ready: {', '.join(doc['failing'])}", **doc}, status_code=503,
                            headers={"Cache-Control": "no-store", "Retry-After": "1"})  # fmt: skip
    return JSONResponse(doc, headers={"Cache-Control": "no-store"})
