"""Customer value page: classes of the latest snapshot, one customer's profile, the value explanation as a
chart, tags, a timeline across channels, and the care tasks per team. zh-CN and en labels are registered here."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from callops import tenancy
from callops.errors import CallopsError
from callops.store.roles import Permission
from callops.ui import session
from callops.ui.guard import checked, data_attrs
from callops.ui.i18n import VALUE_LABELS, register_labels, t, value_label
from callops.ui.layout import frame
from callops.ui.localized import empty_text

register_labels({
    "value_nav": ("Customer value", "客户价值"),
    "value_customer": ("Customer id", "客户编号"),
    "value_classes": ("Customers per value class", "各价值等级客户数"),
    "value_score": ("Value score", "价值得分"),
    "value_class": ("Class", "等级"),
    "value_route": ("Route", "路由"),
    "value_explain": ("Why this score: contribution of each indicator", "得分构成：各指标贡献"),
    "value_tags": ("Tags", "标签"),
    "value_no_tags": ("no tags", "无标签"),
    "value_timeline": ("Timeline (contacts, journey steps, account events)", "时间线（接触、旅程步骤、账户事件）"),
    "value_profile": ("Profile", "客户画像"),
    "value_no_scores": ("No value scores yet: run `callops value score`.",
                        "尚无价值评分：请运行 `callops value score`。"),
    "value_not_found": ("No such customer.", "未找到该客户。"),
    "value_care": ("Care tasks per team", "各团队关怀任务"),
    "value_when": ("When", "时间"),
    "value_kind": ("Kind", "类型"),
    "value_channel": ("Channel", "渠道"),
    "value_what": ("What", "内容"),
    "value_detail": ("Detail", "详情"),
    "value_decision": ("Decision for a voice contact", "语音来电决策"),
    "value_historical": ("historical", "历史价值"),
    "value_current": ("current", "当前价值"),
    "value_future": ("future", "未来价值"),
    "value_impact": ("impact", "影响价值"),
    "value_elastic": ("elastic", "弹性价值"),
    "value_balance": ("Diversion what-if: service level (20 s) by share of demand sent to self-service",
                      "分流推演：不同自助分流比例下的服务水平（20秒）"),
    "value_balance_text": ("{c:g} contacts per 30 min, AHT {a:g} s, {n} agents, patience {p:g} s; "
                           "this tenant's diversion share {s:.1%}",
                           "每30分钟 {c:g} 通，平均处理 {a:g} 秒，{n} 名坐席，耐心 {p:g} 秒；本租户分流比例 {s:.1%}"),
    "value_calls": ("Contacts / 30 min", "每30分钟接触量"),
    "value_diverted": ("Today's decisions: {d:,}; diverted from agents: {v:,} ({s})",
                       "今日决策 {d:,} 次；分流至自助/IVR：{v:,}（{s}）"),
    "value_live_diverted": ("Live room today: {v:,} contacts diverted before an agent queue ({r})",
                            "今日实时：{v:,} 个接触在进入人工队列前被分流（{r}）"),
    "value_aht": ("AHT (s)", "平均处理时长（秒）"),
    "value_agents": ("Agents", "坐席数"),
    "value_care_work": ("Care tasks to work (oldest first)", "待处理关怀任务（最早优先）"),
    "value_care_contacted": ("Mark contacted", "标记已联系"),
    "value_care_resolved": ("Mark resolved", "标记已解决"),
    "value_care_moved": ("Care task moved", "关怀任务已更新"),
    # profile fields (the feature keys of callops.value.features)
    "value_f_plan": ("Plan", "套餐"),
    "value_f_arpu": ("ARPU", "月均收入（ARPU）"),
    "value_f_status": ("Status", "状态"),
    "value_f_network_generation": ("Network", "网络制式"),
    "value_f_usage_gb": ("Data used (GB / month)", "月流量（GB）"),
    "value_f_vip_level": ("VIP level", "VIP 等级"),
    "value_f_tenure_months": ("Tenure (months)", "在网时长（月）"),
    "value_f_contacts_30d": ("Contacts, 30 days", "近30天接触次数"),
    "value_f_complaints_30d": ("Complaints, 30 days", "近30天投诉次数"),
    "value_f_csat_last": ("Last satisfaction", "最近一次满意度"),
    "value_f_purchases_365d": ("Purchases, 365 days", "近365天购买次数"),
    "value_f_spend_365d": ("Spend, 365 days", "近365天消费"),
    "value_f_clv_p_alive": ("Probability still active (BG/NBD)", "仍活跃概率（BG/NBD）"),
    "value_f_clv_value": ("Expected future spend (BG/NBD × Gamma-Gamma)", "预期未来消费（BG/NBD × Gamma-Gamma）"),
})  # fmt: skip
# The shipped model's classes and routes (callops/value/default_model.yaml, default_strategies.yaml); a tenant's own
# class or route id is shown as it is.
VALUE_LABELS["value_class"] = {
    "high_value": ("High value", "高价值"), "complex": ("Complex", "复杂诉求"), "low_value": ("Low value", "低价值"),
    "standard": ("Standard", "普通"), "unknown": ("Unknown customer", "未识别客户"),
}  # fmt: skip
VALUE_LABELS["value_route"] = {
    "high_value_desk": ("High-value desk", "高价值专席"), "expert_desk": ("Expert desk", "专家坐席"),
    "self_service_first": ("Self-service first", "自助优先"), "normal_queue": ("Normal queue", "普通队列"),
    "care_desk": ("Care desk", "关怀专席"), "ivr_payment": ("Payment in the IVR", "IVR 缴费复机"),
}  # fmt: skip

PROFILE_KEYS = ("plan", "arpu", "status", "network_generation", "usage_gb", "vip_level", "tenure_months",
                "contacts_30d", "complaints_30d", "csat_last", "purchases_365d", "spend_365d", "clv_p_alive",
                "clv_value")  # fmt: skip


def page_data(wh: Any, tenant_id: str, customer_id: str | None) -> dict[str, Any]:
    """The latest snapshot's summary, and one customer's profile and decision (default: a high-value one)."""
    from callops.value.decide import customer_profile, decide
    from callops.value.snapshot import snapshot_meta, snapshot_row

    tenant = tenancy.get_tenant(wh, tenant_id)
    meta = snapshot_meta(tenant_id)
    if not customer_id:
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        from callops.value.snapshot import value_dir

        table = pq.read_table(value_dir(tenant_id) / f"v{meta['version']:04d}.parquet",
                              columns=["customer_id", "score", "value_class"])  # fmt: skip
        high = table.filter(pc.equal(table.column("value_class"), "high_value"))
        pick = high if high.num_rows else table
        customer_id = str(pick.column("customer_id")[0])
    profile = customer_profile(wh, tenant, customer_id)
    decision = decide(tenant, customer_id, "voice") if snapshot_row(tenant_id, customer_id) else None
    if decision is not None:  # the strategy's name as the tenant's library labels it
        from callops.value.decide import libraries

        strategy = libraries(tenant_id)[2].strategies.get(decision["strategy"])
        decision["strategy_label"] = strategy.label if strategy is not None else {}
    return {"meta": meta, "customer_id": customer_id, "profile": profile, "decision": decision}


def balance_data(tenant_id: str, calls: float, aht: float, agents: int, patience: float) -> dict[str, Any]:
    """The tenant's diversion share and the simulated service level at 0-30 % and at that share."""
    from callops.value.balance import diversion_whatif, tenant_diversion_share

    own = tenant_diversion_share(tenant_id)
    shares = sorted({0.0, 0.1, 0.2, 0.3, round(own["diversion_share"], 4)})
    return {"own": own, "rows": diversion_whatif(calls, 1800, aht, agents, patience, shares, replications=2)}


