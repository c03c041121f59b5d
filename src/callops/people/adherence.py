"""Real-time and daily schedule adherence (issue 19, part 3).

*Adherence* is the share of scheduled time (every activity but ``off``) in which the agent's state fitted the
activity: ``work`` wants ready/busy/acw, every other activity (break, lunch, training, meeting) wants aux or
offline - the rule of the catalog's ``adherence`` metric and of the live state. Recorded exceptions (a meeting,
coaching, system trouble) excuse the time they cover: it counts as adherent. *Conformance* is the time worked
(ready/busy/acw) over the scheduled work time, whenever it was worked.

Live: :class:`AdherenceWatch` rides on a tenant's :class:`~callops.realtime.engine.LiveEngine` (the engine calls
:meth:`AdherenceWatch.on_state` after each agent state change and :meth:`AdherenceWatch.tick` at each tick). It
keeps, per agent, when the current out-of-adherence stretch began, a heap of schedule/exception boundaries (an
agent can fall out of adherence with no event: the break began) and a heap of alert timers, so an event costs
one bisect and a dict update - never a scan of the roster. An agent out of adherence longer than the tenant's
``adherence.threshold_s`` raises the ``out-of-adherence`` alert (yellow; orange at 2x, red at 4x) in the
engine's own alert book, so it has the existing levels, history, acknowledge/resolve and notifications; it
clears when the agent is back in adherence or an exception covers the time. The team lead hears of it through
an in-app outbox row addressed to each team-lead user of the agent's team (``team_lead:<team>`` when the team
has none; :func:`ensure_watch`).
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from callops.errors import CallopsError, NotFound
from callops.realtime.alerts import EXTERNAL_RULES, AlertRule, CompiledRule
from callops.store import audit
from callops.store.models_floor import ExceptionKind, FloorException
from callops.store.scoping import get_owned, scoped

if TYPE_CHECKING:
    from callops.realtime.engine import LiveEngine
    from callops.realtime.hub import LiveHub
    from callops.store.db import Store

RULE = "out-of-adherence"
WORKING = frozenset({"ready", "busy", "acw"})
LEVEL_FACTORS = (1.0, 2.0, 4.0)  # yellow, orange, red at these multiples of the threshold


def conforms(activity: str, state: str) -> bool:
    """Whether ``state`` fits the scheduled ``activity`` (work wants ready/busy/acw; others anything else)."""
    return (state in WORKING) == (activity == "work")


# ------------------------------------------------------------------------------------------------ one day
@dataclass(frozen=True)
class Span:
    """A labelled time span in epoch seconds (a schedule block, a state interval or an exception)."""

    label: str
    start: float
    end: float


def _at(spans: list[Span], starts: list[float], t: float) -> str | None:
    """The label of the latest-starting span (of the last 8 starting at or before ``t``) that covers ``t``."""
    i = bisect.bisect_right(starts, t) - 1
    for j in range(i, max(i - 8, -1), -1):  # spans of one agent hardly overlap: a short walk back is enough
        if spans[j].end > t:
            return spans[j].label
    return None


def _classes(states: Iterable[Span]) -> list[Span]:
    """States sorted, labelled by what adherence sees (``ready``: working, ``offline``: not) and merged where
    touching spans have the same class - ready/busy/acw alternate all day and need not be told apart."""
    out: list[Span] = []
    for s in sorted(states, key=lambda s: s.start):
        label = "ready" if s.label in WORKING else "offline"
        if out and out[-1].label == label and out[-1].end == s.start:
            out[-1] = Span(label, out[-1].start, s.end)
        else:
            out.append(Span(label, s.start, s.end))
    return out


def agent_day(
    schedule: Iterable[Span], states: Iterable[Span], exceptions: Iterable[Span] = (), lo: float = -math.inf,
    hi: float = math.inf,
) -> dict[str, float | None]:  # fmt: skip
    """Adherence and conformance of one agent within ``[lo, hi)``.

    ``schedule``: activity blocks; ``states``: state intervals (time no interval covers is ``offline``);
    ``exceptions``: excused spans. Returns scheduled, adherent (excused included), excused and out-of-adherence
    seconds, scheduled work and worked seconds, ``adherence`` and ``conformance`` (None without a denominator).
    """
    sch = sorted((s for s in schedule if s.label != "off"), key=lambda s: s.start)
    sts = _classes(states)
    exc = sorted(exceptions, key=lambda s: s.start)
    s_starts, t_starts, e_starts = [s.start for s in sch], [s.start for s in sts], [s.start for s in exc]
    cuts = {lo, hi} if math.isfinite(lo) and math.isfinite(hi) else set()
    for group in (sch, sts, exc):
        for s in group:
            cuts.update((s.start, s.end))
    points = sorted(p for p in cuts if lo <= p <= hi)
    scheduled = adherent = excused = work = worked = 0.0
    for a, b in itertools.pairwise(points):
        if b <= a:
            continue
        d = b - a
        state = _at(sts, t_starts, a) or "offline"
        if state in WORKING:
            worked += d
        activity = _at(sch, s_starts, a)
        if activity is None:
            continue
        scheduled += d
        if activity == "work":
            work += d
        if conforms(activity, state):
            adherent += d
        elif _at(exc, e_starts, a) is not None:
            adherent += d
            excused += d
    return {
        "scheduled_s": scheduled, "adherent_s": adherent, "excused_s": excused, "out_s": scheduled - adherent,
        "scheduled_work_s": work, "worked_s": worked,
        "adherence": adherent / scheduled if scheduled > 0 else None,
        "conformance": worked / work if work > 0 else None,
    }  # fmt: skip


# ------------------------------------------------------------------------------------------------ live
class AdherenceWatch:
    """Out-of-adherence timers of one live engine (see the module docstring)."""

    def __init__(self, engine: LiveEngine, threshold_s: float = 300.0) -> None:
        """Watch ``engine``'s agents against its schedule; alert after ``threshold_s`` out of adherence."""
        self.engine = engine
        self.state = engine.state
        self.threshold_s = float(threshold_s)
        levels = dict(zip(("yellow", "orange", "red"), (f * threshold_s for f in LEVEL_FACTORS), strict=True))
        self.rule = CompiledRule(AlertRule(name=RULE, measure="time_in_state_s", scope="agent", levels=levels,
                                           description="Out of adherence to the schedule (issue 19)"))  # fmt: skip
        self.out_since: dict[str, float] = {}
        self.exceptions: dict[str, list[Span]] = {}
        self._starts: dict[str, list[float]] = {}
        self._bounds: list[tuple[float, str]] = []  # schedule / exception boundaries still ahead
        self._timers: list[tuple[float, int, str, float]] = []  # (due, seq, agent, since)
        self._seq = 0
        self.evaluations = 0
        for aid in self.state.schedule:
            self.reschedule(aid)

    # --------------------------------------------------------------------------------------------- inputs
    def reschedule(self, agent_id: str) -> None:
        """Take ``agent_id``'s schedule (changed: overtime, an approved request) and re-check it now."""
        rows = self.state.schedule.get(agent_id, [])
        rows.sort(key=lambda r: r.start)
        self._starts[agent_id] = [r.start for r in rows]
        now = self.state.now
        for r in rows:
            for t in (r.start, r.end):
                if t > now:
                    heapq.heappush(self._bounds, (t, agent_id))
        if now > -math.inf:
            self.update(agent_id, now)

    def add_exception(self, agent_id: str, start: float, end: float, kind: str = "other") -> None:
        """Excuse ``agent_id`` from adherence in ``[start, end)``; clears a running alert it covers."""
        spans = self.exceptions.setdefault(agent_id, [])
        spans.append(Span(kind, start, end))
        spans.sort(key=lambda s: s.start)
        now = self.state.now
        for t in (start, end):
            if t > now:
                heapq.heappush(self._bounds, (t, agent_id))
        if now > -math.inf:
            self.update(agent_id, now)

    # --------------------------------------------------------------------------------------------- status
    def activity(self, agent_id: str, t: float) -> str | None:
        """The scheduled activity of ``agent_id`` at ``t`` (None: nothing scheduled)."""
        starts = self._starts.get(agent_id)
        if not starts:
            return None
        rows = self.state.schedule[agent_id]
        i = bisect.bisect_right(starts, t) - 1
        while i >= 0:
            if rows[i].end > t:
                return rows[i].activity
            i -= 1
            if i < 0 or rows[i].end <= t - 86400:
                break
        return None

    def excused(self, agent_id: str, t: float) -> str | None:
        """The kind of exception covering ``agent_id`` at ``t``, else None."""
        for s in self.exceptions.get(agent_id, ()):
            if s.start <= t < s.end:
                return s.label
        return None

    def out(self, agent_id: str, t: float) -> bool:
        """Whether ``agent_id`` is out of adherence at ``t`` (given its current state), exceptions applied."""
        activity = self.activity(agent_id, t)
        if activity is None or activity == "off":
            return False
        ag = self.state.agents.get(agent_id)
        if conforms(activity, ag.state if ag is not None else "offline"):
            return False
        return self.excused(agent_id, t) is None

    def update(self, agent_id: str, t: float) -> None:
        """Re-judge ``agent_id`` at ``t``: start a stretch (and its timer) or end one (clearing its alert)."""
        self.evaluations += 1
        out = self.out(agent_id, t)
        since = self.out_since.get(agent_id)
        if out and since is None:
            self.out_since[agent_id] = t
            self._arm(agent_id, t, 0)
        elif not out and since is not None:
            del self.out_since[agent_id]
            if (RULE, agent_id) in self.engine.book.hot:
                ev = self.engine.book.evaluate(self.rule, agent_id, 0.0, t)
                if ev is not None:
                    self.engine._emit(ev)

    def _arm(self, agent_id: str, since: float, level: int) -> None:
        if level < len(LEVEL_FACTORS):
            self._seq += 1
            heapq.heappush(self._timers, (since + LEVEL_FACTORS[level] * self.threshold_s, self._seq, agent_id,
                                          since))  # fmt: skip

    # --------------------------------------------------------------------------------------------- hooks
    def on_state(self, agent_id: str, now: float) -> None:
        """Engine hook: ``agent_id`` changed state at ``now``."""
        if agent_id in self._starts or agent_id in self.out_since:
            self.update(agent_id, now)

    def tick(self, b: float) -> None:
        """Engine hook: the clock reached tick ``b``; pass the boundaries and fire the timers due by then."""
        bounds, timers = self._bounds, self._timers
        agents = self.state.agents
        book = self.engine.book
        # In time order; a timer before a boundary at the same instant (a stretch of exactly the threshold counts).
        # A boundary at ``b`` itself waits for the next tick: an agent event at ``b`` is applied after this tick,
        # and the boundary must judge the agent with it (a break and the agent's aux at the same second).
        while (bounds and bounds[0][0] < b) or (timers and timers[0][0] <= b):
            if timers and timers[0][0] <= b and (not bounds or bounds[0][0] >= b or timers[0][0] <= bounds[0][0]):
                due, _, aid, since = heapq.heappop(timers)
                if self.out_since.get(aid) != since:
                    continue  # back in adherence (or a new stretch) since the timer was armed
                ev = book.evaluate(self.rule, aid, due - since, due)
                if ev is not None:
                    self.engine._emit(ev)
                rk = book.keys.get((RULE, aid))
                self._arm(aid, since, rk.level if rk is not None else 0)
            else:
                t, aid = heapq.heappop(bounds)
                ag = agents.get(aid)
                # an agent event newer than the boundary already judged the agent with its newer state
                self.update(aid, max(t, ag.state_t) if ag is not None else t)

    # --------------------------------------------------------------------------------------------- views
    def agent_now(self, agent_id: str, now: float | None = None) -> dict[str, Any]:
        """One agent's live adherence: state, scheduled activity, stretch out of adherence, today's share."""
        st = self.state
        now = st.now if now is None else now
        ag = st.agents.get(agent_id)
        since = self.out_since.get(agent_id)
        today = st.adherence(agent_id, now) if agent_id in st.schedule else {}
        rk = self.engine.book.keys.get((RULE, agent_id))
        return {
            "agent_id": agent_id,
            "team": ag.info.team if ag is not None else (st.roster[agent_id].team if agent_id in st.roster else None),
            "state": ag.state if ag is not None else "offline",
            "scheduled_now": self.activity(agent_id, now),
            "in_adherence": since is None,
            "out_since": since,
            "out_s": max(now - since, 0.0) if since is not None else 0.0,
            "exception": self.excused(agent_id, now),
            "alert_level": ("yellow", "orange", "red", "black")[rk.level - 1] if rk is not None and rk.level else None,
            "adherence_today": today.get("adherence"),
        }


