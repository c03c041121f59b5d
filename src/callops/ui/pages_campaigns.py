"""Campaign page (issue 12): every campaign's cost, return, benefit score and decision, one campaign's trend and
sequential test with its evidence, pause and resume (campaigns:manage), and service against marketing per agent
hour side by side. zh-CN and en labels are registered here."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from callops import tenancy
from callops.errors import CallopsError
from callops.store.roles import Permission
from callops.ui import session
from callops.ui.guard import checked, data_attrs
from callops.ui.i18n import register_labels, t
from callops.ui.layout import frame
from callops.ui.localized import empty_text

register_labels({
    "campaigns_nav": ("Campaigns", "营销活动"),
    "campaigns_none": ("No campaigns in this tenant's data yet.", "本租户数据中尚无营销活动。"),
    "campaigns_table": ("Cost, return and decision per campaign", "各活动成本、收益与决策"),
    "campaigns_id": ("Campaign", "活动"),
    "campaigns_state": ("State", "状态"),
    "campaigns_presented": ("Presented", "推荐次数"),
    "campaigns_accepted": ("Accepted", "成功次数"),
    "campaigns_cost": ("Cost", "成本"),
    "campaigns_return": ("Return", "收益"),
    "campaigns_ratio": ("Cost / return", "成本收益比"),
    "campaigns_score": ("Benefit score", "效益评分"),
    "campaigns_decision": ("Decision", "决策"),
    "campaigns_score_parts": ("Benefit score by part", "效益评分构成"),
    "campaigns_trend": ("Trend of {c}: cost and return per week", "{c} 趋势：每周成本与收益"),
    "campaigns_test": ("Sequential test (SPRT) of {c}: log-likelihood ratio after each presentation",
                       "{c} 的序贯检验（SPRT）：每次推荐后的对数似然比"),
    "campaigns_evidence": ("Evidence", "依据"),
    "campaigns_history": ("Pauses and resumes", "暂停与恢复记录"),
    "campaigns_reason": ("Reason (kept in the audit log)", "原因（记入审计日志）"),
    "campaigns_pause": ("Pause", "暂停"),
    "campaigns_resume": ("Resume", "恢复"),
    "campaigns_changed": ("Campaign state changed", "活动状态已更新"),
    "campaigns_need_reason": ("Give a reason", "请填写原因"),
    "campaigns_svm": ("Service against marketing per paid agent hour", "服务与营销：每付费人工小时对比"),
    "campaigns_service": ("Service", "服务"),
    "campaigns_marketing": ("Marketing", "营销"),
    "campaigns_yield": ("Revenue per agent hour", "每人工小时收入"),
    "campaigns_efficiency": ("Contacts per agent hour", "每人工小时接触量"),
    "campaigns_unit_price": ("Unit price", "结算单价"),
    "campaigns_headcount": ("Agents tied up", "占用人力"),
    "campaigns_net": ("Net per agent hour", "每人工小时净收益"),
    "campaigns_measured": ("Measured: pop-up rate {p:.3f}, recommendation rate {r:.2f}, {h:.0f} s per "
                           "recommendation, success rate {s:.3f}",
                           "实测：弹窗率 {p:.3f}，推荐率 {r:.2f}，每次推荐 {h:.0f} 秒，成功率 {s:.3f}"),
    "campaigns_decision_continue": ("continue", "继续"),
    "campaigns_decision_pause": ("pause", "暂停"),
    "campaigns_decision_undecided": ("undecided", "待定"),
    "campaigns_state_active": ("active", "进行中"),
    "campaigns_state_paused": ("paused", "已暂停"),
    "campaigns_boundary_up": ("continue boundary", "继续边界"),
    "campaigns_boundary_down": ("pause boundary", "暂停边界"),
    "campaigns_why_no_presentations": ("no presentations in the period", "期间内无推荐"),
    "campaigns_why_unreachable": ("no acceptance rate can pay: a presentation costs more than a sale's margin",
                                  "任何成功率都无法盈利：单次推荐成本高于一笔销售的毛利"),
    "campaigns_why_unreachable_within": ("break-even unreachable, but cost/return is within the threshold",
                                         "无法达到盈亏平衡，但成本收益比仍在阈值内"),
    "campaigns_why_sprt_pause": ("SPRT accepted the break-even rate and cost/return is above the threshold",
                                 "SPRT 接受盈亏平衡成功率，且成本收益比高于阈值"),
    "campaigns_why_sprt_pause_within": ("SPRT accepted the break-even rate, but cost/return is within the threshold",
                                        "SPRT 接受盈亏平衡成功率，但成本收益比在阈值内"),
    "campaigns_why_sprt_continue": ("SPRT accepted the target rate", "SPRT 接受目标成功率"),
    "campaigns_why_need_more": ("the test needs more presentations", "检验需要更多推荐样本"),
    "campaigns_part_economics": ("economics", "经济性"),
    "campaigns_part_importance": ("importance", "重要性"),
    "campaigns_part_ease": ("ease", "易推程度"),
    "campaigns_part_channel_fit": ("channel fit", "渠道匹配"),
    "campaigns_part_acceptance": ("acceptance", "客户接受度"),
})  # fmt: skip


def page_data(wh: Any, tenant_id: str, campaign_id: str | None) -> dict[str, Any]:
    """Every campaign's evaluation, one campaign's trend (default: the first), service vs marketing."""
    from callops.marketing.campaigns import evaluate_tenant, service_vs_marketing, trend

    tenant = tenancy.get_tenant(wh, tenant_id)
    store = session.store()
    ev = evaluate_tenant(wh, store, tenant)
    if not ev["campaigns"]:
        return {"evaluation": ev, "one": None, "svm": None}
    cid = campaign_id or ev["campaigns"][0]["campaign_id"]
    one = trend(wh, store, tenant, cid)["campaign"]
    svm = service_vs_marketing(wh, tenant, evaluation=ev)
    return {"evaluation": ev, "one": one, "svm": svm}


def _why(c: dict[str, Any], loc: str) -> str:
    """The decision's reason in the page's language."""
    return t(f"campaigns_why_{c['evidence']['reason_code']}", loc)


def _n(v: float | None, digits: int = 0) -> str:
    return "—" if v is None else f"{v:,.{digits}f}"


@ui.page("/campaigns")
async def campaigns_page(campaign: str = "") -> None:
    """The campaign page of the signed-in tenant."""
    ctx = session.require(Permission.campaigns_read)
    if ctx is None:
        return
    loc = ctx.locale
    frame(ctx, "campaigns_nav")
    # the evaluation takes a second or more on a year of contacts: send the page first, then fill it in
    await ui.context.client.connected(timeout=60)
    spinner = ui.spinner(size="lg")
    try:
        d = await session.warehouse_call(page_data, ctx.tenant_id, campaign.strip() or None)
    except CallopsError as exc:
        data_attrs(ui.label(str(exc)), test="campaigns-error")
        return
    finally:
        spinner.delete()
    if d is None:  # the server is stopping
        return
    ev = d["evaluation"]
    if not ev["campaigns"]:
        data_attrs(ui.label(t("campaigns_none", loc)), test="campaigns-empty")
        return
    ui.label(f"{t('campaigns_table', loc)} · {ev['from']} – {ev['to']}").classes("text-h6")
    keys = (("campaign_id", "campaigns_id"), ("state", "campaigns_state"), ("presented", "campaigns_presented"),
            ("accepted", "campaigns_accepted"), ("cost", "campaigns_cost"), ("return", "campaigns_return"),
            ("ratio", "campaigns_ratio"), ("score", "campaigns_score"), ("decision", "campaigns_decision"))
    cols = [{"name": k, "label": t(lab, loc), "field": k, "align": "left" if k in ("campaign_id", "state",
                                                                                   "decision") else "right"}
            for k, lab in keys]
    rows = [{"campaign_id": c["campaign_id"], "state": t(f"campaigns_state_{c['state']}", loc),
             "presented": f"{c['presented']:,}", "accepted": f"{c['accepted']:,}", "cost": _n(c["cost"]),
             "return": _n(c["return"]), "ratio": _n(c["cost_return_ratio"], 2), "score": _n(c["score"], 1),
             "decision": t(f"campaigns_decision_{c['decision']}", loc)} for c in ev["campaigns"]]
    with ui.element("div").classes("w-full").style("overflow-x: auto"):
        table = empty_text(ui.table(columns=cols, rows=rows, row_key="campaign_id").classes("w-full")
                           .props("dense flat"), loc)
        data_attrs(table, test="campaigns-table")
    table.on("rowClick", lambda e: ui.navigate.to(f"/campaigns?campaign={e.args[1]['campaign_id']}"))
    for c in ev["campaigns"]:
        data_attrs(ui.label(f"{c['campaign_id']}: {t('campaigns_decision_' + c['decision'], loc)} — "
                            f"{_why(c, loc)}").classes("co-muted"),
                   test="campaign-decision", campaign=c["campaign_id"], decision=c["decision"], state=c["state"])
    _score_chart(ev["campaigns"], loc)
    one = d["one"]
    with ui.row().classes("items-end gap-2 q-mt-md"):
        ui.select([c["campaign_id"] for c in ev["campaigns"]], value=one["campaign_id"],
                  on_change=lambda e: ui.navigate.to(f"/campaigns?campaign={e.value}")).props(
            "dense outlined").classes("w-56")
    _trend_chart(one, loc)
    _test_chart(one, loc)
    _evidence(one, loc)
    if ctx.can(Permission.campaigns_manage):
        _state_controls(ctx, one)
    _service_vs_marketing(d["svm"], loc)


def _score_chart(camps: list[dict[str, Any]], loc: str) -> None:
    """Stacked bars: each campaign's benefit score by part."""
    ui.label(t("campaigns_score_parts", loc)).classes("text-h6")
    ids = [c["campaign_id"] for c in camps]
    parts = list(camps[0]["score_parts"])
    ui.echart({
        "tooltip": {"trigger": "axis"}, "legend": {"top": 0},
        "grid": {"left": 100, "right": 16, "top": 40, "bottom": 24},
        "xAxis": {"type": "value", "max": 100}, "yAxis": {"type": "category", "data": ids},
        "series": [{"name": t(f"campaigns_part_{p}", loc), "type": "bar", "stack": "s",
                    "data": [round(c["score_parts"][p]["contribution"], 1) for c in camps]} for p in parts],
    }).classes("w-full").style(f"height: {36 * len(ids) + 90}px")  # fmt: skip


