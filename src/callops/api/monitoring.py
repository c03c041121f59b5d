"""``GET /metrics``: Prometheus exposition of the service and of the live engines it serves.

Service: requests and latency by method, route template and status, errors (4xx/5xx) by route. Live engine,
read at scrape time from the hubs of the tenants this app has served: events accepted, rejected, duplicate
and late, and open alerts by level. Each app has its own registries, so several apps in one process (tests)
do not collide.

The route needs no token (Prometheus scrapes it), so by default it tells nothing about tenants: the same
metrics are summed over tenants and carry no ``tenant`` label. Per-tenant labels (issue 21) are shown only to
a scraper that sends ``Authorization: Bearer $CALLOPS_METRICS_TOKEN``, or, with
``CALLOPS_METRICS_TENANT_LABELS=1``, to the hosts in ``CALLOPS_METRICS_HOSTS`` (default ``127.0.0.1,::1``).
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from callops.api.deps import iter_routes
from callops.realtime.alerts import LEVELS

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class LiveCollector(Collector):
    """Scrape-time counts from each served tenant's live hub (per tenant, or summed when ``per_tenant`` is off)."""

    def __init__(self, tenants: dict[str, str], per_tenant: bool = True) -> None:
        """``tenants`` maps tenant id → zone for the hubs the app has opened (filled by the live router)."""
        self.tenants = tenants
        self.per_tenant = per_tenant

    def collect(self) -> Iterator[Metric]:
        """Events by outcome and open alerts by level, per tenant (or over all tenants)."""
        from callops.realtime.hub import hub_for, open_hubs

        tl = ["tenant"] if self.per_tenant else []
        events = GaugeMetricFamily(
            "callops_live_events", "Live events received by the engine, by outcome (running total)",
            labels=[*tl, "outcome"],
        )
        alerts = GaugeMetricFamily("callops_live_alerts_open", "Open live alerts by level", labels=[*tl, "level"])
        hubs = open_hubs()  # also the tenants fed by NATS or a replay in `callops live serve` / `make demo`
        event_sums: dict[str, float] = {}
        alert_sums = dict.fromkeys(LEVELS, 0)
        for tenant in sorted(set(self.tenants) | set(hubs)):
            hub = hubs.get(tenant) or hub_for(tenant, self.tenants[tenant])
            stats = hub.intake()
            for outcome, key in (("accepted", "accepted"), ("rejected", "rejected"), ("duplicate", "duplicates"),
                                 ("late", "late")):  # fmt: skip
                if self.per_tenant:
                    events.add_metric([tenant, outcome], stats[key])
                event_sums[outcome] = event_sums.get(outcome, 0) + stats[key]
            counts = dict.fromkeys(LEVELS, 0)
            for a in hub.alerts(active_only=True):
                if a["level"] in counts:
                    counts[a["level"]] += 1
            for level, n in counts.items():
                if self.per_tenant:
                    alerts.add_metric([tenant, level], n)
                alert_sums[level] += n
        if not self.per_tenant:
            for outcome, n in event_sums.items():
                events.add_metric([outcome], n)
            for level, n in alert_sums.items():
                alerts.add_metric([level], n)
        yield events
        yield alerts


def tenant_labels_allowed(request: Request) -> bool:
    """Whether this scrape may see per-tenant labels (scrape token, or opt-in from a trusted host)."""
    token = os.environ.get("CALLOPS_METRICS_TOKEN", "")
    sent = request.headers.get("authorization", "")
    if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return True
    if os.environ.get("CALLOPS_METRICS_TENANT_LABELS") == "1":
        hosts = {h.strip() for h in os.environ.get("CALLOPS_METRICS_HOSTS", "127.0.0.1,::1").split(",") if h.strip()}
        return request.client is not None and request.client.host in hosts
    return False


def install(app: FastAPI) -> None:
    """Add the request-metrics middleware and the ``/metrics`` route to ``app``."""
    shared = CollectorRegistry(auto_describe=True)  # no tenant in it
    by_tenant = CollectorRegistry(auto_describe=True)
    summed = CollectorRegistry(auto_describe=True)
    requests = Counter("callops_http_requests", "HTTP requests", ["tenant", "method", "route", "status"],
                       registry=by_tenant)  # fmt: skip
    errors = Counter("callops_http_errors", "HTTP answers with a 4xx or 5xx status", ["tenant", "route", "kind"],
                     registry=by_tenant)  # fmt: skip
    requests_all = Counter("callops_http_requests", "HTTP requests", ["method", "route", "status"], registry=summed)
    errors_all = Counter("callops_http_errors", "HTTP answers with a 4xx or 5xx status", ["route", "kind"],
                         registry=summed)  # fmt: skip
    latency = Histogram("callops_http_request_seconds", "Time to answer a request", ["method", "route"],
                        buckets=LATENCY_BUCKETS, registry=shared)  # fmt: skip
    app.state.live_tenants = {}
    by_tenant.register(LiveCollector(app.state.live_tenants))
    summed.register(LiveCollector(app.state.live_tenants, per_tenant=False))
    app.state.prometheus = by_tenant

    templates: dict[int, str] = {}

    def _template(request: Request) -> str:
        endpoint = request.scope.get("endpoint")
        if endpoint is None:
            path = request.url.path
            return "/api/_static" if path.startswith("/api/_static/") else "<unmatched>"
        if not templates:
            for path, _methods, route in iter_routes(app):
                fn = getattr(route, "endpoint", None)
                if fn is not None:
                    templates.setdefault(id(fn), path)
        return templates.get(id(endpoint)) or getattr(request.scope.get("route"), "path", "<unmatched>")

    class _Observe:
        """Pure ASGI (not ``@app.middleware("http")``, whose task and stream per request cost more than a
        cheap route itself): counts and times every HTTP answer by route template and status."""

        def __init__(self, inner: Any) -> None:
            self.app = inner

        async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await self.app(scope, receive, send)
                return
            start = time.perf_counter()
            status = 500

            async def noting_status(message: dict) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await self.app(scope, receive, noting_status)
            finally:
                _observe(Request(scope), status, start)

    def _observe(request: Request, status: int, start: float) -> None:
        # the template (/api/live/alerts/{alert_id}) keeps label cardinality bounded
        template = _template(request)
        who = getattr(request.state, "principal", None)
        tenant = who.tenant_id if who is not None else "-"
        requests.labels(tenant, request.method, template, str(status)).inc()
        requests_all.labels(request.method, template, str(status)).inc()
        latency.labels(request.method, template).observe(time.perf_counter() - start)
        if status >= 400:
            kind = "5xx" if status >= 500 else "4xx"
            errors.labels(tenant, template, kind).inc()
            errors_all.labels(template, kind).inc()

    app.add_middleware(_Observe)

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics(request: Request) -> Response:
        """Prometheus text exposition; per-tenant labels only for an authorised scraper (module docstring)."""
        tenants = by_tenant if tenant_labels_allowed(request) else summed
        return Response(generate_latest(shared) + generate_latest(tenants), media_type=CONTENT_TYPE_LATEST)
