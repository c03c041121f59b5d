"""Alert rules on indicators: YAML rules evaluated against the metric engine, results kept with their inputs.

A rule watches one metric over a scope (dimensions and an optional filter) on the last
complete periods of a grain, compares each period's value with fixed thresholds, a target
or the previous period, and gives the most severe level reached (yellow < orange < red < black)::

    rules:
      - id: sl_intraday
        metric: service_level
        scope: {by: [queue], where: "channel = 'voice'"}
        window: {grain: "interval:30", periods: 2, require: all}   # both last half-hours breached
        compare: threshold                  # value itself vs the levels
        levels: {yellow: 0.8, orange: 0.7, red: 0.6, black: 0.4}
      - id: volume_jump
        metric: contacts_offered
        window: {grain: day}
        compare: previous                   # relative change vs the period before
        better: lower                       # neutral metric: say which way is bad (else both ways)
        levels: {yellow: 0.2, red: 0.5}     # more than +20 %, +50 %

Direction comes from the catalog (``better`` overrides it). A level is reached when the
value is *strictly worse* than its threshold: below it for higher-is-better metrics, above it
for lower-is-better ones. With ``compare: target``, ``previous`` or ``year`` the thresholds are
deviations from the comparison value, relative (``(value - base) / |base|``, the default) or
absolute (``relative: false``), counted in the bad direction (both ways for a neutral metric).
``require: all`` fires at the least severe level shared by every period of the window (a
sustained breach); ``any`` at the worst period's level.

Rules live in ``$CALLOPS_HOME/tenants/<tenant>/alerts.yaml`` (else the package's
``alerts.yaml``). Fired alerts are written as Parquet rows under ``$CALLOPS_HOME/alerts/<tenant>/``,
each with the values, comparison values, measure parts and parameters behind it (``inputs``,
JSON). That folder stands in for the operational store, which does not exist yet.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from callops import tenancy
from callops.errors import CallopsError
from callops.metrics.catalog import Catalog, load_catalog
from callops.metrics.compiler import PERIOD, compile_query, parse_where, plan_query
from callops.metrics.grains import CALENDAR, bucket_seconds, check_grain, period_end, period_start, shift
from callops.metrics.parameters import load_parameters
from callops.metrics.sources import DIMENSIONS
from callops.metrics.spec import Direction, Parameters
from callops.settings import callops_home, tenant_file
from callops.warehouse import Warehouse


class Level(StrEnum):
    """Alert levels, from least to most severe."""

    YELLOW = "yellow"
    ORANGE = "orange"
    RED = "red"
    BLACK = "black"


SEVERITY = {lvl: i for i, lvl in enumerate(Level)}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Scope(_Strict):
    """Which rows a rule watches: one alert per value combination of ``by``, after ``where``."""

    by: tuple[str, ...] = ()
    where: str | None = None


class Window(_Strict):
    """The periods a rule looks at: the last ``periods`` complete periods of ``grain`` before the evaluation time."""

    grain: str = "day"
    periods: int = Field(1, ge=1, le=1000)
    require: Literal["all", "any"] = "all"
    include_current: bool = False


class Levels(_Strict):
    """Threshold of each level (at least one)."""

    yellow: float | None = None
    orange: float | None = None
    red: float | None = None
    black: float | None = None

    def given(self) -> list[tuple[Level, float]]:
        """(level, threshold) of the levels set, least severe first."""
        return [(lvl, getattr(self, lvl.value)) for lvl in Level if getattr(self, lvl.value) is not None]


class AlertRule(_Strict):
    """One alert rule as written in YAML."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    metric: str
    description: str = ""
    scope: Scope = Scope()
    window: Window = Window()
    compare: Literal["threshold", "target", "previous", "year"] = "threshold"
    target: float | None = None
    relative: bool = True
    better: Direction | None = None
    levels: Levels
    params: dict[str, Any] = {}


class RulesFile(_Strict):
    """The content of an alerts file."""

    rules: list[AlertRule]