def attach_watch(engine: LiveEngine, threshold_s: float = 300.0) -> AdherenceWatch:
    """The engine's watch, created (and hooked in) if it has none yet."""
    watch = getattr(engine, "adherence", None)
    if watch is None:
        watch = engine.adherence = AdherenceWatch(engine, threshold_s)
    return watch


def _on_engine(engine: LiveEngine, tenant: str) -> None:
    """Every durable hub's engine gets a watch with its tenant's threshold, before the hub replays its log (so
    the logged actions on adherence alerts, and the alerts themselves, are rebuilt as they were)."""
    from callops.people.floor_settings import load_settings

    try:
        thr = load_settings(tenant).adherence.threshold_s
    except CallopsError:
        thr = 300.0
    attach_watch(engine, thr)


_WIRED: set[int] = set()  # hubs whose alerts already go to the store's outbox (by id)


def ensure_watch(hub: LiveHub, store: Store | None = None) -> AdherenceWatch:
    """The hub's watch, with the tenant's recorded exceptions loaded; with ``store``, alert raises are also
    written to the outbox as in-app messages to the agent's team leads."""
    from callops.people.floor_settings import load_settings

    with hub.lock:
        watch = attach_watch(hub.engine, load_settings(hub.tenant).adherence.threshold_s)
    if store is not None:
        sync_exceptions(hub, store)
        if id(hub) not in _WIRED:
            _WIRED.add(id(hub))
            hub.subscribe(_team_lead_notifier(hub, store))
    return watch


