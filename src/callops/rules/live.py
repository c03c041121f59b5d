"""Live alert rules managers write (issue 16): saved in the store, previewed over the last 7 days, and taken up by
the running live engine without a restart.

A saved rule document (``alert_rules``) may hold indicator rules (``rules:``, :mod:`callops.metrics.alerts`), live
rules (``alerts:``, :mod:`callops.realtime.alerts`: levels, hysteresis ``clear``/``clear_below``/``clear_after_s``/
``cooldown_s``, ``recipients``), or both. The tenant's running live rule set is the packaged defaults
(``default_alerts.yaml``) with every enabled document's live rules laid over them by name (documents in name
order; a saved ``long-aux`` replaces the default one).

How a save reaches a running engine: every save bumps the tenant's row of ``rule_epochs`` in the same
transaction. A hub given :func:`store_source` polls that one row at most every few seconds as batches arrive
(:meth:`~callops.realtime.hub.LiveHub.use_rules_from`) and, when the epoch moved, reads the rule set, and swaps it
in if its fingerprint differs. A save made through this process's API or console also pokes the open hubs at once
(:func:`reach_running_hubs`), so nothing waits for the poll there.

Recipients: ``user:NAME`` stays as it is (the user must exist when the rule is saved); ``role:ROLE`` reaches every
active user of the tenant with that role at the time the rules are taken up; anything else is an address of the
channel (a phone number, an e-mail address, a webhook tag). Each rule's recipients become notification routes
limited to that rule, beside those of ``notify.yaml``, written to the store's outbox.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import yaml
from sqlalchemy.orm import Session

from callops.errors import CallopsError
from callops.realtime.alerts import LEVELS, AlertRule, load_rules, parse_rules
from callops.store import documents
from callops.store.models import User, utcnow
from callops.store.models_platform import RuleEpoch
from callops.store.scoping import scoped, tenant_key

if TYPE_CHECKING:
    from callops.realtime.hub import LiveHub
    from callops.realtime.notify import Route
    from callops.store.db import Store

KIND = documents.DocKind.alert_rules
POLL_S = 5.0


def check_live(items: Any, label: str = "rule") -> list[AlertRule]:
    """The live rules of an ``alerts:`` list, validated as the engine would (measures, levels, hysteresis,
    recipients); a :class:`CallopsError` naming the field otherwise."""
    rules = parse_rules(yaml.safe_dump({"alerts": items}, allow_unicode=True), label)
    from callops.store.users import parse_role

    for r in rules:
        for i, rc in enumerate(r.recipients):
            for to in rc.to:
                if to.startswith("role:"):
                    try:
                        parse_role(to[5:])
                    except CallopsError as exc:
                        raise CallopsError(f"{label}: alerts.{r.name}.recipients.{i}: {exc}") from None
    return rules


def check_users(session: Session, tenant: str, rules: list[AlertRule]) -> None:
    """Every ``user:NAME`` recipient names a user of ``tenant``; a :class:`CallopsError` otherwise."""
    names = {to[5:] for r in rules for rc in r.recipients for to in rc.to if to.startswith("user:")}
    if not names:
        return
    known = set(session.scalars(scoped(User, tenant).where(User.name.in_(names)).with_only_columns(User.name)))
    missing = sorted(names - known)
    if missing:
        raise CallopsError(f"rule: recipients name unknown user(s): {', '.join(missing)}")


# ------------------------------------------------------------------------------------------------- the epoch
def bump_epoch(session: Session, tenant: str, actor: str) -> int:
    """Move the tenant's rule epoch on (in the caller's transaction); the new epoch."""
    key = tenant_key(tenant)
    row = session.scalars(scoped(RuleEpoch, key).with_for_update()).one_or_none()
    if row is None:
        row = RuleEpoch(tenant_id=key, epoch=0, updated_by=actor)
        session.add(row)
    row.epoch += 1
    row.updated_by, row.updated_at = actor[:200], utcnow()
    session.flush()
    return row.epoch


def current_epoch(session: Session, tenant: str) -> int:
    """The tenant's rule epoch (0: no rule ever saved)."""
    return session.scalar(scoped(RuleEpoch, tenant_key(tenant)).with_only_columns(RuleEpoch.epoch)) or 0


# --------------------------------------------------------------------------------------------- the rule set
def saved_live_rules(session: Session, tenant: str) -> list[AlertRule]:
    """The live rules of the tenant's enabled documents (later names override earlier ones)."""
    merged: dict[str, AlertRule] = {}
    for d in documents.list_documents(session, tenant, KIND, enabled_only=True):
        items = d.spec.get("alerts") if isinstance(d.spec, dict) else None
        if items:
            for r in check_live(items, f"rule {d.name}"):
                merged[r.name] = r
    return list(merged.values())


def rule_set(session: Session, tenant: str) -> tuple[str | None, str, list[Route]]:
    """``(token, yaml, routes)`` of the tenant's running live rules: the defaults overlaid with the saved ones.

    ``token`` is None when nothing is saved (the engine keeps the rules it was built with)."""
    saved = saved_live_rules(session, tenant)
    by_name = {r.name: r for r in load_rules()}
    by_name.update({r.name: r for r in saved})
    rules = list(by_name.values())
    text = yaml.safe_dump({"alerts": [r.model_dump(mode="json", exclude_defaults=True) for r in rules]},
                          allow_unicode=True, sort_keys=False)  # fmt: skip
    token = hashlib.sha256(text.encode()).hexdigest()[:20] if saved else None
    return token, text, routes_for(session, tenant, rules)


