"""Sign-in page and the TOP indicators page (with its wall-display rotation)."""

from __future__ import annotations

from nicegui import app, background_tasks, ui

from callops.errors import CallopsError
from callops.store.roles import Permission
from callops.ui import session
from callops.ui.guard import checked, data_attrs
from callops.ui.i18n import DEFAULT_LOCALE, change, number, register_labels, t
from callops.ui.layout import PRIMARY, STATUS_COLORS, frame

register_labels({"top_today_so_far": ("Today so far", "今日截至目前")})

TOP_PERIODS = ("day", "month", "quarter", "year")
WALL_SECONDS = 10.0


@ui.page("/login")
def login_page() -> None:
    """User name + token; the token is checked against the store and never kept in the browser."""
    loc = app.storage.user.get("locale", DEFAULT_LOCALE)
    ui.colors(primary=PRIMARY)
    ui.page_title(f"{t('sign_in', loc)} · callops")

    def attempt() -> None:
        if session.sign_in(name.value or "", token.value or ""):
            who = session.current()  # an agent has no indicators: their page is "me" (issue 19)
            ui.navigate.to("/" if who is None or who.can(Permission.metrics_read) else "/me")
        else:
            error.set_text(t("bad_login", loc))
            error.set_visibility(True)

    with ui.column().classes("absolute-center items-stretch w-80 max-w-[92vw]"):
        ui.label(t("app_title", loc)).classes("text-h5 text-primary text-center")
        name = ui.input(t("user_name", loc)).props('outlined data-test="user-name" autocomplete=username')
        token = ui.input(t("token", loc), password=True, password_toggle_button=True).props(
            'outlined data-test="token" autocomplete=current-password'
        )
        ui.label(t("token_hint", loc)).classes("co-muted text-xs text-grey-7")
        token.on("keydown.enter", attempt)
        ui.button(t("sign_in", loc), on_click=attempt).props('data-test="sign-in" unelevated')
        error = ui.label("").classes("text-negative").props('data-test="login-error"')
        error.set_visibility(False)


def _tile(row: dict, loc: str, grain: str, big: bool = False) -> None:
    """One TOP indicator: value, period-over-period change, target status colour; click → trends."""
    label = row["label_zh"] if loc == "zh-CN" else row["label"]
    colour = STATUS_COLORS[row["status"]]
    diff = row["change"]
    arrow = "" if diff is None else ("▲" if diff > 0 else "▼" if diff < 0 else "＝")
    target = f"{t('target', loc)} {number(row['target'], row['unit'])}" if row["target"] is not None else ""
    card = ui.card().classes("co-tile cursor-pointer p-3").style(f"border-top: 6px solid {colour}")
    data_attrs(card, metric=row["metric"], status=row["status"] or "none")
    card.on("click", lambda: ui.navigate.to(f"/trends?metric={row['metric']}&grain={grain}"))
    with card:
        ui.label(label).classes("text-subtitle2 text-grey-8")
        ui.label(number(row["value"], row["unit"])).classes("co-kpi").style(
            f"color:{colour if row['status'] else '#263238'}" + ("; font-size: 3.2rem" if big else "")
        )
        with ui.row().classes("gap-2 items-center co-muted"):
            ui.label(f"{arrow} {change(diff, row['unit'])}")
            ui.label(f"{t('previous', loc)} {number(row['previous'], row['unit'])}")
        if target:
            ui.label(f"{target} · {t(row['status'], loc) if row['status'] else ''}").classes("co-muted")


@ui.page("/")
async def top_page(period: str = "day", wall: int = 0) -> None:
    """TOP indicators for day/month/quarter/year; ``wall=1`` rotates the periods full-screen."""
    ctx = session.require(Permission.metrics_read)
    if ctx is None:
        return
    loc = ctx.locale
    frame(ctx, "nav_top")
    period = period if period in TOP_PERIODS else "day"
    state = {"period": period}
    if wall:
        ui.query("body").classes("co-wall")

    with ui.row().classes("items-center w-full gap-3"):
        toggle = ui.toggle({p: t(p, loc) for p in TOP_PERIODS}, value=period).props('data-test="period"')
        ui.space()
        if wall:
            ui.button(t("exit_wall", loc), icon="close", on_click=lambda: ui.navigate.to(f"/?period={state['period']}"))
        else:
            ui.button(
                t("wall_mode", loc), icon="tv", on_click=lambda: ui.navigate.to(f"/?period={state['period']}&wall=1")
            ).props('outline data-test="wall"')
    heading = ui.label("").classes("text-grey-7")
    grid = (
        ui.element("div")
        .classes("grid gap-3 w-full grid-cols-2 md:grid-cols-3 xl:grid-cols-4")
        .props('data-test="top-grid"')
    )
    # the day view shows the last complete day; today so far (landed from the live room) comes beside it
    today_grid = ui.element("div").classes("grid gap-3 w-full grid-cols-2 md:grid-cols-3 xl:grid-cols-4")
    today_grid.props["data-test"] = "top-today"

    @checked(ctx, Permission.metrics_read)
    async def show(p: str) -> None:
        from callops.metrics.top import top_indicators

        state["period"] = p
        today_grid.clear()
        try:
            rows = await session.history_call(ctx.tenant_id, top_indicators, ctx.tenant_id, p)  # the lake if set
            if rows is None:
                return  # cancelled: the page went away (NiceGUI answers None then)
        except CallopsError as exc:
            grid.clear()
            with grid:
                ui.label(str(exc)).classes("text-negative")
            return
        grid.clear()
        start = rows[0]["period"] if rows else ""
        heading.set_text(f"{t(p, loc)} · {start} ({ctx.timezone})")
        with grid:
            for row in rows:
                _tile(row, loc, p, big=bool(wall))
        if p == "day":  # after the page is up: it is a second query over the whole table
            background_tasks.create(fill_today(), name="top-today")

    async def fill_today() -> None:
        from callops.metrics.top import today_so_far

        try:
            today = await session.warehouse_call(today_so_far, ctx.tenant_id)  # the live day lands in the warehouse
        except CallopsError:
            return
        if today and state["period"] == "day":
            today_grid.clear()
            with today_grid:
                ui.label(f"{t('top_today_so_far', loc)} · {today[0]['period']}").classes("text-grey-7 col-span-full")
                for row in today:
                    _tile(row, loc, "day", big=bool(wall))

    toggle.on_value_change(lambda e: show(e.value))
    # the indicators load after the page is up: on a big tenant the query outlasts NiceGUI's 3 s page timeout
    background_tasks.create(show(period), name="top")
    if wall:

        @checked(ctx, Permission.metrics_read, tick=True)
        def rotate() -> None:
            nxt = TOP_PERIODS[(TOP_PERIODS.index(state["period"]) + 1) % len(TOP_PERIODS)]
            toggle.set_value(nxt)  # triggers show()

        ui.timer(WALL_SECONDS, rotate, immediate=False)  # first rotation after the interval
