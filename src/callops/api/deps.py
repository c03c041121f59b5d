"""Dependencies of every handler: the caller (from the bearer token), permissions, the store and the warehouse.

The tenant of a request comes **only** from :func:`principal` — no handler takes a tenant from the path,
the query or the body.

Warehouse access (issue 21): reads never serialise on one lock. Each request that reads the warehouse
borrows its own DuckDB connection (:meth:`callops.warehouse.Warehouse.handle`, pooled in :class:`ReaderPool`)
after an **async admission** step: at most ``CALLOPS_API_WAREHOUSE_SLOTS`` such requests run at once (default 8;
DuckDB already uses every core for one query), up to ``CALLOPS_API_QUEUE`` more wait on the event loop (never
in a worker thread, so the thread pool stays free for every other route), and beyond that, or after
``CALLOPS_API_QUEUE_WAIT_S`` seconds of waiting, the answer is 503 with ``Retry-After``. Writers (loads, the
live landing) use the process's main connection under :attr:`Resources.warehouse_lock`, which only writers take.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractContextManager, asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from callops.lake.cache import LakeCache
from callops.store.db import Store
from callops.store.roles import Permission, allows
from callops.store.users import Principal, credentials_generation
from callops.warehouse import Warehouse

_CONVERTOR = re.compile(r":\w+}")
_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer co_...`")


def _env_number(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


class ReaderPool:
    """Idle warehouse handles (one DuckDB connection each) for readers; thread-safe, grows on demand."""

    def __init__(self, open_main: Callable[[], Warehouse], max_idle: int = 16) -> None:
        """``open_main`` opens (or returns) the process's main warehouse, from which handles are made."""
        self._open_main = open_main
        self._idle: list[Warehouse] = []
        self._lock = threading.Lock()
        self.max_idle = max_idle
        self.closed = False

    def take(self) -> Warehouse:
        """An idle handle, or a new one."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._open_main().handle()

    def give(self, wh: Warehouse) -> None:
        """Return a handle taken with :meth:`take` (closed if the pool is full or closed)."""
        with self._lock:
            if not self.closed and len(self._idle) < self.max_idle:
                self._idle.append(wh)
                return
        wh.close()

    def close(self) -> None:
        """Close every idle handle; handles given back later are closed too."""
        with self._lock:
            self.closed = True
            idle, self._idle = self._idle, []
        for wh in idle:
            wh.close()


class Admission:
    """Bounded admission of warehouse requests on the event loop: ``slots`` run, ``queue`` wait, the rest get 503."""

    def __init__(self, slots: int, queue: int, wait_s: float) -> None:
        """Limits as described in the module docstring."""
        self.slots, self.queue, self.wait_s = max(1, slots), max(0, queue), wait_s
        self.waiting = 0
        self.running = 0
        self._sem: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._sem is None or self._loop is not loop:  # a new loop (a test's second client): fresh state
            self._sem, self._loop, self.waiting, self.running = asyncio.Semaphore(self.slots), loop, 0, 0
        return self._sem

    def _busy(self) -> HTTPException:
        return HTTPException(503, f"server busy: {self.running} warehouse requests running and {self.waiting} "
                             "waiting; retry shortly", headers={"Retry-After": "1"})  # fmt: skip

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot for the body of the ``async with``; 503 when the queue is full or the wait too long."""
        sem = self._semaphore()
        if sem.locked() and self.waiting >= self.queue:
            raise self._busy()
        self.waiting += 1
        try:
            await asyncio.wait_for(sem.acquire(), self.wait_s)
        except TimeoutError:
            raise self._busy() from None
        finally:
            self.waiting -= 1
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1
            sem.release()


class SharedAnswers:
    """Coalesce identical reads: concurrent asks for one key share one computation, reused for ``ttl_s``.

    A dashboard watched by a hundred people asks the same question a hundred times a refresh; one computes it
    and the others wait for that answer on the event loop (issue 21). Keys carry the tenant and its load
    generation (:attr:`Resources.generation`), so a finished load is seen at once; ``ttl_s`` bounds staleness
    from other writers (the live landing).
    """

    def __init__(self, ttl_s: float = 5.0, max_entries: int = 1024) -> None:
        """Answers are reused for ``ttl_s`` seconds; at most ``max_entries`` are kept."""
        self.ttl_s, self.max_entries = ttl_s, max_entries
        self._entries: dict[Any, tuple[float, asyncio.Future]] = {}

    async def get(self, key: Any, compute: Callable[[], Any]) -> Any:
        """The answer for ``key``: a fresh or in-flight one, else ``await compute()`` (errors are not kept).

        The computation runs as a task of its own, so a requester that goes away cancels nobody else's answer.
        """
        loop = asyncio.get_running_loop()
        now = loop.time()
        hit = self._entries.get(key)
        if hit is None or hit[0] <= now or hit[1].get_loop() is not loop:
            if len(self._entries) >= self.max_entries:
                self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            task = loop.create_task(compute())

            def forget_failure(t: asyncio.Task, k: Any = key) -> None:
                if (t.cancelled() or t.exception() is not None) and self._entries.get(k, (0, None))[1] is t:
                    del self._entries[k]

            task.add_done_callback(forget_failure)
            hit = self._entries[key] = (now + self.ttl_s, task)
        return await asyncio.shield(hit[1])