def routes_for(session: Session, tenant: str, rules: list[AlertRule]) -> list[Route]:
    """Notification routes of the rules' recipients, roles expanded to the tenant's active users."""
    from callops.realtime.notify import Route

    roles = {to[5:].strip().lower().replace("-", "_") for r in rules for rc in r.recipients for to in rc.to
             if to.startswith("role:")}  # fmt: skip
    members: dict[str, list[str]] = {}
    if roles:
        q = scoped(User, tenant).where(User.role.in_(roles), User.disabled_at.is_(None))
        for u in session.scalars(q.order_by(User.name)):
            members.setdefault(u.role, []).append(f"user:{u.name}")
    out = []
    for r in rules:
        for rc in r.recipients:
            to: list[str] = []
            for x in rc.to:
                role = x[5:].strip().lower().replace("-", "_") if x.startswith("role:") else None
                for y in members.get(role, []) if role is not None else [x]:
                    if y not in to:
                        to.append(y)
            if to:
                out.append(Route(rules=[r.name], levels=rc.levels, kinds=rc.kinds, channel=rc.channel, to=to))
    return out


def store_source(store: Store, tenant: str) -> Any:
    """A rules source for :meth:`LiveHub.use_rules_from`: None while the tenant's rule epoch has not moved since
    the last answer (one indexed row read), else the rule set with the store for the rules' recipients."""
    seen: list[int] = []

    def source() -> tuple[str | None, str, list[Route], Store] | None:
        with store.session() as s:
            epoch = current_epoch(s, tenant)
            if seen and seen[-1] == epoch:
                return None
            token, text, routes = rule_set(s, tenant)
        seen.append(epoch)
        del seen[:-1]
        return token, text, routes, store

    return source


def attach_saved_rules(hub: LiveHub, store: Store, poll_s: float = POLL_S) -> bool:
    """Make ``hub`` run the tenant's saved live rules and follow their changes; True if its rules changed now."""
    if hub.rules_source is not None:
        return hub.poll_rules()
    return hub.use_rules_from(store_source(store, hub.tenant), poll_s)


def reach_running_hubs(store: Store, tenant: str) -> int:
    """After a save: the open hubs of ``tenant`` in this process take the new rules now; how many changed."""
    from callops.realtime.hub import open_hubs

    hub = open_hubs().get(tenant)
    return int(attach_saved_rules(hub, store)) if hub is not None else 0


# ------------------------------------------------------------------------------------------------- preview
def preview_live(wh: Any, tenant_id: str, rules: list[AlertRule], *, now: datetime | None = None,
                 days: int = 7) -> list[dict[str, Any]]:  # fmt: skip
    """Replay the last ``days`` days of the tenant's contacts and agent states (the warehouse) through a live
    engine running only ``rules``; per rule, how many alerts it would have raised and their worst levels."""
    from callops import tenancy
    from callops.realtime.config import load_config
    from callops.realtime.demo import table_events
    from callops.realtime.engine import LiveEngine
    from callops.realtime.hub import live_dir

    tenant = tenancy.get_tenant(wh, tenant_id)
    now = now or datetime.now(UTC)
    start = now - timedelta(days=days)
    c = tenancy.scoped(wh, tenant.tenant_id, "contacts")
    a = tenancy.scoped(wh, tenant.tenant_id, "agent_states")
    contacts = c.filter((c.offered_at >= start) & (c.offered_at < now)).to_pyarrow()
    states = a.filter((a.started_at >= start) & (a.started_at < now)).to_pyarrow()
    folder = live_dir(tenant.tenant_id)
    cfg_path = folder / "live.yaml"
    config = load_config(cfg_path if cfg_path.exists() else None, tenant.tenant_id, tenant.timezone)
    queue_center = dict(zip(contacts.column("queue").to_pylist(), contacts.column("center").to_pylist(),
                            strict=True))  # fmt: skip
    queue_center.update({q: cfg.center for q, cfg in config.queues.items() if cfg.center})
    eng = LiveEngine(config, rules)
    eng.known_queues = frozenset()  # a preview replays whatever queues the history holds
    events = table_events(contacts, states, queue_center, tenant.tenant_id, tenant.timezone)
    for ev in events:
        eng.submit(ev, "preview")
    out = []
    for r in rules:
        raised = [al for al in eng.book.alerts.values() if al.rule == r.name]
        worst = Counter(LEVELS[al.max_level - 1] for al in raised)
        out.append({"rule": r.name, "live": True, "metric": r.measure, "scope": r.scope, "evaluations": len(events),
                    "fired": len(raised),
                    "levels": {lv: worst[lv] for lv in LEVELS if worst[lv]},
                    "alerts": [{"scope": f"{al.scope}:{al.key}", "from": al.opened_at,
                                "level": LEVELS[al.max_level - 1]} for al in raised][:200],
                    "text": _sentence(len(raised), worst)})  # fmt: skip
    return out


def _sentence(fired: int, worst: Counter) -> str:
    if not fired:
        return "would not have fired"
    times = {1: "once", 2: "twice"}
    top = next(lv for lv in reversed(LEVELS) if worst[lv])
    how_often = times.get(worst[top], f"{worst[top]} times")
    return f"would have fired {times.get(fired, f'{fired} times')}, {top} {how_often}"
