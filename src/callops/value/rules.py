"""The tag library and the strategy library (V2), in YAML, and the decision they make together.

Tags are rules over the profile features (owner, version, validity, labels). Strategy rules map a
scenario (tags + reason for contact + channel + value class + queue) to one of the service strategies;
when several fire, the highest declared priority wins (ties: the first declared) and every fired rule
is recorded. Strategies may escalate to another strategy; a cycle of escalations is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from callops.errors import CallopsError
from callops.schema import Channel
from callops.value.features import FEATURES
from callops.value.model import ROUTES, _compile, _ident, evaluate
from callops.value.yamlio import fail, load_yaml, number, require_keys, texts

STRATEGIES = ("guided_service", "care_call", "retention", "self_service_first", "expert_desk", "priority_routing",
              "standard_service")  # fmt: skip


def _validity(origin: str, node: Any, what: str) -> tuple[date | None, date | None]:
    out = []
    for key in ("valid_from", "valid_to"):
        value = node.get(key)
        if value is not None and not isinstance(value, date):
            raise fail(origin, node, f"{what}: {key} must be a date (YYYY-MM-DD), not {value!r}")
        out.append(value)
    if out[0] and out[1] and out[1] < out[0]:
        raise fail(origin, node, f"{what}: valid_to is before valid_from")
    return out[0], out[1]


def _version(origin: str, node: Any, what: str) -> int:
    v = node.get("version")
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise fail(origin, node, f"{what}: version must be a whole number from 1, not {v!r}")
    return v


@dataclass(frozen=True)
class Tag:
    """A tag: a rule over the profile."""

    id: str
    when: str
    sql: str
    owner: str
    version: int
    valid_from: date | None
    valid_to: date | None
    label: dict[str, str]
    line: int

    def valid_on(self, day: date) -> bool:
        """Whether the tag is in force on ``day``."""
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class TagLibrary:
    """A validated tag library."""

    id: str
    version: int
    tags: tuple[Tag, ...]
    origin: str

    def get(self, tag_id: str) -> Tag:
        """The tag ``tag_id``."""
        for t in self.tags:
            if t.id == tag_id:
                return t
        raise CallopsError(f"no tag {tag_id!r} in {self.origin}; known: {', '.join(t.id for t in self.tags)}")


@dataclass(frozen=True)
class Strategy:
    """A service strategy with the agent's guidance."""

    id: str
    route: str | None
    escalates_to: str | None
    guidance: dict[str, str]
    label: dict[str, str]


@dataclass(frozen=True)
class StrategyRule:
    """A scenario → strategy rule."""

    id: str
    strategy: str
    priority: float
    owner: str
    version: int
    valid_from: date | None
    valid_to: date | None
    tags_all: frozenset[str]
    tags_any: frozenset[str]
    reasons: frozenset[str]
    channels: frozenset[str]
    classes: frozenset[str]
    queues: frozenset[str]
    route: str | None
    line: int

    def matches(self, tags: set[str], reason: str | None, channel: str, value_class: str, queue: str | None,
                day: date) -> bool:  # fmt: skip
        """Whether the scenario satisfies every condition of the rule."""
        if (self.valid_from and day < self.valid_from) or (self.valid_to and day > self.valid_to):
            return False
        return (self.tags_all <= tags and (not self.tags_any or bool(self.tags_any & tags))
                and (not self.reasons or reason in self.reasons) and (not self.channels or channel in self.channels)
                and (not self.classes or value_class in self.classes)
                and (not self.queues or queue in self.queues))  # fmt: skip


@dataclass(frozen=True)
class StrategyLibrary:
    """A validated strategy library."""

    id: str
    version: int
    strategies: dict[str, Strategy]
    rules: tuple[StrategyRule, ...]
    default: str
    origin: str


@dataclass
class Decision:
    """The strategy chosen for a scenario and the rules that fired."""

    strategy: str
    route: str
    guidance: dict[str, str]
    fired: list[dict[str, Any]] = field(default_factory=list)


def _shipped(name: str) -> Path:
    return Path(str(resources.files("callops.value") / name))


