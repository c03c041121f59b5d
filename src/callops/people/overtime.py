"""Overtime and voluntary time off from the intraday picture (issue 19, part 5).

**The picture.** For each coming interval (15 min) of the next ``horizon_h`` hours: the contacts expected (the
latest forecast snapshot where it covers the interval, else the live room's arrival rate of the last 30 minutes
held flat - a persistence forecast), the handle time (live 30-minute AHT, else the queue's configured ``aht_s``,
else 300 s) and the agents scheduled to work then (the live schedule). The service level of each interval is
Erlang A (:func:`callops.wfm.queueing.erlang_a_metrics`, Erlang C without a patience), and a block's level is
the offered-weighted mean over its intervals.

**The proposal.** A block (``block_minutes``) whose level is below the target is a deficit: agents are added one
at a time - each offer says the level before and after it - until the target is reached or no one is left. A
block whose level stays at least ``surplus_margin`` above the target with one agent fewer is a surplus: agents
are offered VTO one at a time while that holds. *To whom*: overtime goes to roster agents not scheduled to work
in the block whose day would stay within ``MAX_DAY_HOURS``; VTO to agents scheduled to work the whole block.
Preferences (``$CALLOPS_HOME/tenants/<t>/floor_preferences.yaml``: ``agent_id: {overtime: true, vto: false}``)
put volunteers first and leave out those who said no; then the fewest (overtime) or most (VTO) scheduled hours
today, then the agent id. An agent with an open offer overlapping the block is skipped.

**Accepting.** :func:`accept_offer` checks the offer is open and the agent's own, writes the tenant's next schedule
version (``people_schedule_versions``, source ``floor``: the rows before and after; overtime adds a work block, VTO
cuts the block out of the agent's work as ``off``) and the warehouse's ``schedules`` the same way, updates the
live room's schedule (``schedules.csv`` and the running hub, whose adherence watch re-judges the agent) and audits it.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np
import yaml

from callops.errors import CallopsError, NotFound
from callops.realtime.state import ScheduleRow
from callops.settings import tenant_file
from callops.store import audit, outbox
from callops.store.models import Channel
from callops.store.models_floor import FloorOffer, OfferStatus
from callops.store.scoping import get_owned, scoped
from callops.wfm.queueing import erlang_a_metrics

if TYPE_CHECKING:
    from callops.realtime.hub import LiveHub
    from callops.store.db import Store
    from callops.warehouse import Warehouse

INTERVAL_S = 900.0
MAX_DAY_HOURS = 10.0  # an agent's scheduled paid time today may not pass this with overtime
DEFAULT_AHT_S = 300.0


# ------------------------------------------------------------------------------------------------ pure core
@dataclass(frozen=True)
class Interval:
    """One coming interval: its start (epoch s), expected contacts, handle time and scheduled agents."""

    start: float
    calls: float
    aht_s: float
    agents: int


def service_levels(intervals: list[Interval], extra: int | np.ndarray = 0, threshold_s: float = 20.0,
                   patience_s: float | None = None, interval_s: float = INTERVAL_S) -> np.ndarray:  # fmt: skip
    """Erlang A (C without patience) service level of each interval with ``extra`` agents more (or fewer)."""
    if not intervals:
        return np.zeros(0)
    calls = np.array([i.calls for i in intervals], float)
    aht = np.array([i.aht_s for i in intervals], float)
    agents = np.maximum(np.array([i.agents for i in intervals], float) + extra, 0.0)
    m = erlang_a_metrics(calls, interval_s, aht, agents, math.inf if patience_s is None else patience_s,
                         threshold_s, "offered")  # fmt: skip
    sl = np.asarray(m.service_level, float)
    sl = np.where(calls <= 0, 1.0, sl)  # nothing offered: nothing missed
    return np.where(np.isfinite(sl), np.clip(sl, 0.0, 1.0), 0.0)


def block_level(intervals: list[Interval], extra: int = 0, threshold_s: float = 20.0,
                patience_s: float | None = None) -> float:  # fmt: skip
    """Offered-weighted service level of a block of intervals with ``extra`` agents."""
    sl = service_levels(intervals, extra, threshold_s, patience_s)
    w = np.array([i.calls for i in intervals], float)
    return float((sl * w).sum() / w.sum()) if w.sum() > 0 else 1.0


@dataclass(frozen=True)
class Candidate:
    """An agent who could take overtime or VTO in a block, with what orders them."""

    agent_id: str
    volunteer: bool
    hours_today: float


def plan_block(
    intervals: list[Interval], overtime: list[Candidate], vto: list[Candidate], target: float,
    threshold_s: float = 20.0, patience_s: float | None = None, margin: float = 0.05, max_offers: int = 5,
) -> list[dict[str, Any]]:  # fmt: skip
    """Offers for one block (pure): overtime while below ``target``, VTO while ``target + margin`` still holds
    with one agent fewer; each with the block's level before and after it."""
    base = block_level(intervals, 0, threshold_s, patience_s)
    out: list[dict[str, Any]] = []
    if base < target:
        order = sorted(overtime, key=lambda c: (not c.volunteer, c.hours_today, c.agent_id))
        level = base
        for k, c in enumerate(order[:max_offers], 1):
            after = block_level(intervals, k, threshold_s, patience_s)
            out.append({"kind": "overtime", "agent_id": c.agent_id, "sl_before": level, "sl_after": after,
                        "volunteer": c.volunteer})  # fmt: skip
            level = after
            if level >= target:
                break
        return out
    order = sorted(vto, key=lambda c: (not c.volunteer, -c.hours_today, c.agent_id))
    level = base
    for k, c in enumerate(order[:max_offers], 1):
        after = block_level(intervals, -k, threshold_s, patience_s)
        if after < target + margin:
            break
        out.append({"kind": "vto", "agent_id": c.agent_id, "sl_before": level, "sl_after": after,
                    "volunteer": c.volunteer})  # fmt: skip
        level = after
    return out


