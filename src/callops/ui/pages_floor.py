"""The team lead's floor (issue 19): who is out of adherence now (with exceptions and alert levels), the month's
attendance per team and agent, HR cases, and overtime/VTO offers with the service level they buy or cost.
Recording an exception, working a case and proposing offers need ``floor:manage`` (re-checked at the click).
Phone-first: every section is a column of wrapping rows, never a wide table. zh-CN and en labels are here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from nicegui import ui

from callops.errors import CallopsError
from callops.store.roles import Permission, Role
from callops.ui import session
from callops.ui.guard import checked, data_attrs
from callops.ui.i18n import local_time, number, register_labels, t
from callops.ui.layout import frame

register_labels({
    "floor_nav": ("Floor", "现场管理"),
    "floor_adherence": ("Adherence now", "实时排班遵从"),
    "floor_adherence_sum": ("{o} of {n} scheduled agents out of adherence (alert after {s:g} s)",
                            "{n} 名排班坐席中 {o} 名未遵从（超过 {s:g} 秒告警）"),
    "floor_out_for": ("out for", "已偏离"),
    "floor_in": ("in adherence", "遵从"),
    "floor_scheduled": ("scheduled", "排班"),
    "floor_today": ("today", "今日"),
    "floor_exception": ("Record an exception", "登记例外"),
    "floor_agent": ("Agent", "坐席"),
    "floor_kind": ("Kind", "类型"),
    "floor_minutes": ("Minutes from now", "自现在起分钟数"),
    "floor_record": ("Record", "登记"),
    "floor_recorded": ("Exception recorded", "例外已登记"),
    "floor_attendance": ("Attendance this month", "本月出勤"),
    "floor_rate": ("attendance", "出勤率"),
    "floor_late": ("late", "迟到"),
    "floor_early": ("left early", "早退"),
    "floor_absent": ("absent", "缺勤"),
    "floor_conformance": ("conformance", "符合度"),
    "floor_adh_short": ("adherence", "遵从率"),
    "floor_cases": ("HR cases", "人事案例"),
    "floor_run_rules": ("Run the HR rules", "执行人事规则"),
    "floor_cases_opened": ("{n} new case(s)", "新增 {n} 个案例"),
    "floor_start_case": ("Take", "受理"),
    "floor_close_case": ("Close", "结案"),
    "floor_offers": ("Overtime and VTO", "加班与自愿休假"),
    "floor_propose": ("Propose from the next 4 hours", "根据未来 4 小时提出建议"),
    "floor_proposed": ("{n} offer(s) proposed", "已提出 {n} 项建议"),
    "floor_none": ("Nothing here yet.", "暂无内容。"),
    "floor_kind_overtime": ("overtime", "加班"),
    "floor_kind_vto": ("VTO", "自愿休假"),
    "floor_status_open": ("open", "待处理"),
    "floor_status_in_progress": ("in progress", "处理中"),
    "floor_status_closed": ("closed", "已结案"),
    "floor_status_dismissed": ("dismissed", "已驳回"),
    "floor_status_accepted": ("accepted", "已接受"),
    "floor_status_declined": ("declined", "已拒绝"),
    "floor_status_withdrawn": ("withdrawn", "已撤回"),
    "floor_status_expired": ("expired", "已过期"),
})
KINDS = ("meeting", "coaching", "training", "system", "other")
SHOW = 40  # agents listed in the adherence section (worst first)


def _team(ctx: session.Ctx) -> str | None:
    """A team lead's own team (None: the whole tenant)."""
    if ctx.role != Role.team_lead:
        return None
    from callops.store.users import get_user

    with session.store().session() as s:
        return get_user(s, ctx.tenant_id, ctx.user_id).team


def attendance_data(wh: Any, tenant_id: str, team: str | None) -> dict[str, Any]:
    """This month up to yesterday (the whole of last month on the 1st), per team and agent."""
    from callops import tenancy
    from callops.people.attendance import attendance_report
    from callops.people.floor_settings import load_settings

    zone = ZoneInfo(tenancy.get_tenant(wh, tenant_id).timezone)
    end = datetime.now(zone).date() - timedelta(days=1)
    cfg = load_settings(tenant_id).attendance
    return attendance_report(wh, tenant_id, end.replace(day=1), end, cfg.late_grace_s, cfg.early_grace_s, team)


@ui.page("/floor")
async def floor_page() -> None:
    """Adherence now, exceptions, attendance, HR cases, overtime/VTO offers."""
    ctx = session.require(Permission.floor_read)
    if ctx is None:
        return
    loc = ctx.locale
    frame(ctx, "floor_nav")
    team = _team(ctx)
    _adherence(ctx, team)
    if ctx.can(Permission.floor_manage):
        _exception_form(ctx)
    try:
        att = await session.warehouse_call(attendance_data, ctx.tenant_id, team)
    except CallopsError as exc:
        att = None
        ui.label(str(exc)).classes("co-muted")
    _attendance(att, loc)
    _cases(ctx, team)
    _offers(ctx, team)


