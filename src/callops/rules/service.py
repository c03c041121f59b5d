"""Alert rules written by managers: check, 7-day preview replay, versioned and audited saving.

A rule document holds indicator rules (the YAML of :mod:`callops.metrics.alerts`, one ``rules:`` list), live rules
(the YAML of :mod:`callops.realtime.alerts`, one ``alerts:`` list, see :mod:`callops.rules.live`), or both.
:func:`check_all` validates them as the engines would. :func:`preview` replays them over the last days: an
indicator rule is evaluated at the end of every period of its grain, as the scheduled evaluation would have been;
live rules run in a live engine over the days' contacts and agent states. It counts the times each would have
fired and at which level ("would have fired 12 times, red twice"). :func:`save` keeps each change as a new version
in the store (``alert_rules`` documents), with the audit entry, after the same check, and moves the tenant's rule
epoch on so running live engines take the change up without a restart.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy.orm import Session

from callops import tenancy
from callops.errors import CallopsError
from callops.metrics.alerts import SEVERITY, Level, RuleContext, RuleSet, evaluate_rule, parse_rules
from callops.metrics.catalog import load_catalog
from callops.metrics.grains import bucket_seconds
from callops.metrics.parameters import load_parameters
from callops.realtime.alerts import AlertRule as LiveRule
from callops.rules.live import bump_epoch, check_live, check_users, preview_live
from callops.store import documents

KIND = documents.DocKind.alert_rules
PREVIEW_DAYS = 7
MAX_EVALUATIONS = 7 * 96  # a 15-minute rule over 7 days


def check(text: str) -> RuleSet:
    """The indicator rules in ``text``, validated; a :class:`CallopsError` naming every problem otherwise (an
    empty set when ``text`` holds live rules only)."""
    return check_all(text)[0]


def check_all(text: str) -> tuple[RuleSet, list[LiveRule]]:
    """The indicator rules (``rules:``) and live rules (``alerts:``) in ``text``, validated; at least one of them."""
    if not text or not text.strip():
        raise CallopsError("rule: empty; write `rules:` (indicator rules) or `alerts:` (live rules)")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        data = None  # the indicator parser names the YAML problem
    if not isinstance(data, dict) or "alerts" not in data:
        return parse_rules(text, "rule"), []
    extra = sorted(set(data) - {"rules", "alerts"})
    if extra:
        raise CallopsError(f"rule: unknown section(s) {', '.join(extra)}; write `rules:` and/or `alerts:`")
    live = check_live(data["alerts"], "rule")
    if "rules" in data:
        indicator = parse_rules(yaml.safe_dump({"rules": data["rules"]}, allow_unicode=True), "rule")
    else:
        indicator = RuleSet([], "rule")
    return indicator, live


def _evaluation_times(grain: str, zone: str, now: datetime, days: int) -> list[datetime]:
    """The ends of every period of ``grain`` in the last ``days`` days before ``now`` (as evaluation instants)."""
    tz = ZoneInfo(zone)
    local_now = now.astimezone(tz)
    start = local_now - timedelta(days=days)
    step = bucket_seconds(grain)
    if step is None:  # calendar grains: evaluate at each local midnight
        step = 86400
        first = start.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    else:
        midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
        first = midnight + timedelta(seconds=((start - midnight).total_seconds() // step + 1) * step)
    times, t = [], first
    while t <= local_now and len(times) < MAX_EVALUATIONS:
        times.append(t)
        t = (t.replace(tzinfo=None) + timedelta(seconds=step)).replace(tzinfo=tz)  # wall clock, across DST
    return times


def preview(wh: Any, tenant_id: str, text: str, *, now: datetime | None = None, days: int = PREVIEW_DAYS) -> dict:
    """Replay the rules of ``text`` over the last ``days`` days: per rule, how often and how high it would fire.

    Consecutive evaluations that fire for the same scope count once (an alert stays open while it fires), so
    "fired" is the number of alerts people would have received; ``levels`` counts them by their worst level.
    """
    rules, live = check_all(text)
    cat = load_catalog()
    tenant = tenancy.get_tenant(wh, tenant_id)
    now = now or datetime.now(UTC)
    base = load_parameters(tenant.tenant_id)
    out = []
    for rule in rules.rules:
        times = _evaluation_times(rule.window.grain, tenant.timezone, now, days)
        open_level: dict[str, Level] = {}
        alerts: list[dict] = []
        for at in times:
            fired = {r["scope"]: r for r in evaluate_rule(RuleContext(wh, tenant, cat, base, at), rule)}
            for scope, r in fired.items():
                lvl = Level(r["level"])
                if scope not in open_level:
                    alerts.append({"scope": scope, "from": r["period"], "level": lvl.value})
                    open_level[scope] = lvl
                elif SEVERITY[lvl] > SEVERITY[open_level[scope]]:
                    open_level[scope] = lvl
                    next(a for a in reversed(alerts) if a["scope"] == scope)["level"] = lvl.value
            for scope in [s for s in open_level if s not in fired]:
                del open_level[scope]  # cleared: a later breach is a new alert
        levels = Counter(a["level"] for a in alerts)
        out.append({"rule": rule.id, "metric": rule.metric, "evaluations": len(times), "fired": len(alerts),
                    "levels": {lvl.value: levels[lvl.value] for lvl in Level if levels[lvl.value]},
                    "alerts": alerts[:200], "text": _sentence(len(alerts), levels)})  # fmt: skip
    if live:
        out += preview_live(wh, tenant.tenant_id, live, now=now, days=days)
    return {"days": days, "timezone": tenant.timezone, "rules": out}


def _sentence(fired: int, levels: Counter) -> str:
    worst = [lvl.value for lvl in sorted(Level, key=SEVERITY.__getitem__, reverse=True) if levels[lvl.value]]
    if not fired:
        return "would not have fired"
    times = {1: "once", 2: "twice"}
    top = f", {worst[0]} {times.get(levels[worst[0]], f'{levels[worst[0]]} times')}" if worst else ""
    return f"would have fired {times.get(fired, f'{fired} times')}{top}"


def save(session: Session, tenant_id: str, name: str, text: str, actor: str) -> documents.Document:
    """Save ``text`` as the new version of rule document ``name`` (checked first; the change is audited) and move
    the tenant's rule epoch on, so running live hubs take it up."""
    _, live = check_all(text)
    check_users(session, tenant_id, live)
    prior = next((d.current_version for d in documents.list_documents(session, tenant_id, KIND) if d.name == name), 0)
    doc = documents.save_document(session, tenant_id, KIND, name, text, actor)
    if doc.version != prior:  # a new version (an unchanged text makes none)
        bump_epoch(session, tenant_id, actor)
    return doc


