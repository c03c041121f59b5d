"""Trends and rankings: any catalog metric at any grain and dimension, period comparison, TOP-N, ECharts line or
bar, drill-down to the contacts behind a point, and Excel/CSV export of what is shown."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, timedelta
from typing import Any

from nicegui import ui

from callops import tenancy
from callops.errors import CallopsError
from callops.exports import csv_bytes, workbook_bytes
from callops.metrics.catalog import load_catalog
from callops.metrics.grains import GRAINS, bucket_seconds, period_end
from callops.metrics.sources import DIMENSIONS
from callops.store.roles import Permission
from callops.ui import session
from callops.ui.guard import checked
from callops.ui.i18n import local_time, metric_label, number, t
from callops.ui.layout import frame
from callops.ui.localized import date_input, empty_text

DRILL_LIMIT = 200
DRILL_COLUMNS = ("contact_id", "offered_at", "queue", "channel", "outcome", "agent_id", "wait_s", "talk_s")
MAX_SERIES = 12


def period_bounds(period: Any, grain: str, zone: str) -> tuple[datetime, datetime]:
    """UTC instants ``[start, end)`` of a period value of ``grain`` (a local date or local naive timestamp)."""
    tz = zoneinfo.ZoneInfo(zone)
    step = bucket_seconds(grain)
    if step:
        start = period if isinstance(period, datetime) else datetime.fromisoformat(str(period))
        end = start + timedelta(seconds=step)
    else:
        d = (
            period
            if isinstance(period, date) and not isinstance(period, datetime)
            else date.fromisoformat(str(period)[:10])
        )
        start = datetime(d.year, d.month, d.day)
        last = period_end(d, grain)
        end = datetime(last.year, last.month, last.day) + timedelta(days=1)
    return start.replace(tzinfo=tz), end.replace(tzinfo=tz)


def drill_contacts(wh: Any, tenant: str, grain: str, period: Any, dimension: str | None, value: Any,
                   metric: str | None = None) -> list[dict]:  # fmt: skip
    """The contacts offered in ``period`` (and with ``dimension = value``), at most :data:`DRILL_LIMIT`; with
    ``metric``, only those the metric counts against it (see :mod:`callops.metrics.drill`)."""
    ten = tenancy.get_tenant(wh, tenant)
    c = tenancy.scoped(wh, ten, "contacts")
    if metric:
        from callops.metrics.drill import drill_columns, drill_condition
        from callops.metrics.parameters import load_parameters
        from callops.metrics.sources import build_source

        cat, params = load_catalog(), load_parameters(ten.tenant_id)
        c = build_source(wh, ten, "contacts", drill_columns(cat, metric, params), params.repeat_window_days)
        if (cond := drill_condition(c, cat, metric, params)) is not None:
            c = c.filter(cond)
    start, end = period_bounds(period, grain, ten.timezone)
    c = c.filter((c.offered_at >= start) & (c.offered_at < end))
    if dimension and value is not None:
        if dimension == "team":
            a = tenancy.scoped(wh, ten, "agents")
            c = c.filter(c.agent_id.isin(a.filter(a.team == value).agent_id))
        else:
            column = "agent_id" if dimension == "agent" else dimension
            c = c.filter(c[column] == value)
    rows = c.order_by(c.offered_at).limit(DRILL_LIMIT).select(*DRILL_COLUMNS).to_pyarrow().to_pylist()
    return rows


def run_query(
    wh: Any,
    tenant: str,
    metric: str,
    grain: str,
    by: str | None,
    start: date | None,
    end: date | None,
    compare: str | None,
    top: int | None,
) -> list[dict]:
    """The rows shown on the page (the query API, one metric)."""
    from callops.metrics.query import query

    table = query(
        wh, tenant, [metric], grain=grain, by=[by] if by else [], start=start, end=end, compare=compare, top=top
    )
    return table.to_pylist()


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


@ui.page("/trends")
async def trends_page(metric: str = "service_level", grain: str = "day") -> None:
    """Any catalog metric over time, by a dimension, compared and ranked."""
    ctx = session.require(Permission.metrics_read)
    if ctx is None:
        return
    loc = ctx.locale
    frame(ctx, "nav_trends")
    cat = load_catalog()
    if metric not in cat.metrics:
        metric = "service_level"
    grain = grain if grain in GRAINS else "day"
    options = {mid: f"{metric_label(m, loc)} ({mid})" for mid, m in cat.metrics.items()}
    shown: dict[str, Any] = {"rows": [], "columns": []}

    with ui.row().classes("w-full items-end gap-3"):
        m_sel = (
            ui.select(options, value=metric, label=t("metric", loc), with_input=True)
            .classes("w-72")
            .props('dense outlined data-test="metric"')
        )
        g_sel = (
            ui.select({g: t(g, loc) for g in GRAINS}, value=grain, label=t("grain", loc))
            .classes("w-28")
            .props("dense outlined")
        )
        d_sel = (
            ui.select({"": t("none", loc), **{d: t(d, loc) for d in DIMENSIONS}}, value="", label=t("dimension", loc))
            .classes("w-36")
            .props("dense outlined")
        )
        s_in = date_input(t("start", loc), loc).props('dense outlined data-test="start"').classes("w-40")
        e_in = date_input(t("end", loc), loc).props('dense outlined data-test="end"').classes("w-40")
        c_sel = (
            ui.select(
                {"": t("compare_none", loc), "previous": t("compare_previous", loc), "year": t("compare_year", loc)},
                value="",
                label=t("compare", loc),
            )
            .classes("w-40")
            .props("dense outlined")
        )
        n_in = ui.number(t("top_n", loc), min=1, max=100, precision=0).classes("w-28").props("dense outlined")
        kind = ui.toggle({"line": t("chart_line", loc), "bar": t("chart_bar", loc)}, value="line")
        ui.button(t("show", loc), icon="search", on_click=lambda: show()).props('unelevated data-test="show"')
    with ui.row().classes("gap-2"):
        ui.button(t("export_xlsx", loc), icon="download", on_click=lambda: export("xlsx")).props(
            'outline dense data-test="export-xlsx"'
        )
        ui.button(t("export_csv", loc), icon="download", on_click=lambda: export("csv")).props("outline dense")
    error = ui.label("").classes("text-negative")
    chart = ui.echart({"xAxis": {"type": "category", "data": []}, "yAxis": {"type": "value"}, "series": []}).classes(
        "w-full h-96"
    )
    ui.label(t("drill_hint", loc)).classes("co-muted")
    table = empty_text(ui.table(columns=[], rows=[]).classes("w-full").props('dense flat data-test="result"'), loc)
    ui.label(t("drill_down", loc)).classes("text-h6 mt-2")
    drill = (
        ui.table(
            columns=[
                {"name": c, "label": t("agent" if c == "agent_id" else c, loc), "field": c, "align": "left"}
                for c in DRILL_COLUMNS
            ],
            rows=[],
        )
        .classes("w-full")
        .props('dense flat data-test="drill"')
    )
    empty_text(drill, loc)

    def fmt_period(p: Any) -> str:
        return p.strftime("%Y-%m-%d %H:%M") if isinstance(p, datetime) else str(p)

    @checked(ctx, Permission.metrics_read)
    async def show() -> None:
        mid, g, by = m_sel.value, g_sel.value, d_sel.value or None
        unit = cat.metric(mid).spec.unit
        try:
            rows = await session.history_call(  # the tenant's lake when lake.yaml names one
                ctx.tenant_id,
                run_query,
                ctx.tenant_id,
                mid,
                g,
                by,
                _date(s_in.value),
                _date(e_in.value),
                c_sel.value or None,
                int(n_in.value) if n_in.value else None,
            )
        except (CallopsError, ValueError) as exc:
            error.set_text(str(exc))
            return
        error.set_text("" if rows else t("no_data", loc))
        periods = sorted({r["period"] for r in rows})
        labels = [fmt_period(p) for p in periods]
        index = {p: i for i, p in enumerate(periods)}
        groups: dict[Any, list] = {}
        for r in rows:
            key = r.get(by) if by else metric_label(cat.metric(mid), loc)
            groups.setdefault(key, [None] * len(periods))[index[r["period"]]] = r[mid]
        scale = 100.0 if unit == "ratio" else 1.0
        series = [
            {
                "name": str(k),
                "type": kind.value,
                "data": [None if v is None else round(v * scale, 3) for v in vals],
                "connectNulls": True,
            }
            for k, vals in list(groups.items())[:MAX_SERIES]
        ]
        if c_sel.value and not by:
            prev = [None] * len(periods)
            for r in rows:
                v = r.get(f"{mid}__previous")
                prev[index[r["period"]]] = None if v is None else round(v * scale, 3)
            series.append({"name": t("previous", loc), "type": "line", "data": prev, "lineStyle": {"type": "dashed"}})
        chart.options.clear()
        chart.options.update(
            {
                "tooltip": {"trigger": "axis"},
                "legend": {"type": "scroll", "top": 0},
                "grid": {"left": 50, "right": 20, "bottom": 40, "top": 50},
                "xAxis": {"type": "category", "data": labels},
                "yAxis": {"type": "value", "name": "%" if unit == "ratio" else unit},
                "series": series,
            }
        )
        chart.update()
        cols = [c for c in rows[0]] if rows else []
        shown.update(rows=rows, columns=cols, periods=periods, by=by, grain=g, metric=mid)
        table.columns = [
            {
                "name": c,
                "label": t(c, loc) if c in ("period", "rank", *DIMENSIONS) else c,
                "field": c,
                "align": "left",
                "sortable": True,
            }
            for c in cols
        ]
        table.rows = [
            {c: (fmt_period(v) if c == "period" else number(v, unit) if c.startswith(mid) else v) for c, v in r.items()}
            for r in rows
        ]
        table.update()

    @checked(ctx, Permission.metrics_read)
    async def on_point(e: Any) -> None:
        periods = shown.get("periods") or []
        if e.data_index is None or e.data_index >= len(periods):
            return
        by = shown.get("by")
        value = e.series_name if by else None
        rows = await session.history_call(
            ctx.tenant_id, drill_contacts, ctx.tenant_id, shown["grain"], periods[e.data_index], by, value,
            shown["metric"],
        )
        drill.rows = [{**r, "offered_at": local_time(r["offered_at"], ctx.timezone)} for r in rows]
        drill.update()

    chart.on_point_click(on_point)

    @checked(ctx, Permission.metrics_read)
    def export(fmt: str) -> None:
        cols, rows = shown["columns"], shown["rows"]
        if not cols:
            ui.notify(t("no_data", loc))
            return
        values = [[r.get(c) for c in cols] for r in rows]
        name = f"{ctx.tenant_id}-{shown['metric']}-{shown['grain'].replace(':', '')}"
        if fmt == "xlsx":
            ui.download.content(workbook_bytes([(shown["metric"], cols, values)], ctx.timezone), f"{name}.xlsx")
        else:
            ui.download.content(csv_bytes(cols, values, ctx.timezone), f"{name}.csv")

    await show()
