"""Human-readable formulas of measures and metrics, and the generated ``docs/metrics.md``."""

from __future__ import annotations

from pathlib import Path

from callops.metrics.catalog import Catalog, CatalogMetric
from callops.metrics.spec import Aggregation, Measure, MetricType, Parameters


def measure_text(m: Measure) -> str:
    """``count(contacts where ...)`` / ``sum(expr) over contacts where ...``."""
    where = f" where {' '.join(m.filter.split())}" if m.filter else ""
    if m.agg == Aggregation.COUNT and not m.expr:
        return f"count({m.source}{where})"
    return f"{m.agg.value}({' '.join((m.expr or '').split())}) over {m.source}{where}"


def formula_text(cat: Catalog, metric: CatalogMetric) -> str:
    """The user-facing formula: the declared one, else built from the measures."""
    spec = metric.spec
    scope = "".join(f" [{d} = '{v}']" for d, v in metric.scope)
    if spec.formula:
        return spec.formula + scope
    if spec.type == MetricType.SIMPLE:
        return f"{spec.measure}{scope}"
    if spec.type == MetricType.RATIO:
        if spec.variants:
            return f"by {spec.variant_parameter}: " + "; ".join(
                f"{k}: {v.numerator} / {v.denominator}" for k, v in spec.variants.items()
            ) + scope
        return f"{spec.numerator} / {spec.denominator}{scope}"
    return f"{spec.expr}{scope}"


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(cat: Catalog) -> str:
    """The metric reference as Markdown (deterministic: same catalog, same text)."""
    base = cat.base_metrics()
    lines = [
        "# Metric reference",
        "",
        "<!-- Generated from src/callops/metrics/catalog/*.yaml by `callops metrics docs`; do not edit. -->",
        "",
        f"{len(cat.metrics)} metrics: {len(base)} base metrics, the rest scoped copies "
        f"(`<metric>__<value>`, e.g. `service_level__voice`), over {len(cat.measures)} measures.",
        "",
        "Ratios are recomputed from their numerator and denominator at every grain (never averaged); "
        "a zero denominator gives null (n/a). Calendar grains use the tenant's time zone.",
        "",
        "## Tenant parameters",
        "",
        "Set in `$CALLOPS_HOME/tenants/<tenant>/metrics.yaml` under `parameters:`.",
        "",
        "| parameter | default | meaning |",
        "|---|---|---|",
    ]
    defaults = Parameters()
    for name, field in Parameters.model_fields.items():
        lines.append(f"| `{name}` | `{getattr(defaults, name)}` | {_md_escape(field.description or '')} |")
    lines += ["", "## Scope groups", "", "| group | dimension | values |", "|---|---|---|"]
    for g in cat.scope_groups.values():
        lines.append(f"| `{g.id}` | {g.dimension} | {', '.join(v.value for v in g.values)} |")
    lines += ["", "## Metrics", ""]
    lines += ["| id | en | zh-CN | type | unit | better | scopes |", "|---|---|---|---|---|---|---|"]
    for m in base:
        s = m.spec
        lines.append(
            f"| [`{m.id}`](#{m.id}) | {m.label.en} | {m.label.zh} | {s.type.value} | {s.unit} | "
            f"{s.direction.value} | {', '.join(s.scopes) or '—'} |"
        )
    for m in base:
        s = m.spec
        lines += ["", f"### {m.id}", "", f"**{m.label.en}** / **{m.label.zh}** — {_md_escape(s.description)}", ""]
        lines.append(f"- type: {s.type.value}; unit: {s.unit}; better: {s.direction.value}; version: {s.version}")
        lines.append(f"- formula: `{formula_text(cat, m)}`")
        measures = []
        if s.type == MetricType.SIMPLE:
            measures = [s.measure]
        elif s.type == MetricType.RATIO:
            measures = [s.numerator, s.denominator] if not s.variants else [
                x for v in s.variants.values() for x in (v.numerator, v.denominator)
            ]
        for mid in dict.fromkeys(x for x in measures if x):
            lines.append(f"  - `{mid}` = `{_md_escape(measure_text(cat.measures[mid]))}`")
        if s.parameters:
            lines.append(f"- parameters: {', '.join(f'`{p}`' for p in s.parameters)}")
        scoped = [x.id for x in cat.metrics.values() if x.base_id == m.id and x.scope]
        if scoped:
            lines.append(f"- scoped ({len(scoped)}): {', '.join(f'`{x}`' for x in scoped)}")
        lines.append(f"- defined in: `{m.origin}`")
    return "\n".join(lines) + "\n"


def write_docs(cat: Catalog, path: Path) -> Path:
    """Write the metric reference to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_markdown(cat), encoding="utf-8")
    return path
