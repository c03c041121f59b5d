"""My views and my home board (issue 16, P4): save a metric view (metrics, grain, dimension, filter, period,
comparison, chart), keep it private or share it with the team or the tenant, open it as a chart and a table,
download it as Excel, and pin views to a personal home board."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from nicegui import ui

from callops.errors import CallopsError
from callops.metrics.catalog import load_catalog
from callops.metrics.grains import GRAINS
from callops.metrics.sources import DIMENSIONS
from callops.store.roles import Permission
from callops.store.users import Principal
from callops.ui import session
from callops.ui.guard import checked, data_attrs
from callops.ui.i18n import metric_label, number, register_labels, t
from callops.ui.layout import frame
from callops.ui.localized import empty_text
from callops.views import service
from callops.views.spec import PERIOD_DAYS, VISIBILITIES

register_labels({
    "views_nav": ("My views", "我的视图"),
    "views_home_nav": ("Home board", "我的首页"),
    "views_new": ("New view", "新建视图"),
    "views_name": ("Name", "名称"),
    "views_metrics": ("Metrics", "指标"),
    "views_period": ("Period", "时间范围"),
    "views_where": ("Filter (e.g. queue = 'billing')", "筛选 (例如 queue = 'billing')"),
    "views_visibility": ("Who sees it", "可见范围"),
    "views_private": ("Only me", "仅自己"),
    "views_team": ("My team", "本团队"),
    "views_tenant": ("Everyone", "全体"),
    "views_save": ("Save view", "保存视图"),
    "views_saved": ("View saved", "视图已保存"),
    "views_open": ("Open", "打开"),
    "views_delete": ("Delete", "删除"),
    "views_pin": ("Add to home", "加到首页"),
    "views_pinned": ("Added to your home board", "已加到首页"),
    "views_none": ("No saved views yet: make one above.", "还没有保存的视图,请在上方新建。"),
    "views_home_empty": ("Your home board is empty: add views from My views.", "首页还是空的,请在「我的视图」中添加。"),
    "views_chart": ("Chart", "图表"),
    "views_chart_table": ("Table", "表格"),
    "views_chart_number": ("Number", "数字"),
    "views_last_7_days": ("Last 7 days", "最近 7 天"),
    "views_last_14_days": ("Last 14 days", "最近 14 天"),
    "views_last_28_days": ("Last 28 days", "最近 28 天"),
    "views_last_90_days": ("Last 90 days", "最近 90 天"),
})


def _principal(ctx: session.Ctx) -> Principal:
    return Principal(ctx.tenant_id, ctx.user_id, ctx.user_name, ctx.role, ctx.token_id)


def _period_text(p: Any) -> str:
    return p.strftime("%Y-%m-%d %H:%M") if isinstance(p, datetime) else str(p)[:10] if isinstance(p, date) else str(p)


def view_chart(view: dict[str, Any], rows: list[dict], loc: str) -> dict[str, Any]:
    """ECharts options for a view's rows: one series per metric (and dimension value), ratios in %."""
    cat = load_catalog()
    spec = view["spec"]
    periods = sorted({r["period"] for r in rows}, key=str)
    index = {p: i for i, p in enumerate(periods)}
    series: dict[str, list] = {}
    by = spec["dimensions"][0] if spec["dimensions"] else None
    for mid in spec["metrics"]:
        unit = cat.metric(mid).spec.unit
        scale = 100.0 if unit == "ratio" else 1.0
        for r in rows:
            name = metric_label(cat.metric(mid), loc) + (f" · {r.get(by)}" if by else "")
            vals = series.setdefault(name, [None] * len(periods))
            v = r.get(mid)
            vals[index[r["period"]]] = None if v is None or v != v else round(v * scale, 3)
    kind = "bar" if spec.get("chart") == "bar" else "line"
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"type": "scroll", "top": 0},
        "grid": {"left": 44, "right": 12, "bottom": 30, "top": 40, "containLabel": True},
        "xAxis": {"type": "category", "data": [_period_text(p) for p in periods]},
        "yAxis": {"type": "value"},
        "series": [{"name": n, "type": kind, "data": d, "connectNulls": True} for n, d in list(series.items())[:12]],
    }


def _load_rows(who: Principal, view_id: int) -> tuple[dict, list[dict]]:
    with session.store().session() as s:
        view = service.get_visible(s, who, view_id)
        info = service.view_dict(view)
        table = session.with_history(who.tenant_id, lambda wh: service.run_view(wh, who, view))  # lake if set
    return info, table.to_pylist()


