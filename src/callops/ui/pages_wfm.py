"""Workforce: forecast vs actual contacts, required vs scheduled agents per interval, schedules as a Gantt per team,
and an Excel export of all three. Reads the latest forecast snapshot and the warehouse ``schedules`` table."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from nicegui import ui

from callops import tenancy
from callops.errors import CallopsError
from callops.exports import workbook_bytes
from callops.store.roles import Permission
from callops.ui import session
from callops.ui.guard import checked, data_attrs
from callops.ui.i18n import t
from callops.ui.layout import frame

INTERVAL_MIN = 30
DEFAULT_PATIENCE_S = 180.0  # when the tenant's patience cannot be estimated (no abandoned contacts)
ACTIVITY_COLORS = {
    "work": "#1E88E5",
    "break": "#FDD835",
    "lunch": "#FB8C00",
    "training": "#8E24AA",
    "meeting": "#00897B",
    "off": "#BDBDBD",
}
# draws one [start, end] block per schedule row on the agent's line
GANTT_RENDER = """(params, api) => {
  const y = api.value(0), s = api.coord([api.value(1), y]), e = api.coord([api.value(2), y]);
  const h = api.size([0, 1])[1] * 0.6;
  return {type: 'rect', shape: {x: s[0], y: s[1] - h / 2, width: Math.max(e[0] - s[0], 1), height: h},
          style: api.style()};
}"""


def _week_start(d: date) -> date:
    return d - timedelta(days=d.weekday())


def default_week(wh: Any, tenant: str) -> date:
    """Monday of the latest saved schedule, else of the latest contact day, else of today."""
    ten = tenancy.get_tenant(wh, tenant)
    s = tenancy.scoped(wh, ten, "schedules")
    last = s.start_at.max().to_pyarrow().as_py()
    if last is not None:
        return _week_start(last.astimezone(zoneinfo.ZoneInfo(ten.timezone)).date())
    from callops.metrics.top import latest_day

    return _week_start(latest_day(wh, tenant) or date.today())


def wfm_data(wh: Any, tenant: str, week: date, queue: str | None) -> dict[str, Any]:
    """Everything the page shows for the week starting ``week`` (local) and ``queue`` (None: all queues)."""
    from callops.wfm.forecast_io import list_snapshots, load_snapshot, warehouse_intervals
    from callops.wfm.staffing import estimate_patience, staffing_requirements

    ten = tenancy.get_tenant(wh, tenant)
    tz = zoneinfo.ZoneInfo(ten.timezone)
    lo = datetime(week.year, week.month, week.day)
    hi = lo + timedelta(days=7)
    slots = pd.date_range(lo, hi, freq=f"{INTERVAL_MIN}min", inclusive="left")
    out: dict[str, Any] = {"slots": slots, "queues": set()}
    # actual contacts per interval (local wall clock)
    try:
        act = warehouse_intervals(wh, tenant, INTERVAL_MIN)
    except CallopsError:
        act = pd.DataFrame(columns=["queue", "interval_start", "offered"])
    out["queues"] |= set(act["queue"].astype(str))
    if queue:
        act = act[act["queue"] == queue]
    out["actual"] = (
        act[(act["interval_start"] >= lo) & (act["interval_start"] < hi)]
        .groupby("interval_start")["offered"]
        .sum()
        .reindex(slots, fill_value=0)
    )
    # forecast and required agents from the latest snapshot
    out["forecast"] = out["required"] = None
    snaps = list_snapshots(tenant)
    if snaps:
        frame_, meta = load_snapshot(tenant, snaps[-1]["snapshot_id"])
        out["snapshot"] = meta.get("snapshot_id")
        out["queues"] |= set(frame_["queue"].astype(str))
        part = frame_[(frame_["interval_start"] >= lo) & (frame_["interval_start"] < hi)]
        if queue:
            part = part[part["queue"] == queue]
        if len(part) and int(meta.get("interval_min", INTERVAL_MIN)) == INTERVAL_MIN:
            out["forecast"] = part.groupby("interval_start")["forecast"].sum().reindex(slots)
            try:
                patience = {
                    q: v.patience_s if hasattr(v, "patience_s") else float(v)
                    for q, v in estimate_patience(wh, tenant, queue).items()
                }
            except CallopsError:
                patience = {}
            patience = {q: patience.get(q, DEFAULT_PATIENCE_S) for q in part["queue"].unique()}
            plan = staffing_requirements(part, interval_min=INTERVAL_MIN, patience=patience)
            out["required"] = plan.frame.groupby("interval_start")["staff"].sum().reindex(slots)
    # schedules of the week, with teams from the roster
    s = tenancy.scoped(wh, ten, "schedules")
    s = s.filter((s.start_at < hi.replace(tzinfo=tz)) & (s.end_at > lo.replace(tzinfo=tz)))
    a = tenancy.scoped(wh, ten, "agents").select("agent_id", "name", "team")
    rows = (
        s.left_join(a, "agent_id")
        .select(s.agent_id, a.name, a.team, s.activity, s.start_at, s.end_at, s.queue)
        .to_pyarrow()
        .to_pylist()
    )
    for r in rows:
        r["start_at"] = r["start_at"].astimezone(tz).replace(tzinfo=None)
        r["end_at"] = r["end_at"].astimezone(tz).replace(tzinfo=None)
        r["team"] = r["team"] or "—"
        if r["queue"]:
            out["queues"].add(r["queue"])
    out["schedules"] = sorted(rows, key=lambda r: (r["team"], r["agent_id"], r["start_at"]))
    work = [r for r in rows if r["activity"] == "work" and (not queue or r["queue"] in (queue, None, ""))]
    counts = [sum(1 for r in work if r["start_at"] <= ts < r["end_at"]) for ts in slots]
    out["scheduled"] = pd.Series(counts, index=slots)
    out["queues"] = sorted(out["queues"])
    return out


def run_plan(wh: Any, tenant: str) -> None:
    """Forecast and staff the next 7 days (stores a forecast snapshot)."""
    from callops.wfm.staffing import StaffingTargets, plan_for_tenant

    plan_for_tenant(wh, tenant, horizon_days=7, interval_min=INTERVAL_MIN, targets=StaffingTargets())


def _hours(ts: datetime, week: date) -> float:
    """Hours from local midnight of ``week`` (the Gantt's x axis: wall clock, whatever the browser's zone)."""
    return (ts - datetime(week.year, week.month, week.day)).total_seconds() / 3600


def _hour_formatter(week: date) -> str:
    """JS label for hours since the week start: 'MM-DD HH:00'."""
    return (
        f"(v) => {{ const d = new Date(Date.UTC({week.year}, {week.month - 1}, {week.day}) + v * 3600000);"
        " return String(d.getUTCMonth() + 1).padStart(2, '0') + '-' + String(d.getUTCDate()).padStart(2, '0')"
        " + ' ' + String(d.getUTCHours()).padStart(2, '0') + ':00'; }"
    )


def _interval_chart(labels: list[str], zoom: list[dict], series: list[dict]) -> None:
    """A full-width chart of per-interval series sharing the week's category axis and zoom."""
    ui.echart({
        "tooltip": {"trigger": "axis"}, "legend": {"top": 0}, "dataZoom": zoom, "grid": {"left": 50, "right": 20},
        "xAxis": {"type": "category", "data": labels}, "yAxis": {"type": "value"}, "series": series,
    }).classes("w-full h-72")  # fmt: skip


