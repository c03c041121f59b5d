"""Drill-down follows the metric (issue 16): the contacts behind a number are the ones its own filter counts.

A count (``contacts_abandoned``) drills to the rows its measure counts. A ratio drills to the contacts that move it
the wrong way: for a rate where lower is better (abandon rate) the numerator's rows, the abandoned ones; where
higher is better (service level) the denominator's rows that the numerator leaves out, the late ones. Derived
formulas and measures of other tables drill to every contact of the period, as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from callops.metrics.catalog import Catalog
from callops.metrics.compiler import _row_parts, ratio_parts
from callops.metrics.exprs import column_names, parse_checked
from callops.metrics.sources import SOURCES
from callops.metrics.spec import Direction, MetricType, Parameters

if TYPE_CHECKING:
    import ibis.expr.types as ir


def _contact_measures(cat: Catalog, metric_id: str, params: Parameters) -> tuple[list[str], str | None]:
    """The contact measures a metric drills through (one, or numerator and denominator) and the ratio's sense."""
    metric = cat.metric(metric_id)
    spec = metric.spec
    if spec.type == MetricType.SIMPLE:
        ids = [spec.measure or ""]
        sense = None
    elif spec.type == MetricType.RATIO:
        ids = list(ratio_parts(metric, params))
        sense = "lower" if spec.direction == Direction.LOWER else "higher"
    else:
        return [], None
    if any(cat.measures[m].source != "contacts" for m in ids):
        return [], None
    return ids, sense


def drill_columns(cat: Catalog, metric_id: str, params: Parameters) -> set[str]:
    """Contact columns the metric's drill condition reads (to build the source with them)."""
    ids, _ = _contact_measures(cat, metric_id, params)
    numeric = params.numeric()
    out: set[str] = set()
    for m in ids:
        measure = cat.measures[m]
        if measure.filter:
            tree = parse_checked(measure.filter, [*SOURCES["contacts"].columns, *numeric], what=m)
            out |= column_names(tree) - set(numeric)
    out |= {d for d, _ in cat.metric(metric_id).scope}
    return out


def drill_condition(rel: ir.Table, cat: Catalog, metric_id: str, params: Parameters) -> ir.BooleanValue | None:
    """The row condition of the contacts behind ``metric_id`` over the contacts source ``rel`` (None: all)."""
    ids, sense = _contact_measures(cat, metric_id, params)
    if not ids:
        return None
    scope = cat.metric(metric_id).scope
    conds = [_row_parts(rel, cat.measures[m], scope, params)[0] for m in ids]
    if sense is None or sense == "lower":
        cond = conds[0]
    else:
        num, den = conds
        if num is None:  # the numerator counts every row: none is missed
            return rel.contact_id.isnull() & rel.contact_id.notnull()
        missed = ~num.fill_null(False)
        cond = missed if den is None else den.fill_null(False) & missed
    return None if cond is None else cond.fill_null(False)