def care_rows(tenant_id: str) -> list[dict[str, Any]]:
    """The tenant's care tasks (newest first)."""
    from callops.value.care import list_tasks

    with session.store().session() as s:
        return list_tasks(s, tenant_id, limit=200)


def _explain_chart(value: dict[str, Any], loc: str) -> None:
    """Horizontal bars: each indicator's contribution to the score, coloured by dimension."""
    colors = {"historical": "#1565c0", "current": "#2e7d32", "future": "#6a1b9a", "impact": "#ef6c00",
              "elastic": "#00838f"}  # fmt: skip
    names, data = [], []
    for dim, d in value["dimensions"].items():
        for ind in d["indicators"]:
            label = (ind.get("label") or {}).get(loc) or ind["id"]  # a model without labels shows its ids
            names.append(f"{t('value_' + dim, loc)} · {label}")
            data.append({"value": round(ind["contribution"], 2), "itemStyle": {"color": colors[dim]}})
    ui.echart({
        "tooltip": {"trigger": "axis"},
        # containLabel and a right margin: the longest bar's value label stays inside a phone-wide chart
        "grid": {"left": 8, "right": 56, "top": 10, "bottom": 24, "containLabel": True},
        "xAxis": {"type": "value"},
        "yAxis": {"type": "category", "data": list(reversed(names)),
                  "axisLabel": {"width": 150, "overflow": "truncate"}},
        "series": [{"type": "bar", "data": list(reversed(data)), "label": {"show": True, "position": "right"}}],
    }).classes("w-full").style(f"height: {24 * len(names) + 50}px")  # fmt: skip