def _adherence(ctx: session.Ctx, team: str | None) -> None:
    from callops.people.adherence import adherence_now
    from callops.realtime.hub import hub_for

    loc = ctx.locale
    ui.label(t("floor_adherence", loc)).classes("text-h6")
    doc = adherence_now(hub_for(ctx.tenant_id, ctx.timezone), session.store(), team)
    rows = doc["agents"]
    ui.label(t("floor_adherence_sum", loc).format(o=doc["out_of_adherence"], n=len(rows), s=doc["threshold_s"])
             ).classes("co-muted").props('data-test="floor-adherence-sum"')  # fmt: skip
    if not rows:
        ui.label(t("floor_none", loc)).classes("text-grey-7")
    with data_attrs(ui.column().classes("w-full gap-1"), test="floor-adherence"):
        for r in rows[:SHOW]:
            colour = {"yellow": "bg-yellow-2", "orange": "bg-orange-3", "red": "bg-red-3"}.get(r["alert_level"] or "",
                                                                                               "")  # fmt: skip
            with data_attrs(ui.row().classes(f"w-full items-center gap-2 wrap px-2 py-1 rounded {colour}"),
                            test="floor-agent", agent=r["agent_id"], in_adherence=str(r["in_adherence"]).lower(),
                            level=r["alert_level"] or "none"):  # fmt: skip
                ui.label(r["agent_id"]).classes("font-semibold")
                ui.label(f"{r['state']} / {t('floor_scheduled', loc)} {r['scheduled_now'] or '—'}").classes("co-muted")
                if r["in_adherence"]:
                    ui.label(t("floor_in", loc)).classes("co-muted")
                else:
                    ui.label(f"{t('floor_out_for', loc)} {number(r['out_s'], 's', 0)}")
                if r["exception"]:
                    ui.badge(r["exception"]).props("outline")
                ui.label(f"{t('floor_today', loc)} {number(r['adherence_today'], 'ratio')}").classes("co-muted")


def _exception_form(ctx: session.Ctx) -> None:
    from callops.people.adherence import record_exception
    from callops.realtime.hub import hub_for

    loc = ctx.locale

    @checked(ctx, Permission.floor_manage)
    def record() -> None:
        agent = (agent_in.value or "").strip()
        try:
            minutes = float(minutes_in.value or 30)
            if not agent or not 0 < minutes <= 24 * 60:
                raise CallopsError("give an agent and 1 to 1440 minutes")
            clock = hub_for(ctx.tenant_id, ctx.timezone).engine.state.now  # the live room's time (a replay's too)
            now = datetime.fromtimestamp(clock, UTC) if clock > float("-inf") else datetime.now(UTC)
            record_exception(session.store(), ctx.tenant_id, agent, kind_in.value, now,
                             now + timedelta(minutes=minutes), ctx.user_name)  # fmt: skip
        except CallopsError as exc:
            ui.notify(str(exc), type="warning")
            return
        ui.notify(t("floor_recorded", loc), type="positive")

    ui.label(t("floor_exception", loc)).classes("text-subtitle1")
    with ui.row().classes("w-full items-end gap-2 wrap"):
        agent_in = data_attrs(ui.input(t("floor_agent", loc)).props("dense outlined").classes("w-32"),
                              test="floor-exc-agent")
        kind_in = data_attrs(ui.select(list(KINDS), value="meeting", label=t("floor_kind", loc)).props("dense")
                             .classes("w-32"), test="floor-exc-kind")  # fmt: skip
        minutes_in = data_attrs(ui.number(t("floor_minutes", loc), value=30, min=1, max=1440).props("dense")
                                .classes("w-32"), test="floor-exc-minutes")  # fmt: skip
        data_attrs(ui.button(t("floor_record", loc), on_click=record).props("unelevated"), test="floor-exc-record")


def _attendance(att: dict[str, Any] | None, loc: str) -> None:
    ui.label(t("floor_attendance", loc)).classes("text-h6")
    if not att or not att["agents"]:
        ui.label(t("floor_none", loc)).classes("text-grey-7")
        return

    def line(name: str, r: dict[str, Any], test: str) -> None:
        with data_attrs(ui.row().classes("w-full gap-2 wrap items-center"), test=test, key=name or "—"):
            ui.label(name or "—").classes("font-semibold")
            ui.label(f"{t('floor_rate', loc)} {number(r['attendance_rate'], 'ratio')}")
            ui.label(f"{t('floor_adh_short', loc)} {number(r['adherence'], 'ratio')}").classes("co-muted")
            ui.label(f"{t('floor_conformance', loc)} {number(r['conformance'], 'ratio')}").classes("co-muted")
            ui.label(f"{t('floor_late', loc)} {r['late_starts']} · {t('floor_early', loc)} {r['early_leaves']} · "
                     f"{t('floor_absent', loc)} {r['absences']}").classes("co-muted")

    ui.label(f"{att['start']} – {att['end']}").classes("co-muted")
    for r in att["teams"]:
        line(r["team"], r, "floor-team")
    worst = sorted(att["agents"], key=lambda r: -(r["absences"] * 3 + r["late_starts"] + r["early_leaves"]))[:10]
    for r in worst:
        line(r["agent_id"], r, "floor-att-agent")


