"""The FastAPI application: routers per domain under ``/api``, errors as ``{"detail": ...}``, Prometheus, docs.

``create_app`` opens one :class:`~callops.store.Store` and one :class:`~callops.warehouse.Warehouse`
for the process; handlers get them through :mod:`callops.api.deps`. The console (``callops.ui``)
is mounted last so that its catch-all pages never shadow an API route.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from callops.api import deps, docs, errors, monitoring, security
from callops.api.routers import campaigns as mkt_campaigns
from callops.api.routers import floor as people_floor
from callops.api.routers import health as ops_health
from callops.api.routers import ingest, journey, knowledge, live, metrics, quality, sim, tenants, value, views, wfm
from callops.api.routers import me as people_me
from callops.api.routers import offers as mkt_offers
from callops.api.routers import rules as custom_rules

API_TITLE = "callops API"


def create_app(store_url: str | None = None, *, console: bool = True, warehouse_url: str | None = None) -> FastAPI:
    """The callops API over the store at ``store_url`` (default ``CALLOPS_STORE_URL`` or SQLite under home).

    ``console=True`` mounts the NiceGUI console (``callops.ui.mount``) as the last step.
    """
    resources = deps.Resources(store_url=store_url, warehouse_url=warehouse_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            resources.close()

    app = FastAPI(
        title=API_TITLE,
        version=_version(),
        description="Operations intelligence for large contact centers. "
        "Authenticate with `Authorization: Bearer <token>`; see docs/api.md.",
        docs_url=None,  # served from packaged assets by callops.api.docs (machines are offline)
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.resources = resources
    errors.install(app)
    monitoring.install(app)
    docs.install(app)
    security.install(app)  # outermost of ours: headers and body limits on every answer (issue 21)
    for module in (tenants, ingest, metrics, wfm, live, sim, journey, value, knowledge, quality, views, custom_rules):
        app.include_router(module.router, prefix="/api", responses=errors.ERROR_RESPONSES)
    app.include_router(people_me.router, prefix="/api", responses=errors.ERROR_RESPONSES)  # issue 19
    app.include_router(people_floor.router, prefix="/api", responses=errors.ERROR_RESPONSES)  # issue 19
    app.include_router(mkt_campaigns.router, prefix="/api", responses=errors.ERROR_RESPONSES)  # issue 12
    app.include_router(mkt_offers.router, prefix="/api", responses=errors.ERROR_RESPONSES)  # issue 12
    app.include_router(ops_health.router)  # issue 17: /healthz, /readyz (no token, no tenant data)
    if console:
        from callops.ui import mount

        mount(app)
    return app


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("callops")
    except PackageNotFoundError:
        return "0"
