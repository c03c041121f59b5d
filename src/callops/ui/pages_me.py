"""The agent's own page "me" (issue 19), phone first: my schedule this week and next (with an iCalendar
download), my KPIs next to my team's, my adherence today, my coaching tasks, overtime/VTO offers, my requests and
those waiting for me, and a form to file a time-off, swap or trade request whose checks show at once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nicegui import ui

from callops.errors import CallopsError
from callops.people import data as pdata
from callops.people import me, requests
from callops.store.roles import Permission
from callops.ui import session
from callops.ui.guard import checked, data_attrs
from callops.ui.i18n import register_labels, t
from callops.ui.layout import frame

register_labels({
    "me_nav": ("Me", "我的"),
    "me_not_agent": ("This user is not linked to a roster agent; team leads decide requests on the Requests page.",
                     "该用户未关联坐席;组长请在“申请审批”页处理申请。"),
    "me_schedule": ("My schedule", "我的排班"),
    "me_ics": ("Add to calendar (.ics)", "加入日历 (.ics)"),
    "me_no_shifts": ("No shifts this week or next.", "本周和下周没有班次。"),
    "me_hours": ("scheduled hours", "排班小时"),
    "me_kpis": ("My KPIs (this month)", "我的指标(本月)"),
    "me_mine": ("me", "我"),
    "me_team": ("team", "团队"),
    "me_adherence_today": ("My adherence today", "今日遵从率"),
    "me_coaching": ("My coaching tasks", "我的辅导任务"),
    "me_none": ("None.", "无。"),
    "me_offers": ("Overtime / VTO offers", "加班 / 自愿休假邀请"),
    "me_requests": ("My requests", "我的申请"),
    "me_waiting": ("Waiting for me", "待我确认"),
    "me_accept": ("Accept", "接受"),
    "me_new": ("New request", "新申请"),
    "me_kind": ("Kind", "类型"),
    "me_kind_time_off": ("Time off", "休假"),
    "me_kind_swap": ("Swap with a colleague", "与同事换班"),
    "me_kind_trade": ("Give a shift to the pool", "将班次放入班次池"),
    "me_start": ("Start", "开始"),
    "me_end": ("End", "结束"),
    "me_colleague": ("Colleague", "同事"),
    "me_reason": ("Reason", "原因"),
    "me_submit": ("Check and send", "检查并提交"),
    "me_checks_ok": ("Every check passed", "全部检查通过"),
    "me_checks_fail": ("Some checks did not pass", "部分检查未通过"),
    "me_status": ("Status", "状态"),
    "me_sl": ("service level", "服务水平"),
    "me_kpi_aht_s": ("Handle time", "平均处理时长"),
    "me_kpi_adherence": ("Adherence", "排班遵从率"),
    "me_kpi_csat_mean": ("Satisfaction", "满意度"),
    "me_kpi_qa_score": ("QA score", "质检得分"),
    "me_no_live": ("Not in today's live room.", "不在今日实时监控中。"),
})

STATUS = {"pending_colleague": ("waiting for colleague", "等待同事确认"), "pending_lead": ("waiting for team lead",
          "等待组长审批"), "approved": ("approved", "已批准"), "refused": ("refused", "已拒绝"),
          "cancelled": ("cancelled", "已取消")}  # fmt: skip


def status_label(status: str, loc: str) -> str:
    """A request status in the page's language."""
    en, zh = STATUS.get(status, (status, status))
    return zh if loc == "zh-CN" else en


def _pct(v: Any) -> str:
    return "—" if v is None else f"{v:.0%}"


def _fmt(kpi: dict[str, Any], v: Any) -> str:
    if v is None:
        return "—"
    if kpi["id"] in ("adherence", "csat_top2"):
        return f"{v:.0%}"
    if kpi["id"] == "aht_s":
        return f"{v:,.0f} s"
    return f"{v:,.2f}"


def checks_view(chk: dict[str, Any], loc: str) -> None:
    """A request's checks: verdict, reasons, and the coverage figures of the intervals it touches."""
    if not chk:
        return
    ok = chk.get("ok")
    ui.label(t("me_checks_ok" if ok else "me_checks_fail", loc)).classes(
        "text-positive" if ok else "text-negative").props('data-test="checks-verdict"')  # fmt: skip
    for reason in chk.get("reasons_zh" if loc == "zh-CN" else "reasons", chk.get("reasons", []))[:6]:
        ui.label(f"• {reason}").classes("text-sm break-words").props('data-test="checks-reason"')
    cov = chk.get("coverage") or {}
    rows = [r for r in cov.get("intervals", []) if r.get("agents_after", 0) != r.get("agents_before", 0)][:8]
    for r in rows:
        ui.label(f"{r['queue']} {r['interval_start'][-5:]}: {r['agents_before']}→{r['agents_after']} · "
                 f"{t('me_sl', loc)} {_pct(r['sl_before'])}→{_pct(r['sl_after'])} ({_pct(r['target'])})"
                 ).classes("text-xs co-muted break-words")  # fmt: skip


