"""Graded alert rules (YAML) on live measures: yellow, orange, red, black, with hysteresis and cool-down.

A rule watches one measure on every key of one scope kind (or the keys listed in ``only``)::

    alerts:
      - name: long-wait
        measure: longest_wait_s
        scope: queue
        levels: {yellow: 60, orange: 120, red: 180, black: 300}   # higher is worse
        clear_below: 0.8      # step down from a level once the value is below 0.8 x its threshold
        cooldown_s: 120       # at least this long at a level before stepping down
      - name: low-service-level
        measure: service_level_15m
        scope: queue
        below: {yellow: 0.8, orange: 0.7, red: 0.6, black: 0.4}     # lower is worse
        clear_above: 1.05     # step up-level ... back down once the value is above 1.05 x the threshold
        min_sample: {measure: offered_15m, at_least: 20}
      - name: long-aux
        measure: aux_s
        scope: agent
        levels: {yellow: 1800, red: 3600}
        clear: {yellow: 600, red: 1800}   # explicit clear thresholds per level (instead of clear_below)
        clear_after_s: 60     # the value must stay past the clear threshold this long before stepping down
        recipients:           # who hears about it, through the store's outbox (besides notify.yaml's routes)
          - {channel: inapp, to: ["role:supervisor", "user:alice"], levels: [red]}

Level changes are immediate upwards (raise, escalate); downwards (de-escalate, clear) they need the value past
the hysteresis band *and* ``cooldown_s`` at the current level *and*, with ``clear_after_s``, that long past the
band without a break (checked when the rule is next evaluated). Stepping down lands on the highest level whose
hysteresis band still holds. Every change is an :class:`AlertEvent` stamped with the event-time clock; a person
can acknowledge or resolve an alert (:meth:`AlertBook.acknowledge`, :meth:`AlertBook.resolve`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from callops.errors import CallopsError
from callops.realtime.state import ABANDONED as C_ABANDONED
from callops.realtime.state import (
    ACW,
    BUSY,
    COUNTERS,
    HANDLE_S,
    HANDLED,
    READY,
    STATES,
    WINDOW_NAMES,
    Scope,
    TenantState,
)
from callops.realtime.state import ANS_WAIT_S as C_ANS_WAIT_S
from callops.realtime.state import ANSWERED as C_ANSWERED
from callops.realtime.state import AUX as S_AUX

LEVELS: tuple[str, ...] = ("yellow", "orange", "red", "black")
LEVEL_NUMBER = {name: i + 1 for i, name in enumerate(LEVELS)}
Level = Literal["yellow", "orange", "red", "black"]
ScopeKind = Literal["queue", "center", "channel", "tenant", "agent"]

ALERT_STATUSES: tuple[str, ...] = ("open", "acknowledged", "resolved", "cleared")
# Kinds of alert events: the engine's level changes, then what people do.
ALERT_EVENT_KINDS: tuple[str, ...] = ("raised", "escalated", "de-escalated", "cleared", "acknowledged", "resolved")
# Rules another part of the engine evaluates itself (issue 19: people.adherence's out-of-adherence): replacing the
# YAML rules keeps their levels and alerts.
EXTERNAL_RULES: set[str] = set()


# ------------------------------------------------------------------------------------------------- measures
Getter = Callable[[TenantState, Any, float], float | None]


@dataclass(frozen=True)
class Measure:
    """A live measure: how to read it and what changes it (``contact``, ``agent`` events, ``time``)."""

    name: str
    deps: frozenset[str]
    get: Getter
    description: str


def _counter(w: int, m: int) -> Getter:
    if w < 3:  # the sliding windows: read the running sum directly (hot path)
        return lambda st, sc, now: sc.sums[w][m]

    def get(st: TenantState, sc: Scope, now: float) -> float:
        return sc.window(w, st.day)[m]

    return get


def _ratio(w: int, kind: str) -> Getter:
    def get(st: TenantState, sc: Scope, now: float) -> float | None:
        c = sc.sums[w] if w < 3 else sc.window(w, st.day)
        if kind == "sl":
            return st.service_level(c)
        if kind in ("answer", "abandon"):
            done = c[C_ANSWERED] + c[C_ABANDONED]
            if not done:
                return None
            return (c[C_ANSWERED] if kind == "answer" else c[C_ABANDONED]) / done
        if kind == "aht":
            return c[HANDLE_S] / c[HANDLED] if c[HANDLED] else None
        return c[C_ANS_WAIT_S] / c[C_ANSWERED] if c[C_ANSWERED] else None

    return get


def _agents(i: int) -> Getter:
    return lambda st, sc, now: sc.agents[i]


def _occupancy(st: TenantState, sc: Scope, now: float) -> float | None:
    a = sc.agents
    working = a[READY] + a[BUSY] + a[ACW]
    return (a[BUSY] + a[ACW]) / working if working else None


def _scope_measures() -> dict[str, Measure]:
    cw = frozenset({"contact", "time"})
    out = {
        "waiting": Measure("waiting", frozenset({"contact"}), lambda st, sc, now: sc.waiting, "contacts waiting now"),
        "longest_wait_s": Measure(
            "longest_wait_s", frozenset({"contact", "time", "wait"}), lambda st, sc, now: st.longest_wait(sc, now),
            "wait of the oldest waiting contact",
        ),
        "occupancy": Measure("occupancy", frozenset({"agent"}), _occupancy, "(busy + acw) / (ready + busy + acw)"),
        "agents_working": Measure(
            "agents_working", frozenset({"agent"}),
            lambda st, sc, now: sc.agents[READY] + sc.agents[BUSY] + sc.agents[ACW], "ready + busy + acw agents",
        ),
        "agents_logged_in": Measure(
            "agents_logged_in", frozenset({"agent"}),
            lambda st, sc, now: sum(sc.agents[:S_AUX + 1]), "agents not offline",
        ),
    }  # fmt: skip
    for i, s in enumerate(STATES):
        out[f"agents_{s}"] = Measure(f"agents_{s}", frozenset({"agent"}), _agents(i), f"agents {s} now")
    for w, wname in enumerate(WINDOW_NAMES):
        for m, cname in enumerate(COUNTERS):
            out[f"{cname}_{wname}"] = Measure(f"{cname}_{wname}", cw, _counter(w, m), f"{cname} in {wname}")
        for kind, label in (("sl", "service_level"), ("answer", "answer_rate"), ("abandon", "abandon_rate"),
                            ("aht", "aht"), ("asa", "asa")):  # fmt: skip
            out[f"{label}_{wname}"] = Measure(f"{label}_{wname}", cw, _ratio(w, kind), f"{label} in {wname}")
    return out


def _agent_measures() -> dict[str, Measure]:
    def in_state(state: str | None) -> Getter:
        def get(st: TenantState, ag: Any, now: float) -> float:
            if state is not None and ag.state != state:
                return 0.0
            return max(now - ag.since, 0.0) if ag.since > -math.inf else 0.0

        return get

    aw = frozenset({"agent", "time"})
    out = {"time_in_state_s": Measure("time_in_state_s", aw, in_state(None), "seconds in the current state")}
    for s in STATES:
        out[f"{s}_s"] = Measure(f"{s}_s", aw, in_state(s), f"seconds in {s} now (0 when in another state)")
    return out


SCOPE_MEASURES = _scope_measures()
AGENT_MEASURES = _agent_measures()


def measures_for(scope: str) -> dict[str, Measure]:
    """The measures a rule on ``scope`` may watch."""
    return AGENT_MEASURES if scope == "agent" else SCOPE_MEASURES


# ------------------------------------------------------------------------------------------------- rules
RecipientKind = Literal["raised", "escalated", "de-escalated", "cleared"]


class Recipient(BaseModel):
    """Who a rule notifies, on which channel, for which levels and changes (a route of
    :mod:`callops.realtime.notify`). ``to`` holds addresses of the channel, ``user:NAME`` or ``role:ROLE`` (in-app
    and e-mail: a role reaches every active user of the tenant with that role)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    channel: Literal["sms", "webhook", "email", "inapp"] = "inapp"
    to: list[str] = Field(min_length=1)
    levels: list[Level] = Field(default_factory=lambda: list(LEVELS))  # type: ignore[arg-type]
    kinds: list[RecipientKind] = Field(default_factory=lambda: ["raised", "escalated"])  # type: ignore[arg-type]