# ------------------------------------------------------------------------------------------------ edges
def preferences_path(tenant: str) -> Path:
    """Where agents' overtime/VTO preferences live."""
    return tenant_file(tenant, "floor_preferences.yaml")


def load_preferences(tenant: str) -> dict[str, dict[str, bool]]:
    """``agent_id -> {overtime: bool, vto: bool}`` (missing: no preference)."""
    p = preferences_path(tenant)
    if not p.exists():
        return {}
    data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise CallopsError(f"{p}: expected agent_id: {{overtime: true, vto: false}} entries")
    return {str(k): {kk: bool(vv) for kk, vv in (v or {}).items() if kk in ("overtime", "vto")}
            for k, v in data.items() if isinstance(v, dict) or v is None}  # fmt: skip


def _forecast_rates(tenant: str, lo: float, hi: float, queue: str | None) -> dict[float, tuple[float, float | None]]:
    """Interval start -> (contacts, aht) from the latest forecast snapshot covering ``[lo, hi)`` (empty if none)."""
    from callops.wfm.forecast_io import list_snapshots, load_snapshot

    try:
        metas = list_snapshots(tenant)
    except CallopsError:
        return {}
    for meta in reversed(metas):
        frame, _ = load_snapshot(tenant, meta["snapshot_id"])
        if frame.empty or "interval_start" not in frame:
            continue
        ts = frame["interval_start"].map(lambda v: v.timestamp() if hasattr(v, "timestamp") else float(v))
        sel = frame[(ts >= lo) & (ts < hi)]
        if queue is not None and "queue" in sel:
            sel = sel[sel["queue"] == queue]
        if sel.empty:
            continue
        step = float(meta.get("interval_min", 15)) * 60.0
        out: dict[float, list[float]] = {}
        for _, r in sel.iterrows():
            t0 = r["interval_start"].timestamp()
            aht = float(r["aht_s"]) if "aht_s" in sel and r["aht_s"] == r["aht_s"] else None
            # spread a longer interval's contacts over our 15-minute ones
            for j in range(max(round(step / INTERVAL_S), 1)):
                k = t0 + j * INTERVAL_S
                c = float(r["forecast"]) * INTERVAL_S / max(step, INTERVAL_S)
                prev = out.get(k, [0.0, 0.0, 0.0])
                out[k] = [prev[0] + c, prev[1] + c * (aht or 0.0), prev[2] + (c if aht else 0.0)]
        return {k: (v[0], v[1] / v[2] if v[2] > 0 else None) for k, v in out.items()}
    return {}


def _inbound_queues(hub: LiveHub, queue: str | None) -> list[str]:
    cfg = hub.engine.config
    if queue is not None:
        return [queue]
    qs = [n for (k, n) in hub.engine.state.scopes if k == "queue"]
    return [q for q in qs if cfg.queue(q).direction != "outbound"]


def _works(rows: list[ScheduleRow], lo: float, hi: float) -> float:
    return sum(max(min(r.end, hi) - max(r.start, lo), 0.0) for r in rows if r.activity == "work")