@ui.page("/value")
async def value_page(customer: str = "") -> None:
    """The customer value page of the signed-in tenant."""
    ctx = session.require(Permission.value_read)
    if ctx is None:
        return
    loc = ctx.locale
    frame(ctx, "value_nav")
    await ui.context.client.connected(timeout=60)  # the first read of a large snapshot outlasts the 3 s build limit
    try:
        d = await session.history_call(ctx.tenant_id, page_data, ctx.tenant_id, customer.strip() or None)  # lake if set
    except CallopsError as exc:
        key = "value_not_found" if customer else "value_no_scores"
        data_attrs(ui.label(t(key, loc)), test="value-empty")
        ui.label(str(exc)).classes("co-muted")
        return
    meta, prof = d["meta"], d["profile"]
    with ui.row().classes("items-end gap-3"):
        c_in = ui.input(t("value_customer", loc), value=d["customer_id"]).props("dense outlined").classes("w-48")
        ui.button(icon="search", on_click=checked(ctx, Permission.value_read)(
            lambda: ui.navigate.to(f"/value?customer={c_in.value}"))).props("unelevated")
    classes = meta["classes"]
    ui.label(t("value_classes", loc)).classes("text-h6")
    ui.echart({
        "tooltip": {"trigger": "item"},
        "series": [{"type": "pie", "radius": ["35%", "65%"],
                    "data": [{"name": value_label("value_class", k, loc), "value": v} for k, v in classes.items()]}],
    }).classes("w-full h-56")  # fmt: skip
    value = prof.get("value")
    with ui.row().classes("w-full gap-4"):
        with ui.card().classes("w-full md:w-[48%]"):
            ui.label(f"{t('value_profile', loc)} · {d['customer_id']}").classes("text-h6")
            if value:
                data_attrs(ui.label(f"{t('value_score', loc)} {value['score']:.1f} · {t('value_class', loc)} "
                                    f"{value_label('value_class', value['class'], loc)} · {t('value_route', loc)} "
                                    f"{value_label('value_route', value['route'], loc)}"),
                           test="value-score")  # fmt: skip
            for k in PROFILE_KEYS:
                v = prof["features"].get(k)
                shown = "—" if v is None else round(v, 2) if isinstance(v, float) else v  # no "None" on screen
                data_attrs(ui.label(f"{t('value_f_' + k, loc)}: {shown}"), feature=k).classes("co-muted")
        with ui.card().classes("w-full md:w-[48%]"):
            ui.label(t("value_tags", loc)).classes("text-h6")
            with ui.row().classes("gap-2"):
                if not prof["tags"]:
                    ui.label(t("value_no_tags", loc)).classes("co-muted")
                for tag in prof["tags"]:
                    data_attrs(ui.chip(tag["label"]["zh-CN" if loc.startswith("zh") else "en"]), tag=tag["id"])
            dec = d["decision"]
            if dec:
                ui.label(t("value_decision", loc)).classes("text-subtitle1 q-mt-md")
                name = dec.get("strategy_label", {}).get("zh-CN" if loc.startswith("zh") else "en") or dec["strategy"]
                ui.label(f"{name} → {value_label('value_route', dec['route'], loc)}")
                ui.label(dec["guidance"]["zh-CN" if loc.startswith("zh") else "en"]).classes("co-muted")
    if ctx.can(Permission.kb_read):  # knowledge suggestions for the last contact's reason (issue 15)
        from callops.ui.pages_knowledge import customer_panel

        await customer_panel(ctx, d["customer_id"], d["decision"])
    if value:
        ui.label(t("value_explain", loc)).classes("text-h6")
        _explain_chart(value, loc)
    ui.label(t("value_timeline", loc)).classes("text-h6")
    cols = [{"name": k, "label": t(lab, loc), "field": k} for k, lab in
            (("ts", "value_when"), ("kind", "value_kind"), ("channel", "value_channel"), ("what", "value_what"),
             ("detail", "value_detail"))]  # fmt: skip
    rows = [{**r, "ts": r["ts"][:16].replace("T", " ")} for r in prof["timeline"]]
    empty_text(ui.table(columns=cols, rows=rows).classes("w-full").props("dense"), loc)
    await _balance_section(ctx.tenant_id, loc)
    tasks = care_rows(ctx.tenant_id)
    ui.label(t("value_care", loc)).classes("text-h6")
    by_team: dict[str, dict[str, int]] = {}
    for task in tasks:
        by_team.setdefault(task["team"], {}).setdefault(task["status"], 0)
        by_team[task["team"]][task["status"]] += 1
    teams = sorted(by_team)
    ui.echart({
        "tooltip": {"trigger": "axis"}, "legend": {"top": 0},
        "grid": {"left": 100, "right": 16, "top": 30, "bottom": 24},
        "xAxis": {"type": "value"}, "yAxis": {"type": "category", "data": teams},
        "series": [{"name": st, "type": "bar", "stack": "s", "data": [by_team[tm].get(st, 0) for tm in teams]}
                   for st in ("open", "contacted", "resolved")],
    }).classes("w-full").style(f"height: {40 * len(teams) + 80}px")  # fmt: skip
    if ctx.can(Permission.value_manage):
        _care_worklist(ctx, [task for task in tasks if task["status"] != "resolved"])


