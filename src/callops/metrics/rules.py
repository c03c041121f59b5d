"""Validation rules of the catalog: one small function per rule, each returning its problems.

Each rule takes the parsed files (:class:`RawCatalog`, which keeps duplicates and
origins) and the expanded :class:`Catalog`, and returns messages of the form
``<file>: <what> <id>: <problem>``.
"""

from __future__ import annotations

import typing
from collections import Counter
from collections.abc import Callable

import sqlglot
from sqlglot import exp

from callops.errors import CallopsError
from callops.metrics.catalog import Catalog, RawCatalog, measure_unit, metric_measures
from callops.metrics.exprs import column_names, parse_checked
from callops.metrics.sources import DIMENSIONS, SOURCES
from callops.metrics.spec import PARAMETER_NAMES, MetricType, Parameters, parse_unit, unit_text

Rule = Callable[[RawCatalog, Catalog], list[str]]


def unique_ids(raw: RawCatalog, cat: Catalog) -> list[str]:
    """Measure, metric and scope-group ids are unique, also after scope expansion."""
    problems = []
    for kind, items in (("measure", raw.measures), ("metric", raw.metrics), ("scope group", raw.scope_groups)):
        seen: dict[str, str] = {}
        for item, origin in items:
            if item.id in seen:
                problems.append(f"{origin}: duplicate {kind} id {item.id!r} (first defined in {seen[item.id]})")
            else:
                seen[item.id] = origin
    base = {m.id for m, _ in raw.metrics}
    for mid, m in cat.metrics.items():
        if m.scope and mid in base:
            problems.append(f"{m.origin}: metric id {mid!r} clashes with the scoped metric of {m.base_id!r}")
    return problems


def measure_sources(raw: RawCatalog, cat: Catalog) -> list[str]:
    """A measure names a known source, one of its timestamp columns, and valid expressions over its columns."""
    problems = []
    for m, origin in raw.measures:
        src = SOURCES.get(m.source)
        if src is None:
            problems.append(f"{origin}: measure {m.id!r}: unknown source {m.source!r}; known: {', '.join(SOURCES)}")
            continue
        if m.time not in src.timestamps:
            problems.append(
                f"{origin}: measure {m.id!r}: time {m.time!r} is not a timestamp of {m.source} "
                f"({', '.join(src.timestamps)})"
            )
        allowed = [*src.columns, *Parameters().numeric()]
        for what, text in (("expr", m.expr), ("filter", m.filter)):
            if text is None:
                continue
            try:
                parse_checked(text, allowed, what=f"{origin}: measure {m.id!r} {what}")
            except CallopsError as exc:
                problems.append(str(exc))
        if m.agg != "count" and not m.expr:
            problems.append(f"{origin}: measure {m.id!r}: aggregation {m.agg} needs an expr")
        try:
            parse_unit(m.unit)
        except ValueError as exc:
            problems.append(f"{origin}: measure {m.id!r}: {exc}")
    return problems


def metric_shape(raw: RawCatalog, cat: Catalog) -> list[str]:
    """Each metric type has the fields it needs and none of the others."""
    problems = []
    for m, origin in raw.metrics:
        where = f"{origin}: metric {m.id!r}"
        if m.type == MetricType.SIMPLE and not m.measure:
            problems.append(f"{where}: a simple metric needs `measure`")
        if m.type == MetricType.RATIO:
            has_pair = bool(m.numerator and m.denominator)
            if has_pair == bool(m.variants):
                problems.append(f"{where}: a ratio needs numerator + denominator, or variant_parameter + variants")
        if m.type == MetricType.DERIVED and not m.expr:
            problems.append(f"{where}: a derived metric needs `expr` (a formula over metric ids)")
        if m.type != MetricType.DERIVED and m.expr:
            problems.append(f"{where}: `expr` is only for derived metrics")
        try:
            parse_unit(m.unit)
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
    return problems


def known_measures(raw: RawCatalog, cat: Catalog) -> list[str]:
    """Every measure a metric refers to exists."""
    problems = []
    for m, origin in raw.metrics:
        for ref in metric_measures(m):
            if ref not in cat.measures:
                problems.append(f"{origin}: metric {m.id!r}: unknown measure {ref!r}")
    return problems