@dataclass(frozen=True)
class RuleSet:
    """Validated rules and the file they came from."""

    rules: list[AlertRule]
    origin: str


# ------------------------------------------------------------------------------------------------ loading
def tenant_rules_path(tenant_id: str) -> Path:
    """Where a tenant's own alert rules live."""
    return tenant_file(tenant_id, "alerts.yaml")


def alerts_dir(tenant_id: str) -> Path:
    """Where evaluated alerts of a tenant are stored (Parquet; the operational store does not exist yet)."""
    return callops_home() / "alerts" / tenant_id


def _direction(rule: AlertRule, cat: Catalog) -> Direction:
    return rule.better or cat.metric(rule.metric).spec.direction


def _check_rule(rule: AlertRule, cat: Catalog) -> list[str]:
    """Problems of one rule against the catalog, each a short sentence."""
    problems = []
    if rule.metric not in cat.metrics:
        try:
            cat.metric(rule.metric)
        except CallopsError as exc:
            return [str(exc)]
    try:
        check_grain(rule.window.grain)
    except CallopsError as exc:
        problems.append(str(exc))
    for dim in rule.scope.by:
        if dim not in DIMENSIONS:
            problems.append(f"unknown dimension {dim!r} in scope.by; expected one of: {', '.join(DIMENSIONS)}")
    try:
        parse_where(rule.scope.where)
    except CallopsError as exc:
        problems.append(f"scope.where: {exc}")
    try:
        Parameters.model_validate(rule.params)
    except ValidationError as exc:
        problems.append("params: " + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    given = rule.levels.given()
    if not given:
        problems.append("levels: give at least one of yellow, orange, red, black")
    direction = _direction(rule, cat)
    if rule.compare == "target" and rule.target is None:
        problems.append("compare: target needs `target:`")
    if rule.compare != "target" and rule.target is not None:
        problems.append(f"`target:` is only used with compare: target (compare is {rule.compare})")
    if rule.compare == "target" and rule.relative and rule.target == 0:
        problems.append("a relative comparison with target 0 is undefined; use relative: false")
    values = [t for _, t in given]
    names = " < ".join(lvl.value for lvl, _ in given)
    if rule.compare == "threshold":
        if direction == Direction.NEUTRAL:
            problems.append(
                f"metric {rule.metric!r} is neutral (neither higher nor lower is better): "
                "set `better: higher` or `better: lower` to compare it with thresholds"
            )
        elif direction == Direction.HIGHER and any(a <= b for a, b in pairwise(values)):
            problems.append(
                f"levels must get stricter from yellow to black; {rule.metric} is better higher, so thresholds "
                f"must decrease ({names}): got {', '.join(f'{lvl.value}={t:g}' for lvl, t in given)}"
            )
        elif direction == Direction.LOWER and any(a >= b for a, b in pairwise(values)):
            problems.append(
                f"levels must get stricter from yellow to black; {rule.metric} is better lower, so thresholds "
                f"must increase ({names}): got {', '.join(f'{lvl.value}={t:g}' for lvl, t in given)}"
            )
    else:
        if any(t < 0 for t in values):
            problems.append("levels are deviations in the bad direction for this comparison: use values >= 0")
        if any(a >= b for a, b in pairwise(values)):
            problems.append(
                f"levels must get stricter from yellow to black: deviations must increase ({names}): "
                f"got {', '.join(f'{lvl.value}={t:g}' for lvl, t in given)}"
            )
    return problems


def parse_rules(text: str, origin: str, cat: Catalog | None = None) -> RuleSet:
    """Parse and validate an alerts file; raise one :class:`CallopsError` listing every problem."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise CallopsError(f"{origin}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise CallopsError(f"{origin}: expected a mapping with `rules:`")
    try:
        parsed = RulesFile.model_validate(data)
    except ValidationError as exc:
        msgs = []
        for e in exc.errors()[:6]:
            loc = list(e["loc"])
            where = ".".join(str(x) for x in loc)
            if len(loc) >= 2 and loc[0] == "rules" and isinstance(loc[1], int):
                rid = (data.get("rules") or [{}])[loc[1]]
                rid = rid.get("id") if isinstance(rid, dict) else None
                where = f"rule {rid or '#' + str(loc[1] + 1)!r} " + ".".join(str(x) for x in loc[2:])
            msgs.append(f"{where.strip()}: {e['msg']}")
        raise CallopsError(f"{origin}: invalid alert rules: " + " | ".join(msgs)) from None
    cat = cat or load_catalog()
    problems = []
    seen: set[str] = set()
    for rule in parsed.rules:
        if rule.id in seen:
            problems.append(f"rule {rule.id!r}: duplicate id")
        seen.add(rule.id)
        problems += [f"rule {rule.id!r}: {p}" for p in _check_rule(rule, cat)]
    if problems:
        raise CallopsError(f"{origin}: {len(problems)} problem(s) in alert rules: " + " | ".join(problems))
    return RuleSet(parsed.rules, origin)


def load_rules(tenant_id: str, path: Path | None = None, cat: Catalog | None = None) -> RuleSet:
    """The rules in ``path``, else the tenant's file, else the package default, validated."""
    if path is not None:
        if not path.is_file():
            raise CallopsError(f"alert rules file {path} not found")
        return parse_rules(path.read_text(encoding="utf-8"), str(path), cat)
    own = tenant_rules_path(tenant_id)
    if own.is_file():
        return parse_rules(own.read_text(encoding="utf-8"), str(own), cat)
    text = (resources.files("callops.metrics") / "alerts.yaml").read_text(encoding="utf-8")
    return parse_rules(text, "alerts.yaml (default)", cat)


# --------------------------------------------------------------------------------------------- evaluation
def window_periods(at: datetime, zone: str, window: Window) -> list[pd.Timestamp]:
    """Starts (local wall clock) of the window's periods, oldest first: the last complete ones before ``at``."""
    local = at.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    size = bucket_seconds(window.grain)
    if size is not None:
        midnight = datetime.combine(local.date(), datetime.min.time())
        current = midnight + timedelta(seconds=int((local - midnight).total_seconds()) // size * size)
    else:
        current = datetime.combine(period_start(local.date(), window.grain), datetime.min.time())
    last = current if window.include_current else _shift(pd.Timestamp(current), window.grain, "previous")
    periods = [pd.Timestamp(last)]
    for _ in range(window.periods - 1):
        periods.append(_shift(periods[-1], window.grain, "previous"))
    return periods[::-1]


def _shift(p: pd.Timestamp, grain: str, compare: str) -> pd.Timestamp:
    if grain in CALENDAR:
        return pd.Timestamp(shift(p.date(), grain, compare))
    return pd.Timestamp(shift(p.to_pydatetime(), grain, compare))


def _range(periods: list[pd.Timestamp], grain: str) -> tuple[date, date]:
    first, last = min(periods).date(), max(periods).date()
    return first, period_end(last, grain) if grain in CALENDAR else last


def _clean(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "item"):
        return _clean(v.item())
    return v


def _deviation(value: float, base: float | None, relative: bool, direction: Direction) -> float | None:
    """How much worse ``value`` is than ``base`` (positive = worse); None without a usable base."""
    if base is None:
        return None
    diff = value - base
    if relative:
        if base == 0:
            return None
        diff = diff / abs(base)
    if direction == Direction.HIGHER:
        return -diff
    if direction == Direction.LOWER:
        return diff
    return abs(diff)


def _level(score: float | None, given: list[tuple[Level, float]], threshold_mode: Direction | None) -> Level | None:
    """The most severe level reached: strictly worse than its threshold."""
    if score is None:
        return None
    reached = None
    for lvl, t in given:
        if threshold_mode == Direction.HIGHER:
            hit = score < t
        elif threshold_mode == Direction.LOWER:
            hit = score > t
        else:  # a deviation in the bad direction
            hit = score > t
        if hit:
            reached = lvl
    return reached


@dataclass
class RuleContext:
    """What evaluating a rule needs besides the rule."""

    wh: Warehouse
    tenant: tenancy.Tenant
    cat: Catalog
    base_params: Parameters
    at: datetime


def _fetch(ctx: RuleContext, rule: AlertRule, periods: list[pd.Timestamp], params: Parameters) -> pd.DataFrame:
    start, end = _range(periods, rule.window.grain)
    try:
        expr = compile_query(
            ctx.wh, ctx.tenant, ctx.cat, [rule.metric], grain=rule.window.grain, by=list(rule.scope.by),
            start=start, end=end, where=rule.scope.where, params=params, keep_measures=True,
        )
        df = expr.to_pandas()
    except CallopsError as exc:
        raise CallopsError(f"alert rule {rule.id!r}: {exc}") from None
    df[PERIOD] = [pd.Timestamp(v) for v in df[PERIOD]]
    return df[df[PERIOD].isin(periods)]


def evaluate_rule(ctx: RuleContext, rule: AlertRule) -> list[dict]:
    """Alert rows of one rule (one per scope value combination that fired)."""
    params = Parameters.model_validate({**ctx.base_params.model_dump(), **rule.params})
    grain, by = rule.window.grain, list(rule.scope.by)
    periods = window_periods(ctx.at, ctx.tenant.timezone, rule.window)
    compare_periods: dict[pd.Timestamp, pd.Timestamp] = {}
    if rule.compare in ("previous", "year"):
        compare_periods = {p: _shift(p, grain, rule.compare) for p in periods}
    data = _fetch(ctx, rule, periods, params)
    base = None
    if compare_periods:
        base = _fetch(ctx, rule, sorted(set(compare_periods.values())), params)
        base = base.set_index([PERIOD, *by])[rule.metric] if len(base) else None
    measures = {u.column: u.measure for u in plan_query(ctx.cat, [rule.metric], params).uses.values()}
    direction = _direction(rule, ctx.cat)
    given = rule.levels.given()
    mode = direction if rule.compare == "threshold" else None
    rows = []
    groups = data.groupby(by, dropna=False, sort=True) if by else [((), data)]
    for key, frame in groups:
        key = key if isinstance(key, tuple) else (key,)
        scope = {d: _clean(v) for d, v in zip(by, key, strict=True)}
        by_period = {p: r for p, r in zip(frame[PERIOD], frame.to_dict("records"), strict=True)}
        inputs, levels = [], []
        for p in periods:
            r = by_period.get(p, {})
            value = _clean(r.get(rule.metric))
            comparison = None
            if rule.compare == "target":
                comparison = rule.target
            elif compare_periods and base is not None:
                k = (compare_periods[p], *key) if by else compare_periods[p]
                comparison = _clean(base.get(k))
            score = value if rule.compare == "threshold" or value is None else _deviation(
                value, comparison, rule.relative, direction
            )
            lvl = _level(score, given, mode)
            levels.append(lvl)
            inputs.append({
                "period": p.isoformat(), "value": value, "comparison_value": comparison,
                "deviation": None if rule.compare == "threshold" else score, "level": lvl.value if lvl else None,
                "measures": {measures[c]: _clean(r.get(c)) for c in measures if c in r},
            })
        if rule.window.require == "all":
            fired = None if any(lvl is None for lvl in levels) else min(levels, key=SEVERITY.__getitem__)
        else:
            hit = [lvl for lvl in levels if lvl is not None]
            fired = max(hit, key=SEVERITY.__getitem__) if hit else None
        if fired is None:
            continue
        last = inputs[-1]
        rows.append({
            "tenant": ctx.tenant.tenant_id,
            "rule": rule.id,
            "metric": rule.metric,
            "scope": json.dumps(scope, ensure_ascii=False, sort_keys=True),
            "grain": grain,
            "period": last["period"],
            "value": last["value"],
            "comparison": rule.compare,
            "comparison_value": last["comparison_value"],
            "deviation": last["deviation"],
            "threshold": dict(given)[fired],
            "level": fired.value,
            "at": ctx.at.astimezone(UTC),
            "inputs": json.dumps({
                "window": rule.window.model_dump(), "where": rule.scope.where, "better": direction.value,
                "relative": rule.relative, "levels": {lvl.value: t for lvl, t in given},
                "parameters": params.model_dump(), "periods": inputs,
            }, ensure_ascii=False, default=str),
        })
        rows[-1]["text"] = alert_text(rows[-1], ctx.tenant.timezone)
    return rows


def alert_text(row: dict, zone: str) -> str:
    """The sentence a person reads for an alert row: numbers readable, the evaluation time in ``zone``.

    ``period`` is already the tenant's local period start (windows are cut in the zone); ``at`` is an instant.
    """
    from callops.cli import _cell  # the CLI's readable cells: "—" when missing, separators, never 1e+06
    from callops.ui.i18n import local_time

    scope = ", ".join(f"{k}={v}" for k, v in json.loads(row["scope"]).items()) or "all"
    versus = "" if row["comparison"] == "threshold" else f", {row['comparison']} {_cell(row['comparison_value'])}"
    return (f"{row['level'].upper()} {row['rule']}: {row['metric']} {_cell(row['value'])} "
            f"(threshold {_cell(row['threshold'])}{versus}) on {scope}, {row['grain']} {row['period']}; "
            f"evaluated {local_time(row['at'], zone, '%Y-%m-%d %H:%M')} {zone}")  # fmt: skip


ALERT_SCHEMA = pa.schema([
    ("tenant", pa.string()), ("rule", pa.string()), ("metric", pa.string()), ("scope", pa.string()),
    ("grain", pa.string()), ("period", pa.string()), ("value", pa.float64()), ("comparison", pa.string()),
    ("comparison_value", pa.float64()), ("deviation", pa.float64()), ("threshold", pa.float64()),
    ("level", pa.string()), ("at", pa.timestamp("us", tz="UTC")), ("evaluated_at", pa.timestamp("us", tz="UTC")),
    ("inputs", pa.string()),
])


def evaluate(
    wh: Warehouse,
    tenant_id: str,
    at: datetime | None = None,
    rules: RuleSet | None = None,
    *,
    store: bool = True,
    catalog: Catalog | None = None,
) -> list[dict]:
    """Evaluate the tenant's alert rules at ``at`` (default now); store and return the alerts that fired."""
    cat = catalog or load_catalog()
    tenant = tenancy.get_tenant(wh, tenant_id)
    rules = rules or load_rules(tenant.tenant_id, cat=cat)
    now = datetime.now(UTC)
    at = at or now
    if at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo(tenant.timezone))
    ctx = RuleContext(wh, tenant, cat, load_parameters(tenant.tenant_id), at)
    rows = []
    for rule in rules.rules:
        rows += evaluate_rule(ctx, rule)
    for r in rows:
        r["evaluated_at"] = now
    if store and rows:
        write_alerts(tenant.tenant_id, rows)
    rows.sort(key=lambda r: (-SEVERITY[Level(r["level"])], r["rule"], r["scope"]))
    return rows


def write_alerts(tenant_id: str, rows: list[dict]) -> Path:
    """Append alert rows as one Parquet file under :func:`alerts_dir`."""
    folder = alerts_dir(tenant_id)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = rows[0]["evaluated_at"].strftime("%Y%m%dT%H%M%S")
    path = folder / f"alerts-{stamp}-{uuid.uuid4().hex[:8]}.parquet"
    table = pa.Table.from_pylist([{f.name: r.get(f.name) for f in ALERT_SCHEMA} for r in rows], schema=ALERT_SCHEMA)
    tmp = path.with_suffix(".tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)  # readers never see a half-written file
    return path


def read_alerts(tenant_id: str) -> pa.Table:
    """Every stored alert of a tenant (empty table if none)."""
    files = sorted(alerts_dir(tenant_id).glob("*.parquet")) if alerts_dir(tenant_id).is_dir() else []
    if not files:
        return ALERT_SCHEMA.empty_table()
    return pa.concat_tables([pq.read_table(f, schema=ALERT_SCHEMA) for f in files])
