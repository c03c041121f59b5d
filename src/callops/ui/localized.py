"""Console widgets that follow the user's chosen language rather than the browser's (issue 16, item 6).

A native ``<input type=date>`` shows the browser's language, and Quasar's own texts (an empty table's "No data
available", the date picker's month and day names) come from the one language pack NiceGUI loads (en-US). These
helpers set them per element from the user's locale, always through ``element.props[key] = value``.
"""

from __future__ import annotations

from typing import Any

from nicegui import ui

from callops.ui.i18n import t

# Quasar QDate ``locale`` objects (the names of Quasar's own zh-CN language pack); English is Quasar's default.
QDATE_LOCALES: dict[str, dict[str, Any]] = {
    "zh-CN": {
        "days": ["星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"],
        "daysShort": ["周日", "周一", "周二", "周三", "周四", "周五", "周六"],
        "months": ["一月", "二月", "三月", "四月", "五月", "六月", "七月", "八月", "九月", "十月", "十一月", "十二月"],
        "monthsShort": [f"{m}月" for m in range(1, 13)],
        "firstDayOfWeek": 1,
        "format24h": True,
        "pluralDay": "天",
    },
}


def empty_text(table: ui.table, locale: str, key: str = "no_data") -> ui.table:
    """Make ``table`` say label ``key`` (default "No data for this selection.") in ``locale`` when it has no rows."""
    table.props["no-data-label"] = t(key, locale)
    table.props["no-results-label"] = t(key, locale)
    return table


def date_input(label: str, locale: str, value: str = "") -> ui.input:
    """A text input holding ``YYYY-MM-DD`` with a calendar picker whose month and day names are in ``locale``.

    Returns the input (``.value`` is the ISO date text, '' when empty), so it replaces ``ui.input(type=date)``.
    """
    with ui.input(label, value=value) as field:
        field.props["placeholder"] = "YYYY-MM-DD"
        with ui.menu().props("no-parent-event") as menu:
            picker = ui.date(value=value or None).bind_value(field)
            picker.props["data-test"] = "date-picker"
            if locale in QDATE_LOCALES:
                picker.props["locale"] = QDATE_LOCALES[locale]
            picker.on_value_change(menu.close)
        with field.add_slot("append"):
            icon = ui.icon("edit_calendar").on("click", menu.open).classes("cursor-pointer")
            icon.props["data-test"] = "date-open"
    return field
