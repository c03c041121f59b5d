"""The decision at contact time, the explanation of a score and the customer profile.

:func:`decide` answers from the in-memory snapshot index (:func:`callops.value.snapshot.decide_index`)
and the tenant's strategy library: no warehouse read, so it stays in the sub-millisecond range at a
million customers. An unknown customer gets the default answer (``known: false``); a customer that
belongs to another tenant raises :class:`CustomerElsewhere`, which the API answers with 404.
"""

from __future__ import annotations

import threading
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError

from callops import tenancy
from callops.errors import CallopsError, NotFound
from callops.schema import Channel
from callops.value import features as feat
from callops.value import snapshot
from callops.value.model import DIMENSIONS, ValueModel, explanation, load_model
from callops.value.rules import StrategyLibrary, TagLibrary, compute_tags, decide_strategy, load_strategies, load_tags
from callops.warehouse import Warehouse

UNKNOWN_CLASS = "unknown"
DEFAULT_ROUTE = "normal_queue"
CHANNELS = tuple(c.value for c in Channel)


class CustomerElsewhere(NotFound):
    """The customer id belongs to another tenant (answered as not found, with no data)."""


def library_file(tenant_id: str, name: str) -> Path:
    """A tenant's own copy of a library (tags.yaml, strategies.yaml, model.yaml), when it has one."""
    return snapshot.value_dir(tenant_id) / name


_LIBS: dict[str, tuple[tuple[float, float, float], ValueModel, TagLibrary, StrategyLibrary]] = {}
_LIBS_LOCK = threading.Lock()
_LIBS_CHECKED: dict[str, float] = {}


def _mtime(p: Path) -> float:
    try:
        return p.stat().st_mtime
    except OSError:
        return 0.0


def libraries(tenant_id: str) -> tuple[ValueModel, TagLibrary, StrategyLibrary]:
    """The tenant's value model, tag and strategy libraries (its own files, else the shipped ones), cached."""
    held = _LIBS.get(tenant_id)
    now = time.monotonic()
    if held is not None and now - _LIBS_CHECKED.get(tenant_id, 0.0) < snapshot.RECHECK_S:
        return held[1], held[2], held[3]  # files looked at less than RECHECK_S ago (stat-ing them was ms per call)
    _LIBS_CHECKED[tenant_id] = now
    paths = [library_file(tenant_id, n) for n in ("model.yaml", "tags.yaml", "strategies.yaml")]
    stamp = tuple(_mtime(p) for p in paths)
    if held is not None and held[0] == stamp:
        return held[1], held[2], held[3]
    with _LIBS_LOCK:
        model = load_model(paths[0] if stamp[0] else None)
        tags = load_tags(paths[1] if stamp[1] else None)
        strategies = load_strategies(paths[2] if stamp[2] else None, tags, model.class_ids)
        _LIBS[tenant_id] = (stamp, model, tags, strategies)  # type: ignore[assignment]
    return model, tags, strategies


def _today(zone: str) -> date:
    return datetime.now(ZoneInfo(zone)).date()


_SCORED: tuple[float, list[str]] = (0.0, [])


def _scored_tenants() -> list[str]:
    """Tenants with a value snapshot (the folder listing is refreshed every couple of seconds)."""
    global _SCORED  # a tiny process-wide cache
    now = time.monotonic()
    if now - _SCORED[0] > snapshot.RECHECK_S:
        root = snapshot.callops_home() / "value"
        names = [f.name for f in root.iterdir() if (f / "latest.json").exists()] if root.exists() else []
        _SCORED = (now, names)
    return _SCORED[1]


def _owned_elsewhere(tenant_id: str, customer_id: str) -> bool:
    for name in _scored_tenants():
        if name != tenant_id:
            other = snapshot.decide_index(name)
            if other is not None and customer_id in other.rows:
                return True
    return False


DIVERTING_ROUTES = frozenset({"self_service_first", "ivr_payment"})
_COUNTS: dict[tuple[str, str], dict[str, int]] = {}
_COUNTS_LOCK = threading.Lock()


def _count(tenant: tenancy.Tenant, route: str, channel: str) -> None:
    """Count one decision per tenant, local day and route (what the live room's diversion figure reads)."""
    key = (tenant.tenant_id, _today(tenant.timezone).isoformat())
    with _COUNTS_LOCK:
        day = _COUNTS.setdefault(key, {})
        day[route] = day.get(route, 0) + 1
        day[f"channel:{channel}"] = day.get(f"channel:{channel}", 0) + 1


