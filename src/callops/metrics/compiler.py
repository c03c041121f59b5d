"""Compile metrics + grain + dimensions + filter into one Ibis expression over a tenant's data.

How a query is built:

1. each metric is resolved (scope, service-level variant, derived formula) into an
   expression over *measure columns*, each measure column being a measure with the
   metric's scope filter (``m__answered__voice``);
2. measure columns are grouped by (source, time column); each group is one
   aggregation of its source, filtered to the tenant (:func:`callops.tenancy.scoped`),
   to the period range on its time column and to the user's filter, grouped by
   period and dimensions;
3. groups are stacked (union) and folded to one row per period and dimensions;
4. ratios divide the folded numerator by the folded denominator (null when it is 0),
   so a ratio at any grain is recomputed from its parts, never averaged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import ibis
import ibis.expr.types as ir
from sqlglot import exp

from callops.errors import CallopsError
from callops.metrics.catalog import Catalog, CatalogMetric, Scope
from callops.metrics.exprs import column_names, parse_checked, to_ibis
from callops.metrics.grains import check_grain, local_bounds, period_expr
from callops.metrics.sources import DIMENSIONS, SOURCES, build_source
from callops.metrics.spec import Aggregation, Measure, MetricType, Parameters
from callops.tenancy import Tenant
from callops.warehouse import Warehouse

PERIOD = "period"


@dataclass(frozen=True)
class MeasureUse:
    """A measure under a scope: one aggregated column of the query."""

    measure: str
    scope: Scope = ()

    @property
    def column(self) -> str:
        """Name of the column holding it."""
        return "m__" + "__".join([self.measure, *(v for _, v in self.scope)])


@dataclass
class Plan:
    """What a query needs: measure columns and, per metric, how to compute it from them."""

    uses: dict[str, MeasureUse] = field(default_factory=dict)
    metrics: dict[str, exp.Expression] = field(default_factory=dict)

    def use(self, measure: str, scope: Scope) -> exp.Expression:
        """Register a measure column and return a placeholder for it in metric formulas."""
        u = MeasureUse(measure, scope)
        self.uses.setdefault(u.column, u)
        return exp.column(u.column)


def ratio_parts(metric: CatalogMetric, params: Parameters) -> tuple[str, str]:
    """Numerator and denominator measures of a ratio, the variant chosen by the tenant's parameter."""
    spec = metric.spec
    if spec.variants:
        variant = spec.variants[getattr(params, spec.variant_parameter or "")]
        return variant.numerator, variant.denominator
    return spec.numerator or "", spec.denominator or ""


def _metric_tree(cat: Catalog, metric: CatalogMetric, params: Parameters, plan: Plan, depth: int = 0) -> exp.Expression:
    """A formula over measure columns (sqlglot tree) computing ``metric``."""
    if depth > 20:
        raise CallopsError(f"metric {metric.id!r}: derived formulas nest too deeply")
    spec = metric.spec
    if spec.type == MetricType.SIMPLE:
        tree = plan.use(spec.measure or "", metric.scope)
    elif spec.type == MetricType.RATIO:
        num, den = ratio_parts(metric, params)
        tree = exp.Div(this=plan.use(num, metric.scope), expression=plan.use(den, metric.scope))
    else:
        tree = parse_checked(spec.expr or "", [m.id for m in cat.base_metrics()], what=f"metric {spec.id!r}")

        def swap(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Column):
                part = cat.metric(metric.component(node.name))
                return exp.Paren(this=_metric_tree(cat, part, params, plan, depth + 1))
            return node

        tree = tree.transform(swap)
    if spec.scale != 1:
        tree = exp.Mul(this=exp.Literal.number(spec.scale), expression=tree)
    return tree


def plan_query(cat: Catalog, metric_ids: list[str], params: Parameters) -> Plan:
    """Resolve ``metric_ids`` into measure columns and formulas."""
    plan = Plan()
    for mid in metric_ids:
        plan.metrics[mid] = _metric_tree(cat, cat.metric(mid), params, plan)
    return plan


