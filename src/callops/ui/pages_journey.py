"""Journeys: summary tiles, the path flow (Sankey), variants, funnels with fallout, failure reasons, channel KPIs,
suggestions, one customer's replay, and an Excel export of all of it (issue 13)."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from nicegui import ui

from callops import tenancy
from callops.errors import CallopsError
from callops.exports import workbook_bytes
from callops.journey import analysis, cost, perception, views
from callops.journey.events import Selection
from callops.journey.funnels import evaluate, parse_funnels
from callops.journey.replay import customer_journey
from callops.store.roles import Permission
from callops.ui import i18n, session
from callops.ui.guard import checked, data_attrs
from callops.ui.i18n import t
from callops.ui.layout import frame
from callops.ui.localized import date_input, empty_text

i18n.register_labels({
    "journey_nav": ("Journeys", "客户旅程"),
    "journey_from": ("From", "开始日期"),
    "journey_to": ("To", "结束日期"),
    "journey_where": ("Filter", "筛选条件"),
    "journey_show": ("Show", "查询"),
    "journey_export": ("Excel", "导出 Excel"),
    "journey_sessions": ("Sessions", "会话数"),
    "journey_events": ("Events", "事件数"),
    "journey_variants": ("Variants", "路径变体"),
    "journey_median_duration": ("Median duration", "时长中位数"),
    "journey_rework": ("Rework share", "重复操作占比"),
    "journey_flow": ("Path flow (first steps)", "路径流向（前几步）"),
    "journey_variant_list": ("Most frequent paths", "最常见路径"),
    "journey_path": ("Path", "路径"),
    "journey_share": ("Share", "占比"),
    "journey_funnels": ("Funnels", "漏斗"),
    "journey_step": ("Step", "步骤"),
    "journey_reached": ("Reached", "到达"),
    "journey_fallout": ("Fallout", "流失"),
    "journey_failures": ("Failure reasons", "失败原因"),
    "journey_reason": ("Reason", "原因"),
    "journey_channel": ("Channel", "渠道"),
    "journey_then_voice": ("Then a voice call (24 h)", "24 小时内转人工来电"),
    "journey_channels": ("Channel KPIs", "渠道指标"),
    "journey_completion": ("Completion", "完成率"),
    "journey_failure": ("Failure", "失败率"),
    "journey_escalation": ("Escalation to an agent", "转人工率"),
    "journey_resolution": ("Median time to resolution", "解决时长中位数"),
    "journey_suggestions": ("Suggestions", "优化建议"),
    "journey_at_stake": ("Sessions at stake", "涉及会话"),
    "journey_evidence": ("Evidence", "依据"),
    "journey_customer": ("Customer replay", "客户旅程回放"),
    "journey_customer_id": ("Customer id", "客户编号"),
    "journey_replay": ("Replay", "回放"),
    "journey_time": ("Time", "时间"),
    "journey_outcome": ("Outcome", "结果"),
    "journey_wait": ("Wait (s)", "间隔（秒）"),
    "journey_detail": ("Detail", "详情"),
    "journey_none": ("No journey events for this selection.", "所选范围内没有旅程事件。"),
    "journey_kind_fallout": ("Fallout", "流失"),
    "journey_kind_loop": ("Loop", "重复"),
    "journey_kind_failure_drives_calls": ("Failure drives calls", "失败导致来电"),
    "journey_cost": ("Cost and containment", "成本与分流"),
    "journey_cost_per_contact": ("Cost per contact", "单次接触成本"),
    "journey_e_share": ("E-channel share", "电子渠道占比"),
    "journey_containment": ("True containment", "真实自助解决率"),
    "journey_week": ("Week", "周"),
    "journey_churn": ("Churned vs retained customers", "流失与留存客户对比"),
    "journey_feature": ("Feature", "特征"),
    "journey_churned": ("Churned", "流失"),
    "journey_retained": ("Retained", "留存"),
    "journey_effect": ("Hedges' g (95% CI)", "效应量 g（95% 置信区间）"),
})


def default_funnels() -> list:
    """The funnels shipped with callops (the simulated hotline's self-service paths)."""
    text = (resources.files("callops.journey") / "default_funnels.yaml").read_text(encoding="utf-8")
    return parse_funnels(text, "default_funnels.yaml")


def page_data(wh: Any, tenant_id: str, sel: Selection) -> dict[str, Any]:
    """Everything the journeys page shows for one selection."""
    ten = tenancy.get_tenant(wh, tenant_id)
    summary = views.summary(wh, ten, sel)
    if not summary["events"]:
        return {"summary": summary}
    return {
        "summary": summary,
        "flows": views.flows(wh, ten, sel, depth=4, top=40),
        "variants": views.variants(wh, ten, sel, top=15),
        "funnels": [evaluate(wh, ten, f, sel) for f in default_funnels()],
        "failures": analysis.failure_reasons(wh, ten, sel, top=10),
        "channels": analysis.channel_kpis(wh, ten, sel),
        "suggestions": analysis.suggestions(wh, ten, sel),
        "cost": cost.channel_costs(wh, ten),
        "containment": cost.containment(wh, ten, sel),
        "weeks": cost.diversion(wh, ten),
        "churn": perception.churn_comparison(wh, ten, sel),
    }


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.1f}%"