class MinSample(BaseModel):
    """Evaluate a rule only where another measure reaches a minimum (e.g. 20 contacts in the window)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    measure: str
    at_least: float


class AlertRule(BaseModel):
    """One alert rule (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    measure: str
    scope: ScopeKind = "queue"
    only: list[str] | None = None
    levels: dict[Level, float] | None = None
    below: dict[Level, float] | None = None
    clear_below: float = Field(0.8, gt=0, le=1)
    clear_above: float = Field(1.05, ge=1)
    clear: dict[Level, float] | None = None  # explicit clear threshold per level (instead of the factor)
    clear_after_s: float = Field(0.0, ge=0)
    cooldown_s: float = Field(0.0, ge=0)
    min_sample: MinSample | None = None
    description: str | None = None
    recipients: list[Recipient] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> AlertRule:
        if (self.levels is None) == (self.below is None):
            raise ValueError("give exactly one of 'levels' (higher is worse) or 'below' (lower is worse)")
        table = measures_for(self.scope)
        if self.measure not in table:
            raise ValueError(f"unknown measure {self.measure!r} for scope {self.scope}; "
                             f"known: {', '.join(sorted(table)[:12])}, ...")  # fmt: skip
        if self.min_sample is not None and self.min_sample.measure not in table:
            raise ValueError(f"unknown min_sample measure {self.min_sample.measure!r}")
        thresholds = self.levels or self.below or {}
        if not thresholds:
            raise ValueError("give at least one level")
        ordered = [thresholds[lv] for lv in LEVELS if lv in thresholds]
        worse = ordered == sorted(ordered) if self.levels is not None else ordered == sorted(ordered, reverse=True)
        if not worse or len(set(ordered)) != len(ordered):
            direction = "increase" if self.levels is not None else "decrease"
            raise ValueError(f"thresholds must strictly {direction} from yellow to black")
        for lv, c in (self.clear or {}).items():
            if lv not in thresholds:
                raise ValueError(f"clear.{lv}: the rule has no {lv} level")
            if (c >= thresholds[lv]) if self.levels is not None else (c <= thresholds[lv]):
                side = "below" if self.levels is not None else "above"
                raise ValueError(f"clear.{lv}: {c:g} must be {side} the {lv} threshold {thresholds[lv]:g}")
        return self

    @property
    def higher_is_worse(self) -> bool:
        """True for ``levels`` rules, False for ``below`` rules."""
        return self.levels is not None

    def thresholds(self) -> list[float | None]:
        """Thresholds indexed by level number (index 0 unused)."""
        table = self.levels if self.levels is not None else self.below
        assert table is not None
        return [None, *(table.get(lv) for lv in LEVELS)]  # type: ignore[arg-type]


class RuleFile(BaseModel):
    """A rules file: ``alerts: [...]``."""

    model_config = ConfigDict(extra="forbid")
    alerts: list[AlertRule]

    @model_validator(mode="after")
    def _unique(self) -> RuleFile:
        names = [r.name for r in self.alerts]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"duplicate rule names: {', '.join(dup)}")
        return self


