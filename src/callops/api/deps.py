"""Dependencies of every handler: the caller (from the bearer token), permissions, the store and the warehouse.

The tenant of a request comes **only** from :func:`principal` — no handler takes a tenant from the path,
the query or the body. The warehouse is one DuckDB connection per process; DuckDB connections are not
safe to use from several threads at once and FastAPI runs sync handlers in a thread pool, so every use
of it is serialised by :attr:`Resources.warehouse_lock` (see :func:`warehouse`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from callops.store.db import Store
from callops.store.roles import Permission, allows
from callops.store.users import Principal
from callops.warehouse import Warehouse

_CONVERTOR = re.compile(r":\w+}")
_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer co_...`")


class Resources:
    """The store and warehouse of one app, opened on first use and closed with the app."""

    def __init__(self, store_url: str | None = None, warehouse_url: str | None = None) -> None:
        """Remember where the store and warehouse are; nothing is opened yet."""
        self.store_url = store_url
        self.warehouse_url = warehouse_url
        self._store: Store | None = None
        self._warehouse: Warehouse | None = None
        self._open_lock = threading.Lock()
        # Held for every use of the single DuckDB connection (a plain Lock: FastAPI may enter and leave a
        # generator dependency on different threads, which an RLock would not allow).
        self.warehouse_lock = threading.Lock()

    @property
    def store(self) -> Store:
        """The operational store (migrated to head on first open)."""
        with self._open_lock:
            if self._store is None:
                self._store = Store(self.store_url)
            return self._store

    def open_warehouse(self) -> Warehouse:
        """The warehouse (callers must hold :attr:`warehouse_lock` while using it)."""
        with self._open_lock:
            if self._warehouse is None:
                self._warehouse = Warehouse(self.warehouse_url)
            return self._warehouse

    def close(self) -> None:
        """Close the store and the warehouse if they were opened."""
        with self._open_lock:
            if self._store is not None:
                self._store.close()
                self._store: Store | None = None
            if self._warehouse is not None:
                with self.warehouse_lock:
                    self._warehouse.close()
                self._warehouse = None


def resources(request: Request) -> Resources:
    """The app's :class:`Resources`."""
    return request.app.state.resources


def store(request: Request) -> Store:
    """The app's store."""
    return resources(request).store


def warehouse(request: Request) -> Iterator[Warehouse]:
    """The app's warehouse, held exclusively for the rest of the request."""
    res = resources(request)
    wh = res.open_warehouse()
    with res.warehouse_lock:
        yield wh


def principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller resolved from ``Authorization: Bearer <token>``; 401 when missing or not valid."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise HTTPException(401, "missing API token: send 'Authorization: Bearer <token>'",
                            headers={"WWW-Authenticate": "Bearer"})
    from callops.store.users import authenticate

    with store(request).session() as s:
        who = authenticate(s, credentials.credentials.strip())
    if who is None:
        raise HTTPException(401, "invalid, expired or revoked API token", headers={"WWW-Authenticate": "Bearer"})
    request.state.principal = who  # read by the metrics middleware (per-tenant counters)
    return who


def require(permission: Permission) -> Callable[..., Principal]:
    """A dependency that returns the caller if their role has ``permission``, else answers 403."""

    def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
        if not allows(who.role, permission):
            raise HTTPException(403, f"role {who.role.value!r} lacks permission {permission.value!r}")
        return who

    check.permission = permission  # type: ignore[attr-defined]  # read by tests that enumerate routes
    check.__name__ = f"require_{permission.name}"
    return check


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
StoreDep = Annotated[Store, Depends(store)]
WarehouseDep = Annotated[Warehouse, Depends(warehouse)]