def _paid_hours(rows: list[ScheduleRow], lo: float, hi: float) -> float:
    return sum(max(min(r.end, hi) - max(r.start, lo), 0.0) for r in rows
               if r.activity not in ("off", "lunch")) / 3600.0  # fmt: skip


def intraday_picture(hub: LiveHub, horizon_h: float = 4.0, queue: str | None = None,
                     now: float | None = None) -> dict[str, Any]:  # fmt: skip
    """The coming intervals of the live room (see the module docstring), with their service level."""
    from callops.realtime.state import ANSWERED, HANDLE_S, HANDLED, OFFERED

    if not 0 < horizon_h <= 24:
        raise CallopsError("horizon_h must be in (0, 24]")
    with hub.lock:
        st = hub.engine.state
        now = st.now if now is None else now
        if now == -math.inf:
            raise CallopsError(f"the live room of {hub.tenant!r} has no events yet")
        queues = _inbound_queues(hub, queue)
        rate = aht_num = aht_den = 0.0
        patience: list[float] = []
        for q in queues:
            sc = st.scopes.get(("queue", q))
            qc = hub.engine.config.queue(q)
            if sc is not None:
                c = sc.window(2, st.day)  # the 30-minute window
                rate += c[OFFERED] / 1800.0
                if c[HANDLED] >= 5:
                    aht_num += c[HANDLE_S]
                    aht_den += c[HANDLED]
                elif qc.aht_s:
                    aht_num += qc.aht_s * max(c[ANSWERED], 1.0)
                    aht_den += max(c[ANSWERED], 1.0)
            if qc.patience_s:
                patience.append(qc.patience_s)
        live_aht = aht_num / aht_den if aht_den > 0 else DEFAULT_AHT_S
        skill_of = {aid: (ag.info.primary or (ag.queues[0] if ag.queues else None)) for aid, ag in st.agents.items()}
        schedule = {aid: list(rows) for aid, rows in st.schedule.items()}
        zone = st.zone
    start = math.ceil(now / INTERVAL_S) * INTERVAL_S
    n = int(horizon_h * 3600 / INTERVAL_S)
    fc = _forecast_rates(hub.tenant, start, start + n * INTERVAL_S, queue)
    intervals = []
    for k in range(n):
        t0 = start + k * INTERVAL_S
        mid = t0 + INTERVAL_S / 2
        staffed = sum(1 for aid, rows in schedule.items()
                      if (queue is None or skill_of.get(aid) in (None, queue))
                      and any(r.activity == "work" and r.start <= mid < r.end for r in rows))  # fmt: skip
        calls, aht = (fc[t0][0], fc[t0][1] or live_aht) if t0 in fc else (rate * INTERVAL_S, live_aht)
        intervals.append(Interval(t0, calls, aht, staffed))
    return {"now": now, "zone": str(zone), "queue": queue, "queues": queues,
            "source": "forecast" if fc else "live-rate",
            "patience_s": float(np.mean(patience)) if patience else None, "intervals": intervals,
            "schedule": schedule, "skill_of": skill_of}  # fmt: skip


def _iso(t: float, zone: Any) -> str:
    return datetime.fromtimestamp(t, zone).isoformat()