def _team_lead_notifier(hub: LiveHub, store: Store) -> Any:
    from callops.realtime.alerts import AlertEvent
    from callops.realtime.notify import Route, enqueue_alert

    tenant = hub.tenant

    def listen(topic: str, message: dict[str, Any]) -> None:
        if topic != "alerts" or message.get("rule") != RULE or message.get("kind") not in ("raised", "escalated"):
            return
        roster = hub.engine.state.roster.get(message["key"])
        team = roster.team if roster is not None and roster.team else "unassigned"
        lv = {"yellow": 1, "orange": 2, "red": 3, "black": 4}
        ev = AlertEvent(message["kind"], message["alert_id"], RULE, "agent", message["key"],
                        lv.get(message["level"] or "", 0), lv.get(message["prev_level"] or "", 0),
                        message["value"], message["threshold"], message["at"])  # fmt: skip
        try:
            with store.session() as s:
                from callops.people.links import team_leads

                # the team's lead users by name (what the phone pages read); the team itself when it has none
                to = [u.name for u in team_leads(s, tenant, team)] or [f"team_lead:{team}"]
                route = Route(rules=[RULE], channel="inapp", to=to)
                enqueue_alert(s, tenant, ev, [route], hub.engine.state.zone)
        except Exception:  # never fail the engine's batch for a notification; the alert itself is kept
            return

    return listen