def saved_indicator_rules(session: Session, tenant_id: str) -> list[Any]:
    """The indicator rules of the tenant's enabled documents (later names override earlier ones by id)."""
    merged: dict[str, Any] = {}
    for d in documents.list_documents(session, tenant_id, KIND, enabled_only=True):
        for r in check(d.yaml_text).rules:
            merged[r.id] = r
    return list(merged.values())


def with_saved(ruleset: RuleSet, tenant_id: str, store: Any = None) -> RuleSet:
    """``ruleset`` (a file's or the default indicator rules) with the tenant's saved rules laid over it by id:
    where indicator alerts are evaluated, what managers saved runs too. Without a reachable store: ``ruleset``."""
    from sqlalchemy.engine import make_url

    from callops.store.db import Store, store_url

    url = store_url()
    if store is None and url.startswith("sqlite") and not Path(make_url(url).database or "").exists():
        return ruleset  # no store here (a warehouse-only machine): nothing was saved
    try:
        own = store or Store()
        try:
            with own.session() as s:
                saved = saved_indicator_rules(s, tenant_id)
        finally:
            if store is None:
                own.close()
    except CallopsError:
        raise
    except Exception:  # no store here (a warehouse-only machine): the file's rules alone
        return ruleset
    if not saved:
        return ruleset
    ids = {r.id for r in saved}
    return RuleSet([*(r for r in ruleset.rules if r.id not in ids), *saved], f"{ruleset.origin} + saved rules")