def diversion_counts(tenant: tenancy.Tenant, day: date | None = None) -> dict[str, Any]:
    """Decisions of this process on ``day`` (default today, tenant zone): per route, and how many were diverted
    from agents (self-service first, payment in the IVR)."""
    key = (tenant.tenant_id, (day or _today(tenant.timezone)).isoformat())
    with _COUNTS_LOCK:
        counts = dict(_COUNTS.get(key, {}))
    routes = {k: v for k, v in counts.items() if not k.startswith("channel:")}
    total = sum(routes.values())
    diverted = sum(v for k, v in routes.items() if k in DIVERTING_ROUTES)
    return {"day": key[1], "decisions": total, "diverted": diverted,
            "diverted_share": diverted / total if total else None, "routes": routes,
            "channels": {k.removeprefix("channel:"): v for k, v in counts.items()
                         if k.startswith("channel:")}}  # fmt: skip


def lookup(tenant_id: str, customer_id: str) -> tuple[bool, list[str], str, float | None, str]:
    """What the tenant's latest value snapshot says of a customer: (known, tags, value class, score, class route);
    an unknown customer gets the default class and route. Reads only this tenant's snapshot."""
    index = snapshot.decide_index(tenant_id)
    row = index.rows.get(customer_id) if index is not None else None
    if row is None:
        return False, [], UNKNOWN_CLASS, None, DEFAULT_ROUTE
    return (True, index.tag_list(row), index.value_class[row], float(index.score[row]),  # type: ignore[union-attr]
            index.route[row])  # type: ignore[union-attr]


def decide(tenant: tenancy.Tenant, customer_id: str, channel: str, reason: str | None = None,
           queue: str | None = None, ivr_path: str | None = None, *, wait_s: float | None = None,
           complaint: bool = False, contact_id: str | None = None, store: Any = None,
           offers: bool = True) -> dict[str, Any]:  # fmt: skip
    """The decision for a contact: value class, score, tags, strategy, route, guidance and the rules that fired,
    and the offer to make (``callops.marketing.arbitrate``; ``wait_s``, ``complaint`` and ``contact_id`` describe
    the contact so far; ``store`` is where the decision is logged, default the process's store)."""
    if channel not in CHANNELS:
        raise CallopsError(f"unknown channel {channel!r}; expected one of: {', '.join(CHANNELS)}")
    _model, _tags, strategies = libraries(tenant.tenant_id)
    index = snapshot.decide_index(tenant.tenant_id)  # cached: lookup reads the same one
    known, tags, value_class, score, class_route = lookup(tenant.tenant_id, customer_id)
    if not known and _owned_elsewhere(tenant.tenant_id, customer_id):
        raise CustomerElsewhere(f"no customer {customer_id!r}")
    choice = decide_strategy(strategies, set(tags), reason, channel, value_class, class_route, queue,
                             _today(tenant.timezone))  # fmt: skip
    _count(tenant, choice.route, channel)
    answer: dict[str, Any] = {
        "customer_id": customer_id,
        "known": known,
        "value_class": value_class,
        "score": score,
        "tags": list(tags),
        "strategy": choice.strategy,
        "route": choice.route,
        "guidance": choice.guidance,
        "rules_fired": choice.fired,
        "channel": channel,
        "reason": reason,
        "queue": queue,
        "ivr_path": ivr_path,
        "offer": None,
        "offer_why": None,
        "snapshot_version": index.version if index else None,
        "as_of": index.as_of if index else None,
    }
    if offers:
        from callops.marketing.arbitrate import offer_for

        try:
            answer["offer"], answer["offer_why"] = offer_for(
                tenant.tenant_id, customer_id, channel, reason, tags, value_class, score, _today(tenant.timezone),
                wait_s=wait_s, complaint=complaint, contact_id=contact_id, strategy=choice.strategy, store=store)
        except (CallopsError, SQLAlchemyError) as exc:  # a broken library or store must not break the decision
            answer["offer_why"] = f"offers unavailable: {str(exc).splitlines()[0][:300]}"
    if not known:
        answer["note"] = ("customer not known to the value scores: default answer" if index is not None
                          else "no value scores yet for this tenant: default answer")  # fmt: skip
    return answer