def _dur(v: float | None) -> str:
    if v is None:
        return "—"
    if v >= 86400:
        return f"{v / 86400:.1f} d"
    if v >= 3600:
        return f"{v / 3600:.1f} h"
    return f"{v / 60:.1f} min"


def _tile(label: str, value: str, test: str) -> None:
    with ui.card().classes("co-tile p-3 gap-1"):
        ui.label(label).classes("co-muted")
        data_attrs(ui.label(value).classes("co-kpi"), test=test)


def _table(columns: list[tuple[str, str]], rows: list[dict], test: str, loc: str) -> None:
    cols = [{"name": k, "label": label, "field": k, "align": "left"} for k, label in columns]
    table = empty_text(ui.table(columns=cols, rows=rows).classes("w-full").props("dense flat wrap-cells"), loc)
    data_attrs(table, test=test)


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@ui.page("/journeys")
async def journeys_page(start: str = "", end: str = "", where: str = "", customer: str = "") -> None:
    """Journeys of the caller's tenant: flows, variants, funnels, failure reasons, suggestions, replay."""
    ctx = session.require(Permission.journeys_read)
    if ctx is None:
        return
    loc = ctx.locale
    frame(ctx, "journey_nav")
    sel = Selection(_date(start), _date(end), where or None)
    with ui.row().classes("items-end gap-3 w-full"):
        f_in = date_input(t("journey_from", loc), loc, start).props("dense outlined").classes("w-40")
        t_in = date_input(t("journey_to", loc), loc, end).props("dense outlined").classes("w-40")
        w_in = ui.input(t("journey_where", loc), value=where, placeholder="channel = 'app'").props(
            "dense outlined").classes("w-64")

        @checked(ctx, Permission.journeys_read)
        def show() -> None:
            ui.navigate.to("/journeys?" + urlencode({"start": f_in.value or "", "end": t_in.value or "",
                                                     "where": w_in.value or ""}))

        ui.button(t("journey_show", loc), icon="search", on_click=show).props("unelevated")
        ui.space()
        ui.button(t("journey_export", loc), icon="download", on_click=lambda: export()).props(
            'outline data-test="journey-export"')
    # the views take seconds on a big log: send the page first, then fill it in over the connection
    await ui.context.client.connected(timeout=60)
    spinner = ui.spinner(size="lg")
    try:
        data = await session.history_call(ctx.tenant_id, page_data, ctx.tenant_id, sel)
    except CallopsError as exc:
        data_attrs(ui.label(str(exc)).classes("text-negative"), test="journey-error")
        data = {"summary": None}
    spinner.delete()
    if data is None:  # the page was closed (or the app stops) while the views ran
        return
    s = data["summary"]
    if s is not None:
        with ui.row().classes("gap-3 w-full"):
            _tile(t("journey_sessions", loc), f"{s['sessions']:,}", "journey-sessions")
            _tile(t("journey_events", loc), f"{s['events']:,}", "journey-events")
            _tile(t("journey_variants", loc), f"{s['variants']:,}", "journey-variants")
            _tile(t("journey_median_duration", loc), _dur(s["median_duration_s"]), "journey-duration")
            _tile(t("journey_rework", loc), _pct(s["rework_share"]), "journey-rework")
    if s is None or not s["events"]:
        if s is not None:
            ui.label(t("journey_none", loc)).classes("text-grey-7")
    else:
        ui.label(t("journey_flow", loc)).classes("text-h6")
        data_attrs(ui.echart({
            "tooltip": {"trigger": "item"},
            "series": [{"type": "sankey", "data": data["flows"]["nodes"], "links": data["flows"]["links"],
                        "emphasis": {"focus": "adjacency"}, "nodeAlign": "left", "left": 10, "right": 110,
                        "label": {"fontSize": 10}, "lineStyle": {"color": "gradient", "opacity": 0.4}}],
        }).classes("w-full").style("height: 460px"), test="journey-sankey")

        ui.label(t("journey_variant_list", loc)).classes("text-h6")
        _table([("rank", "#"), ("path", t("journey_path", loc)), ("sessions", t("journey_sessions", loc)),
                ("share", t("journey_share", loc)), ("duration", t("journey_median_duration", loc))],
               [{"rank": v["rank"], "path": " → ".join(v["path"]), "sessions": v["sessions"],
                 "share": _pct(v["share"]), "duration": _dur(v["median_duration_s"])}
                for v in data["variants"]["top"]], "journey-variants-table", loc)

        ui.label(t("journey_funnels", loc)).classes("text-h6")
        with ui.row().classes("w-full gap-3"):
            for fn in data["funnels"]:
                with ui.card().classes("p-2").style("min-width: 300px; flex: 1 1 340px"):
                    ui.label(fn["name"]).classes("font-medium")
                    data_attrs(ui.echart({
                        "tooltip": {"trigger": "axis"}, "grid": {"left": 120, "right": 30, "top": 10, "bottom": 20},
                        "xAxis": {"type": "value", "splitNumber": 3, "axisLabel": {"hideOverlap": True}},
                        "yAxis": {"type": "category", "inverse": True, "data": [x["step"] for x in fn["steps"]]},
                        "series": [{"type": "bar", "name": t("journey_reached", loc),
                                    "data": [x["reached"] for x in fn["steps"]], "label": {"show": True}},
                                   {"type": "bar", "name": t("journey_fallout", loc), "stack": "f",
                                    "data": [x["fallout"] for x in fn["steps"]], "itemStyle": {"color": "#E53935"}}],
                    }).classes("w-full h-44"), test="journey-funnel", funnel=fn["name"])

        ui.label(t("journey_failures", loc)).classes("text-h6")
        fails = data["failures"]
        if fails:
            data_attrs(ui.echart({
                "tooltip": {"trigger": "axis"}, "legend": {"top": 0},
                "grid": {"left": 190, "right": 20, "top": 30, "bottom": 20},
                "xAxis": {"type": "value", "splitNumber": 3, "axisLabel": {"hideOverlap": True}},
                "yAxis": {"type": "category", "inverse": True,
                          "data": [f"{f['reason']} ({f['channel'] or '—'})" for f in fails]},
                "series": [{"type": "bar", "name": t("journey_sessions", loc), "data": [f["sessions"] for f in fails]},
                           {"type": "bar", "name": t("journey_then_voice", loc),
                            "data": [f["then_voice_sessions"] for f in fails]}],
            }).classes("w-full").style(f"height: {80 + 34 * len(fails)}px"), test="journey-failures")

        ui.label(t("journey_channels", loc)).classes("text-h6")
        _table([("channel", t("journey_channel", loc)), ("sessions", t("journey_sessions", loc)),
                ("completion", t("journey_completion", loc)), ("failure", t("journey_failure", loc)),
                ("escalation", t("journey_escalation", loc)), ("resolution", t("journey_resolution", loc))],
               [{"channel": c["channel"], "sessions": c["sessions"], "completion": _pct(c["completion"]),
                 "failure": _pct(c["failure"]), "escalation": _pct(c["escalation"]),
                 "resolution": _dur(c["median_resolution_s"])} for c in data["channels"]], "journey-channels", loc)

        ui.label(t("journey_suggestions", loc)).classes("text-h6")
        with ui.column().classes("w-full gap-2"):
            for x in data["suggestions"]:
                with data_attrs(ui.card().classes("w-full p-2 gap-1"), test="journey-suggestion", kind=x["kind"]):
                    with ui.row().classes("items-center gap-2 no-wrap"):
                        ui.badge(str(x["rank"]))
                        ui.label(t(f"journey_kind_{x['kind']}", loc)).classes("font-medium")
                        ui.label(x["target"] + (f" ({x['evidence']['channel']})" if "channel" in x["evidence"]
                                                else "")).classes("ellipsis")
                    ui.label(f"{t('journey_at_stake', loc)}: {x['sessions']:,}")
                    ui.label(", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                                       for k, v in x["evidence"].items())).classes("co-muted").style(
                        "overflow-wrap: anywhere")

    if s is not None and s["events"]:
        ui.label(t("journey_cost", loc)).classes("text-h6")
        with ui.row().classes("gap-3 w-full"):
            cpc = data["cost"]["cost_per_contact"]
            _tile(t("journey_cost_per_contact", loc), "—" if cpc is None else f"{cpc:.2f}", "journey-cpc")
            _tile(t("journey_e_share", loc), _pct(data["cost"]["e_channel_share"]), "journey-e-share")
            _tile(t("journey_containment", loc) + f" ({data['containment']['hours']:g} h)",
                  _pct(data["containment"]["containment"]), "journey-containment")
        weeks = data["weeks"]
        data_attrs(ui.echart({
            "tooltip": {"trigger": "axis"}, "legend": {"top": 0}, "grid": {"left": 50, "right": 50, "top": 30},
            "xAxis": {"type": "category", "data": [w["week"] for w in weeks]},
            "yAxis": [{"type": "value", "max": 1}, {"type": "value"}],
            "series": [{"type": "line", "name": t("journey_e_share", loc),
                        "data": [round(w["e_channel_share"], 4) for w in weeks]},
                       {"type": "bar", "name": t("journey_cost_per_contact", loc), "yAxisIndex": 1,
                        "data": [round(w["cost_per_contact"], 3) for w in weeks]}],
        }).classes("w-full h-64"), test="journey-diversion")
        ch = data["churn"]
        ui.label(f"{t('journey_churn', loc)} ({ch['churned']:,} / {ch['retained']:,})").classes("text-h6")
        _table([("feature", t("journey_feature", loc)), ("churned", t("journey_churned", loc)),
                ("retained", t("journey_retained", loc)), ("g", t("journey_effect", loc))],
               [{"feature": f["feature"], "churned": "—" if f["mean"] is None else f"{f['mean']:.3g}",
                 "retained": "—" if f["mean_other"] is None else f"{f['mean_other']:.3g}",
                 "g": "—" if f["hedges_g"] is None else
                 f"{f['hedges_g']:.2f} [{f['g_ci'][0]:.2f}, {f['g_ci'][1]:.2f}]"}
                for f in ch["features"]], "journey-churn", loc)

    ui.label(t("journey_customer", loc)).classes("text-h6")
    with ui.row().classes("items-end gap-3"):
        c_in = ui.input(t("journey_customer_id", loc), value=customer).props("dense outlined").classes("w-48")
        ui.button(t("journey_replay", loc), icon="history",
                  on_click=checked(ctx, Permission.journeys_read)(lambda: ui.navigate.to("/journeys?" + urlencode(
                      {"start": start, "end": end, "where": where, "customer": c_in.value or ""})))).props("outline")
    replay: dict | None = None
    if customer:
        try:
            replay = await session.history_call(ctx.tenant_id, _replay, ctx.tenant_id, customer)
        except CallopsError as exc:
            data_attrs(ui.label(str(exc)).classes("text-negative"), test="journey-replay-error")
    if replay:
        zone = zoneinfo.ZoneInfo(ctx_zone(ctx))
        _table([("time", t("journey_time", loc)), ("channel", t("journey_channel", loc)),
                ("step", t("journey_step", loc)), ("outcome", t("journey_outcome", loc)),
                ("wait", t("journey_wait", loc)), ("detail", t("journey_detail", loc))],
               [{"time": datetime.fromisoformat(r["ts"]).astimezone(zone).strftime("%m-%d %H:%M:%S"),
                 "channel": r.get("channel") or "", "step": r.get("step") or f"[{r.get('business_type') or ''}]",
                 "outcome": r.get("outcome") or "", "wait": "" if r.get("wait_s") is None else f"{r['wait_s']:.0f}",
                 "detail": " ".join(str(x) for x in (r.get("error_code"), r.get("first_lines"),
                                                     f"CSAT {r['csat']:.0f}" if r.get("csat") else None) if x)}
                for r in replay["timeline"]], "journey-replay", loc)

    @checked(ctx, Permission.journeys_read)
    def export() -> None:
        sheets = []
        if s:
            sheets.append(("summary", ["measure", "value"], [[k, v] for k, v in s.items()]))
        if data.get("variants"):
            sheets.append(("variants", ["rank", "path", "sessions", "share", "median_duration_s"],
                           [[v["rank"], " -> ".join(v["path"]), v["sessions"], v["share"], v["median_duration_s"]]
                            for v in data["variants"]["top"]]))
            sheets.append(("funnels", ["funnel", "index", "step", "reached", "fallout", "fallout_share"],
                           [[f["name"], x["index"], x["step"], x["reached"], x["fallout"], x["fallout_share"]]
                            for f in data["funnels"] for x in f["steps"]]))
            sheets.append(("failures", ["reason", "step", "channel", "sessions", "then_voice_sessions"],
                           [[f["reason"], f["step"], f["channel"], f["sessions"], f["then_voice_sessions"]]
                            for f in data["failures"]]))
            sheets.append(("channels", list(data["channels"][0]) if data["channels"] else ["channel"],
                           [list(c.values()) for c in data["channels"]]))
            sheets.append(("suggestions", ["rank", "kind", "title", "sessions", "evidence"],
                           [[x["rank"], x["kind"], x["title"], x["sessions"], str(x["evidence"])]
                            for x in data["suggestions"]]))
        if data.get("cost"):
            sheets.append(("cost", ["channel", "contacts", "agent_hours", "cost", "cost_per_contact"],
                           [[c["channel"], c["contacts"], c["agent_hours"], c["cost"], c["cost_per_contact"]]
                            for c in data["cost"]["channels"]]))
            sheets.append(("weeks", ["week", "contacts", "e_channel_share", "cost_per_contact"],
                           [[w["week"], w["contacts"], w["e_channel_share"], w["cost_per_contact"]]
                            for w in data["weeks"]]))
            sheets.append(("churn", ["feature", "mean_churned", "mean_retained", "diff", "hedges_g"],
                           [[f["feature"], f["mean"], f["mean_other"], f["diff"], f["hedges_g"]]
                            for f in data["churn"]["features"]]))
        if replay:
            sheets.append(("replay", ["ts", "kind", "channel", "step", "outcome", "wait_s"],
                           [[r["ts"], r["kind"], r.get("channel"), r.get("step"), r.get("outcome"), r.get("wait_s")]
                            for r in replay["timeline"]]))
        ui.download.content(workbook_bytes(sheets or [("summary", ["measure"], [])], ctx.timezone),
                            f"{ctx.tenant_id}-journeys.xlsx")


def _replay(wh: Any, tenant_id: str, customer_id: str) -> dict:
    return customer_journey(wh, tenancy.get_tenant(wh, tenant_id), customer_id)


def ctx_zone(ctx: Any) -> str:
    """The tenant's zone for showing times."""
    return session.tenant_zone(ctx.tenant_id)