def _read(path: Path | str | None, default: str) -> tuple[str, str]:
    p = Path(path) if path else _shipped(default)
    try:
        return p.read_text(encoding="utf-8"), str(p)
    except OSError as exc:
        raise CallopsError(f"cannot read {p}: {exc.strerror}") from None


def load_tags(path: Path | str | None = None) -> TagLibrary:
    """Read and validate a tag library (default: the shipped one)."""
    return parse_tags(*_read(path, "default_tags.yaml"))


def load_strategies(path: Path | str | None = None, tags: TagLibrary | None = None,
                    classes: list[str] | None = None) -> StrategyLibrary:  # fmt: skip
    """Read and validate a strategy library; rules may only name known tags and classes."""
    return parse_strategies(*_read(path, "default_strategies.yaml"), tags=tags or load_tags(), classes=classes)


def parse_tags(text: str, origin: str = "tag library") -> TagLibrary:
    """Parse and validate tag-library YAML; errors name ``origin`` and the line."""
    data = load_yaml(text, origin)
    require_keys(origin, data, "the tag library", ("id", "version", "tags"), ("description", "owner"))
    lib_id = _ident(origin, data, "id", "the tag library")
    version = _version(origin, data, "the tag library")
    if not isinstance(data["tags"], list):
        raise fail(origin, data, "tags must be a list")
    tags: list[Tag] = []
    for item in data["tags"]:
        require_keys(origin, item, "a tag", ("id", "when", "owner", "version", "label"),
                     ("valid_from", "valid_to", "description"))  # fmt: skip
        tid = _ident(origin, item, "id", "a tag")
        if tid in {t.id for t in tags}:
            raise fail(origin, item, f"duplicate tag id {tid!r}")
        sql = _compile(origin, item, item["when"], set(FEATURES), f"tag {tid}", "when")
        vf, vt = _validity(origin, item, f"tag {tid}")
        tags.append(Tag(tid, item["when"], sql, str(item["owner"]), _version(origin, item, f"tag {tid}"), vf, vt,
                        texts(origin, item, "label", f"tag {tid}"), item.line))  # fmt: skip
    return TagLibrary(lib_id, version, tuple(tags), origin)


def _names(origin: str, node: Any, key: str, what: str, known: set[str] | None = None) -> frozenset[str]:
    value = node.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail(origin, node, f"{what}: {key} must be a list of names")
    if known is not None:
        for v in value:
            if v not in known:
                raise fail(origin, node, f"{what}: unknown {'tag' if key.startswith('tags') else key.rstrip('s')} "
                           f"{v!r}; known: {', '.join(sorted(known))}", key)  # fmt: skip
    return frozenset(value)