def _cases(ctx: session.Ctx, team: str | None) -> None:
    from callops.people import hr_cases

    loc = ctx.locale
    ui.label(t("floor_cases", loc)).classes("text-h6")
    manage = ctx.can(Permission.floor_manage)

    @checked(ctx, Permission.floor_manage)
    def run_rules() -> None:
        def fire(wh: Any) -> dict[str, Any]:
            from callops import tenancy

            zone = ZoneInfo(tenancy.get_tenant(wh, ctx.tenant_id).timezone)
            end = datetime.now(zone).date() - timedelta(days=1)
            return hr_cases.fire_rules(session.store(), wh, ctx.tenant_id, end.replace(day=1), end, ctx.user_name)

        try:
            got = session.with_warehouse(fire)
        except CallopsError as exc:
            ui.notify(str(exc), type="warning")
            return
        ui.notify(t("floor_cases_opened", loc).format(n=got["new"]), type="positive")
        cases_list.refresh()

    def set_status(case_id: int, status: str) -> None:
        @checked(ctx, Permission.floor_manage)
        def go() -> None:
            hr_cases.update_case(session.store(), ctx.tenant_id, case_id, ctx.user_name, status)
            cases_list.refresh()

        return go  # type: ignore[return-value]

    if manage:
        data_attrs(ui.button(t("floor_run_rules", loc), on_click=run_rules).props("outline"), test="floor-run-rules")

    @ui.refreshable
    def cases_list() -> None:
        rows = hr_cases.list_cases(session.store(), ctx.tenant_id, team=team)
        if not rows:
            ui.label(t("floor_none", loc)).classes("text-grey-7")
        for c in rows[:30]:
            with data_attrs(ui.card().classes("w-full p-2 gap-1"), test="floor-case", case=c["id"],
                            status=c["status"]):  # fmt: skip
                label = c["evidence"].get("label", {}).get("zh-CN" if loc == "zh-CN" else "en") or c["rule"]
                ui.label(f"{c['agent_id']} · {label} · {c['period']}").classes("font-semibold")
                ui.label(f"{t('floor_status_' + c['status'], loc)} · {c['owner']} · "
                         f"{', '.join(c['evidence'].get('days', []))}").classes("co-muted")
                if manage and c["status"] in ("open", "in_progress"):
                    with ui.row().classes("gap-2"):
                        if c["status"] == "open":
                            take = set_status(c["id"], "in_progress")
                            data_attrs(ui.button(t("floor_start_case", loc), on_click=take).props("flat dense"),
                                       test="floor-case-take")
                        data_attrs(ui.button(t("floor_close_case", loc), on_click=set_status(c["id"], "closed"))
                                   .props("flat dense"), test="floor-case-close")  # fmt: skip

    cases_list()


def _offers(ctx: session.Ctx, team: str | None) -> None:
    from callops.people import overtime
    from callops.realtime.hub import hub_for

    loc = ctx.locale
    ui.label(t("floor_offers", loc)).classes("text-h6")

    @checked(ctx, Permission.floor_manage)
    def propose() -> None:
        try:
            got = overtime.propose(session.store(), hub_for(ctx.tenant_id, ctx.timezone), ctx.user_name, 4.0)
        except CallopsError as exc:
            ui.notify(str(exc), type="warning")
            return
        ui.notify(t("floor_proposed", loc).format(n=len(got["offers"])), type="positive")
        offers_list.refresh()

    if ctx.can(Permission.floor_manage):
        data_attrs(ui.button(t("floor_propose", loc), on_click=propose).props("outline"), test="floor-propose")

    @ui.refreshable
    def offers_list() -> None:
        hub = hub_for(ctx.tenant_id, ctx.timezone)
        rows = overtime.list_offers(session.store(), ctx.tenant_id, zone=hub.engine.state.zone)
        if team is not None:
            roster = hub.engine.state.roster
            rows = [r for r in rows if r["agent_id"] in roster and roster[r["agent_id"]].team == team]
        if not rows:
            ui.label(t("floor_none", loc)).classes("text-grey-7")
        for o in rows[:30]:
            with data_attrs(ui.row().classes("w-full gap-2 wrap items-center"), test="floor-offer", offer=o["id"],
                            kind=o["kind"], status=o["status"]):  # fmt: skip
                ui.label(f"{t('floor_kind_' + o['kind'], loc)} · {o['agent_id']}").classes("font-semibold")
                ui.label(f"{local_time(o['start_at'], ctx.timezone, '%H:%M')}–"
                         f"{local_time(o['end_at'], ctx.timezone, '%H:%M')}")
                ui.label(f"{number(o['sl_before'], 'ratio')} → {number(o['sl_after'], 'ratio')}").classes("co-muted")
                ui.label(t("floor_status_" + o["status"], loc)).classes("co-muted")

    offers_list()