class Resources:
    """The store and warehouse of one app, opened on first use and closed with the app."""

    def __init__(self, store_url: str | None = None, warehouse_url: str | None = None) -> None:
        """Remember where the store and warehouse are; nothing is opened yet."""
        self.store_url = store_url
        self.warehouse_url = warehouse_url
        self._store: Store | None = None
        self._warehouse: Warehouse | None = None
        # One lock each: a store whose first open hangs (PostgreSQL down) must not stall new warehouse handles.
        self._store_open_lock = threading.Lock()
        self._warehouse_open_lock = threading.Lock()
        # Taken by writers of the main connection (loads, the live landing); readers use their own handles.
        # A plain Lock: it may be taken and released on different threads.
        self.warehouse_lock = threading.Lock()
        self.readers = ReaderPool(self.open_warehouse)
        self.lakes = LakeCache()  # tenants' lakes (lake.yaml), opened once and reused until an export changes them
        self.admission = Admission(
            slots=int(_env_number("CALLOPS_API_WAREHOUSE_SLOTS", 8)),
            queue=int(_env_number("CALLOPS_API_QUEUE", 256)),
            wait_s=_env_number("CALLOPS_API_QUEUE_WAIT_S", 30.0),
        )
        self.writers = Admission(slots=1, queue=64, wait_s=_env_number("CALLOPS_API_WRITE_WAIT_S", 600.0))
        self.generation: dict[str, int] = {}  # tenant -> loads finished through this app (keys of shared answers)
        self.shared = SharedAnswers(ttl_s=_env_number("CALLOPS_API_SHARED_TTL_S", 5.0))
        self.principals = PrincipalCache(ttl_s=_env_number("CALLOPS_API_AUTH_CACHE_S", 2.0))

    async def read(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(wh, *args)`` on a handle of its own, admitted like a warehouse request (503 when saturated)."""
        async with self.admission.slot():
            wh = await run_in_threadpool(self.readers.take)
            try:
                return await run_in_threadpool(fn, wh, *args)
            finally:
                self.readers.give(wh)

    @property
    def store(self) -> Store:
        """The operational store (migrated to head on first open)."""
        held = self._store
        if held is not None:  # every request reads it: no lock once it is open
            return held
        with self._store_open_lock:
            if self._store is None:
                self._store = Store(self.store_url)
            return self._store

    def open_warehouse(self) -> Warehouse:
        """The main warehouse connection (writers hold :attr:`warehouse_lock` while using it)."""
        with self._warehouse_open_lock:
            if self._warehouse is None:
                self._warehouse = Warehouse(self.warehouse_url)
            return self._warehouse

    def reading(self) -> _Borrowed:
        """``with res.reading() as wh:`` a handle of this thread's own (console pages, scripts)."""
        return _Borrowed(self.readers)

    def history(self, tenant_id: str) -> AbstractContextManager[Warehouse]:
        """``with res.history(tenant) as wh:`` where the tenant's history screens read (journeys, forecast,
        metrics, views): the lake its ``lake.yaml`` names (a read-only DuckDB cursor over the Parquet files, of
        :attr:`lakes`, which keeps the opened lake until an export changes it), else a handle as :meth:`reading`
        gives (issue 17). A lake that went away or lost the tenant is one line (400), not a 404."""
        from callops.lake.tenant import history_lake

        url = history_lake(tenant_id)
        if url is None:
            return self.reading()
        return self.lakes.reading(url, tenant_id)

    async def read_history(self, tenant_id: str, fn: Callable[..., Any], *args: Any) -> Any:
        """:meth:`read` on the tenant's history source (:meth:`history`): its lake when ``lake.yaml`` names one."""
        async with self.admission.slot():
            cm, wh = await run_in_threadpool(_enter, self.history, tenant_id)
            try:
                return await run_in_threadpool(fn, wh, *args)
            finally:
                cm.__exit__(None, None, None)

    def close(self) -> None:
        """Close the store and the warehouse if they were opened."""
        self.readers.close()
        self.lakes.close()
        with self._store_open_lock:
            if self._store is not None:
                self._store.close()
                self._store: Store | None = None
        with self._warehouse_open_lock:
            if self._warehouse is not None:
                with self.warehouse_lock:
                    self._warehouse.close()
                self._warehouse = None


def _enter(open_cm: Callable[[str], AbstractContextManager[Warehouse]],
           tenant_id: str) -> tuple[AbstractContextManager[Warehouse], Warehouse]:
    """``open_cm(tenant_id)`` entered (one worker-thread hop for both): the context manager and its warehouse."""
    cm = open_cm(tenant_id)
    return cm, cm.__enter__()


class _Borrowed:
    """Context manager over :meth:`ReaderPool.take` / :meth:`ReaderPool.give`."""

    def __init__(self, pool: ReaderPool) -> None:
        self.pool = pool
        self.wh: Warehouse | None = None

    def __enter__(self) -> Warehouse:
        self.wh = self.pool.take()
        return self.wh

    def __exit__(self, *exc: object) -> None:
        if self.wh is not None:
            self.pool.give(self.wh)


def resources(request: Request) -> Resources:
    """The app's :class:`Resources`."""
    return request.app.state.resources


def store(request: Request) -> Store:
    """The app's store."""
    return resources(request).store


async def _store_dependency(request: Request) -> Store:
    """:func:`store` as a dependency: on the event loop once the store is open (a thread hop costs more than the
    lookup), in a worker thread the first time (opening migrates it)."""
    res = resources(request)
    if res._store is not None:
        return res._store
    return await run_in_threadpool(lambda: res.store)


async def warehouse(request: Request) -> AsyncIterator[Warehouse]:
    """A warehouse handle of this request's own, after admission (503 when the server is saturated).

    Async on purpose: waiting for a slot and giving the handle back happen on the event loop, so a crowd of
    queries can never occupy the worker threads that running requests need to finish (the freeze of issue 21).
    """
    res = resources(request)
    async with res.admission.slot():
        wh = await run_in_threadpool(res.readers.take)  # opening the main connection the first time is slow
        try:
            yield wh
        finally:
            res.readers.give(wh)


@asynccontextmanager
async def writing(res: Resources, tenant: str | None = None) -> AsyncIterator[Warehouse]:
    """The main warehouse connection for a writer (one at a time, waiting on the event loop, never a thread).

    ``tenant``: whose data the write changes; its shared answers are renewed afterwards.
    """
    async with res.writers.slot():
        await run_in_threadpool(res.warehouse_lock.acquire)  # shared with writers outside the API (landing)
        try:
            yield await run_in_threadpool(res.open_warehouse)
        finally:
            res.warehouse_lock.release()
            if tenant is not None:
                res.generation[tenant] = res.generation.get(tenant, 0) + 1


class PrincipalCache:
    """Tokens this process resolved lately: a request need not hop to a worker thread and the store to know who
    calls. An entry lives ``ttl_s`` seconds (``CALLOPS_API_AUTH_CACHE_S``, default 2; 0 turns the cache off),
    never past the token's expiry, and every entry is dropped when this process changes a credential (role,
    disable, revoke: :func:`callops.store.users.credentials_generation`). A change made by another process (the
    CLI, another worker) is therefore seen within ``ttl_s``. Failures are never kept.
    """

    def __init__(self, ttl_s: float, max_entries: int = 10_000) -> None:
        """Keep at most ``max_entries`` principals for ``ttl_s`` seconds each."""
        self.ttl_s, self.max_entries = ttl_s, max_entries
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._generation = -1

    @staticmethod
    def _key(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()  # the plain token is not kept as a key

    def get(self, token: str) -> Principal | None:
        """The cached principal of ``token``, or None."""
        if self.ttl_s <= 0:
            return None
        generation = credentials_generation()
        if generation != self._generation:
            self._entries, self._generation = {}, generation
            return None
        hit = self._entries.get(self._key(token))
        if hit is None or hit[0] <= time.monotonic():
            return None
        return hit[1]

    def put(self, token: str, who: Principal, expires_at: datetime | None, generation: int) -> None:
        """Remember ``who`` for ``token`` (resolved when the credential generation was ``generation``)."""
        if self.ttl_s <= 0 or not generation == self._generation == credentials_generation():
            return  # a credential changed since the store was read: the answer may already be stale
        ttl = self.ttl_s
        if expires_at is not None:
            left = (expires_at.replace(tzinfo=expires_at.tzinfo or UTC) - datetime.now(UTC)).total_seconds()
            ttl = min(ttl, left)
        if ttl <= 0:
            return
        if len(self._entries) >= self.max_entries:
            now = time.monotonic()
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
        self._entries[self._key(token)] = (time.monotonic() + ttl, who)


def _resolve(res: Resources, token: str) -> tuple[Principal | None, datetime | None, int]:
    from callops.store.users import authenticate_until

    generation = credentials_generation()  # read before the store, so a change during the read is not cached
    with res.store.session() as s:
        who, expires_at = authenticate_until(s, token)
    return who, expires_at, generation


async def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller resolved from ``Authorization: Bearer <token>``; 401 when missing or not valid.

    Async: a token seen in the last seconds is answered from :class:`PrincipalCache` on the event loop; the
    store is read in a worker thread otherwise.
    """
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise HTTPException(401, "missing API token: send 'Authorization: Bearer <token>'",
                            headers={"WWW-Authenticate": "Bearer"})
    token = credentials.credentials.strip()
    res = resources(request)
    who = res.principals.get(token)
    if who is None:
        who, expires_at, generation = await run_in_threadpool(_resolve, res, token)
        if who is None:
            raise HTTPException(401, "invalid, expired or revoked API token", headers={"WWW-Authenticate": "Bearer"})
        res.principals.put(token, who, expires_at, generation)
    request.state.principal = who  # read by the metrics middleware (per-tenant counters)
    return who


def require(permission: Permission) -> Callable[..., Principal]:
    """A dependency that returns the caller if their role has ``permission``, else answers 403."""

    async def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
        # async: a pure check, so it runs on the event loop instead of costing a worker-thread hop
        if not allows(who.role, permission):
            raise HTTPException(403, f"role {who.role.value!r} lacks permission {permission.value!r}")
        return who

    check.permission = permission  # type: ignore[attr-defined]  # read by tests that enumerate routes
    check.__name__ = f"require_{permission.name}"
    return check


async def history_warehouse(
    request: Request, who: Annotated[Principal, Depends(principal)],
) -> AsyncIterator[Warehouse]:
    """Like :func:`warehouse`, for the routes a tenant keeps on the lake (journeys, forecast, staffing, metric
    queries and drill-down, saved views' data): the lake the caller's tenant names in ``lake.yaml``, else the
    warehouse (:meth:`Resources.history`). Giving the handle back is a pool append (both kinds), done on the
    event loop as :func:`warehouse` does."""
    res = resources(request)
    async with res.admission.slot():
        cm, wh = await run_in_threadpool(_enter, res.history, who.tenant_id)
        try:
            yield wh
        finally:
            cm.__exit__(None, None, None)


def iter_routes(app: FastAPI) -> Iterator[tuple[str, frozenset[str], object]]:
    """Every route of ``app`` as (full path template, methods, route object), routers flattened.

    Paths are given as OpenAPI shows them (``{alert_id}``, without Starlette's ``:path`` convertor).
    Works with FastAPI versions that copy included routes and with those (0.16x) that keep them in an
    ``_IncludedRouter`` whose ``effective_route_contexts`` give the prefixed paths.
    """
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            for ctx in contexts():
                yield _CONVERTOR.sub("}", ctx.path), frozenset(ctx.methods or ()), ctx.original_route
        else:
            path = _CONVERTOR.sub("}", getattr(route, "path", ""))
            yield path, frozenset(getattr(route, "methods", None) or ()), route


def permission_of(route: object) -> Permission | None:
    """The permission a route requires (from its :func:`require` dependency), or None."""
    dependant = getattr(route, "dependant", None)
    stack = list(dependant.dependencies) if dependant else []
    while stack:
        dep = stack.pop()
        perm = getattr(dep.call, "permission", None)
        if perm is not None:
            return perm
        stack.extend(dep.dependencies)
    return None


Who = Annotated[Principal, Depends(principal)]
StoreDep = Annotated[Store, Depends(_store_dependency)]
WarehouseDep = Annotated[Warehouse, Depends(warehouse)]
HistoryDep = Annotated[Warehouse, Depends(history_warehouse)]  # history screens: the tenant's lake if set
