"""Quality page: the ranking as a caterpillar chart (shrunk means with intervals), coaching and recognition lists,
evaluator drift (EWMA), the sampling plan of the month and the form. zh-CN and en labels are registered here."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from callops.errors import CallopsError
from callops.quality import coaching, data, service
from callops.quality.forms import load_form
from callops.store.roles import Permission
from callops.ui import session
from callops.ui.guard import data_attrs
from callops.ui.i18n import register_labels, t
from callops.ui.layout import frame

register_labels({
    "nav_quality": ("Quality", "质检"),
    "qa_period": ("Month", "月份"),
    "qa_ranking": ("Agent scores: shrunk mean and 95% interval", "坐席得分：收缩均值与95%区间"),
    "qa_raw_mean": ("raw mean", "原始均值"),
    "qa_shrunk": ("shrunk mean", "收缩均值"),
    "qa_suppressed": ("not enough evidence", "证据不足"),
    "qa_coaching": ("Coaching list", "辅导名单"),
    "qa_recognition": ("Recognition list", "表彰名单"),
    "qa_none": ("nobody this month", "本月无"),
    "qa_stability": ("Rank stability vs last month", "与上月排名的稳定性"),
    "qa_stability_text": ("observed {o:.2f}; if levels never changed {s:.2f}; noise alone (95%) {n:.2f}",
                          "实际 {o:.2f}；若水平不变 {s:.2f}；纯噪声（95%）{n:.2f}"),
    "qa_drift": ("Evaluator drift (EWMA of deviation from the panel)", "质检员漂移（相对评审组偏差的EWMA）"),
    "qa_plan": ("Sampling plan", "抽样计划"),
    "qa_plan_text": ("margin ±{m:g} points, score SD {s:.1f}: {n} contacts for {a} agents ({r} risk picks)",
                     "误差 ±{m:g} 分，得分标准差 {s:.1f}：{a} 名坐席共抽 {n} 通（风险抽检 {r} 通）"),
    "qa_agent": ("Agent", "坐席"),
    "qa_population": ("Contacts", "接触量"),
    "qa_n": ("Sample", "样本量"),
    "qa_exempt": ("Exempt", "免检"),
    "qa_form": ("Evaluation form", "质检评分表"),
    "qa_no_data": ("No QA evaluations yet.", "暂无质检数据。"),
})  # fmt: skip


def page_data(wh: Any, tenant: str, period: str | None) -> dict:
    """Everything the page shows for ``tenant`` and ``period`` (default: the latest evaluated month)."""
    p = period or data.latest_period(wh, tenant)
    st = session.store()
    rank = service.ranking_report(wh, tenant, p, store=st)
    coach = service.coaching_report(wh, tenant, p, store=st)
    drift = coaching.evaluator_drift(service.routine_scores(wh, tenant, p, st))
    try:
        plan = service.plan(wh, tenant, p)
    except CallopsError:
        plan = None
    return {"period": p, "ranking": rank, "coaching": coach, "drift": drift, "plan": plan}


def _caterpillar(agents: list[dict], loc: str) -> None:
    """Shrunk means (dots) with their 95% intervals (bars), raw means (hollow), best at the top."""
    rows = list(reversed(agents))
    names = [a["agent_id"] for a in rows]
    ui.echart({
        "tooltip": {"trigger": "axis"}, "legend": {"top": 0},
        "grid": {"left": 60, "right": 16, "top": 30, "bottom": 24},
        "xAxis": {"type": "value", "scale": True}, "yAxis": {"type": "category", "data": names},
        "series": [
            {"name": "95%", "type": "bar", "stack": "ci", "itemStyle": {"color": "transparent"},
             "data": [round(a["interval"][0], 2) for a in rows], "tooltip": {"show": False}},
            {"name": "95%", "type": "bar", "stack": "ci", "barWidth": 4, "itemStyle": {"color": "#90caf9"},
             "data": [round(a["interval"][1] - a["interval"][0], 2) for a in rows]},
            {"name": t("qa_shrunk", loc), "type": "scatter", "symbolSize": 9,
             "data": [[round(a["shrunk_mean"], 2), i] for i, a in enumerate(rows)],
             "itemStyle": {"color": "#1565c0"}},
            {"name": t("qa_raw_mean", loc), "type": "scatter", "symbol": "emptyCircle", "symbolSize": 7,
             "data": [[round(a["mean"], 2), i] for i, a in enumerate(rows)], "itemStyle": {"color": "#e65100"}},
        ],
    }).classes("w-full").style(f"height: {max(260, 18 * len(rows) + 60)}px")  # fmt: skip


def _people(title_key: str, entries: list[dict], loc: str, test: str) -> None:
    with ui.card().classes("w-full md:w-[48%]"):
        ui.label(t(title_key, loc)).classes("text-h6")
        if not entries:
            ui.label(t("qa_none", loc)).classes("co-muted")
        for e in entries:
            row = ui.row().classes("items-center gap-2")
            data_attrs(row, test=test, agent=e["agent_id"])
            with row:
                ui.label(e["agent_id"]).classes("font-medium")
                change = "" if e.get("change") is None else f" Δ{e['change']:+.1f} ({e['expected_change']:+.1f})"
                ui.label(f"{e['shrunk_mean']:.1f} [{e['interval'][0]:.1f}, {e['interval'][1]:.1f}]{change}")
                ui.label(", ".join(e["reasons"])).classes("co-muted")


@ui.page("/quality")
async def quality_page(period: str = "") -> None:
    """The QA page of the signed-in tenant."""
    ctx = session.require(Permission.qa_read)
    if ctx is None:
        return
    loc = ctx.locale
    frame(ctx, "nav_quality")
    try:
        d = await session.warehouse_call(page_data, ctx.tenant_id, period or None)
    except CallopsError:
        ui.label(t("qa_no_data", loc)).props('data-test="qa-empty"')
        return
    with ui.row().classes("items-end gap-3"):
        p_in = ui.input(t("qa_period", loc), value=d["period"]).props("dense outlined").classes("w-32")
        ui.button(icon="search", on_click=lambda: ui.navigate.to(f"/quality?period={p_in.value}")).props("unelevated")
    ui.label(t("qa_ranking", loc)).classes("text-h6")
    agents = d["ranking"]["agents"]
    _caterpillar(agents, loc)
    with ui.row().classes("w-full gap-4"):
        _people("qa_coaching", d["coaching"]["coaching"], loc, "qa-coach")
        _people("qa_recognition", d["coaching"]["recognition"], loc, "qa-recognise")
    stab = d["coaching"].get("stability")
    if stab:
        ui.label(t("qa_stability", loc)).classes("text-h6")
        ui.label(t("qa_stability_text", loc).format(o=stab["observed"], s=stab["expected_if_stable"],
                                                    n=stab["noise_only_p95"]))  # fmt: skip
    if d["drift"]:
        ui.label(t("qa_drift", loc)).classes("text-h6")
        series = [{"name": e, "type": "line", "showSymbol": False, "data": [round(v, 2) for v in v_["ewma"]["ewma"]]}
                  for e, v_ in d["drift"].items()]  # fmt: skip
        longest = max(len(v_["ewma"]["ewma"]) for v_ in d["drift"].values())
        ui.echart({"tooltip": {"trigger": "axis"}, "legend": {"top": 0}, "grid": {"left": 40, "right": 16},
                   "xAxis": {"type": "category", "data": list(range(1, longest + 1))}, "yAxis": {"type": "value"},
                   "series": series}).classes("w-full h-64")  # fmt: skip
    plan = d["plan"]
    if plan:
        ui.label(t("qa_plan", loc)).classes("text-h6")
        total = sum(a["n"] for a in plan["agents"])
        risk = sum(len(a["risk"]) for a in plan["agents"])
        ui.label(t("qa_plan_text", loc).format(m=plan["margin"], s=plan["sd"], n=total, a=len(plan["agents"]), r=risk))
        cols = [{"name": k, "label": t(lab, loc), "field": k} for k, lab in
                (("agent_id", "qa_agent"), ("population", "qa_population"), ("n", "qa_n"), ("exempt", "qa_exempt"))]
        ui.table(columns=cols, rows=[{k: a[k] for k in ("agent_id", "population", "n", "exempt")}
                                     for a in plan["agents"]], row_key="agent_id").classes("w-full").props("dense")
    form = load_form()
    with ui.expansion(f"{t('qa_form', loc)} · {form.ref}").classes("w-full"):
        for item in form.items.values():
            label = item.label_zh if loc.startswith("zh") else item.label_en
            flags = (" ★" if item.critical else "") + (" ✖" if item.fatal else "")
            ui.label(f"{item.section} · {label}{flags}: {item.points:g} × {item.weight:g}")