def parse_strategies(text: str, origin: str = "strategy library", *, tags: TagLibrary,
                     classes: list[str] | None = None) -> StrategyLibrary:  # fmt: skip
    """Parse and validate strategy-library YAML against a tag library; errors name ``origin`` and the line."""
    data = load_yaml(text, origin)
    require_keys(origin, data, "the strategy library", ("id", "version", "strategies", "rules"),
                 ("description", "owner", "default"))  # fmt: skip
    lib_id = _ident(origin, data, "id", "the strategy library")
    version = _version(origin, data, "the strategy library")
    snode = data["strategies"]
    if not isinstance(snode, dict):
        raise fail(origin, data, "strategies must map each strategy id to its guidance")
    strategies: dict[str, Strategy] = {}
    for sid, item in snode.items():
        if sid not in STRATEGIES:
            raise fail(origin, item, f"unknown strategy {sid!r}; known: {', '.join(STRATEGIES)}")
        require_keys(origin, item, f"strategy {sid}", ("guidance", "label"), ("route", "escalates_to"))
        route = item.get("route")
        if route is not None and route not in ROUTES:
            raise fail(origin, item, f"strategy {sid}: unknown route {route!r}; known: {', '.join(ROUTES)}")
        strategies[sid] = Strategy(sid, route, item.get("escalates_to"), texts(origin, item, "guidance", sid),
                                   texts(origin, item, "label", sid))  # fmt: skip
    for s in strategies.values():
        if s.escalates_to is not None and s.escalates_to not in strategies:
            raise fail(origin, snode[s.id], f"strategy {s.id}: escalates to unknown strategy {s.escalates_to!r}")
    for s in strategies.values():  # a chain of escalations must end
        seen, cur = [s.id], s.escalates_to
        while cur is not None:
            if cur in seen:
                raise fail(origin, snode[s.id], f"cycle of strategies: {' -> '.join([*seen, cur])}")
            seen.append(cur)
            cur = strategies[cur].escalates_to
    default = data.get("default", "standard_service")
    if default not in strategies:
        raise fail(origin, data, f"default strategy {default!r} is not declared")
    if not isinstance(data["rules"], list):
        raise fail(origin, data, "rules must be a list")
    tag_ids = {t.id for t in tags.tags}
    channels = {c.value for c in Channel}
    known_classes = set(classes) if classes else None
    rules: list[StrategyRule] = []
    for item in data["rules"]:
        require_keys(origin, item, "a rule", ("id", "strategy", "priority", "owner", "version"),
                     ("tags_all", "tags_any", "reasons", "channels", "classes", "queues", "route", "valid_from",
                      "valid_to", "description"))  # fmt: skip
        rid = _ident(origin, item, "id", "a rule")
        if rid in {r.id for r in rules}:
            raise fail(origin, item, f"duplicate rule id {rid!r}")
        if item["strategy"] not in strategies:
            raise fail(origin, item, f"rule {rid}: unknown strategy {item['strategy']!r}")
        route = item.get("route")
        if route is not None and route not in ROUTES:
            raise fail(origin, item, f"rule {rid}: unknown route {route!r}; known: {', '.join(ROUTES)}")
        vf, vt = _validity(origin, item, f"rule {rid}")
        rules.append(StrategyRule(
            rid, item["strategy"], number(origin, item, "priority", f"rule {rid}", minimum=None), str(item["owner"]),
            _version(origin, item, f"rule {rid}"), vf, vt,
            _names(origin, item, "tags_all", f"rule {rid}", tag_ids),
            _names(origin, item, "tags_any", f"rule {rid}", tag_ids),
            _names(origin, item, "reasons", f"rule {rid}"), _names(origin, item, "channels", f"rule {rid}", channels),
            _names(origin, item, "classes", f"rule {rid}", known_classes),
            _names(origin, item, "queues", f"rule {rid}"),
            route, item.line))  # fmt: skip
    return StrategyLibrary(lib_id, version, strategies, tuple(rules), default, origin)


def compute_tags(features: pa.Table, library: TagLibrary, day: date) -> dict[str, np.ndarray]:
    """{tag id: boolean per row} for the tags in force on ``day`` (one batch; works for one row too)."""
    active = [t for t in library.tags if t.valid_on(day)]
    hits = evaluate(features, {t.id: f"coalesce(({t.sql}), false)" for t in active})
    return {k: np.asarray(v, dtype=bool) for k, v in hits.items()}


def tag_lists(hits: dict[str, np.ndarray], n: int) -> list[list[str]]:
    """Per row, the ids of its tags (library order)."""
    out: list[list[str]] = [[] for _ in range(n)]
    for tag_id, mask in hits.items():
        for i in np.flatnonzero(mask).tolist():
            out[i].append(tag_id)
    return out


def decide_strategy(library: StrategyLibrary, tags: set[str], reason: str | None, channel: str, value_class: str,
                    class_route: str, queue: str | None, day: date) -> Decision:  # fmt: skip
    """The winning strategy for a scenario: the highest-priority rule that fires (ties: first declared)."""
    fired = [r for r in library.rules if r.matches(tags, reason, channel, value_class, queue, day)]
    winner = max(fired, key=lambda r: r.priority, default=None)  # max keeps the first of equal priorities
    sid = winner.strategy if winner else library.default
    strategy = library.strategies[sid]
    route = (winner.route if winner and winner.route else None) or strategy.route or class_route
    record = [{"rule": r.id, "strategy": r.strategy, "priority": r.priority, "version": r.version,
               "won": r is winner} for r in fired]  # fmt: skip
    return Decision(sid, route, dict(strategy.guidance), record)
