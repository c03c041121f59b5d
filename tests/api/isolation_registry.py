"""The registry of tenant-isolation cases, shared by ``test_isolation.py`` and the per-domain case modules
(``isolation_<domain>.py``): one case per API route, each pairing an ``acme`` request with a ``beta`` control.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from apitest import World

from callops.store.roles import Role

Case = Callable[[World], None]
CASES: dict[tuple[str, str], Case] = {}
# Routes outside /api that carry no tenant data (docs, schema, Prometheus, static assets, health/readiness).
PUBLIC = {("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/metrics"), ("GET", "/healthz"), ("GET", "/readyz")}


def case(method: str, path: str) -> Callable[[Case], Case]:
    """Register the isolation case of one route."""

    def register(fn: Case) -> Case:
        assert (method, path) not in CASES, f"two isolation cases for {method} {path}"
        CASES[(method, path)] = fn
        return fn

    return register


def acme(
    w: World, method: str, path: str, role: Role = Role.admin, expect: int = 200, sent: str = "", **kw: Any
) -> httpx.Response:
    """A request as ``acme``'s ``role`` user; its answer must have status ``expect`` and never mention beta.

    ``sent``: an id of beta's that the request itself carries; a 404 may echo it back (it tells nothing new).
    """
    r = w.client.request(method, path, headers=w.auth("acme", role), **kw)
    assert r.status_code == expect, (method, path, r.status_code, r.text[:500])
    text = r.text.replace(sent, "") if sent else r.text
    assert "beta" not in text.lower(), f"{method} {path} leaked beta's data: {r.text[:500]}"
    return r


def beta(w: World, method: str, path: str, role: Role = Role.admin, **kw: Any) -> httpx.Response:
    """The control request as ``beta``'s ``role`` user (must succeed)."""
    r = w.client.request(method, path, headers=w.auth("beta", role), **kw)
    assert r.status_code in (200, 201), (method, path, r.status_code, r.text[:500])
    return r