def _errors(label: str, exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False)[:5]:
        loc = ".".join(str(p) for p in err["loc"])
        parts.append(f"{loc}: {err['msg'].removeprefix('Value error, ')}")
    return f"{label}: " + "; ".join(parts)


def parse_rules(text: str, label: str = "<rules>") -> list[AlertRule]:
    """Rules from YAML text; one :class:`CallopsError` naming the offending fields when invalid."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CallopsError(f"{label}: not valid YAML ({exc})") from None
    try:
        return RuleFile.model_validate(data).alerts
    except ValidationError as exc:
        raise CallopsError(_errors(label, exc)) from None


def load_rules(path: str | Path | None = None) -> list[AlertRule]:
    """Rules from a YAML file, or the packaged defaults (``default_alerts.yaml``) when ``path`` is None."""
    if path is None:
        return parse_rules((Path(__file__).parent / "default_alerts.yaml").read_text(), "default_alerts.yaml")
    p = Path(path)
    if not p.exists():
        raise CallopsError(f"rules file {p} not found")
    return parse_rules(p.read_text(), str(p))


# ------------------------------------------------------------------------------------------------- state
@dataclass
class AlertEvent:
    """A change of an alert: ``raised``, ``escalated``, ``de-escalated``, ``cleared``, ``acknowledged``,
    ``resolved``. ``at`` is event time (epoch s); ``latency_s`` the wall time from the triggering event's
    arrival to this change (None for a person's actions)."""

    kind: str
    alert_id: str
    rule: str
    scope: str
    key: str
    level: int
    prev_level: int
    value: float | None
    threshold: float | None
    at: float
    by: str | None = None
    note: str | None = None
    latency_s: float | None = None

    @property
    def level_name(self) -> str | None:
        """``yellow`` … ``black``, or None at level 0."""
        return LEVELS[self.level - 1] if self.level else None

    def as_dict(self, with_latency: bool = False) -> dict[str, Any]:
        """JSON-ready (deterministic unless ``with_latency``)."""
        d = {
            "kind": self.kind, "alert_id": self.alert_id, "rule": self.rule, "scope": self.scope, "key": self.key,
            "level": self.level_name, "prev_level": LEVELS[self.prev_level - 1] if self.prev_level else None,
            "value": self.value, "threshold": self.threshold, "at": self.at, "by": self.by, "note": self.note,
        }  # fmt: skip
        if with_latency:
            d["latency_s"] = self.latency_s
        return d


@dataclass
class Alert:
    """One alert from raise to clear or resolve."""

    alert_id: str
    rule: str
    scope: str
    key: str
    level: int
    max_level: int
    opened_at: float
    status: str = "open"  # one of ALERT_STATUSES
    acknowledged_by: str | None = None
    acknowledged_at: float | None = None
    resolved_by: str | None = None
    resolved_at: float | None = None
    closed_at: float | None = None
    history: list[AlertEvent] = field(default_factory=list)

    @property
    def active(self) -> bool:
        """Open or acknowledged."""
        return self.status in ("open", "acknowledged")


class _RuleKey:
    __slots__ = ("alert", "below_since", "level", "since")

    def __init__(self) -> None:
        self.level = 0
        self.since = -math.inf
        self.alert: Alert | None = None
        self.below_since: float | None = None  # since when the value is past the current level's clear band


class CompiledRule:
    """A rule ready for fast evaluation."""

    __slots__ = ("clear_after", "clear_signed", "deps", "factor", "get", "guard", "guard_min", "lowest", "name",
                 "only", "rule", "sign", "state", "thr", "thr_signed")

    def __init__(self, rule: AlertRule) -> None:
        table = measures_for(rule.scope)
        self.rule = rule
        m = table[rule.measure]
        self.get, self.deps = m.get, m.deps
        self.guard = table[rule.min_sample.measure].get if rule.min_sample else None
        self.guard_min = rule.min_sample.at_least if rule.min_sample else 0.0
        self.only = frozenset(rule.only) if rule.only else None
        self.sign = 1.0 if rule.higher_is_worse else -1.0
        self.factor = rule.clear_below if rule.higher_is_worse else rule.clear_above
        self.thr = rule.thresholds()
        self.thr_signed = [None if t is None else self.sign * t for t in self.thr]
        self.lowest = min(t for t in self.thr_signed if t is not None)  # below it nothing is raised
        # the signed value must fall below clear_signed[level] to step down from that level
        clear = rule.clear or {}
        self.clear_signed = [None if t is None else (self.sign * clear[lv] if lv in clear else t * self.factor)
                             for lv, t in zip((None, *LEVELS), self.thr_signed, strict=True)]  # fmt: skip
        self.clear_after = rule.clear_after_s
        self.name = rule.name
        # agent rules on time in one state (``aux_s``) only run while the agent is in that state
        self.state = rule.measure[:-2] if rule.scope == "agent" and rule.measure != "time_in_state_s" else None


class AlertBook:
    """Level state per (rule, key), the alerts, and a person's acknowledge/resolve."""

    def __init__(self, rules: list[AlertRule]) -> None:
        self.rules = [CompiledRule(r) for r in rules]
        self.keys: dict[tuple[str, str], _RuleKey] = {}
        self.alerts: dict[str, Alert] = {}
        self._count: dict[tuple[str, str], int] = {}
        self.hot: set[tuple[str, str]] = set()  # (rule, key) with a level above 0

    def evaluate(self, cr: CompiledRule, key: str, value: float | None, now: float) -> AlertEvent | None:
        """Feed one value of ``cr``'s measure for scope key ``key`` at event time ``now``; the change, if any."""
        if value is None:
            return None
        sv = cr.sign * value
        thr = cr.thr_signed
        rk = self.keys.get((cr.rule.name, key))
        cur = rk.level if rk is not None else 0
        up = 0
        for lv in (4, 3, 2, 1):
            t = thr[lv]
            if t is not None and sv >= t:
                up = lv
                break
        if up > cur:
            if rk is None:
                rk = self.keys[(cr.rule.name, key)] = _RuleKey()
            return self._change(cr, rk, key, up, value, now)
        if cur == 0:
            return None
        assert rk is not None
        band = cr.clear_signed
        b_cur = band[cur]
        if b_cur is None or sv >= b_cur:
            rk.below_since = None  # back inside the band: a clear_after_s count starts again
            return None
        if rk.below_since is None:
            rk.below_since = now
        if now - rk.since >= cr.rule.cooldown_s and now - rk.below_since >= cr.clear_after:
            new = 0
            for lv in range(cur - 1, 0, -1):
                b = band[lv]
                if b is not None and sv >= b:
                    new = lv
                    break
            return self._change(cr, rk, key, new, value, now)
        return None

    def _change(
        self, cr: CompiledRule, rk: _RuleKey, key: str, level: int, value: float, now: float
    ) -> AlertEvent | None:
        """Move ``rk`` to ``level``; the alert event, or None when a person resolved the alert at a worse level."""
        prev = rk.level
        rule = cr.rule
        rk.level, rk.since, rk.below_since = level, now, None
        if level:
            self.hot.add((rule.name, key))
        else:
            self.hot.discard((rule.name, key))
        alert = rk.alert
        if alert is not None and not alert.active:  # resolved by a person
            if level == 0:
                rk.alert = None
                return None
            if level <= alert.max_level:
                return None
            alert = None  # worse than when it was resolved: a new alert
        if level == 0:
            kind = "cleared"
        elif alert is None:
            kind = "raised"
        else:
            kind = "escalated" if level > prev else "de-escalated"
        if alert is None:
            n = self._count.get((rule.name, key), 0) + 1
            self._count[(rule.name, key)] = n
            alert = Alert(f"{rule.name}/{rule.scope}:{key}/{n}", rule.name, rule.scope, key, level, level, now)
            self.alerts[alert.alert_id] = alert
            rk.alert = alert
        ev = AlertEvent(kind, alert.alert_id, rule.name, rule.scope, key, level, prev, value,
                        cr.thr[level] if level else cr.thr[prev], now)  # fmt: skip
        alert.history.append(ev)
        if level:
            alert.level = level
            alert.max_level = max(alert.max_level, level)
        else:
            alert.status, alert.closed_at = "cleared", now
            rk.alert = None
        return ev

    def replace_rules(self, rules: list[AlertRule], now: float) -> list[AlertEvent]:
        """Swap in a new rule set (a manager saved rules): rules kept by name keep their levels and alerts, the
        next evaluation judges them by their new thresholds; a dropped rule's raised levels are cleared. Returns
        the ``cleared`` events of the dropped rules."""
        self.rules = [CompiledRule(r) for r in rules]
        names = {r.name for r in rules}
        events = []
        for (rule, key), rk in list(self.keys.items()):
            if rule in names or rule in EXTERNAL_RULES:
                continue
            alert = rk.alert
            if rk.level and alert is not None and alert.active:
                ev = AlertEvent("cleared", alert.alert_id, rule, alert.scope, key, 0, rk.level, None, None, now,
                                note="rule removed")  # fmt: skip
                alert.history.append(ev)
                alert.status, alert.closed_at = "cleared", now
                events.append(ev)
            del self.keys[(rule, key)]
            self.hot.discard((rule, key))
        return events

    # ------------------------------------------------------------------------------------- a person's actions
    def _get(self, alert_id: str) -> Alert:
        alert = self.alerts.get(alert_id)
        if alert is None:
            raise CallopsError(f"no alert {alert_id!r}")
        return alert

    def check_action(self, op: str, alert_id: str) -> Alert:
        """The alert a person's ``op`` (``acknowledge`` or ``resolve``) applies to, or the error it would raise."""
        alert = self._get(alert_id)
        if not alert.active:
            if op == "acknowledge":
                raise CallopsError(f"alert {alert_id} is {alert.status}; only open alerts can be acknowledged")
            raise CallopsError(f"alert {alert_id} is already {alert.status}")
        return alert

    def acknowledge(self, alert_id: str, by: str, at: float) -> AlertEvent:
        """A person takes ownership of an open alert."""
        alert = self.check_action("acknowledge", alert_id)
        alert.status, alert.acknowledged_by, alert.acknowledged_at = "acknowledged", by, at
        ev = AlertEvent("acknowledged", alert_id, alert.rule, alert.scope, alert.key, alert.level, alert.level,
                        None, None, at, by=by)  # fmt: skip
        alert.history.append(ev)
        return ev

    def resolve(self, alert_id: str, by: str, at: float, note: str | None = None) -> AlertEvent:
        """A person closes an alert; it is raised again only if its measure gets worse than its worst level."""
        alert = self.check_action("resolve", alert_id)
        alert.status, alert.resolved_by, alert.resolved_at, alert.closed_at = "resolved", by, at, at
        ev = AlertEvent("resolved", alert_id, alert.rule, alert.scope, alert.key, alert.level, alert.level,
                        None, None, at, by=by, note=note)  # fmt: skip
        alert.history.append(ev)
        return ev

    def active(self) -> list[Alert]:
        """Open and acknowledged alerts, worst first."""
        return sorted((a for a in self.alerts.values() if a.active), key=lambda a: (-a.level, a.opened_at))