def _trend_chart(one: dict[str, Any], loc: str) -> None:
    """Cost and return per week (bars) and cost/return (line, right axis)."""
    pts = one["trend"]["points"]
    ui.label(t("campaigns_trend", loc).format(c=one["campaign_id"])).classes("text-h6")
    data_attrs(ui.echart({
        "tooltip": {"trigger": "axis"}, "legend": {"top": 0},
        "grid": {"left": 56, "right": 48, "top": 36, "bottom": 30},
        "xAxis": {"type": "category", "data": [p["period"] for p in pts]},
        "yAxis": [{"type": "value"}, {"type": "value", "name": t("campaigns_ratio", loc)}],
        "series": [
            {"name": t("campaigns_cost", loc), "type": "bar", "data": [round(p["cost"], 1) for p in pts]},
            {"name": t("campaigns_return", loc), "type": "bar", "data": [round(p["return"], 1) for p in pts]},
            {"name": t("campaigns_ratio", loc), "type": "line", "yAxisIndex": 1,
             "data": [None if p["cost_return_ratio"] is None else round(p["cost_return_ratio"], 2) for p in pts]},
        ],
    }).classes("w-full h-64"), test="campaign-trend")  # fmt: skip


def _test_chart(one: dict[str, Any], loc: str) -> None:
    """The SPRT's log-likelihood ratio against the number of presentations, with its two boundaries."""
    path = one.get("test_path")
    if not path:
        return
    ui.label(t("campaigns_test", loc).format(c=one["campaign_id"])).classes("text-h6")
    xs = [n + 1 for n in path["n"]]
    data_attrs(ui.echart({
        "tooltip": {"trigger": "axis"}, "legend": {"top": 0},
        "grid": {"left": 48, "right": 16, "top": 36, "bottom": 30},
        "xAxis": {"type": "value", "min": 0},
        "yAxis": {"type": "value"},
        "series": [
            {"name": "log LR", "type": "line", "showSymbol": False,
             "data": [[x, round(z, 3)] for x, z in zip(xs, path["llr"], strict=True)]},
            {"name": t("campaigns_boundary_up", loc), "type": "line", "showSymbol": False,
             "lineStyle": {"type": "dashed"}, "data": [[0, path["log_a"]], [max(xs or [1]), path["log_a"]]]},
            {"name": t("campaigns_boundary_down", loc), "type": "line", "showSymbol": False,
             "lineStyle": {"type": "dashed"}, "data": [[0, path["log_b"]], [max(xs or [1]), path["log_b"]]]},
        ],
    }).classes("w-full h-64"), test="campaign-test")  # fmt: skip