def propose(store: Store, hub: LiveHub, actor: str, horizon_h: float = 4.0, queue: str | None = None,
            save: bool = True) -> dict[str, Any]:  # fmt: skip
    """Propose overtime/VTO offers for the coming blocks of the live room; with ``save``, store them (open)."""
    from callops.people.floor_settings import load_settings

    cfg = load_settings(hub.tenant).overtime
    with hub.lock:
        queues = [queue] if queue is not None else _inbound_queues(hub, None)
    if not queues:  # no contacts in the live room yet: no picture, nothing to propose
        now = hub.engine.state.now
        return {"now": None if now == -math.inf else _iso(now, hub.engine.state.zone), "source": "none",
                "target_sl": cfg.target_sl, "blocks": [], "offers": []}  # fmt: skip
    pictures = [intraday_picture(hub, horizon_h, q) for q in queues]
    zone = ZoneInfo(pictures[0]["zone"])
    now = pictures[0]["now"]
    prefs = load_preferences(hub.tenant)
    per_block = max(int(cfg.block_minutes * 60 / INTERVAL_S), 1)
    day_lo = datetime.combine(datetime.fromtimestamp(now, zone).date(), datetime.min.time(), zone).timestamp()
    day_hi = day_lo + 86400
    if save:
        expire_offers(store, hub.tenant, now)
    with store.session() as s:
        busy = {(o.agent_id, _aware(o.start_at).timestamp(), _aware(o.end_at).timestamp()) for o in s.scalars(
            scoped(FloorOffer, hub.tenant).where(FloorOffer.status == "open")).all()}  # fmt: skip
    blocks, offers = [], []
    left = cfg.max_offers
    # the queue with the worst coming block is served first (offers are limited per run)
    for pic in sorted(pictures, key=lambda p: min((i.agents - i.calls for i in p["intervals"]), default=0)):
        q = pic["queue"]
        ivs: list[Interval] = pic["intervals"]
        for b in range(0, len(ivs), per_block):
            block = ivs[b:b + per_block]
            lo, hi = block[0].start, block[-1].start + INTERVAL_S
            ot, vt = [], []
            for aid, rows in pic["schedule"].items():
                skill = pic["skill_of"].get(aid)
                if skill is not None and skill != q:
                    continue  # another queue's agent (an agent without known skills may serve any)
                p = prefs.get(aid, {})
                if any(a == aid and s0 < hi and s1 > lo for a, s0, s1 in busy):
                    continue
                hours = _paid_hours(rows, day_lo, day_hi)
                worked = _works(rows, lo, hi)
                if worked == 0 and p.get("overtime", True) and hours > 0 and hours + (hi - lo) / 3600 <= MAX_DAY_HOURS:
                    ot.append(Candidate(aid, bool(p.get("overtime")), hours))
                elif worked >= hi - lo and p.get("vto", True):
                    vt.append(Candidate(aid, bool(p.get("vto")), hours))
            base = block_level(block, 0, cfg.threshold_s, pic["patience_s"])
            planned = plan_block(block, ot, vt, cfg.target_sl, cfg.threshold_s, pic["patience_s"],
                                 cfg.surplus_margin, left) if left > 0 else []  # fmt: skip
            left -= len(planned)
            blocks.append({"queue": q, "start": _iso(lo, zone), "end": _iso(hi, zone), "service_level": base,
                           "contacts": sum(i.calls for i in block), "agents": block[0].agents,
                           "state": "deficit" if base < cfg.target_sl else (
                               "surplus" if any(p["kind"] == "vto" for p in planned) else "balanced")})  # fmt: skip
            for p in planned:
                offers.append({**p, "start_at": datetime.fromtimestamp(lo, UTC), "queue": q,
                               "end_at": datetime.fromtimestamp(hi, UTC),
                               "reason": f"{p['kind']} {q} {_iso(lo, zone)[11:16]}-{_iso(hi, zone)[11:16]}: service "
                                         f"level {p['sl_before']:.1%} -> {p['sl_after']:.1%} (target "
                                         f"{cfg.target_sl:.0%})"})  # fmt: skip
                busy.add((p["agent_id"], lo, hi))
    saved = []
    if save and offers:
        from callops.people.links import linked_user

        with store.session() as s:
            for o in offers:
                row = FloorOffer(tenant_id=hub.tenant, kind=o["kind"], agent_id=o["agent_id"], queue=o["queue"],
                                 start_at=o["start_at"], end_at=o["end_at"], sl_before=o["sl_before"],
                                 sl_after=o["sl_after"], reason=o["reason"], status="open", created_by=actor)
                s.add(row)
                s.flush()
                audit.record(s, hub.tenant, actor, "floor.offer.propose", "floor_offer", row.id, None,
                             {"kind": row.kind, "agent_id": row.agent_id})
                user = linked_user(s, hub.tenant, row.agent_id)
                outbox.enqueue(s, hub.tenant, Channel.inapp, f"floor-offer:{row.id}",
                               {"kind": "floor_offer", "offer_id": row.id, "agent_id": row.agent_id,
                                "to": user.name if user is not None else f"agent:{row.agent_id}",
                                "subject": f"{row.kind} offer", "text": row.reason})  # fmt: skip
                saved.append(offer_dict(row, zone))
    sources = sorted({p["source"] for p in pictures})
    return {"now": _iso(now, zone), "source": "+".join(sources), "target_sl": cfg.target_sl, "blocks": blocks,
            "offers": saved if save else [{**o, "start_at": o["start_at"].astimezone(zone).isoformat(),
                                            "end_at": o["end_at"].astimezone(zone).isoformat()} for o in offers]}


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def offer_dict(o: FloorOffer, zone: Any = UTC) -> dict[str, Any]:
    """JSON-ready offer (times in ``zone``)."""
    return {"id": o.id, "kind": o.kind, "agent_id": o.agent_id, "queue": o.queue,
            "start_at": _aware(o.start_at).astimezone(zone).isoformat(),
            "end_at": _aware(o.end_at).astimezone(zone).isoformat(), "sl_before": o.sl_before,
            "sl_after": o.sl_after, "reason": o.reason, "status": o.status, "decided_by": o.decided_by,
            "schedule_version": o.schedule_version}  # fmt: skip


