"""The frame every console page shares: header (tenant, user, language, sign-out), navigation drawer, colours."""

from __future__ import annotations

from nicegui import ui

from callops.store.roles import Permission
from callops.ui import session
from callops.ui.guard import checked, data_attrs
from callops.ui.i18n import t

# Alert levels: one colour everywhere (tiles, badges, history); None = normal.
LEVEL_COLORS = {"yellow": "#F9C513", "orange": "#F57C00", "red": "#D32F2F", "black": "#212121", None: "#2E7D32"}
LEVEL_TEXT = {"yellow": "#212121", "orange": "#FFFFFF", "red": "#FFFFFF", "black": "#FFFFFF", None: "#FFFFFF"}
LEVEL_NAMES = ("yellow", "orange", "red", "black")
STATUS_COLORS = {"met": "#2E7D32", "missed": "#D32F2F", "": "#607D8B"}
PRIMARY = "#1565C0"

# (path, label key, icon, permission)
NAV = (
    ("/", "nav_top", "insights", Permission.metrics_read),
    ("/home", "views_home_nav", "dashboard_customize", Permission.metrics_read),
    ("/views", "views_nav", "bookmarks", Permission.metrics_read),
    ("/trends", "nav_trends", "show_chart", Permission.metrics_read),
    ("/live", "nav_live", "dashboard", Permission.live_read),
    ("/alerts", "nav_alerts", "notification_important", Permission.live_read),
    ("/rules", "rules_nav", "rule", Permission.alerts_act),
    ("/workforce", "nav_wfm", "groups", Permission.wfm_read),
    ("/floor", "floor_nav", "how_to_reg", Permission.floor_read),
    ("/me", "me_nav", "person", Permission.me_read),
    ("/requests", "requests_nav", "event_available", Permission.requests_decide),
    ("/reference", "nav_reference", "menu_book", Permission.metrics_read),
    ("/journeys", "journey_nav", "route", Permission.journeys_read),
    ("/quality", "nav_quality", "fact_check", Permission.qa_read),
    ("/value", "value_nav", "workspace_premium", Permission.value_read),
    ("/campaigns", "campaigns_nav", "campaign", Permission.campaigns_read),
    ("/offers", "offers_nav", "local_offer", Permission.campaigns_read),
    ("/kb", "kb_nav", "local_library", Permission.kb_read),
)

_CSS = """
.co-tile { border-radius: 10px; min-width: 160px; }
.co-kpi { font-size: 1.9rem; font-weight: 600; line-height: 1.1; }
.co-muted { opacity: .75; font-size: .8rem; }
body.co-wall .q-header, body.co-wall .q-drawer { display: none !important; }
body.co-wall .q-page-container { padding: 0 !important; }
"""


def level_label(level: str | None, locale: str) -> str:
    """The localized name of an alert level."""
    return t(f"level_{level or 'none'}", locale)


def level_badge(level: str | None, locale: str) -> ui.badge:
    """A badge in the level's colour."""
    badge = ui.badge(level_label(level, locale)).style(
        f"background:{LEVEL_COLORS[level]} !important; color:{LEVEL_TEXT[level]}"
    )
    return data_attrs(badge, level=level or "none")


def frame(ctx: session.Ctx, title_key: str) -> None:
    """Header and drawer for a page of ``ctx``'s user; the page's content follows the call."""
    loc = ctx.locale
    ui.colors(primary=PRIMARY)
    ui.add_css(_CSS)
    ui.page_title(f"{t(title_key, loc)} · callops")
    drawer = ui.left_drawer(value=None, bordered=True).props("width=230 breakpoint=900").classes("bg-grey-1")
    with ui.header(elevated=True).classes("items-center no-wrap px-2 py-1 gap-2 bg-primary text-white"):
        ui.button(icon="menu", on_click=drawer.toggle).props("flat round dense color=white aria-label=menu")
        ui.label(t("app_title", loc)).classes("text-lg font-semibold max-sm:hidden")
        ui.label(t(title_key, loc)).classes("text-base sm:hidden ellipsis min-w-0").props(
            'data-test="page-title-mobile"'
        )
        ui.space()
        with ui.row().classes("items-center gap-1 no-wrap"):
            ui.icon("apartment").classes("max-sm:hidden")
            ui.label(ctx.tenant_id).classes("font-medium").props('data-test="tenant"')
            ui.icon("person").classes("ml-2 max-sm:hidden")
            ui.label(ctx.user_name).classes("max-sm:hidden").props('data-test="user"')

        @checked(ctx)
        def change(e: object) -> None:
            value = getattr(e, "value", None)
            if value and value != ctx.locale:
                session.set_locale(ctx, value)
                ui.navigate.reload()

        ui.select({"en": "English", "zh-CN": "简体中文"}, value=loc, on_change=change).props(
            'dense dark options-dark borderless data-test="language"'
        ).classes("w-28 max-sm:w-20 text-white").tooltip(t("language", loc))
        ui.button(icon="logout", on_click=lambda: (session.sign_out(), ui.navigate.to("/login"))).props(
            'flat round dense color=white data-test="sign-out"'
        ).tooltip(t("sign_out", loc))
    with drawer:
        ui.label(t("app_title", loc)).classes("text-subtitle1 font-semibold p-3")
        for path, key, icon, perm in NAV:
            if not ctx.can(perm):
                continue  # what a role may not do is not shown
            active = "bg-blue-1 text-primary" if key == title_key else ""
            with (
                data_attrs(ui.link(target=path).classes(f"no-underline text-black w-full {active}"), nav=path),
                ui.row().classes("items-center gap-3 px-4 py-2 w-full"),
            ):
                ui.icon(icon)
                ui.label(t(key, loc))
        ui.separator().classes("my-2")
        ui.label(f"{t('role', loc)}: {ctx.role.value}").classes("co-muted px-4")
        ui.label(f"{ctx.timezone}").classes("co-muted px-4")