def variants(raw: RawCatalog, cat: Catalog) -> list[str]:
    """A variant ratio names a text parameter and gives one variant for each of its allowed values."""
    problems = []
    for m, origin in raw.metrics:
        if not m.variants:
            continue
        field = Parameters.model_fields.get(m.variant_parameter or "")
        if field is None:
            problems.append(f"{origin}: metric {m.id!r}: unknown variant_parameter {m.variant_parameter!r}")
            continue
        allowed = set(typing.get_args(field.annotation))
        if set(m.variants) != allowed:
            problems.append(
                f"{origin}: metric {m.id!r}: variants must be exactly {', '.join(sorted(allowed))} "
                f"(got {', '.join(sorted(m.variants))})"
            )
    return problems


def derived_refs(raw: RawCatalog, cat: Catalog) -> list[str]:
    """A derived formula parses and refers only to existing metrics, also in each scope."""
    problems = []
    base = [mm for mm, x in cat.metrics.items() if not x.scope]
    for mid, m in cat.metrics.items():
        if m.spec.type != MetricType.DERIVED or not m.spec.expr:
            continue
        where = f"{m.origin}: metric {m.spec.id!r}"
        if not m.scope:
            try:
                names = {c.name for c in sqlglot.parse_one(m.spec.expr).find_all(exp.Column)}
            except sqlglot.errors.SqlglotError:
                names = set()
            unknown = sorted(n for n in names if n not in cat.metrics)
            if unknown:
                problems.append(f"{where}: formula refers to unknown metric(s) {', '.join(unknown)}")
                continue
        try:
            tree = parse_checked(m.spec.expr, base, what=f"{where} expr")
        except CallopsError as exc:
            if not m.scope:
                problems.append(str(exc))
            continue
        for ref in column_names(tree):
            if m.component(ref) not in cat.metrics:
                problems.append(f"{m.origin}: metric {mid!r}: formula needs {m.component(ref)!r}, which does not exist")
    return problems


def no_cycles(raw: RawCatalog, cat: Catalog) -> list[str]:
    """Derived metrics do not depend on themselves, directly or through others."""
    graph: dict[str, set[str]] = {}
    for m, _ in raw.metrics:
        if m.type == MetricType.DERIVED and m.expr:
            try:
                tree = parse_checked(m.expr, [x.id for x, _ in raw.metrics], what="cycle check")
            except CallopsError:
                continue
            graph[m.id] = column_names(tree)
    problems, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        if state.get(node) == "done":
            return
        if state.get(node) == "active":
            cycle = [*path[path.index(node):], node]
            problems.append(f"{cat.metrics[node].origin}: metric cycle: {' -> '.join(cycle)}")
            return
        state[node] = "active"
        for nxt in sorted(graph.get(node, ())):
            visit(nxt, [*path, node])
        state[node] = "done"

    for node in sorted(graph):
        visit(node, [])
    return problems


def _formula_unit(node: exp.Expression, units: dict[str, dict[str, int]], where: str) -> dict[str, int] | None:
    """Units of a formula over metrics; None for a bare number (it fits any unit); raise on mismatch."""
    match node:
        case exp.Column():
            return units[node.name]
        case exp.Literal() | exp.Neg() if isinstance(node, exp.Literal) or isinstance(node.this, exp.Literal):
            return None
        case exp.Paren() | exp.Neg():
            return _formula_unit(node.this, units, where)
        case exp.Add() | exp.Sub():
            left = _formula_unit(node.left, units, where)
            right = _formula_unit(node.right, units, where)
            if left is not None and right is not None and left != right:
                raise ValueError(
                    f"{where}: unit mismatch in {node.sql()!r}: {unit_text(left)} vs {unit_text(right)}"
                )
            return left if left is not None else right
        case exp.Mul() | exp.Div():
            left = _formula_unit(node.left, units, where) or {}
            right = _formula_unit(node.right, units, where) or {}
            sign = 1 if isinstance(node, exp.Mul) else -1
            out = dict(left)
            for k, v in right.items():
                out[k] = out.get(k, 0) + sign * v
            return {k: v for k, v in out.items() if v}
        case exp.Coalesce() | exp.Greatest() | exp.Least():
            return _formula_unit(node.this, units, where)
    raise ValueError(f"{where}: {node.sql()!r} is not allowed in a derived formula (use + - * / and parentheses)")