def _evidence(one: dict[str, Any], loc: str) -> None:
    """The decision's evidence in words and figures."""
    ev = one["evidence"]
    test = ev["test"]
    at = ev["agent_time"]
    ui.label(t("campaigns_evidence", loc)).classes("text-h6")
    with data_attrs(ui.card().classes("w-full"), test="campaign-evidence"):
        ui.label(f"{one['campaign_id']} · {t('campaigns_decision_' + one['decision'], loc)} · {_why(one, loc)}")
        lo, hi = ev["acceptance_rate_ci95"]
        rate = one["acceptance_rate"]
        ui.label(f"acceptance {_n(rate, 4)} (95% {_n(lo, 4)}–{_n(hi, 4)}); break-even p0 "
                 f"{_n(ev['break_even_rate'], 4)}, target p1 {_n(ev['target_rate'], 4)}").classes("co-muted")
        if "log_a" in test:
            ui.label(f"SPRT α {test['false_continue_rate']}, β {test['false_pause_rate']}: boundaries "
                     f"{test['log_b']:.3f} / {test['log_a']:.3f}; after {test['n']:,} presentations "
                     f"({test['successes']:,} accepted) log LR {test['llr']:.3f} → {test['decision']}"
                     + (f" at {test['crossed_at'][:16]}" if test["crossed_at"] else "")).classes("co-muted")
        ui.label(f"agent time ({at['method']}): pitch {at['pitch_s']:.1f} s + after-contact {at['acw_s']:.1f} s per "
                 f"presentation, pop-up {at['popup_s']:.1f} s; {at['agent_hours']:,.1f} agent hours").classes(
            "co-muted")
        parts = one["cost_parts"]
        ui.label(f"cost = agent time {parts['agent_time']:,.0f} + commission {parts['commission']:,.0f} + other "
                 f"{parts['other']:,.0f}").classes("co-muted")
    ui.label(t("campaigns_history", loc)).classes("text-subtitle1")
    for h in one.get("history", []):
        data_attrs(ui.label(f"{h['at'][:16]} {h['kind']} · {h['actor']} · {h['reason']}").classes("co-muted"),
                   test="campaign-history", kind=h["kind"])