def list_offers(store: Store, tenant: str, status: str | None = None, agent_id: str | None = None,
                zone: Any = UTC) -> list[dict[str, Any]]:  # fmt: skip
    """The tenant's offers, newest first."""
    if status is not None and status not in OfferStatus.__members__:
        raise CallopsError(f"status {status!r} is not one of {', '.join(OfferStatus)}")
    with store.session() as s:
        q = scoped(FloorOffer, tenant)
        if status:
            q = q.where(FloorOffer.status == status)
        if agent_id:
            q = q.where(FloorOffer.agent_id == agent_id)
        return [offer_dict(o, zone) for o in s.scalars(q.order_by(FloorOffer.id.desc())).all()]


def open_offers_for_agent(store: Store, tenant: str, agent_id: str) -> list[dict[str, Any]]:
    """The open overtime/VTO offers of one agent (the agent's phone page); offers whose time has begun are
    expired by the next proposal run (:func:`expire_offers`)."""
    return list_offers(store, tenant, "open", agent_id)


def expire_offers(store: Store, tenant: str, now: float) -> int:
    """Mark open offers whose block has begun by ``now`` (the live room's clock) as expired; how many."""
    at = datetime.fromtimestamp(now, UTC)
    with store.session() as s:
        rows = s.scalars(scoped(FloorOffer, tenant).where(FloorOffer.status == "open",
                                                          FloorOffer.start_at <= at)).all()  # fmt: skip
        for o in rows:
            o.status, o.decided_at = "expired", datetime.now(UTC)
        return len(rows)


# ------------------------------------------------------------------------------------------------ schedule
def _carve(rows: list[ScheduleRow], agent_id: str, lo: float, hi: float, activity: str
           ) -> tuple[list[ScheduleRow], list[ScheduleRow]]:  # fmt: skip
    """Cutting ``[lo, hi)`` out of the agent's rows for a new ``activity`` row there: (added, removed) rows (the
    hub's :meth:`~callops.realtime.hub.LiveHub.change_schedule` lays them over the live schedule)."""
    added, removed = [], []
    for r in rows:
        if r.end <= lo or r.start >= hi:
            continue
        removed.append(r)
        if r.start < lo:
            added.append(ScheduleRow(agent_id, r.activity, r.start, lo, r.queue))
        if r.end > hi:
            added.append(ScheduleRow(agent_id, r.activity, hi, r.end, r.queue))
    added.append(ScheduleRow(agent_id, activity, lo, hi, None))
    return added, removed


def _row_dict(r: ScheduleRow, zone: Any) -> dict[str, Any]:
    return {"agent_id": r.agent_id, "activity": r.activity, "start_at": _iso(r.start, zone),
            "end_at": _iso(r.end, zone), "queue": r.queue}  # fmt: skip


def change_schedule(store: Store, wh: Warehouse, hub: LiveHub, agent_id: str, lo: float, hi: float, activity: str,
                    reason: str, actor: str) -> int:  # fmt: skip
    """Put ``activity`` in ``agent_id``'s schedule over ``[lo, hi)`` as the tenant's next schedule version (stored,
    audited, written to the warehouse: :func:`callops.people.data.save_version`); the live room (schedules.csv,
    the running engine, its adherence watch) follows. The version number."""
    from callops.people.adherence import attach_watch
    from callops.people.checks import Change
    from callops.people.data import save_version
    from callops.realtime.hub import live_dir

    def row(r: ScheduleRow) -> dict[str, Any]:
        return {"agent_id": r.agent_id, "activity": r.activity, "start_at": datetime.fromtimestamp(r.start, UTC),
                "end_at": datetime.fromtimestamp(r.end, UTC), "queue": r.queue}  # fmt: skip

    with hub.lock:
        st = hub.engine.state
        added, removed = _carve(list(st.schedule.get(agent_id, [])), agent_id, lo, hi, activity)
        change = Change([agent_id], datetime.fromtimestamp(lo, UTC), datetime.fromtimestamp(hi, UTC),
                        [row(r) for r in removed], [row(r) for r in added])  # fmt: skip
        with store.session() as s:
            version = save_version(s, wh, hub.tenant, change, request_id=None, actor=actor, reason=reason,
                                   source="floor")  # fmt: skip
        attach_watch(hub.engine)
        # logged as the hub's action (a rebuild repeats it); the same rows as carving, and the watch re-judges
        hub.change_schedule(version, [agent_id], lo, hi, added, by=actor)
        _write_live_schedule(live_dir(hub.tenant, hub.home), st.schedule, st.zone)
    return version