def _workbook(who: Principal, view_id: int) -> tuple[str, bytes]:
    with session.store().session() as s:
        view = service.get_visible(s, who, view_id)
        return view.name, session.with_history(who.tenant_id, lambda wh: service.view_workbook(wh, who, view))


def show_view(container: Any, ctx: session.Ctx, view_id: int, compact: bool = False) -> None:
    """Fill ``container`` with the view's chart (or number/table) and an Excel download."""
    loc, who = ctx.locale, _principal(ctx)
    cat = load_catalog()
    container.clear()
    with container:
        try:
            info, rows = _load_rows(who, view_id)
        except CallopsError as exc:
            ui.label(str(exc)).classes("text-negative")
            return
        spec = info["spec"]
        with ui.row().classes("w-full items-center justify-between no-wrap"):
            ui.label(info["name"]).classes("text-subtitle1 ellipsis")

            @checked(ctx, Permission.metrics_read)
            def download() -> None:
                _name, body = _workbook(who, view_id)
                ui.download.content(body, f"{ctx.tenant_id}-view-{view_id}.xlsx")

            data_attrs(ui.button(icon="download", on_click=download).props("flat dense round"), test="view-xlsx")
        if not rows:
            ui.label(t("no_data", loc)).classes("co-muted")
            return
        if spec.get("chart") == "number":
            last = rows[-1]
            with ui.row().classes("gap-4 flex-wrap"):
                for mid in spec["metrics"]:
                    with ui.column().classes("gap-0"):
                        ui.label(metric_label(cat.metric(mid), loc)).classes("co-muted")
                        ui.label(number(last.get(mid), cat.metric(mid).spec.unit)).classes("co-kpi")
        elif spec.get("chart") == "table" and not compact:
            cols = list(rows[0])
            grid = ui.table(
                columns=[{"name": c, "label": c, "field": c, "align": "left"} for c in cols],
                rows=[{c: (_period_text(v) if c == "period" else number(v, cat.metric(c).spec.unit)
                           if c in cat.metrics else v) for c, v in r.items()} for r in rows],
            ).classes("w-full").props("dense flat")
            empty_text(grid, loc)
        else:
            ui.echart(view_chart(info, rows, loc)).classes("w-full h-64")