def _care_worklist(ctx: session.Ctx, tasks: list[dict[str, Any]], limit: int = 20) -> None:
    """The oldest unresolved care tasks, each with buttons that move it on (value:manage, audited)."""
    from callops.value.care import NEXT, update_task

    loc = ctx.locale

    # the token may be revoked or the role changed while the page stays open: re-check at every click
    @checked(ctx, Permission.value_manage)
    def move(task_id: int, status: str) -> None:
        try:
            with session.store().session() as s:
                update_task(s, ctx.tenant_id, ctx.user_name, task_id, status)
        except CallopsError as exc:
            ui.notify(str(exc), type="warning")
            return
        ui.notify(t("value_care_moved", loc), type="positive")
        ui.navigate.reload()

    ui.label(t("value_care_work", loc)).classes("text-h6")
    for task in sorted(tasks, key=lambda x: x["id"])[:limit]:
        with data_attrs(ui.row().classes("w-full items-center gap-2"), test="care-task", task=task["id"],
                        status=task["status"]):  # fmt: skip
            ui.label(f"{task['customer_id']} · {task['team']} · {task['rule']}").classes("grow")
            with ui.row().classes("gap-1 no-wrap"):
                for status in ("contacted", "resolved"):
                    if status in NEXT[task["status"]]:
                        data_attrs(ui.button(t(f"value_care_{status}", loc),
                                             on_click=lambda tid=task["id"], st=status: move(tid, st)).props(
                            "dense outline"), test="care-move", task=task["id"], to=status)  # fmt: skip


async def _balance_section(tenant_id: str, loc: str, calls: float = 600, aht: float = 240, agents: int = 82,
                           patience: float = 120) -> None:  # fmt: skip
    """Service level against the diversion share (simulated, 95 % intervals), the tenant's share marked."""
    from nicegui import run

    ui.label(t("value_balance", loc)).classes("text-h6")
    d = await run.io_bound(balance_data, tenant_id, calls, aht, agents, patience)
    own = d["own"]["diversion_share"]
    ui.label(t("value_balance_text", loc).format(c=calls, a=aht, n=agents, p=patience, s=own)).classes("co-muted")
    from callops.value.decide import diversion_counts

    today = diversion_counts(tenancy.Tenant(tenant_id, session.tenant_zone(tenant_id), None))  # type: ignore[arg-type]
    share = "—" if today["diverted_share"] is None else f"{today['diverted_share']:.1%}"
    data_attrs(ui.label(t("value_diverted", loc).format(d=today["decisions"], v=today["diverted"], s=share)),
               test="value-diverted")  # fmt: skip
    from callops.realtime.hub import open_hubs

    hub = open_hubs().get(tenant_id)  # the live engine's own count (contact.diverted), when this process runs it
    live = hub.diversions() if hub is not None else {}
    if live:
        per: dict[str, int] = {}
        for reasons in live.values():
            for r, n in reasons.items():
                per[r] = per.get(r, 0) + n
        data_attrs(ui.label(t("value_live_diverted", loc).format(
            v=sum(per.values()), r=", ".join(f"{r} {n:,}" for r, n in sorted(per.items())))),
            test="value-live-diverted")  # fmt: skip
    rows = d["rows"]
    ui.echart({
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 50, "right": 16, "top": 20, "bottom": 30},
        "xAxis": {"type": "category", "data": [f"{r['share']:.0%}" if r["share"] != own else f"{r['share']:.1%} ★"
                                               for r in rows]},
        "yAxis": {"type": "value", "min": 0, "max": 100},
        "series": [
            {"type": "line", "name": "SL %", "data": [round(100 * r["service_level"]["mean"], 1) for r in rows]},
            {"type": "line", "name": "95% low", "lineStyle": {"type": "dashed"}, "showSymbol": False,
             "data": [round(100 * r["service_level"]["ci_low"], 1) for r in rows]},
            {"type": "line", "name": "95% high", "lineStyle": {"type": "dashed"}, "showSymbol": False,
             "data": [round(100 * r["service_level"]["ci_high"], 1) for r in rows]},
        ],
    }).classes("w-full h-56")  # fmt: skip