def units(raw: RawCatalog, cat: Catalog) -> list[str]:
    """The declared unit of each metric matches what its measures or formula produce."""
    problems = []
    declared = {}
    for m, _ in raw.metrics:
        try:
            declared[m.id] = parse_unit(m.unit)
        except ValueError:
            continue  # reported by metric_shape
    for m, origin in raw.metrics:
        if m.id not in declared:
            continue
        where = f"{origin}: metric {m.id!r}"
        want = declared[m.id]
        pairs: list[tuple[str, str]] = []
        if m.type == MetricType.SIMPLE and m.measure in cat.measures:
            got = parse_unit(measure_unit(cat.measures[m.measure]))
            if got != want:
                problems.append(f"{where}: unit {m.unit!r} but measure {m.measure!r} gives {unit_text(got)}")
        if m.type == MetricType.RATIO:
            if m.numerator and m.denominator:
                pairs.append((m.numerator, m.denominator))
            pairs += [(v.numerator, v.denominator) for v in (m.variants or {}).values()]
        for num, den in pairs:
            if num not in cat.measures or den not in cat.measures:
                continue
            a, b = parse_unit(measure_unit(cat.measures[num])), parse_unit(measure_unit(cat.measures[den]))
            got = {k: a.get(k, 0) - b.get(k, 0) for k in {*a, *b}}
            got = {k: v for k, v in got.items() if v}
            if got != want:
                problems.append(f"{where}: unit {m.unit!r} but {num} / {den} gives {unit_text(got)}")
        if m.type == MetricType.DERIVED and m.expr:
            try:
                names = {c.name for c in sqlglot.parse_one(m.expr).find_all(exp.Column)}
            except sqlglot.errors.SqlglotError:
                continue  # reported by derived_refs
            if not names <= set(declared):
                continue  # reported by derived_refs
            try:
                tree = parse_checked(m.expr, list(declared), what=where)
                got = _formula_unit(tree, declared, where)
            except (CallopsError, ValueError) as exc:
                problems.append(str(exc))
                continue
            if got is not None and got != want:
                problems.append(f"{where}: unit {m.unit!r} but its formula gives {unit_text(got)}")
    return problems


def scopes(raw: RawCatalog, cat: Catalog) -> list[str]:
    """Scope groups use a known dimension; a scoped metric's sources all offer that dimension."""
    problems = []
    for g, origin in raw.scope_groups:
        if g.dimension not in DIMENSIONS:
            problems.append(f"{origin}: scope group {g.id!r}: unknown dimension {g.dimension!r}")
        dup = [v for v, n in Counter(v.value for v in g.values).items() if n > 1]
        if dup:
            problems.append(f"{origin}: scope group {g.id!r}: repeated values {', '.join(dup)}")
    for m, origin in raw.metrics:
        for gid in m.scopes:
            group = cat.scope_groups.get(gid)
            if group is None:
                problems.append(f"{origin}: metric {m.id!r}: unknown scope group {gid!r}")
                continue
            for ref in metric_measures(m):
                measure = cat.measures.get(ref)
                if measure and measure.source in SOURCES and group.dimension not in SOURCES[measure.source].dimensions:
                    problems.append(
                        f"{origin}: metric {m.id!r}: scope {gid!r} needs dimension {group.dimension!r}, "
                        f"which source {measure.source!r} of measure {ref!r} lacks"
                    )
    return problems


def parameters(raw: RawCatalog, cat: Catalog) -> list[str]:
    """Parameters a metric lists are tenant parameters."""
    return [
        f"{origin}: metric {m.id!r}: unknown parameter {p!r}; known: {', '.join(PARAMETER_NAMES)}"
        for m, origin in raw.metrics
        for p in m.parameters
        if p not in PARAMETER_NAMES
    ]


RULES: tuple[Rule, ...] = (
    unique_ids,
    measure_sources,
    metric_shape,
    known_measures,
    variants,
    derived_refs,
    no_cycles,
    units,
    scopes,
    parameters,
)