def _write_live_schedule(folder: Path, schedule: dict[str, list[ScheduleRow]], zone: Any) -> None:
    """Rewrite the live folder's schedules.csv (atomically) so a restarted room has the same schedule."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "schedules.csv.tmp"
    with tmp.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["agent_id", "activity", "start_at", "end_at", "queue"])
        for aid in sorted(schedule):
            for r in schedule[aid]:
                w.writerow([aid, r.activity, _iso(r.start, zone), _iso(r.end, zone), r.queue or ""])
    tmp.replace(folder / "schedules.csv")


def accept_offer(store: Store, wh: Warehouse, hub: LiveHub, offer_id: int, actor: str,
                 agent_id: str | None) -> dict[str, Any]:  # fmt: skip
    """The agent ``agent_id`` accepts their offer ``offer_id`` (``agent_id`` None: a manager accepts on the
    agent's behalf). 404 for another tenant's offer; a CallopsError (409-like) for a closed or begun one; a
    PermissionError when the offer is another agent's."""
    with store.session() as s:
        o = get_owned(s, FloorOffer, hub.tenant, offer_id)
        if agent_id is not None and o.agent_id != agent_id:
            raise NotFound(f"no floor offer {offer_id!r} in tenant {hub.tenant!r}")  # another agent's: not shown
        if o.status != "open":
            raise CallopsError(f"offer {offer_id} is {o.status}; only open offers can be accepted")
        lo, hi = _aware(o.start_at).timestamp(), _aware(o.end_at).timestamp()
        kind, who, reason = o.kind, o.agent_id, o.reason
    if hi <= hub.engine.state.now:
        raise CallopsError(f"offer {offer_id} has already ended")
    version = change_schedule(store, wh, hub, who, lo, hi, "work" if kind == "overtime" else "off",
                              f"offer {offer_id} accepted: {reason}", actor)  # fmt: skip
    with store.session() as s:
        o = get_owned(s, FloorOffer, hub.tenant, offer_id)
        o.status, o.decided_by, o.decided_at, o.schedule_version = "accepted", actor, datetime.now(UTC), version
        audit.record(s, hub.tenant, actor, "floor.offer.accept", "floor_offer", o.id, {"status": "open"},
                     {"status": "accepted", "schedule_version": version})
        return offer_dict(o, hub.engine.state.zone)


def decline_offer(store: Store, tenant: str, offer_id: int, actor: str, agent_id: str | None,
                  withdraw: bool = False) -> dict[str, Any]:  # fmt: skip
    """Decline (the agent) or withdraw (a manager) an open offer, audited."""
    with store.session() as s:
        o = get_owned(s, FloorOffer, tenant, offer_id)
        if agent_id is not None and o.agent_id != agent_id:
            raise NotFound(f"no floor offer {offer_id!r} in tenant {tenant!r}")
        if o.status != "open":
            raise CallopsError(f"offer {offer_id} is {o.status}; only open offers can change")
        o.status = "withdrawn" if withdraw else "declined"
        o.decided_by, o.decided_at = actor, datetime.now(UTC)
        audit.record(s, tenant, actor, f"floor.offer.{o.status}", "floor_offer", o.id, {"status": "open"},
                     {"status": o.status})
        return offer_dict(o)


def schedule_versions(store: Store, tenant: str, day: date | None = None) -> list[dict[str, Any]]:
    """The tenant's schedule versions (accepted offers and approved requests; of one local day when given),
    newest first."""
    from callops.people.data import list_versions
    from callops.store.tenants import get_tenant

    with store.session() as s:
        return list_versions(s, tenant, get_tenant(s, tenant).timezone, day)


__all__ = ["Candidate", "Interval", "accept_offer", "block_level", "change_schedule", "intraday_picture",
           "list_offers", "open_offers_for_agent", "plan_block", "propose", "service_levels"]