def explain(tenant: tenancy.Tenant, customer_id: str, version: int | None = None) -> dict[str, Any]:
    """Why a customer has its score: each dimension's and indicator's contribution (they add up to the score)."""
    snapshot.require_snapshot(tenant.tenant_id)
    row = snapshot.snapshot_row(tenant.tenant_id, customer_id, version)
    if row is None:
        raise NotFound(f"no customer {customer_id!r} in the value scores of tenant {tenant.tenant_id!r}")
    meta = snapshot.snapshot_meta(tenant.tenant_id, version)
    model = _model_of(meta)
    dims = {d: float(row[f"dim_{d}"]) for d in DIMENSIONS}
    normalised = {i.id: float(row[f"n_{i.id}"]) for d in model.dimensions for i in d.indicators}
    raw = {i.id: _num(row.get(f"r_{i.id}")) for d in model.dimensions for i in d.indicators}
    return {
        "customer_id": customer_id,
        "score": float(row["score"]),
        "class": row["value_class"],
        "route": row["route"],
        "tags": list(row["tags"] or []),
        "model": meta["model"],
        "normalisation": model.normalisation,
        "as_of": meta["as_of"],
        "snapshot_version": meta["version"],
        "dimensions": explanation(model, float(row["score"]), dims, normalised, raw),
    }


def _num(v: Any) -> float | None:
    return None if v is None or v != v else float(v)


def _model_of(meta: dict[str, Any]) -> ValueModel:
    origin = meta["model"].get("origin")
    try:
        model = load_model(origin) if origin and Path(origin).exists() else load_model()
    except CallopsError:
        model = load_model()
    if model.id != meta["model"]["id"] or model.version != meta["model"]["version"]:
        raise CallopsError(f"the snapshot was scored with model {meta['model']['id']} v{meta['model']['version']}, "
                           f"which is no longer at {origin}; score again with `callops value score`")  # fmt: skip
    return model


def customer_profile(wh: Warehouse, tenant: tenancy.Tenant, customer_id: str, as_of: date | None = None,
                     *, timeline: int = 50) -> dict[str, Any]:  # fmt: skip
    """One customer's view: features as of a date, tags now (computed for this customer alone), the latest
    score, and a timeline of contacts, journey steps and account events. Unknown → NotFound."""
    at = feat.AsOf.of(as_of, tenant.timezone)
    table = feat.customer_features(wh, tenant, at, [customer_id])
    if table.num_rows == 0:
        raise NotFound(f"no customer {customer_id!r}")
    _model, tags_lib, _ = libraries(tenant.tenant_id)
    hits = compute_tags(table, tags_lib, at.day)
    row = {k: v[0] for k, v in table.to_pydict().items()}
    out: dict[str, Any] = {
        "customer_id": customer_id,
        "as_of": at.day.isoformat(),
        "features": {k: v for k, v in row.items() if k != "customer_id"},
        "tags": [{"id": t.id, "label": t.label, "owner": t.owner, "version": t.version}
                 for t in tags_lib.tags if bool(hits.get(t.id, [False])[0])],
        "value": None,
        "timeline": timeline_of(wh, tenant, customer_id, at, timeline),
    }
    if snapshot.latest_version(tenant.tenant_id) is not None:
        try:
            out["value"] = explain(tenant, customer_id)
        except CallopsError:
            out["value"] = None
    return out


def timeline_of(wh: Warehouse, tenant: tenancy.Tenant, customer_id: str, at: feat.AsOf,
                limit: int = 50) -> list[dict[str, Any]]:  # fmt: skip
    """The customer's latest contacts, journey steps and account events before ``at``, newest first."""
    import ibis

    c = tenancy.scoped(wh, tenant, "contacts")
    c = c.filter((c.customer_id == customer_id) & (c.offered_at < at.cutoff))
    contacts = c.select(ts=c.offered_at, kind=ibis.literal("contact"), channel=c.channel,
                        what=c.business_type.coalesce(c.queue).coalesce(ibis.literal("")),
                        detail=c.outcome.cast("string"))  # fmt: skip
    j = tenancy.scoped(wh, tenant, "journey_events")
    j = j.filter((j.customer_id == customer_id) & (j.ts < at.cutoff))
    steps = j.select(ts=j.ts, kind=ibis.literal("journey"), channel=j.channel.coalesce(ibis.literal("")),
                     what=j.step, detail=j.outcome.coalesce(ibis.literal("")))  # fmt: skip
    e = tenancy.scoped(wh, tenant, "customer_events")
    e = e.filter((e.customer_id == customer_id) & (e.ts < at.cutoff))
    events = e.select(ts=e.ts, kind=e.kind, channel=ibis.literal(""),
                      what=e.product.coalesce(e.status_to).coalesce(ibis.literal("")),
                      detail=ibis.ifelse(e.amount.isnull(), e.reason.coalesce(ibis.literal("")),
                                         e.amount.cast("string")))  # fmt: skip
    rows = contacts.union(steps).union(events).order_by(ibis.desc("ts")).limit(limit).to_pyarrow().to_pylist()
    zone = ZoneInfo(tenant.timezone)
    for r in rows:
        r["ts"] = r["ts"].astimezone(zone).isoformat()
    return rows