def _series(values: Any) -> list:
    if values is None:
        return []
    return [None if v != v else round(float(v), 2) for v in values]


@ui.page("/workforce")
async def workforce_page(week: str = "", queue: str = "") -> None:
    """Forecast vs actual, required vs scheduled, Gantt per team, Excel export."""
    ctx = session.require(Permission.wfm_read)
    if ctx is None:
        return
    loc = ctx.locale
    frame(ctx, "nav_wfm")
    try:
        start = (
            _week_start(date.fromisoformat(week)) if week else await session.warehouse_call(default_week, ctx.tenant_id)
        )
    except (ValueError, CallopsError):
        start = _week_start(date.today())
    data = await session.warehouse_call(wfm_data, ctx.tenant_id, start, queue or None)
    with ui.row().classes("items-end gap-3 w-full"):
        w_in = ui.input(t("week_of", loc), value=start.isoformat()).props("dense outlined type=date").classes("w-40")
        q_sel = (
            ui.select({"": t("none", loc), **{q: q for q in data["queues"]}}, value=queue or "", label=t("queue", loc))
            .classes("w-40")
            .props("dense outlined")
        )
        ui.button(
            t("show", loc),
            icon="search",
            on_click=lambda: ui.navigate.to(f"/workforce?week={w_in.value}&queue={q_sel.value or ''}"),
        ).props("unelevated")
        ui.space()
        ui.button(t("export_xlsx", loc), icon="download", on_click=lambda: export()).props(
            'outline data-test="wfm-export"'
        )
    labels = [ts.strftime("%m-%d %H:%M") for ts in data["slots"]]
    zoom = [{"type": "inside"}, {"type": "slider", "height": 18}]
    ui.label(t("forecast_vs_actual", loc)).classes("text-h6")
    if data["forecast"] is None:
        ui.label(t("no_forecast", loc)).classes("text-grey-7").props('data-test="no-forecast"')
        if ctx.can(Permission.wfm_plan):

            @checked(ctx, Permission.wfm_plan)
            async def plan() -> None:
                note = ui.notification(t("running", loc), spinner=True, timeout=None)
                try:
                    await session.warehouse_call(run_plan, ctx.tenant_id)
                except CallopsError as exc:
                    ui.notify(str(exc), type="negative")
                finally:
                    note.dismiss()
                ui.navigate.reload()

            ui.button(t("run_forecast", loc), icon="auto_graph", on_click=plan).props(
                'outline data-test="run-forecast"'
            )
    _interval_chart(labels, zoom, [
        {"name": t("actual", loc), "type": "bar", "data": _series(data["actual"])},
        {"name": t("forecast", loc), "type": "line", "showSymbol": False, "data": _series(data["forecast"])},
    ])  # fmt: skip
    ui.label(t("required_vs_scheduled", loc)).classes("text-h6")
    _interval_chart(labels, zoom, [
        {
            "name": t("required", loc),
            "type": "line",
            "step": "start",
            "showSymbol": False,
            "data": _series(data["required"]),
        },
        {
            "name": t("scheduled", loc),
            "type": "line",
            "step": "start",
            "showSymbol": False,
            "areaStyle": {"opacity": 0.2},
            "data": _series(data["scheduled"]),
        },
    ])
    ui.label(t("schedules_gantt", loc)).classes("text-h6")
    rows = data["schedules"]
    if not rows:
        ui.label(t("no_schedules", loc)).classes("text-grey-7")
    teams: dict[str, list[dict]] = {}
    for r in rows:
        teams.setdefault(r["team"], []).append(r)
    lo_h = min((_hours(r["start_at"], start) for r in rows), default=0.0) // 6 * 6
    hi_h = -(-max((_hours(r["end_at"], start) for r in rows), default=168.0) // 6) * 6
    for n, (team, part) in enumerate(teams.items()):
        agents = list(dict.fromkeys(f"{r['name'] or r['agent_id']} ({r['agent_id']})" for r in part))
        index = {a: i for i, a in enumerate(agents)}
        series = []
        for activity, colour in ACTIVITY_COLORS.items():
            blocks = [
                [
                    index[f"{r['name'] or r['agent_id']} ({r['agent_id']})"],
                    _hours(r["start_at"], start),
                    _hours(r["end_at"], start),
                ]
                for r in part
                if r["activity"] == activity
            ]
            if blocks:
                series.append(
                    {
                        "name": t(activity, loc),
                        "type": "custom",
                        ":renderItem": GANTT_RENDER,
                        "itemStyle": {"color": colour},
                        "encode": {"x": [1, 2], "y": 0},
                        "data": blocks,
                    }
                )
        with ui.expansion(f"{t('team', loc)} {team} · {len(agents)}", value=n == 0).classes("w-full"):
            chart = ui.echart(
                {
                    "tooltip": {},
                    "legend": {"top": 0},
                    "grid": {"left": 150, "right": 20, "top": 30, "bottom": 30},
                    "xAxis": {
                        "type": "value",
                        "min": lo_h,
                        "max": hi_h,
                        "interval": 6,
                        "axisLabel": {":formatter": _hour_formatter(start)},
                    },
                    "yAxis": {"type": "category", "data": agents, "inverse": True},
                    "dataZoom": [{"type": "inside", "filterMode": "weakFilter"}],
                    "series": series,
                }
            ).classes("w-full").style(f"height:{max(160, 26 * len(agents) + 70)}px")
            data_attrs(chart, team=team)

    @checked(ctx, Permission.wfm_read)
    def export() -> None:
        slots = data["slots"]
        per_interval = [
            [ts.to_pydatetime(), a, f, r, s]
            for ts, a, f, r, s in zip(
                slots,
                _series(data["actual"]),
                _series(data["forecast"]) or [None] * len(slots),
                _series(data["required"]) or [None] * len(slots),
                _series(data["scheduled"]),
                strict=True,
            )
        ]
        heads = ["interval_start", "actual", "forecast", "required", "scheduled"]
        sched = [
            [r["team"], r["agent_id"], r["name"], r["activity"], r["start_at"], r["end_at"], r["queue"]] for r in rows
        ]
        ui.download.content(
            workbook_bytes(
                [
                    ("intervals", heads, per_interval),
                    ("schedules", ["team", "agent_id", "name", "activity", "start", "end", "queue"], sched),
                ],
                ctx.timezone,
            ),
            f"{ctx.tenant_id}-workforce-{start.isoformat()}.xlsx",
        )
