"""Traffic balancing in the demo's live day (issue 11, A4): contacts the decision sends to self-service are diverted.

The demo's live day (today of the hotline's one simulation, :mod:`callops.sim.demo`) is written as live events
before the customers are scored; once the value step has a snapshot, :func:`divert_live_day` applies the decision
at contact time to it: each first leg of an inbound contact whose customer's route (the snapshot's decision, the
same one ``value.decide`` answers from) is ``self_service_first`` or ``ivr_payment`` is, with the share below,
finished in self-service instead of reaching an agent. Its ``contact.offered`` stays (the queue it was bound for,
its IVR time, customer and business), followed at the same instant by ``contact.diverted`` with the route as
``reason``; its answer, end and any later legs (transfers, callbacks) are removed. The live engine counts it per
queue and reason, the queue's answered and waiting load drops by it, and the landing writes it as a
``self_served`` contact with no agent and no wait (the canonical schema has no route column: the route is the
event's reason, counted live).

**Share that succeeds in self-service** (:func:`diversion_share`), by route and value:

- ``ivr_payment`` (suspended by month-start billing): ``IVR_PAYMENT_SHARE`` = 0.6 — paying and reactivating
  in the IVR works for most; the rest (payment failed, a dispute) still need an agent. It does not depend on
  value: the route fires on the suspension, not on the score.
- ``self_service_first`` (low-value class): ``0.15 + 0.35 × (30 − score)/30``, from 0.5 at score 0 to 0.15 at
  the class's 30-point edge — the lower the value, the simpler and more routine the demand (balance and usage
  queries) and the likelier self-service finishes it.
- every other route: 0. Complaints (queue ``complaints`` or business ``complaint``), the VIP and English desks,
  outbound legs and repeat legs (transfers, callbacks) are never diverted.

Which contacts are diverted is a fixed hash of the contact id (``seed``), so a rerun diverts the same ones.

Not circular: the share depends on the route and score of the snapshot as of today, and only today's live
contacts change outcome (to ``self_served``); the back-test's outcomes (revenue, churn and the number of repeat
contacts after a split) are drawn by the history generators, which never read a route. The history is not
diverted: balancing starts with the live day (the value snapshot it needs is computed from that history), so
the four simulated weeks and the months before them show the hotline as it ran without it.
The agents' states are those of the simulation (the freed time is not re-planned); the what-if
(:func:`callops.value.balance.diversion_whatif`) shows what the diverted share does to a queue's service level.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

# (the offer event) -> (route, score): the decision at contact time for that contact
RouteOf = Callable[[dict[str, Any]], tuple[str | None, float | None]]

IVR_PAYMENT_SHARE = 0.6
LOW_VALUE_EDGE = 30.0  # the default model's low_value class: score < 30
NEVER_QUEUES = frozenset({"complaints", "vip", "english"})
NEVER_BUSINESS = frozenset({"complaint"})
_ENDS = ("contact.answered", "contact.ended", "contact.abandoned", "contact.transferred", "contact.diverted")


def diversion_share(route: str | None, score: float | None) -> float:
    """Share of a customer's contacts that self-service finishes, by the decision's route and the value score."""
    if route == "ivr_payment":
        return IVR_PAYMENT_SHARE
    if route == "self_service_first":
        s = LOW_VALUE_EDGE if score is None else min(max(float(score), 0.0), LOW_VALUE_EDGE)
        return 0.15 + 0.35 * (LOW_VALUE_EDGE - s) / LOW_VALUE_EDGE
    return 0.0


def uniform(contact_id: str, seed: int) -> float:
    """A fixed draw in [0, 1) per contact (the same on every run)."""
    h = hashlib.blake2b(f"{seed}:{contact_id}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2.0**64


def divert_events(events: list[dict[str, Any]], route_of: RouteOf,
                  seed: int = 11) -> tuple[list[dict[str, Any]], dict[str, Any]]:  # fmt: skip
    """The live events with balancing applied, and what was diverted (per queue and route, and offered per queue).

    ``route_of(offer)`` is the decision for a contact's ``contact.offered`` event: (route, value score). Events
    must be in time order; so is the result. A contact that already has a ``contact.diverted`` is left as it is
    (applying twice changes nothing)."""
    done = {e["contact_id"] for e in events if e.get("type") == "contact.diverted"}
    chosen: dict[str, str] = {}
    offered: dict[str, int] = {}
    channels: dict[str, str] = {}
    for e in events:
        if e.get("type") != "contact.offered":
            continue
        q = e.get("queue") or ""
        offered[q] = offered.get(q, 0) + 1
        channels.setdefault(q, e.get("channel") or "")
        cid = e["contact_id"]
        if "-" in cid or cid in done or q in NEVER_QUEUES or e.get("business_type") in NEVER_BUSINESS:
            continue  # a later leg, already diverted, or a desk balancing never bypasses
        if not e.get("customer_id"):
            continue  # no customer, no decision
        route, score = route_of(e)
        if route is not None and uniform(cid, seed) < diversion_share(route, score):
            chosen[cid] = route
    out: list[dict[str, Any]] = []
    by: dict[str, dict[str, int]] = {}
    for e in events:
        cid = e.get("contact_id")
        if cid is None:
            out.append(e)
            continue
        base = cid.split("-", 1)[0]
        route = chosen.get(base)
        if route is None:
            out.append(e)
        elif cid == base and e["type"] == "contact.offered":
            out.append(e)
            out.append({"type": "contact.diverted", "ts": e["ts"], "tenant": e["tenant"], "contact_id": cid,
                        "queue": e["queue"], "reason": route})  # fmt: skip
            q = by.setdefault(e["queue"], {})
            q[route] = q.get(route, 0) + 1
        # else: the diverted contact's answer, end and later legs never happen
    return out, {"diverted": sum(sum(v.values()) for v in by.values()), "by_queue": by, "offered": offered,
                 "channels": channels}  # fmt: skip


def divert_live_day(folder: Path, route_of: RouteOf, seed: int = 11) -> dict[str, Any]:
    """Apply balancing to ``folder``'s ``events.jsonl`` (the demo's live day) in place; returns the summary."""
    path = folder / "events.jsonl"
    if not path.exists():
        return {"diverted": 0, "by_queue": {}, "offered": {}, "channels": {}}
    with path.open(encoding="utf-8") as f:
        events = [json.loads(line) for line in f if line.strip()]
    out, summary = divert_events(events, route_of, seed)
    tmp = path.with_suffix(".jsonl.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for e in out:
            f.write(json.dumps(e, separators=(",", ":"), ensure_ascii=False) + "\n")
    tmp.replace(path)
    return summary


def decision_routes(tenant_id: str, day: Any) -> RouteOf:
    """The decision's route and score for an offer event, as ``value.decide`` would answer it (the tenant's latest
    snapshot and strategy library; reason = the contact's business), without counting or logging a decision."""
    from callops.value import snapshot
    from callops.value.decide import DEFAULT_ROUTE, libraries
    from callops.value.rules import decide_strategy

    _model, _tags, strategies = libraries(tenant_id)
    index = snapshot.decide_index(tenant_id)
    cache: dict[tuple[Any, ...], tuple[str | None, float | None]] = {}

    def route_of(e: dict[str, Any]) -> tuple[str | None, float | None]:
        key = (e.get("customer_id"), e.get("channel"), e.get("business_type"), e.get("queue"))
        got = cache.get(key)
        if got is None:
            row = index.rows.get(e["customer_id"]) if index is not None else None
            if row is None:
                tags: set[str] = set()
                value_class, score, class_route = "unknown", None, DEFAULT_ROUTE
            else:
                tags = set(index.tag_list(row))  # type: ignore[union-attr]
                value_class, score = index.value_class[row], float(index.score[row])  # type: ignore[union-attr]
                class_route = index.route[row]  # type: ignore[union-attr]
            choice = decide_strategy(strategies, tags, e.get("business_type"), e.get("channel") or "voice",
                                     value_class, class_route, e.get("queue"), day)  # fmt: skip
            got = cache[key] = (choice.route, score)
        return got

    return route_of