def _row_parts(rel: ir.Table, m: Measure, scope: Scope, params: Parameters) -> tuple[ir.Value | None, ir.Value | None]:
    """The per-row condition (None: every row) and value (None: a plain row count) of a measure under a scope."""
    numeric = params.numeric()

    def resolve(name: str) -> ir.Value:
        return ibis.literal(numeric[name]) if name in numeric else rel[name]

    cond = None
    if m.filter:
        cond = to_ibis(parse_checked(m.filter, [*SOURCES[m.source].columns, *numeric], what=m.id), resolve)
    for dim, value in scope:
        clause = rel[dim] == value
        cond = clause if cond is None else cond & clause
    if m.agg == Aggregation.COUNT and not m.expr:
        return cond, None
    val = to_ibis(parse_checked(m.expr or "", [*SOURCES[m.source].columns, *numeric], what=m.id), resolve)
    if m.agg in (Aggregation.SUM, Aggregation.AVG):
        val = val.cast("float64")
    return cond, val


def _fold(agg: Aggregation, rows: ir.Table, val: ir.Value | None, cond: ir.BooleanValue | None) -> ir.Scalar:
    """Aggregate a projected value column under a projected condition column (a null condition skips the row)."""
    if val is None:
        return rows.count(where=cond)
    match agg:
        case Aggregation.COUNT:
            return val.count(where=cond)
        case Aggregation.SUM:
            return val.sum(where=cond)
        case Aggregation.AVG:
            return val.mean(where=cond)
        case Aggregation.MIN:
            return val.min(where=cond)
        case Aggregation.MAX:
            return val.max(where=cond)
        case Aggregation.COUNT_DISTINCT:
            return val.nunique(where=cond)
    raise CallopsError(f"unknown aggregation {agg}")


def _aggregate_group(
    rel: ir.Table, keys: dict[str, ir.Value], uses: list[MeasureUse], cat: Catalog, params: Parameters
) -> ir.Table:
    """One aggregation computing ``uses`` per ``keys``.

    Every distinct row condition and value expression is computed once, in a projection
    before the aggregation (``_c0``, ``_v0`` ...), and measures with the same aggregation,
    value and condition share one aggregate: the SQL evaluates shared filters once per row.
    """
    conds: dict[object, str] = {}
    vals: dict[object, str] = {}
    projected: dict[str, ir.Value] = {}
    recipes: dict[str, tuple[Aggregation, str | None, str | None]] = {}
    for u in uses:
        m = cat.measures[u.measure]
        cond, val = _row_parts(rel, m, u.scope, params)
        cname = vname = None
        if cond is not None:
            cname = conds.setdefault(cond.op(), f"_c{len(conds)}")
            projected[cname] = cond
        if val is not None:
            vname = vals.setdefault(val.op(), f"_v{len(vals)}")
            projected[vname] = val
        recipes[u.column] = (m.agg, vname, cname)
    rows = rel.select(**keys, **projected)
    aggs: dict[str, ir.Scalar] = {}
    first: dict[tuple, str] = {}
    aliases: dict[str, str] = {}
    for column, (agg, vname, cname) in recipes.items():
        recipe = (agg if vname else "rows", vname, cname)
        if recipe in first:
            aliases[column] = first[recipe]
            continue
        first[recipe] = column
        aggs[column] = _fold(agg, rows, rows[vname] if vname else None, rows[cname] if cname else None)
    table = rows.group_by(list(keys)).aggregate(**aggs)
    return table.mutate(**{alias: table[col] for alias, col in aliases.items()}) if aliases else table


def parse_where(where: str | None) -> exp.Expression | None:
    """Parse a user filter over the dimensions (never pasted into SQL)."""
    if where is None or not where.strip():
        return None
    return parse_checked(where, DIMENSIONS, what="--where")


