"""Load, expand and validate the metric catalog.

The catalog is every ``*.yaml`` in the package's ``catalog/`` folder plus the
user's files in ``$CALLOPS_HOME/metrics/``. Metrics listing ``scopes`` are
expanded into one metric per scope value (``aht_s`` × channel → ``aht_s__voice``
...), each measure of which gets the scope's filter. Validation is a list of
small rules (:mod:`callops.metrics.rules`); every problem found is reported,
with the file it came from, in one error.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from callops.errors import CallopsError, NotFound
from callops.metrics.spec import (
    SCOPE_SEPARATOR,
    Aggregation,
    CatalogFile,
    Label,
    Measure,
    Metric,
    MetricType,
    ScopeGroup,
)
from callops.settings import callops_home

# libyaml's loader when installed: the catalog parses several times faster.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Scope = tuple[tuple[str, str], ...]  # ((dimension, value), ...) applied to every measure of a metric


@dataclass(frozen=True)
class CatalogMetric:
    """A metric after scope expansion: what queries and docs use."""

    spec: Metric
    id: str
    label: Label
    scope: Scope = ()
    scope_group: str | None = None
    origin: str = ""

    @property
    def base_id(self) -> str:
        """The unscoped metric this one was expanded from."""
        return self.spec.id

    def component(self, metric_id: str) -> str:
        """The id of a component metric of a derived formula, in this metric's scope."""
        if not self.scope:
            return metric_id
        return f"{metric_id}{SCOPE_SEPARATOR}{self.scope[0][1]}"


@dataclass
class Catalog:
    """The validated catalog: measures, expanded metrics and scope groups."""

    measures: dict[str, Measure] = field(default_factory=dict)
    metrics: dict[str, CatalogMetric] = field(default_factory=dict)
    scope_groups: dict[str, ScopeGroup] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)

    def metric(self, metric_id: str) -> CatalogMetric:
        """The metric ``metric_id``; raise :class:`NotFound` with close matches."""
        try:
            return self.metrics[metric_id]
        except KeyError:
            close = difflib.get_close_matches(metric_id, list(self.metrics), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else "; see `callops metrics list`"
            raise NotFound(f"unknown metric {metric_id!r}{hint}") from None

    def base_metrics(self) -> list[CatalogMetric]:
        """Metrics without a scope, in catalog order."""
        return [m for m in self.metrics.values() if not m.scope]


@dataclass
class RawCatalog:
    """Parsed files before expansion, with where each definition came from."""

    measures: list[tuple[Measure, str]] = field(default_factory=list)
    metrics: list[tuple[Metric, str]] = field(default_factory=list)
    scope_groups: list[tuple[ScopeGroup, str]] = field(default_factory=list)


def package_files() -> list[tuple[str, str]]:
    """(name, text) of the catalog files shipped in the package, by name."""
    folder = resources.files("callops.metrics") / "catalog"
    items = sorted((p for p in folder.iterdir() if p.name.endswith((".yaml", ".yml"))), key=lambda p: p.name)
    return [(f"catalog/{p.name}", p.read_text(encoding="utf-8")) for p in items]


def user_dir() -> Path:
    """Where users drop their own metric files: ``$CALLOPS_HOME/metrics``."""
    return callops_home() / "metrics"


def user_files(folder: Path | None = None) -> list[tuple[str, str]]:
    """(path, text) of the user's metric files."""
    folder = folder or user_dir()
    if not folder.is_dir():
        return []
    paths = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    return [(str(p), p.read_text(encoding="utf-8")) for p in paths]


def _pydantic_message(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors()[:5]:
        where = ".".join(str(x) for x in e["loc"])
        parts.append(f"{where}: {e['msg']}")
    return "; ".join(parts)


def parse_files(files: list[tuple[str, str]]) -> RawCatalog:
    """Parse catalog files (YAML + pydantic); raise one error naming each bad file."""
    raw = RawCatalog()
    problems = []
    for origin, text in files:
        try:
            data = yaml.load(text, Loader=_LOADER) or {}
        except yaml.YAMLError as exc:
            problems.append(f"{origin}: not valid YAML ({str(exc).splitlines()[0]})")
            continue
        if not isinstance(data, dict):
            problems.append(f"{origin}: expected a mapping with measures:, metrics: or scope_groups:")
            continue
        try:
            parsed = CatalogFile.model_validate(data)
        except ValidationError as exc:
            problems.append(f"{origin}: {_pydantic_message(exc)}")
            continue
        raw.measures += [(m, origin) for m in parsed.measures]
        raw.metrics += [(m, origin) for m in parsed.metrics]
        raw.scope_groups += [(g, origin) for g in parsed.scope_groups]
    if problems:
        raise CallopsError("metric catalog: " + " | ".join(problems))
    return raw


def expand(raw: RawCatalog) -> Catalog:
    """Build the catalog: index measures and groups, expand scoped metrics (no validation)."""
    cat = Catalog()
    for m, origin in raw.measures:
        cat.measures.setdefault(m.id, m)
        cat.origins.setdefault(f"measure:{m.id}", origin)
    for g, origin in raw.scope_groups:
        cat.scope_groups.setdefault(g.id, g)
        cat.origins.setdefault(f"scope_group:{g.id}", origin)
    for m, origin in raw.metrics:
        cat.metrics.setdefault(m.id, CatalogMetric(spec=m, id=m.id, label=m.label, origin=origin))
        for group_id in m.scopes:
            group = cat.scope_groups.get(group_id)
            if group is None:
                continue  # reported by the scope rule
            for sv in group.values:
                sid = f"{m.id}{SCOPE_SEPARATOR}{sv.value}"
                label = Label(en=f"{m.label.en} ({sv.label.en})", zh=f"{m.label.zh}（{sv.label.zh}）")
                cat.metrics.setdefault(
                    sid,
                    CatalogMetric(
                        spec=m, id=sid, label=label, scope=((group.dimension, sv.value),),
                        scope_group=group_id, origin=origin,
                    ),
                )
    return cat


def measure_unit(m: Measure) -> str:
    """The unit of a measure's value: counts are counts, other aggregations keep the declared unit."""
    return "count" if m.agg in (Aggregation.COUNT, Aggregation.COUNT_DISTINCT) else m.unit


def metric_measures(metric: Metric) -> list[str]:
    """Every measure id a metric refers to directly (all variants included)."""
    if metric.type == MetricType.SIMPLE:
        return [metric.measure] if metric.measure else []
    if metric.type == MetricType.RATIO:
        ids = [x for x in (metric.numerator, metric.denominator) if x]
        for v in (metric.variants or {}).values():
            ids += [v.numerator, v.denominator]
        return ids
    return []


def build_catalog(files: list[tuple[str, str]]) -> Catalog:
    """Parse, expand and validate ``files``; raise a :class:`CallopsError` listing every problem."""
    from callops.metrics.rules import RULES

    raw = parse_files(files)
    cat = expand(raw)
    problems: list[str] = []
    for rule in RULES:
        problems += rule(raw, cat)
    if problems:
        shown = problems[:12]
        more = f" | ... and {len(problems) - 12} more" if len(problems) > 12 else ""
        raise CallopsError(f"metric catalog has {len(problems)} problem(s): " + " | ".join(shown) + more)
    return cat


_CACHE: dict[tuple, Catalog] = {}


def load_catalog(user_folder: Path | None = None) -> Catalog:
    """The shipped catalog plus the user's files, validated (cached until a file changes)."""
    files = package_files() + user_files(user_folder)
    key = tuple((name, hash(text)) for name, text in files)
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = build_catalog(files)
    return _CACHE[key]
