"""Alert rules (issue 16, P4): a manager writes an indicator alert rule (``rules:``) or a live alert rule
(``alerts:``: levels, hysteresis, recipients), sees it checked as they type, replays it over the last 7 days
("would have fired 12 times, red twice") and saves it as a new, audited version; saved live rules reach the
running live engine at once."""

from __future__ import annotations

from nicegui import ui

from callops.errors import CallopsError
from callops.rules import service
from callops.rules.live import reach_running_hubs
from callops.store import documents
from callops.store.roles import Permission
from callops.ui import session
from callops.ui.guard import checked, data_attrs
from callops.ui.i18n import local_time, register_labels, t
from callops.ui.layout import frame

register_labels({
    "rules_nav": ("Alert rules", "告警规则"),
    "rules_name": ("Rule name", "规则名称"),
    "rules_text": ("Rule (YAML)", "规则 (YAML)"),
    "rules_ok": ("Valid", "校验通过"),
    "rules_preview": ("Replay last 7 days", "回放最近 7 天"),
    "rules_save": ("Save new version", "保存新版本"),
    "rules_saved": ("Saved as version", "已保存为版本"),
    "rules_saved_list": ("Saved rules", "已保存的规则"),
    "rules_none": ("No saved rules yet.", "还没有保存的规则。"),
    "rules_fired": ("alerts", "次告警"),
    "rules_live_example": ("Live rule example", "实时规则示例"),
    "rules_indicator_example": ("Indicator rule example", "指标规则示例"),
    "rules_live_ok": ("live", "实时"),
})

EXAMPLE = """rules:
  - id: abandon_daily
    metric: abandon_rate
    window: {grain: day}
    levels: {yellow: 0.05, orange: 0.08, red: 0.12}
"""
LIVE_EXAMPLE = """alerts:
  - name: long-wait-billing
    measure: longest_wait_s
    scope: queue
    only: [billing]
    levels: {yellow: 45, red: 120}
    clear: {yellow: 20, red: 60}
    clear_after_s: 60
    recipients:
      - {channel: inapp, to: ["role:dispatcher"], levels: [red]}
"""


@ui.page("/rules")
async def rules_page() -> None:
    """Write, check, replay and save indicator alert rules."""
    ctx = session.require(Permission.alerts_act)
    if ctx is None:
        return
    loc = ctx.locale
    frame(ctx, "rules_nav")
    with ui.card().classes("w-full"):
        name_in = data_attrs(ui.input(t("rules_name", loc), value="abandon_daily").props("dense outlined")
                             .classes("w-64 max-w-full"), test="rule-name")  # fmt: skip
        text_in = data_attrs(ui.textarea(t("rules_text", loc), value=EXAMPLE).props("outlined autogrow")
                             .classes("w-full font-mono"), test="rule-text")  # fmt: skip
        status = data_attrs(ui.label("").classes("text-sm"), test="rule-status")

        def on_type() -> None:
            try:
                indicator, live = service.check_all(text_in.value or "")
            except CallopsError as exc:
                status.set_text(str(exc))
                status.classes(replace="text-sm text-negative")
                return
            ids = [r.id for r in indicator.rules] + [f"{r.name} ({t('rules_live_ok', loc)})" for r in live]
            status.set_text(f"{t('rules_ok', loc)}: {', '.join(ids)}")
            status.classes(replace="text-sm text-positive")

        # fires on every keystroke: tick=True reuses a successful session check for a couple of seconds
        text_in.on_value_change(checked(ctx, Permission.alerts_act, tick=True)(lambda _e: on_type()))
        on_type()
        result = data_attrs(ui.column().classes("w-full gap-1"), test="rule-preview")

        @checked(ctx, Permission.alerts_act)
        async def preview() -> None:
            result.clear()
            try:
                out = await session.warehouse_call(service.preview, ctx.tenant_id, text_in.value or "")
            except CallopsError as exc:
                with result:
                    ui.label(str(exc)).classes("text-negative")
                return
            with result:
                for r in out["rules"]:
                    data_attrs(ui.label(f"{r['rule']}: {r['text']} ({r['evaluations']} × {r['metric']})"),
                               fired=r["fired"])  # fmt: skip

        @checked(ctx, Permission.alerts_act)
        def save() -> None:
            try:
                with session.store().session() as s:
                    doc = service.save(s, ctx.tenant_id, (name_in.value or "").strip(), text_in.value or "",
                                       f"user:{ctx.user_name}")  # fmt: skip
            except CallopsError as exc:
                ui.notify(str(exc), type="negative")
                return
            reach_running_hubs(session.store(), ctx.tenant_id)  # saved live rules run from now on
            ui.notify(f"{t('rules_saved', loc)} {doc.version}", type="positive")
            saved.refresh()

        with ui.row().classes("gap-2 flex-wrap"):
            data_attrs(ui.button(t("rules_preview", loc), icon="history", on_click=preview).props("outline"),
                       test="rule-replay")  # fmt: skip
            data_attrs(ui.button(t("rules_save", loc), icon="save", on_click=save).props("unelevated"),
                       test="rule-save")  # fmt: skip
            data_attrs(ui.button(t("rules_live_example", loc), icon="bolt",
                                 on_click=lambda: text_in.set_value(LIVE_EXAMPLE)).props("flat"),
                       test="rule-live-example")  # fmt: skip
            data_attrs(ui.button(t("rules_indicator_example", loc), icon="insights",
                                 on_click=lambda: text_in.set_value(EXAMPLE)).props("flat"),
                       test="rule-indicator-example")  # fmt: skip

    @ui.refreshable
    def saved() -> None:
        with session.store().session() as s:
            docs = documents.list_documents(s, ctx.tenant_id, service.KIND)
        ui.label(t("rules_saved_list", loc)).classes("text-h6")
        if not docs:
            ui.label(t("rules_none", loc)).classes("co-muted")
        for d in docs:
            ui.label(f"{d.name} · v{d.current_version} · {d.created_by} · "
                     f"{local_time(d.created_at, ctx.timezone, '%Y-%m-%d %H:%M')}").classes("co-muted")  # fmt: skip

    saved()