def request_card(r: dict[str, Any], loc: str) -> None:
    """One request, compactly."""
    with data_attrs(ui.card().classes("w-full p-2"), test="request", request=r["id"], status=r["status"]):
        ui.label(f"#{r['id']} {t('me_kind_' + r['kind'], loc)} · {r['start'][:16].replace('T', ' ')} → "
                 f"{r['end'][:16].replace('T', ' ')}").classes("text-sm font-medium break-words")  # fmt: skip
        who = f"{r['agent_id']}" + (f" ⇄ {r['colleague_id']}" if r.get("colleague_id") else "")
        ui.label(f"{who} · {t('me_status', loc)}: {status_label(r['status'], loc)}").classes("text-xs co-muted")
        if r.get("decision_reason"):
            ui.label(f"{r.get('decided_by')}: {r['decision_reason']}").classes("text-xs break-words")
        checks_view(r.get("checks") or {}, loc)


@ui.page("/me")
async def me_page() -> None:
    """The agent's own page."""
    ctx = session.require(Permission.me_read)
    if ctx is None:
        return
    loc = ctx.locale
    frame(ctx, "me_nav")
    st = session.store()
    root = ui.column().classes("w-full max-w-xl mx-auto gap-3 p-1")
    with root:
        spinner = ui.spinner(size="lg")
    await ui.context.client.connected(timeout=30)

    def page_data(wh: Any) -> dict[str, Any] | None:
        try:
            _, agent = me.subject(st, wh, ctx.tenant_id, ctx.user_id)
        except CallopsError:
            return None
        aid = agent["agent_id"]
        return {"agent": agent, "sched": me.schedule(st, wh, ctx.tenant_id, aid),
                "kpis": me.kpis(st, wh, ctx.tenant_id, agent), "today": me.adherence_today(st, ctx.tenant_id, aid),
                "tasks": me.coaching(st, ctx.tenant_id, aid), "offers": me.offers(st, ctx.tenant_id, aid),
                "mine": requests.list_requests(st, wh, ctx.tenant_id, ctx.user_id),
                "team": pdata.team_agents(wh, ctx.tenant_id, agent.get("team") or "")}  # fmt: skip

    d = await session.warehouse_call(page_data)
    spinner.delete()
    if d is None:
        with root:
            ui.label(t("me_not_agent", loc)).classes("text-base").props('data-test="me-not-agent"')
        return
    agent, sched, kpis, today = d["agent"], d["sched"], d["kpis"], d["today"]
    tasks, offers, mine, team = d["tasks"], d["offers"], d["mine"], d["team"]
    aid = agent["agent_id"]

    with root:
        ui.label(f"{agent.get('name') or aid} · {agent.get('team') or ''}").classes("text-lg font-semibold") \
            .props('data-test="me-agent"')  # fmt: skip
        # --- schedule
        with ui.card().classes("w-full p-2"):
            with ui.row().classes("w-full items-center justify-between gap-2"):
                ui.label(t("me_schedule", loc)).classes("text-base font-semibold")

                @checked(ctx, Permission.me_read)
                async def download() -> None:
                    text = await session.warehouse_call(lambda wh: me.ics(st, wh, ctx.tenant_id, aid))
                    ui.download(text.encode("utf-8"), "schedule.ics", "text/calendar")

                ui.button(t("me_ics", loc), icon="event", on_click=download).props(
                    'flat dense no-caps data-test="me-ics"')  # fmt: skip
            if not sched["days"]:
                ui.label(t("me_no_shifts", loc)).classes("co-muted")
            for d in sched["days"]:
                work = [a for a in d["activities"] if a["activity"] != "off"]
                with data_attrs(ui.row().classes("w-full gap-2 items-baseline no-wrap"), test="me-day", day=d["date"]):
                    ui.label(d["date"][5:]).classes("text-sm font-medium w-12 shrink-0")
                    if work:
                        span = f"{work[0]['start'][11:16]}–{work[-1]['end'][11:16]}"
                        pauses = ", ".join(f"{a['activity']} {a['start'][11:16]}" for a in work
                                           if a["activity"] != "work")  # fmt: skip
                        ui.label(f"{span}  {pauses}").classes("text-sm break-words min-w-0")
                    else:
                        ui.label(t("me_kind_time_off", loc)).classes("text-sm co-muted")
            ui.label(f"{sched['scheduled_hours']:g} {t('me_hours', loc)}").classes("co-muted")
        # --- KPIs
        with ui.card().classes("w-full p-2"):
            ui.label(t("me_kpis", loc)).classes("text-base font-semibold")
            with ui.grid(columns=2).classes("w-full gap-2"):
                for k in kpis["kpis"]:
                    with data_attrs(ui.column().classes("gap-0 min-w-0"), test="me-kpi", kpi=k["id"]):
                        ui.label(t(f"me_kpi_{k['id']}", loc)).classes("co-muted")
                        extra = ""
                        if k.get("interval") and None not in k["interval"]:
                            extra = f" [{k['interval'][0]:.1f}, {k['interval'][1]:.1f}]"
                        ui.label(f"{_fmt(k, k['mine'])}{extra}").classes("text-lg font-semibold break-words")
                        ui.label(f"{t('me_team', loc)} {_fmt(k, k['team'])}").classes("text-xs co-muted")
        # --- today
        with ui.card().classes("w-full p-2"):
            ui.label(t("me_adherence_today", loc)).classes("text-base font-semibold")
            if today.get("available"):
                ui.label(_pct(today.get("adherence_today"))).classes("co-kpi").props('data-test="me-adherence"')
                now = today.get("scheduled_now") or "—"
                mark = "✓" if today.get("in_adherence") else f"✗ {today.get('out_s', 0) / 60:.0f} min"
                ui.label(f"{now} · {today.get('state', '')} · {mark}").classes("text-sm")
            else:
                ui.label(t("me_no_live", loc)).classes("co-muted break-words").props('data-test="me-adherence"') \
                    .tooltip(today.get("note") or "")  # fmt: skip
            ui.label(t("me_coaching", loc)).classes("text-base font-semibold mt-2")
            for task in tasks or []:
                ui.label(f"{task['follow_up_on']} · {task['status']} · {task['reason']}").classes("text-sm break-words")
            if not tasks:
                ui.label(t("me_none", loc)).classes("co-muted")
            ui.label(t("me_offers", loc)).classes("text-base font-semibold mt-2")
            for o in offers.get("offers") or []:
                ui.label(" · ".join(str(o.get(k)) for k in ("kind", "start_at", "end_at", "status") if o.get(k))) \
                    .classes("text-sm break-words").props('data-test="me-offer"')  # fmt: skip
            if not offers.get("offers"):
                ui.label(offers.get("note") or t("me_none", loc)).classes("co-muted")
        # --- requests
        waiting = [r for r in mine if r["status"] == "pending_colleague" and r["agent_id"] != aid]
        own = [r for r in mine if r["agent_id"] == aid or (r.get("colleague_id") == aid and r not in waiting)]
        if waiting:
            with ui.card().classes("w-full p-2"):
                ui.label(t("me_waiting", loc)).classes("text-base font-semibold")
                for r in waiting:
                    request_card(r, loc)

                    async def accept(rid: int = r["id"]) -> None:
                        try:
                            await session.warehouse_call(
                                lambda wh: requests.accept(st, wh, ctx.tenant_id, ctx.user_id, rid))
                        except CallopsError as exc:
                            ui.notify(str(exc), type="negative")
                            return
                        ui.navigate.reload()

                    data_attrs(ui.button(t("me_accept", loc), on_click=checked(ctx, Permission.me_request)(accept))
                               .props("dense no-caps"), test="me-accept", request=r["id"])
        with ui.card().classes("w-full p-2"):
            ui.label(t("me_requests", loc)).classes("text-base font-semibold")
            for r in own:
                request_card(r, loc)
            if not own:
                ui.label(t("me_none", loc)).classes("co-muted")
        if ctx.can(Permission.me_request):
            _form(ctx, st, aid, [a["agent_id"] for a in team if a["agent_id"] != aid], loc)


