"""The value model (V1), declared in YAML: five dimensions of weighted indicators, classes and routes.

Each indicator is an expression over the profile features (:data:`callops.value.features.FEATURES`)
in the safe expression language (:mod:`callops.expressions`). Scores are explainable by construction:

- an indicator's raw value ``v`` is normalised to ``n`` in [0, 1] (``percentile``: the share of the
  tenant's customers with a lower value plus half of those with the same value; ``minmax``: the
  position between the tenant's minimum and maximum; missing values count as 0), reversed when the
  indicator is ``higher_is_better: false``;
- a dimension's score is ``100 × Σ wᵢ nᵢ / Σ wᵢ`` over its indicators;
- the score is ``Σ W_d · score_d / Σ W_d`` over the five dimensions;
- the contribution of indicator *i* of dimension *d* is ``W_d/ΣW × wᵢ/Σw × 100 × nᵢ``; they add up to
  the dimension's contribution ``W_d/ΣW × score_d``, and those add up to the score.

Classes are rules (first match wins, else the default class) over the features, ``score`` and the
dimension scores; each class is matched to a routing target.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from callops.errors import CallopsError
from callops.expressions import compile_expression, quote_identifier
from callops.value.features import FEATURES
from callops.value.yamlio import fail, load_yaml, number, require_keys, texts

DIMENSIONS = ("historical", "current", "future", "impact", "elastic")
ROUTES = ("high_value_desk", "self_service_first", "expert_desk", "normal_queue", "ivr_payment", "care_desk")
NORMALISATIONS = ("percentile", "minmax")
INDICATOR_TYPES = ("key", "auxiliary")


@dataclass(frozen=True)
class Indicator:
    """One weighted indicator of a dimension."""

    id: str
    expr: str
    sql: str
    type: str
    weight: float
    higher_is_better: bool
    line: int
    label: dict[str, str] | None = None  # {en, zh-CN} shown instead of the id (optional)


@dataclass(frozen=True)
class Dimension:
    """A dimension: its weight and indicators."""

    id: str
    weight: float
    indicators: tuple[Indicator, ...]


@dataclass(frozen=True)
class ClassRule:
    """A value class and the condition that puts a customer in it."""

    id: str
    when: str
    sql: str
    line: int


@dataclass(frozen=True)
class ValueModel:
    """A validated value model."""

    id: str
    version: int
    owner: str
    normalisation: str
    dimensions: tuple[Dimension, ...]
    classes: tuple[ClassRule, ...]
    default_class: str
    routes: dict[str, str]
    origin: str

    @property
    def class_ids(self) -> list[str]:
        """Every class the model can give, the default last."""
        return [c.id for c in self.classes] + [self.default_class]

    def dimension(self, name: str) -> Dimension:
        """The dimension ``name``."""
        return next(d for d in self.dimensions if d.id == name)


def default_model_path() -> Path:
    """The value model shipped with callops."""
    return Path(str(resources.files("callops.value") / "default_model.yaml"))


def load_model(path: Path | str | None = None) -> ValueModel:
    """Read and validate a value model file (default: the shipped one)."""
    p = Path(path) if path else default_model_path()
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise CallopsError(f"cannot read value model {p}: {exc.strerror}") from None
    return parse_model(text, str(p))


def _ident(origin: str, node: Any, key: str, what: str) -> str:
    value = node.get(key)
    if not isinstance(value, str) or not value.replace("_", "").isascii() or not value.replace("_", "").isalnum():
        raise fail(origin, node, f"{what}: {key} must be a name of letters, digits and '_', not {value!r}")
    return value


def _compile(origin: str, node: Any, text: Any, columns: set[str], what: str, key: str | None = None) -> str:
    if not isinstance(text, str):
        raise fail(origin, node, f"{what}: expression must be text, not {text!r}", key)
    try:
        return compile_expression(text, columns, what=what)
    except CallopsError as exc:
        raise fail(origin, node, str(exc), key) from None


def parse_model(text: str, origin: str = "value model") -> ValueModel:
    """Parse and validate value-model YAML; every error names ``origin`` and the line."""
    data = load_yaml(text, origin)
    require_keys(origin, data, "the value model", ("id", "version", "dimensions", "classes", "routes"),
                 ("owner", "normalisation", "description", "default_class"))  # fmt: skip
    model_id = _ident(origin, data, "id", "the value model")
    version = data["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise fail(origin, data, f"version must be a whole number from 1, not {version!r}")
    norm = data.get("normalisation", "percentile")
    if norm not in NORMALISATIONS:
        raise fail(origin, data, f"normalisation must be one of {', '.join(NORMALISATIONS)}, not {norm!r}")
    dims_node = data["dimensions"]
    if not isinstance(dims_node, dict):
        raise fail(origin, data, "dimensions must be a mapping of the five dimensions")
    missing = [d for d in DIMENSIONS if d not in dims_node]
    extra = [d for d in dims_node if d not in DIMENSIONS]
    if missing or extra:
        raise fail(origin, dims_node, f"dimensions must be exactly {', '.join(DIMENSIONS)}"
                   + (f"; missing {', '.join(missing)}" if missing else "")
                   + (f"; unknown {', '.join(map(str, extra))}" if extra else ""))  # fmt: skip
    columns = set(FEATURES)
    seen: set[str] = set()
    dims = []
    for name in DIMENSIONS:
        node = dims_node[name]
        require_keys(origin, node, f"dimension {name}", ("weight", "indicators"), ("description",))
        weight = number(origin, node, "weight", f"dimension {name}")
        inds = []
        if not isinstance(node["indicators"], list) or not node["indicators"]:
            raise fail(origin, node, f"dimension {name}: indicators must be a non-empty list")
        for item in node["indicators"]:
            require_keys(origin, item, f"an indicator of {name}", ("id", "expr", "type", "weight"),
                         ("higher_is_better", "description", "label"))  # fmt: skip
            ind_id = _ident(origin, item, "id", f"an indicator of {name}")
            if ind_id in seen:
                raise fail(origin, item, f"duplicate indicator id {ind_id!r}")
            seen.add(ind_id)
            if item["type"] not in INDICATOR_TYPES:
                raise fail(origin, item, f"indicator {ind_id}: type must be key or auxiliary, not {item['type']!r}")
            w = number(origin, item, "weight", f"indicator {ind_id}")
            hib = item.get("higher_is_better", True)
            if not isinstance(hib, bool):
                raise fail(origin, item, f"indicator {ind_id}: higher_is_better must be true or false")
            sql = _compile(origin, item, item["expr"], columns, f"indicator {ind_id}", "expr")
            label = texts(origin, item, "label", f"indicator {ind_id}") if "label" in item else None
            inds.append(Indicator(ind_id, item["expr"], sql, item["type"], w, hib, item.line, label))
        if sum(i.weight for i in inds) <= 0:
            raise fail(origin, node, f"dimension {name}: the indicator weights add up to 0")
        if not any(i.type == "key" for i in inds):
            raise fail(origin, node, f"dimension {name}: needs at least one key indicator")
        dims.append(Dimension(name, weight, tuple(inds)))
    if sum(d.weight for d in dims) <= 0:
        raise fail(origin, dims_node, "the dimension weights add up to 0")
    class_columns = columns | {"score", *DIMENSIONS}
    classes = []
    if not isinstance(data["classes"], list):
        raise fail(origin, data, "classes must be a list of {id, when}")
    for item in data["classes"]:
        require_keys(origin, item, "a class", ("id", "when"), ("description",))
        cid = _ident(origin, item, "id", "a class")
        if cid in {c.id for c in classes}:
            raise fail(origin, item, f"duplicate class id {cid!r}")
        sql = _compile(origin, item, item["when"], class_columns, f"class {cid}", "when")
        classes.append(ClassRule(cid, item["when"], sql,
                                 item.line))  # fmt: skip
    default_class = data.get("default_class", "standard")
    ids = [c.id for c in classes] + [default_class]
    for need in ("high_value", "low_value", "complex"):
        if need not in ids:
            raise fail(origin, data, f"classes must include {need}")
    routes = data["routes"]
    if not isinstance(routes, dict):
        raise fail(origin, data, "routes must map each class to a routing target")
    for cid in ids:
        if cid not in routes:
            raise fail(origin, routes, f"routes: no route for class {cid!r}")
    for cid, route in routes.items():
        if cid not in ids:
            raise fail(origin, routes, f"routes: unknown class {cid!r}")
        if route not in ROUTES:
            raise fail(origin, routes, f"routes: {cid} -> unknown target {route!r}; known: {', '.join(ROUTES)}")
    return ValueModel(model_id, version, str(data.get("owner", "")), norm, tuple(dims), tuple(classes),
                      default_class, dict(routes), origin)  # fmt: skip


def normalise(values: np.ndarray, method: str) -> np.ndarray:
    """Values mapped to [0, 1] within the population (see the module docstring); NaN → 0."""
    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v)
    out = np.zeros(len(v))
    if not ok.any():
        return out
    good = v[ok]
    if method == "minmax":
        lo, hi = good.min(), good.max()
        out[ok] = (good - lo) / (hi - lo) if hi > lo else 0.5
        return out
    ordered = np.sort(good)
    below = np.searchsorted(ordered, good, side="left")
    upto = np.searchsorted(ordered, good, side="right")
    out[ok] = (below + 0.5 * (upto - below)) / len(v)
    return out


@dataclass
class Scores:
    """Batch scores: per customer the score, class, route, dimension scores and normalised indicators."""

    customer_id: np.ndarray
    score: np.ndarray
    value_class: np.ndarray
    route: np.ndarray
    dimensions: dict[str, np.ndarray]
    normalised: dict[str, np.ndarray]  # indicator id -> n in [0, 1]
    raw: dict[str, np.ndarray]  # indicator id -> raw value

    def classes(self) -> dict[str, int]:
        """{class: number of customers}."""
        names, counts = np.unique(self.value_class.astype(str), return_counts=True)
        return {str(k): int(c) for k, c in zip(names, counts, strict=True)}


def evaluate(features: pa.Table, sql: dict[str, str]) -> dict[str, np.ndarray]:
    """Evaluate named SQL expressions (already checked by :mod:`callops.expressions`) over ``features``."""
    if not sql:
        return {}
    con = duckdb.connect()
    try:
        con.register("f", features)
        select = ", ".join(f"({s}) AS {quote_identifier(k)}" for k, s in sql.items())
        try:
            result = con.sql(f"SELECT {select} FROM f").to_arrow_table()
        except duckdb.Error as exc:
            raise CallopsError(f"cannot evaluate the expressions: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()
    return {k: result.column(k).to_numpy(zero_copy_only=False) for k in sql}


def score(features: pa.Table, model: ValueModel) -> Scores:
    """Score every row of ``features`` with ``model`` (one batch)."""
    n = features.num_rows
    sql = {i.id: f"CAST({i.sql} AS DOUBLE)" for d in model.dimensions for i in d.indicators}
    raw = evaluate(features, sql)
    total_w = sum(d.weight for d in model.dimensions)
    normalised: dict[str, np.ndarray] = {}
    dims: dict[str, np.ndarray] = {}
    total = np.zeros(n)
    for d in model.dimensions:
        wsum = sum(i.weight for i in d.indicators)
        acc = np.zeros(n)
        for i in d.indicators:
            nv = normalise(np.asarray(raw[i.id], dtype=float), model.normalisation)
            if not i.higher_is_better:
                nv = 1.0 - nv
            normalised[i.id] = nv
            acc += i.weight * nv
        dims[d.id] = 100.0 * acc / wsum
        total += d.weight * dims[d.id]
    total /= total_w
    cls = np.full(n, model.default_class, dtype=object)
    if model.classes:
        extra = {"score": pa.array(total), **{k: pa.array(v) for k, v in dims.items()}}
        table = features
        for k, v in extra.items():
            table = table.append_column(k, v)
        hits = evaluate(table, {c.id: f"coalesce(({c.sql}), false)" for c in model.classes})
        for c in reversed(model.classes):  # first match wins: apply the rules last to first
            cls[np.asarray(hits[c.id], dtype=bool)] = c.id
    route = np.array([model.routes[c] for c in cls.tolist()], dtype=object)
    ids = np.asarray(features.column("customer_id").to_pylist(), dtype=object)
    return Scores(ids, total, cls, route, dims, normalised, {k: np.asarray(v, dtype=float) for k, v in raw.items()})


def explanation(model: ValueModel, score_value: float, dims: dict[str, float], normalised: dict[str, float],
                raw: dict[str, float]) -> dict[str, Any]:
    """The ``dimensions`` part of an explanation: score, weight, contribution and indicators of each."""
    total_w = sum(d.weight for d in model.dimensions)
    out: dict[str, Any] = {}
    for d in model.dimensions:
        wsum = sum(i.weight for i in d.indicators)
        share = d.weight / total_w
        out[d.id] = {
            "score": dims[d.id],
            "weight": share,
            "contribution": share * dims[d.id],
            "indicators": [
                {"id": i.id, "label": i.label, "expr": i.expr, "type": i.type, "weight": i.weight / wsum,
                 "value": raw.get(i.id), "normalised": normalised[i.id],
                 "contribution": share * (i.weight / wsum) * 100.0 * normalised[i.id]}
                for i in d.indicators
            ],
        }  # fmt: skip
    return out