def _state_controls(ctx: session.Ctx, one: dict[str, Any]) -> None:
    """Pause or resume the campaign with a reason (campaigns:manage, re-checked at the click, audited)."""
    from callops.marketing.campaigns import set_state

    loc = ctx.locale
    cid = one["campaign_id"]
    action = "resume" if one["state"] == "paused" else "pause"

    @checked(ctx, Permission.campaigns_manage)
    def change() -> None:
        reason = (reason_in.value or "").strip()
        if not reason:
            ui.notify(t("campaigns_need_reason", loc), type="warning")
            return
        try:
            session.with_warehouse(set_state, session.store(), ctx.tenant_id, cid, action, actor=ctx.user_name,
                                   reason=reason)
        except CallopsError as exc:
            ui.notify(str(exc), type="warning")
            return
        ui.notify(t("campaigns_changed", loc), type="positive")
        ui.navigate.reload()

    with ui.row().classes("w-full items-end gap-2"):
        reason_in = data_attrs(ui.input(t("campaigns_reason", loc)).props("dense outlined").classes("grow"),
                               test="campaign-reason")
        data_attrs(ui.button(t(f"campaigns_{action}", loc), on_click=change).props("unelevated"),
                   test=f"campaign-{action}")


def _service_vs_marketing(svm: dict[str, Any] | None, loc: str) -> None:
    """Two cards side by side (stacked on a phone) and one bar chart: service and marketing per agent hour."""
    if not svm:
        return
    s, m = svm["comparison"]["service"], svm["comparison"]["marketing"]
    ui.label(t("campaigns_svm", loc)).classes("text-h6")
    figures = (("campaigns_unit_price", "unit_price", 2), ("campaigns_efficiency", "contacts_per_agent_hour", 1),
               ("campaigns_yield", "yield_per_agent_hour", 1), ("campaigns_net", "net_per_agent_hour", 1),
               ("campaigns_headcount", "headcount", 1))
    with ui.row().classes("w-full gap-4"):
        for key, side in (("campaigns_service", s), ("campaigns_marketing", m)):
            with data_attrs(ui.card().classes("w-full md:w-[48%]"), test="svm-card", side=key.split("_")[1]):
                ui.label(t(key, loc)).classes("text-subtitle1")
                for lab, k, digits in figures:
                    ui.label(f"{t(lab, loc)}: {_n(side.get(k), digits)}")
    me = svm["measured"]
    ui.label(t("campaigns_measured", loc).format(p=me["marketing_popup_rate"], r=me["marketing_recommend_rate"],
                                                 h=me["marketing_handle_s"], s=me["marketing_success_rate"])
             ).classes("co-muted")
    cats = [t(lab, loc) for lab, _k, _d in figures[1:4]]
    ui.echart({
        "tooltip": {"trigger": "axis"}, "legend": {"top": 0},
        "grid": {"left": 56, "right": 16, "top": 36, "bottom": 60},
        "xAxis": {"type": "category", "data": cats, "axisLabel": {"interval": 0, "rotate": 20}},
        "yAxis": {"type": "value"},
        "series": [{"name": t(key, loc), "type": "bar",
                    "data": [None if side.get(k) is None else round(side[k], 1) for _l, k, _d in figures[1:4]]}
                   for key, side in (("campaigns_service", s), ("campaigns_marketing", m))],
    }).classes("w-full h-64")  # fmt: skip