def _form(ctx: session.Ctx, st: Any, aid: str, colleagues: list[str], loc: str) -> None:
    """The new-request form; the answer (checks, status) shows below it."""
    with ui.card().classes("w-full p-2"):
        ui.label(t("me_new", loc)).classes("text-base font-semibold")
        kinds = {k: t(f"me_kind_{k}", loc) for k in ("time_off", "swap", "trade")}
        kind = ui.select(kinds, value="time_off", label=t("me_kind", loc)).props(
            'dense outlined data-test="req-kind"').classes("w-full")  # fmt: skip
        start = ui.input(t("me_start", loc)).props('type=datetime-local dense outlined data-test="req-start"') \
            .classes("w-full")  # fmt: skip
        end = ui.input(t("me_end", loc)).props('type=datetime-local dense outlined data-test="req-end"') \
            .classes("w-full")  # fmt: skip
        colleague = ui.select(colleagues, label=t("me_colleague", loc)).props(
            'dense outlined data-test="req-colleague"').classes("w-full")  # fmt: skip
        colleague.bind_visibility_from(kind, "value", backward=lambda v: v == "swap")
        reason = ui.input(t("me_reason", loc)).props('dense outlined data-test="req-reason"').classes("w-full")
        answer = ui.column().classes("w-full gap-1")

        @checked(ctx, Permission.me_request)
        async def submit() -> None:
            answer.clear()
            try:
                s = datetime.fromisoformat(start.value or "")
                e = datetime.fromisoformat(end.value or "")
            except ValueError:
                with answer:
                    ui.label(f"{t('me_start', loc)} / {t('me_end', loc)}?").classes("text-negative")
                return
            try:
                got = await session.warehouse_call(lambda wh: requests.file_request(
                    st, wh, ctx.tenant_id, ctx.user_id, kind.value, s, e, reason.value,
                    colleague.value if kind.value == "swap" else None))  # fmt: skip
            except CallopsError as exc:
                with answer:
                    ui.label(str(exc)).classes("text-negative break-words").props('data-test="req-refused"')
                return
            with answer:
                request_card(got, loc)

        ui.button(t("me_submit", loc), on_click=submit).props('no-caps data-test="req-submit"').classes("w-full")