# ------------------------------------------------------------------------------------------------ exceptions
def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def record_exception(
    store: Store, tenant: str, agent_id: str, kind: str, start: datetime, end: datetime, actor: str,
    note: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Record (audited) that ``agent_id`` is excused from adherence in ``[start, end)``; the tenant's open hub
    learns it at once. A CallopsError for a bad kind or times."""
    if kind not in ExceptionKind.__members__:
        raise CallopsError(f"exception kind {kind!r} is not one of {', '.join(ExceptionKind)}")
    start, end = _aware(start), _aware(end)
    if end <= start:
        raise CallopsError("an exception must end after it starts")
    if end - start > timedelta(days=1):
        raise CallopsError("an exception may cover at most one day")
    if not agent_id or len(agent_id) > 200:
        raise CallopsError("agent_id is required (at most 200 characters)")
    with store.session() as s:
        row = FloorException(tenant_id=tenant, agent_id=agent_id, kind=kind, start_at=start, end_at=end, note=note,
                             created_by=actor)  # fmt: skip
        s.add(row)
        s.flush()
        audit.record(s, tenant, actor, "floor.exception", "floor_exception", row.id, None,
                     {"agent_id": agent_id, "kind": kind, "start": start.isoformat(), "end": end.isoformat()})
        out = exception_dict(row)
    from callops.realtime.hub import open_hubs

    hub = open_hubs().get(tenant)
    if hub is not None:
        with hub.lock:
            attach_watch(hub.engine).add_exception(agent_id, start.timestamp(), end.timestamp(), kind)
    return out


def exception_dict(row: FloorException) -> dict[str, Any]:
    """JSON-ready exception."""
    return {"id": row.id, "agent_id": row.agent_id, "kind": row.kind, "start_at": _aware(row.start_at).isoformat(),
            "end_at": _aware(row.end_at).isoformat(), "note": row.note, "created_by": row.created_by}  # fmt: skip


def list_exceptions(store: Store, tenant: str, day: date | None = None, agent_id: str | None = None,
                    zone: Any = UTC) -> list[dict[str, Any]]:  # fmt: skip
    """The tenant's exceptions (of one local day in ``zone`` and/or one agent), newest first."""
    with store.session() as s:
        q = scoped(FloorException, tenant)
        if agent_id:
            q = q.where(FloorException.agent_id == agent_id)
        if day is not None:
            lo = datetime.combine(day, datetime.min.time(), zone)
            q = q.where(FloorException.end_at > lo, FloorException.start_at < lo + timedelta(days=1))
        return [exception_dict(r) for r in s.scalars(q.order_by(FloorException.start_at.desc())).all()]


def delete_exception(store: Store, tenant: str, exception_id: int, actor: str) -> None:
    """Remove a recorded exception (audited); 404 for another tenant's id."""
    with store.session() as s:
        row = get_owned(s, FloorException, tenant, exception_id)
        audit.record(s, tenant, actor, "floor.exception.delete", "floor_exception", row.id, exception_dict(row), None)
        s.delete(row)


def sync_exceptions(hub: LiveHub, store: Store) -> int:
    """Load the tenant's exceptions that touch the live day into the hub's watch (those not there yet)."""
    with store.session() as s:
        rows = s.scalars(scoped(FloorException, hub.tenant).where(
            FloorException.end_at > datetime.now(UTC) - timedelta(days=2))).all()  # fmt: skip
        spans = [(r.agent_id, _aware(r.start_at).timestamp(), _aware(r.end_at).timestamp(), r.kind) for r in rows]
    n = 0
    with hub.lock:
        watch = attach_watch(hub.engine)
        for aid, lo, hi, kind in spans:
            if not any(x.start == lo and x.end == hi for x in watch.exceptions.get(aid, ())):
                watch.add_exception(aid, lo, hi, kind)
                n += 1
    return n


# ------------------------------------------------------------------------------------------------ reads
def adherence_now(hub: LiveHub, store: Store | None = None, team: str | None = None) -> dict[str, Any]:
    """Every scheduled agent's live adherence (of ``team`` only when given), worst stretch first."""
    watch = ensure_watch(hub, store)
    with hub.lock:
        st = hub.engine.state
        ids = sorted(set(st.schedule) | set(watch.out_since))
        rows = [watch.agent_now(aid) for aid in ids]
        now = st.now
    if team is not None:
        rows = [r for r in rows if r["team"] == team]
    rows.sort(key=lambda r: (-r["out_s"], r["agent_id"]))
    out = sum(1 for r in rows if not r["in_adherence"])
    return {"now": None if now == -math.inf else datetime.fromtimestamp(now, UTC).isoformat(),
            "threshold_s": watch.threshold_s, "agents": rows, "out_of_adherence": out,
            "in_adherence_share": (len(rows) - out) / len(rows) if rows else None}  # fmt: skip


def adherence_today_for_agent(store: Store | None, tenant: str, agent_id: str) -> dict[str, Any]:
    """One agent's adherence today from the tenant's live room ("my adherence today" on the phone page):
    the live stretch and today's share so far. 404 (:class:`NotFound`) for an agent the live room does not know."""
    from callops.realtime.hub import hub_for

    hub = hub_for(tenant)
    watch = ensure_watch(hub, store)
    with hub.lock:
        st = hub.engine.state
        if agent_id not in st.agents and agent_id not in st.schedule:
            raise NotFound(f"no agent {agent_id!r} in today's live room")
        return watch.agent_now(agent_id)


def _register() -> None:
    from callops.realtime.hub import on_new_engine

    EXTERNAL_RULES.add(RULE)  # the live rules a manager saves do not clear our alerts
    on_new_engine(_on_engine)


_register()
__all__ = ["AdherenceWatch", "Span", "adherence_now", "adherence_today_for_agent", "agent_day", "attach_watch",
           "conforms", "ensure_watch", "list_exceptions", "record_exception"]
