"""Metric reference: each base metric's labels, formula, measures, parameters and (on demand) its SQL; searchable."""

from __future__ import annotations

from typing import Any

import ibis
from nicegui import ui

from callops import tenancy
from callops.metrics.catalog import load_catalog
from callops.metrics.compiler import compile_query, plan_query
from callops.metrics.describe import formula_text, measure_text
from callops.metrics.parameters import load_parameters
from callops.store.roles import Permission
from callops.ui import session
from callops.ui.guard import checked, data_attrs
from callops.ui.i18n import metric_label, t
from callops.ui.layout import frame


def metric_sql(wh: Any, tenant: str, metric_id: str) -> str:
    """The SQL a daily query of ``metric_id`` runs for ``tenant`` (its zone and parameters)."""
    cat = load_catalog()
    ten = tenancy.get_tenant(wh, tenant)
    return ibis.to_sql(compile_query(wh, ten, cat, [metric_id], grain="day", params=load_parameters(ten.tenant_id)))


@ui.page("/reference")
def reference_page(q: str = "") -> None:
    """Every base metric with formula, measures and parameters; SQL when a metric is opened."""
    ctx = session.require(Permission.metrics_read)
    if ctx is None:
        return
    loc = ctx.locale
    frame(ctx, "nav_reference")
    cat = load_catalog()
    params = load_parameters(ctx.tenant_id)
    values = params.model_dump()
    base = cat.base_metrics()
    search = (
        ui.input(t("search", loc), value=q)
        .props('dense outlined clearable data-test="search"')
        .classes("w-96 max-w-full")
    )
    count = ui.label("").classes("co-muted")

    @ui.refreshable
    def listing() -> None:
        needle = (search.value or "").strip().lower()
        chosen = [
            m
            for m in base
            if not needle
            or needle in " ".join((m.id, m.label.en, m.label.zh, m.spec.description, formula_text(cat, m))).lower()
        ]
        count.set_text(f"{len(chosen)} / {len(base)} {t('metrics_count', loc)}")
        for m in chosen:
            s = m.spec
            exp = ui.expansion(f"{metric_label(m, loc)} · {m.id}", caption=s.description)
            with data_attrs(exp.classes("w-full border rounded"), metric=m.id):
                ui.label(
                    f"{t('unit', loc)}: {s.unit} · {t('better', loc)}: {s.direction.value} · v{s.version}"
                ).classes("co-muted")
                ui.label(t("formula", loc)).classes("font-medium")
                ui.code(formula_text(cat, m), language="text").classes("w-full")
                plan = plan_query(cat, [m.id], params)
                for use in plan.uses.values():
                    scope = "".join(f" and {d} = '{v}'" for d, v in use.scope)
                    ui.label(f"{use.measure} = {measure_text(cat.measures[use.measure])}{scope}").classes(
                        "text-sm font-mono"
                    )
                if s.parameters:
                    ui.label(f"{t('parameters', loc)}: " + ", ".join(f"{p} = {values[p]}" for p in s.parameters))
                sql_box = ui.column().classes("w-full")

                @checked(ctx, Permission.metrics_read)
                async def load_sql(_e: Any = None, mid: str = m.id, box: ui.column = sql_box) -> None:
                    if box.default_slot.children:
                        return
                    sql = await session.history_call(ctx.tenant_id, metric_sql, ctx.tenant_id, mid)  # lake if set
                    with box:
                        ui.label(t("sql", loc)).classes("font-medium")
                        ui.code(sql, language="sql").classes("w-full text-xs")

                exp.on_value_change(load_sql)

    search.on_value_change(lambda _e: listing.refresh())
    listing()
