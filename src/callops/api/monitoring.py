"""``GET /metrics``: Prometheus exposition of the service and of the live engines it serves.

Service: requests and latency by method, route template and status, errors (4xx/5xx) by route, all per
tenant (``-`` before authentication). Live engine, read at scrape time from the hubs of the tenants this
app has served: events accepted, rejected, duplicate and late, and open alerts by level. Each app has
its own registry, so several apps in one process (tests) do not collide.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from callops.api.deps import iter_routes
from callops.realtime.alerts import LEVELS

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class LiveCollector(Collector):
    """Scrape-time counts from each served tenant's live hub."""

    def __init__(self, tenants: dict[str, str]) -> None:
        """``tenants`` maps tenant id → zone for the hubs the app has opened (filled by the live router)."""
        self.tenants = tenants

    def collect(self) -> Iterator[Metric]:
        """Events by outcome and open alerts by level, per tenant."""
        from callops.realtime.hub import hub_for, open_hubs

        events = GaugeMetricFamily(
            "callops_live_events", "Live events received by the engine, by outcome (running total)",
            labels=["tenant", "outcome"],
        )
        alerts = GaugeMetricFamily("callops_live_alerts_open", "Open live alerts by level", labels=["tenant", "level"])
        hubs = open_hubs()  # also the tenants fed by NATS or a replay in `callops live serve` / `make demo`
        for tenant in sorted(set(self.tenants) | set(hubs)):
            hub = hubs.get(tenant) or hub_for(tenant, self.tenants[tenant])
            stats = hub.intake()
            for outcome, key in (("accepted", "accepted"), ("rejected", "rejected"), ("duplicate", "duplicates"),
                                 ("late", "late")):  # fmt: skip
                events.add_metric([tenant, outcome], stats[key])
            counts = dict.fromkeys(LEVELS, 0)
            for a in hub.alerts(active_only=True):
                if a["level"] in counts:
                    counts[a["level"]] += 1
            for level, n in counts.items():
                alerts.add_metric([tenant, level], n)
        yield events
        yield alerts


def install(app: FastAPI) -> None:
    """Add the request-metrics middleware and the ``/metrics`` route to ``app``."""
    registry = CollectorRegistry(auto_describe=True)
    requests = Counter("callops_http_requests", "HTTP requests", ["tenant", "method", "route", "status"],
                       registry=registry)  # fmt: skip
    errors = Counter("callops_http_errors", "HTTP answers with a 4xx or 5xx status", ["tenant", "route", "kind"],
                     registry=registry)  # fmt: skip
    latency = Histogram("callops_http_request_seconds", "Time to answer a request", ["method", "route"],
                        buckets=LATENCY_BUCKETS, registry=registry)  # fmt: skip
    app.state.live_tenants = {}
    registry.register(LiveCollector(app.state.live_tenants))
    app.state.prometheus = registry

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

    @app.middleware("http")
    async def _observe(request: Request, call_next):
        start = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            # the template (/api/live/alerts/{alert_id}) keeps label cardinality bounded
            template = _template(request)
            who = getattr(request.state, "principal", None)
            tenant = who.tenant_id if who is not None else "-"
            requests.labels(tenant, request.method, template, str(status)).inc()
            latency.labels(request.method, template).observe(time.perf_counter() - start)
            if status >= 400:
                errors.labels(tenant, template, "5xx" if status >= 500 else "4xx").inc()

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics() -> Response:
        """Prometheus text exposition (no token: scrape it from the local network only)."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
