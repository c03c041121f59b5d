"""The team lead's request page (issue 19): their team's requests with the automatic checks (reasons and
figures); approve or refuse each with a reason. An approval makes a new schedule version and updates the live
room (``people.requests.decide``)."""

from __future__ import annotations

from nicegui import ui

from callops.errors import CallopsError
from callops.people import requests
from callops.store.roles import Permission
from callops.ui import session
from callops.ui.guard import checked, data_attrs
from callops.ui.i18n import register_labels, t
from callops.ui.layout import frame
from callops.ui.pages_me import request_card

register_labels({
    "requests_nav": ("Requests", "申请审批"),
    "requests_open": ("Waiting for my decision", "待我审批"),
    "requests_others": ("Other requests of my team", "团队其他申请"),
    "requests_reason": ("Reason for the decision", "审批理由"),
    "requests_approve": ("Approve", "批准"),
    "requests_refuse": ("Refuse", "拒绝"),
    "requests_need_reason": ("Give a reason first.", "请先填写理由。"),
    "requests_no_team": ("This user has no team; an admin sets it with `callops user set-team`.",
                         "该用户没有所属团队;管理员可用 `callops user set-team` 设置。"),
})


@ui.page("/requests")
async def requests_page() -> None:
    """Decide the team's requests."""
    ctx = session.require(Permission.requests_decide)
    if ctx is None:
        return
    loc = ctx.locale
    frame(ctx, "requests_nav")
    st = session.store()
    root = ui.column().classes("w-full max-w-2xl mx-auto gap-3 p-1")
    with root:
        spinner = ui.spinner(size="lg")
    await ui.context.client.connected(timeout=30)

    def page_data(wh: object) -> list | None:
        try:
            return requests.list_requests(st, wh, ctx.tenant_id, ctx.user_id, team=True)  # type: ignore[arg-type]
        except CallopsError:
            return None

    rows = await session.warehouse_call(page_data)
    spinner.delete()
    if rows is None:
        with root:
            ui.label(t("requests_no_team", loc)).props('data-test="requests-no-team"')
        return
    pending = [r for r in rows if r["status"] == "pending_lead"]
    with root:
        ui.label(t("requests_open", loc)).classes("text-base font-semibold")
        if not pending:
            ui.label("—").classes("co-muted")
        for r in pending:
            with data_attrs(ui.column().classes("w-full gap-1"), test="decide", request=r["id"]):
                request_card(r, loc)
                reason = data_attrs(ui.input(t("requests_reason", loc)).props("dense outlined").classes("w-full"),
                                    test="decide-reason", request=r["id"])

                async def decide(approve: bool, rid: int = r["id"], box: ui.input = reason) -> None:
                    if not (box.value or "").strip():
                        ui.notify(t("requests_need_reason", loc), type="warning")
                        return
                    try:
                        await session.warehouse_call(lambda wh: requests.decide(
                            st, wh, ctx.tenant_id, ctx.user_id, rid, approve, box.value))  # fmt: skip
                    except CallopsError as exc:
                        ui.notify(str(exc), type="negative")
                        return
                    ui.navigate.reload()

                with ui.row().classes("gap-2"):
                    decider = checked(ctx, Permission.requests_decide)
                    for approve, key, colour, test in ((True, "requests_approve", "positive", "approve"),
                                                       (False, "requests_refuse", "negative", "refuse")):
                        button = ui.button(t(key, loc), color=colour,
                                           on_click=decider(lambda rid=r["id"], yes=approve: decide(yes, rid)))
                        data_attrs(button.props("dense no-caps"), test=test, request=r["id"])
        others = [r for r in rows if r["status"] != "pending_lead"]
        if others:
            ui.label(t("requests_others", loc)).classes("text-base font-semibold mt-2")
            for r in others:
                request_card(r, loc)