def compile_query(
    wh: Warehouse,
    tenant: Tenant,
    cat: Catalog,
    metric_ids: list[str],
    *,
    grain: str = "day",
    by: list[str] | tuple[str, ...] = (),
    start: date | None = None,
    end: date | None = None,
    where: str | None = None,
    params: Parameters | None = None,
    keep_measures: bool = False,
) -> ir.Table:
    """The Ibis expression computing ``metric_ids`` per period (and ``by`` dimensions) for ``tenant``.

    ``keep_measures`` also returns the measure columns (``m__<measure>[__<scope value>]``) the
    metrics are computed from, e.g. to show why an alert fired.
    """
    params = params or Parameters()
    check_grain(grain)
    if not metric_ids:
        raise CallopsError("no metric given; see `callops metrics list`")
    by = list(dict.fromkeys(by))
    for dim in by:
        if dim not in DIMENSIONS:
            raise CallopsError(f"unknown dimension {dim!r}; expected one of: {', '.join(DIMENSIONS)}")
    if start and end and end < start:
        raise CallopsError(f"--to {end} is before --from {start}")
    where_tree = parse_where(where)
    where_cols = column_names(where_tree) if where_tree is not None else set()
    plan = plan_query(cat, metric_ids, params)
    lo, hi = local_bounds(start, end, tenant.timezone)

    # contact_repeats is contacts plus one column: when a query needs it, contact measures on the same
    # time column are computed from it too, so the contacts are scanned and aggregated once, not twice.
    repeat_times = {cat.measures[u.measure].time for u in plan.uses.values()
                    if cat.measures[u.measure].source == "contact_repeats"}
    groups: dict[tuple[str, str], list[MeasureUse]] = {}
    for use in plan.uses.values():
        m = cat.measures[use.measure]
        source = "contact_repeats" if m.source == "contacts" and m.time in repeat_times else m.source
        groups.setdefault((source, m.time), []).append(use)

    parts: list[ir.Table] = []
    for (source, time_col), uses in groups.items():
        src = SOURCES[source]
        scope_dims = {d for u in uses for d, _ in u.scope}
        missing = [d for d in (*by, *sorted(where_cols)) if d not in src.dimensions]
        if missing:
            names = ", ".join(sorted({u.measure for u in uses}))
            raise CallopsError(
                f"dimension {missing[0]!r} is not available for measure(s) {names} (source {source}: "
                f"{', '.join(src.dimensions)})"
            )
        rel = build_source(wh, tenant, source, set(by) | where_cols | scope_dims, params.repeat_window_days)
        anchor = rel[time_col]
        if lo is not None:
            rel = rel.filter(anchor >= lo)
        if hi is not None:
            rel = rel.filter(anchor < hi)
        rel = rel.filter(anchor.notnull())
        if where_tree is not None:
            cond = to_ibis(where_tree, lambda name, r=rel: r[name], what="--where")
            if not isinstance(cond, ir.BooleanValue):
                raise CallopsError(f"--where must be a condition (e.g. channel = 'voice'), not {where_tree.sql()!r}")
            rel = rel.filter(cond.fill_null(False))
        keys = {PERIOD: period_expr(rel[time_col], tenant.timezone, grain, wh.backend.name), **{d: rel[d] for d in by}}
        parts.append(_aggregate_group(rel, keys, uses, cat, params))

    table = _stack(parts, [PERIOD, *by], [u.column for u in plan.uses.values()])
    table = table.mutate(
        **{
            u.column: table[u.column].fill_null(0)
            for u in plan.uses.values()
            if cat.measures[u.measure].agg in (Aggregation.COUNT, Aggregation.COUNT_DISTINCT, Aggregation.SUM)
        }
    )
    out = {mid: _final_value(tree, table) for mid, tree in plan.metrics.items()}
    kept = [u.column for u in plan.uses.values() if u.column not in out] if keep_measures else []
    return table.select(PERIOD, *by, *kept, **out).order_by([PERIOD, *by])


def _final_value(tree: exp.Expression, table: ir.Table) -> ir.Value:
    if isinstance(tree, exp.Column):  # a simple metric keeps its type (counts stay integers)
        return table[tree.name]
    value = to_ibis(tree, lambda name: table[name].cast("float64"), what="metric formula")
    return value.cast("float64")


def _stack(parts: list[ir.Table], keys: list[str], columns: list[str]) -> ir.Table:
    """One row per key from several aggregations that each computed some of ``columns``."""
    if len(parts) == 1:
        return parts[0]
    widened = []
    for p in parts:
        extra = {}
        for col in columns:
            if col not in p.columns:
                owner = next(q for q in parts if col in q.columns)
                extra[col] = ibis.null(owner.schema()[col])
        widened.append(p.mutate(**extra).select(*keys, *columns))
    stacked = ibis.union(*widened, distinct=False)
    return stacked.group_by(keys).aggregate(**{c: stacked[c].max() for c in columns})
