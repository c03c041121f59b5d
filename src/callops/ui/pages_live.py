"""The live wallboard: one tile per queue/center/channel, coloured by its worst active alert, pushed on change.

The hub calls our listener synchronously under its lock from whatever thread submitted events, so the listener
only bumps a counter; a 0.3 s timer on the page compares counters and redraws when something changed (so a
tile changes within about a second of the event).
"""

from __future__ import annotations

import time

from nicegui import ui

from callops.realtime.hub import hub_for
from callops.store.roles import Permission
from callops.ui import session
from callops.ui.guard import checked, data_attrs
from callops.ui.i18n import local_time, number, register_labels, t
from callops.ui.layout import LEVEL_COLORS, LEVEL_TEXT, frame, level_label

REFRESH_S = 0.3
SCOPE_ORDER = {"center": 0, "queue": 1, "channel": 2, "region": 3}

register_labels({
    "live_reforecast": ("Rest of today, re-forecast", "今日剩余（日内重预测）"),
    "live_day_ahead": ("day-ahead", "日前预测"),
    "live_diverted_today": ("Diverted today", "今日分流"),
})


def _reforecast_line(rf: dict, loc: str) -> str:
    """``Rest of today, re-forecast 1,234 (day-ahead 1,100, ×1.12)``: the intraday re-forecast of a queue."""
    return (f"{t('live_reforecast', loc)} {number(round(rf['reforecast_rest']), 'count')}"
            f" ({t('live_day_ahead', loc)} {number(round(rf['day_ahead_rest']), 'count')}, ×{rf['ratio']:.2f})")


def _tile(tile: dict, loc: str, rf: dict | None = None) -> None:
    level = tile["level"]
    bg, fg = LEVEL_COLORS[level], LEVEL_TEXT[level]
    card = ui.card().classes("co-tile p-3 gap-1").style(f"background:{bg}; color:{fg}")
    with data_attrs(card, key=f"{tile['scope']}:{tile['key']}", level=level or "none"):
        with ui.row().classes("w-full items-center no-wrap"):
            ui.label(tile["key"]).classes("text-h6 font-semibold")
            ui.space()
            ui.label(f"{t('scope_' + tile['scope'], loc)} · {level_label(level, loc)}").classes("co-muted")
        with ui.row().classes("w-full gap-4 no-wrap"):
            for key, value in (
                ("waiting", number(tile["waiting"], "count")),
                ("longest_wait_s", number(tile["longest_wait_s"], "s")),
                ("service_level_30m", number(tile["service_level_30m"], "ratio")),
            ):
                with ui.column().classes("gap-0"):
                    ui.label(value).classes("co-kpi")
                    ui.label(t(key, loc)).classes("co-muted")
        with ui.row().classes("gap-3 co-muted"):
            for key in ("agents_ready", "agents_busy", "agents_acw", "agents_aux"):
                ui.label(f"{t(key, loc)} {number(tile[key], 'count')}")
            if tile.get("diverted_today"):  # sent to self-service by traffic balancing (issue 11)
                why = " · ".join(f"{r} {number(n, 'count')}" for r, n in (tile.get("diverted_reasons") or {}).items())
                ui.label(f"{t('live_diverted_today', loc)} {number(tile['diverted_today'], 'count')}"
                         + (f" ({why})" if why else ""))  # fmt: skip
        if rf is not None:  # the queue has a forecast for today: the rest of the day re-forecast (wfm.intraday)
            ui.label(_reforecast_line(rf, loc)).classes("co-muted").props('data-test="live-reforecast"')


@ui.page("/live")
def live_page() -> None:
    """Tiles per queue/center/channel with waiting, longest wait, live SL and agents by state."""
    ctx = session.require(Permission.live_read)
    if ctx is None:
        return
    loc = ctx.locale
    frame(ctx, "nav_live")
    hub = hub_for(ctx.tenant_id, ctx.timezone)
    seen = {"changes": 0, "drawn": -1}

    def listener(_topic: str, _message: dict) -> None:
        seen["changes"] += 1  # never block the hub: just note that something changed

    unsubscribe = hub.subscribe(listener)
    ui.context.client.on_disconnect(unsubscribe)
    status = ui.label("").classes("co-muted").props('data-test="live-status"')

    @ui.refreshable
    def tiles() -> None:
        rows = sorted(hub.tiles(), key=lambda r: (SCOPE_ORDER.get(r["scope"], 9), r["key"]))
        ahead = hub.reforecasts()
        if not rows:
            ui.label(t("live_empty", loc)).classes("text-grey-7")
            return
        with ui.element("div").classes("grid gap-3 w-full grid-cols-1 sm:grid-cols-2 lg:grid-cols-3 xl:grid-cols-4"):
            for row in rows:
                _tile(row, loc, ahead.get(row["key"]) if row["scope"] == "queue" else None)

    tiles()

    @checked(ctx, Permission.live_read, tick=True)
    def tick() -> None:
        if seen["changes"] == seen["drawn"]:
            return
        seen["drawn"] = seen["changes"]
        tiles.refresh()
        now = hub.engine.state.now  # event time of the latest event (a float read; no lock needed)
        status.set_text(
            f"{t('live_updated', loc)} {local_time(now, ctx.timezone) if now else ''}"
            f" · {local_time(time.time(), ctx.timezone, '%H:%M:%S')}"
        )

    ui.timer(REFRESH_S, tick)