@ui.page("/views")
async def views_page() -> None:
    """Saved views: create, open, share, delete, pin to the home board."""
    ctx = session.require(Permission.metrics_read)
    if ctx is None:
        return
    loc, who = ctx.locale, _principal(ctx)
    frame(ctx, "views_nav")
    cat = load_catalog()
    options = {mid: f"{metric_label(m, loc)} ({mid})" for mid, m in cat.metrics.items()}
    allowed_vis = [v for v in VISIBILITIES if ctx.role in service.SHARE_ROLES[v]]

    with ui.card().classes("w-full"):
        ui.label(t("views_new", loc)).classes("text-h6")
        with ui.row().classes("w-full items-end gap-3 flex-wrap"):
            name_in = data_attrs(ui.input(t("views_name", loc)).props("dense outlined").classes("w-64"), test="name")
            metrics_in = data_attrs(
                ui.select(options, value=["service_level"], multiple=True, with_input=True,
                          label=t("views_metrics", loc))
                .props("dense outlined use-chips").classes("w-80 max-w-full"), test="metrics")  # fmt: skip
            grain_in = ui.select({g: t(g, loc) for g in GRAINS}, value="day", label=t("grain", loc)).props(
                "dense outlined").classes("w-28")  # fmt: skip
            dim_in = ui.select({"": t("none", loc), **{d: t(d, loc) for d in DIMENSIONS}}, value="",
                               label=t("dimension", loc)).props("dense outlined").classes("w-36")  # fmt: skip
            period_in = ui.select({p: t(f"views_{p}", loc) for p in PERIOD_DAYS}, value="last_28_days",
                                  label=t("views_period", loc)).props("dense outlined").classes("w-40")  # fmt: skip
            compare_in = ui.select({"": t("compare_none", loc), "previous": t("compare_previous", loc),
                                    "year": t("compare_year", loc)}, value="", label=t("compare", loc)).props(
                "dense outlined").classes("w-40")  # fmt: skip
            chart_in = ui.select({"line": t("chart_line", loc), "bar": t("chart_bar", loc),
                                  "table": t("views_chart_table", loc), "number": t("views_chart_number", loc)},
                                 value="line", label=t("views_chart", loc)).props("dense outlined").classes("w-32")
            where_in = ui.input(t("views_where", loc)).props("dense outlined").classes("w-72 max-w-full")
            vis_in = data_attrs(ui.select({v: t(f"views_{v}", loc) for v in allowed_vis}, value="private",
                                          label=t("views_visibility", loc)).props("dense outlined").classes("w-36"),
                                test="visibility")  # fmt: skip
        error = ui.label("").classes("text-negative")

        @checked(ctx, Permission.metrics_read)
        def save() -> None:
            spec = {"metrics": list(metrics_in.value or []), "grain": grain_in.value,
                    "dimensions": [dim_in.value] if dim_in.value else [], "where": where_in.value or None,
                    "period": period_in.value, "compare": compare_in.value or None,
                    "chart": chart_in.value}  # fmt: skip
            try:
                with session.store().session() as s:
                    service.create_view(s, who, name_in.value or "", spec, vis_in.value or "private")
            except CallopsError as exc:
                error.set_text(str(exc))
                return
            error.set_text("")
            ui.notify(t("views_saved", loc), type="positive")
            listing.refresh()

        data_attrs(ui.button(t("views_save", loc), icon="save", on_click=save).props("unelevated"), test="save")

    shown = ui.card().classes("w-full")
    shown.set_visibility(False)

    @ui.refreshable
    def listing() -> None:
        with session.store().session() as s:
            items = [service.view_dict(v) for v in service.list_visible(s, who)]
        if not items:
            ui.label(t("views_none", loc)).classes("co-muted")
            return
        with ui.column().classes("w-full gap-2"):
            for v in items:
                with data_attrs(ui.card().classes("w-full"), view=v["id"]), ui.row().classes(
                        "w-full items-center justify-between gap-2"):  # fmt: skip
                    with ui.column().classes("gap-0"):
                        ui.label(v["name"]).classes("text-subtitle1")
                        sp = v["spec"]
                        when = f"{sp['start']} – {sp['end']}" if sp.get("start") else t(f"views_{sp['period']}", loc)
                        ui.label(f"{', '.join(sp['metrics'])} · {when} · "
                                 f"{t('views_' + v['visibility'], loc)}").classes("co-muted")  # fmt: skip
                    with ui.row().classes("gap-1"):
                        vid = v["id"]
                        ui.button(t("views_open", loc), on_click=lambda vid=vid: open_view(vid)).props("flat dense")
                        ui.button(t("views_pin", loc), on_click=lambda vid=vid: pin(vid)).props("flat dense")
                        if v["owner_id"] == ctx.user_id:
                            ui.button(t("views_delete", loc), on_click=lambda vid=vid: remove(vid)).props(
                                "flat dense color=negative")  # fmt: skip

    @checked(ctx, Permission.metrics_read)
    def open_view(vid: int) -> None:
        shown.set_visibility(True)
        show_view(shown, ctx, vid)

    @checked(ctx, Permission.metrics_read)
    def pin(vid: int) -> None:
        with session.store().session() as s:
            tiles = [{"view_id": x["view_id"], "w": x["w"]} for x in service.home_board(s, who)["tiles"]]
            if all(x["view_id"] != vid for x in tiles):
                service.set_home_board(s, who, [*tiles, {"view_id": vid, "w": 6}])
        ui.notify(t("views_pinned", loc), type="positive")

    @checked(ctx, Permission.metrics_read)
    def remove(vid: int) -> None:
        try:
            with session.store().session() as s:
                service.delete_view(s, who, vid)
        except CallopsError as exc:
            ui.notify(str(exc), type="negative")
        shown.set_visibility(False)
        listing.refresh()

    listing()


@ui.page("/home")
async def home_page() -> None:
    """The user's home board: each pinned view as a tile (full width on a phone)."""
    ctx = session.require(Permission.metrics_read)
    if ctx is None:
        return
    loc, who = ctx.locale, _principal(ctx)
    frame(ctx, "views_home_nav")
    with session.store().session() as s:
        tiles = service.home_board(s, who)["tiles"]
    if not tiles:
        ui.label(t("views_home_empty", loc)).classes("co-muted")
        return
    with ui.element("div").classes("w-full grid grid-cols-12 gap-3"):
        for tile in tiles:
            span = max(1, min(12, int(tile["w"])))
            card = data_attrs(ui.card().classes(f"col-span-12 md:col-span-{span}"), tile=tile["view_id"])
            show_view(card, ctx, tile["view_id"], compact=True)
