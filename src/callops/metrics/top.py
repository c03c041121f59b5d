"""TOP indicators of a tenant: a short, ordered list of metrics with targets, period over period.

The definition ships in the package (``top.yaml``); a tenant replaces it with
``$CALLOPS_HOME/tenants/<tenant>/top.yaml``.
"""

from __future__ import annotations

from datetime import date
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from callops import tenancy
from callops.errors import CallopsError
from callops.metrics.catalog import Catalog, load_catalog
from callops.metrics.grains import period_end, period_start
from callops.metrics.query import query
from callops.metrics.spec import Direction, Label
from callops.settings import tenant_file
from callops.timezones import to_local
from callops.warehouse import Warehouse

PERIODS = ("day", "week", "month", "quarter", "year")


class Indicator(BaseModel):
    """One line of the TOP view."""

    model_config = ConfigDict(extra="forbid")
    metric: str
    target: float | None = None
    better: Direction | None = None


class TopDefinition(BaseModel):
    """The ordered indicators of a tenant's TOP view."""

    model_config = ConfigDict(extra="forbid")
    title: Label = Label(en="TOP indicators", zh="核心指标")
    indicators: list[Indicator]


def definition_path(tenant_id: str) -> Path:
    """Where a tenant's own TOP definition lives."""
    return tenant_file(tenant_id, "top.yaml")


def load_definition(tenant_id: str, catalog: Catalog | None = None) -> TopDefinition:
    """The tenant's TOP definition (or the shipped default), checked against the catalog."""
    path = definition_path(tenant_id)
    if path.is_file():
        text, origin = path.read_text(encoding="utf-8"), str(path)
    else:
        text, origin = (resources.files("callops.metrics") / "top.yaml").read_text(encoding="utf-8"), "top.yaml"
    try:
        top = TopDefinition.model_validate(yaml.safe_load(text) or {})
    except (yaml.YAMLError, ValidationError) as exc:
        raise CallopsError(f"{origin}: invalid TOP definition: {str(exc).splitlines()[0]}") from None
    cat = catalog or load_catalog()
    for ind in top.indicators:
        if ind.metric not in cat.metrics:
            cat.metric(ind.metric)  # raises with suggestions
    return top


def latest_day(wh: Warehouse, tenant_id: str) -> date | None:
    """The local date of the tenant's latest contact (the default period to show)."""
    t = tenancy.get_tenant(wh, tenant_id)
    c = tenancy.scoped(wh, t, "contacts")
    value = c.select(d=to_local(c.offered_at, t.timezone).date()).d.max().to_pyarrow().as_py()
    return value


def last_complete_day(wh: Warehouse, tenant_id: str, today: date | None = None) -> date | None:
    """The TOP view's default day: the latest local day with contacts, or yesterday when that is today (a day
    still running, landed from the live room, is shown beside it by :func:`today_so_far`, not instead of it)."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    latest = latest_day(wh, tenant_id)
    if latest is None:
        return None
    today = today or datetime.now(ZoneInfo(tenancy.get_tenant(wh, tenant_id).timezone)).date()
    return today - timedelta(days=1) if latest >= today else latest


def today_so_far(wh: Warehouse, tenant_id: str, today: date | None = None) -> list[dict] | None:
    """TOP rows of today (the tenant's local date) so far, or None when today has no contacts yet."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    today = today or datetime.now(ZoneInfo(tenancy.get_tenant(wh, tenant_id).timezone)).date()
    latest = latest_day(wh, tenant_id)
    if latest is None or latest < today:
        return None
    return top_indicators(wh, tenant_id, "day", today)


def status(value: float | None, target: float | None, better: Direction) -> str:
    """'met', 'missed' or '' (no target, no value or a neutral metric)."""
    if value is None or target is None or value != value or better == Direction.NEUTRAL:
        return ""
    ok = value >= target if better == Direction.HIGHER else value <= target
    return "met" if ok else "missed"


def top_indicators(wh: Warehouse, tenant_id: str, period: str = "day", at: date | None = None) -> list[dict]:
    """Rows of the TOP view for the period containing ``at`` (default: the latest day with contacts; for ``day``
    the last complete one, see :func:`last_complete_day`)."""
    if period not in PERIODS:
        raise CallopsError(f"unknown period {period!r}; expected one of: {', '.join(PERIODS)}")
    cat = load_catalog()
    top = load_definition(tenant_id, cat)
    at = at or (last_complete_day(wh, tenant_id) if period == "day" else latest_day(wh, tenant_id))
    if at is None:
        raise CallopsError(f"tenant {tenant_id!r} has no contacts yet; load some with `callops ingest`")
    ids = [i.metric for i in top.indicators]
    start, end = period_start(at, period), period_end(at, period)
    table = query(wh, tenant_id, ids, grain=period, start=start, end=end, compare="previous", catalog=cat)
    row = table.to_pylist()[0] if table.num_rows else {}
    rows = []
    for ind in top.indicators:
        m = cat.metric(ind.metric)
        value, prev = row.get(ind.metric), row.get(f"{ind.metric}__previous")
        value = None if value is None or value != value else value
        prev = None if prev is None or prev != prev else prev
        rows.append(
            {
                "period": str(start),
                "metric": ind.metric,
                "label": m.label.en,
                "label_zh": m.label.zh,
                "unit": m.spec.unit,
                "value": value,
                "previous": prev,
                "change": None if value is None or prev is None else value - prev,
                "target": ind.target,
                "status": status(value, ind.target, ind.better or m.spec.direction),
            }
        )
    return rows
