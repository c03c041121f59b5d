"""Alerts and plans: open alerts with their level history, acknowledge/resolve, active plans with steps to
approve or reject, and the tenant's audit trail. Every action is written to the store's audit log."""

from __future__ import annotations

from typing import Any

from nicegui import run, ui

from callops.errors import CallopsError
from callops.realtime.hub import hub_for
from callops.store.roles import Permission
from callops.ui import session
from callops.ui.guard import checked, data_attrs
from callops.ui.i18n import local_time, number, t, value_label
from callops.ui.layout import LEVEL_NAMES, frame, level_badge
from callops.ui.localized import empty_text


def _audit(ctx: session.Ctx, action: str, object_type: str, object_id: str, before: Any, after: Any) -> None:
    from callops.store import audit

    with session.store().session() as s:
        audit.record(s, ctx.tenant_id, ctx.user_name, action, object_type, object_id, before, after)


def _level(value: int | str | None) -> str | None:
    if isinstance(value, int):
        return LEVEL_NAMES[value - 1] if value else None
    return value


@ui.page("/alerts")
def alerts_page() -> None:
    """Open alerts, active plans and the audit trail."""
    ctx = session.require(Permission.live_read)
    if ctx is None:
        return
    loc, zone = ctx.locale, ctx.timezone
    frame(ctx, "nav_alerts")
    hub = hub_for(ctx.tenant_id, ctx.timezone)
    can_act, can_decide = ctx.can(Permission.alerts_act), ctx.can(Permission.plans_decide)

    # in a worker thread: on a cluster member's tenant the hub waits for the member to confirm (follower.py)
    @checked(ctx, Permission.alerts_act)
    async def act(kind: str, alert_id: str, note: str | None = None) -> None:
        try:
            before = hub.alert(alert_id)
            after = await (
                run.io_bound(hub.acknowledge, alert_id, ctx.user_name)
                if kind == "ack"
                else run.io_bound(hub.resolve, alert_id, ctx.user_name, note)
            )
        except CallopsError as exc:
            ui.notify(str(exc), type="negative")
            return
        _audit(
            ctx,
            f"alert.{'acknowledge' if kind == 'ack' else 'resolve'}",
            "alert",
            alert_id,
            {"status": before["status"]},
            {"status": after["status"], "note": note},
        )
        ui.notify(f"{t('acknowledge' if kind == 'ack' else 'resolve', loc)}: {alert_id}", type="positive")
        render.refresh()

    @checked(ctx, Permission.plans_decide)
    async def decide(activation_id: str, step: str, approve: bool) -> None:
        try:
            await run.io_bound(hub.decide, activation_id, step, approve, ctx.user_name)
        except CallopsError as exc:
            ui.notify(str(exc), type="negative")
            return
        _audit(
            ctx,
            f"plan.{'approve' if approve else 'reject'}",
            "plan_step",
            f"{activation_id}#{step}",
            None,
            {"step": step, "approved": approve},
        )
        render.refresh()

    @ui.refreshable
    def render() -> None:
        ui.label(t("alerts_open", loc)).classes("text-h6")
        alerts = hub.alerts()
        if not alerts:
            ui.label(t("alerts_none", loc)).classes("text-grey-7")
        for a in alerts:
            with data_attrs(ui.card().classes("w-full p-3"), alert=a["alert_id"], status=a["status"]):
                with ui.row().classes("items-center w-full gap-2"):
                    level_badge(a["level"], loc)
                    ui.label(f"{a['rule']} · {a['scope']}:{a['key']}").classes("font-medium")
                    ui.label(f"{t('status', loc)}: {value_label('alert_status', a['status'], loc)}").classes("co-muted")
                    ui.space()
                    ui.label(f"{t('opened_at', loc)} {local_time(a['opened_at'], zone)}").classes("co-muted")
                if a["acknowledged_by"]:
                    ui.label(
                        f"{t('acknowledged_by', loc)}: {a['acknowledged_by']} "
                        f"({local_time(a['acknowledged_at'], zone)})"
                    ).classes("co-muted")
                with ui.expansion(t("history", loc)).classes("w-full"):
                    for h in a["history"]:
                        with ui.row().classes("items-center gap-2"):
                            ui.label(local_time(h["at"], zone, "%H:%M:%S")).classes("co-muted w-20")
                            level_badge(h["level"], loc)
                            value = "" if h.get("value") is None else f"{h['value']:.3g} / {h.get('threshold')}"
                            ui.label(f"{value_label('alert_event', h['kind'], loc)} {value} {h.get('by') or ''}")
                if can_act:
                    with ui.row().classes("gap-2"):
                        if a["status"] == "open":
                            ui.button(
                                t("acknowledge", loc), icon="done", on_click=lambda a=a: act("ack", a["alert_id"])
                            ).props('unelevated dense data-test="ack"')
                        note = ui.input(t("resolve_note", loc)).props("dense outlined").classes("w-56")
                        ui.button(
                            t("resolve", loc),
                            icon="task_alt",
                            on_click=lambda a=a, note=note: act("resolve", a["alert_id"], note.value or None),
                        ).props('outline dense data-test="resolve"')

        ui.label(t("plans_active", loc)).classes("text-h6 mt-4")
        acts = hub.activations()
        if not acts:
            ui.label(t("plans_none", loc)).classes("text-grey-7")
        for act_ in acts:
            rec = act_["recommendation"]
            with data_attrs(ui.card().classes("w-full p-3"), activation=act_["activation_id"]):
                with ui.row().classes("items-center gap-2 w-full"):
                    level_badge(_level(act_["level"]), loc)
                    ui.label(f"{act_['plan']} · {t('queue', loc)} {act_['queue']}").classes("font-medium")
                    ui.space()
                    ui.label(local_time(act_["at"], zone)).classes("co-muted")
                ui.label(
                    f"{t('projected_sl', loc)}: {number(rec['before']['service_level'], 'ratio')} → "
                    f"{number(rec['after']['service_level'], 'ratio')} "
                    f"({t('target', loc)} {number(rec['target_sl'], 'ratio')})"
                ).classes("text-primary")
                for step in rec["steps"]:
                    with data_attrs(ui.card().classes("w-full p-2 bg-grey-1"), step=step["kind"]):
                        with ui.row().classes("items-center gap-2 w-full"):
                            ui.label(f"{t('step', loc)}: {value_label('step', step['kind'], loc)}").classes(
                                "font-medium"
                            )
                            data_attrs(ui.badge(value_label("step_status", step["status"], loc)).props("outline"),
                                       step_status=step["status"])
                            ui.space()
                            if can_decide and step["status"] == "pending_approval":
                                aid, kind = act_["activation_id"], step["kind"]
                                ui.button(t("approve", loc), on_click=lambda a=aid, k=kind: decide(a, k, True)).props(
                                    'dense unelevated color=positive data-test="approve"'
                                )
                                ui.button(t("reject", loc), on_click=lambda a=aid, k=kind: decide(a, k, False)).props(
                                    'dense outline color=negative data-test="reject"'
                                )
                        if step["note"]:
                            ui.label(step["note"]).classes("co-muted")
                        if step["agents"]:
                            names = ", ".join(
                                f"{g['name']} ({g['agent_id']}, {g['current_queue']})" for g in step["agents"]
                            )
                            ui.label(f"{t('recommended_agents', loc)}: {names}").classes("text-sm")
                        if step["projected"]:
                            p = step["projected"]
                            ui.label(
                                f"{t('expected_effect', loc)}: SL {number(p['service_level'], 'ratio')}, "
                                f"ASA {number(p['asa_s'], 's')}, {t('agents_working', loc)} "
                                f"{p['agents']:g}"
                            ).classes("text-sm")

        ui.label(t("audit", loc)).classes("text-h6 mt-4")
        from callops.store.audit import list_audit

        with session.store().session() as s:
            entries = [
                {
                    "at": local_time(e.at, zone),
                    "actor": e.actor,
                    "action": e.action,
                    "object": f"{e.object_type} {e.object_id or ''}",
                }
                for e in list_audit(s, ctx.tenant_id, limit=50)
            ]
        cols = [
            {"name": k, "label": t(k, loc), "field": k, "align": "left"} for k in ("at", "actor", "action", "object")
        ]
        empty_text(ui.table(columns=cols, rows=entries, row_key="at").classes("w-full").props(
            'dense flat data-test="audit"'), loc)

    render()
    # new alerts, escalations and plan steps appear without a reload (the listener must not block: count only)
    changes = {"seen": 0, "drawn": 0}

    def listener(topic: str, _message: dict) -> None:
        if topic in ("alerts", "plans"):
            changes["seen"] += 1

    ui.context.client.on_disconnect(hub.subscribe(listener))

    @checked(ctx, Permission.live_read, tick=True)
    def tick() -> None:
        if changes["seen"] != changes["drawn"]:
            changes["drawn"] = changes["seen"]
            render.refresh()

    ui.timer(1.0, tick)
