"""The live state of one tenant: a pure, deterministic state machine over :class:`~callops.realtime.events.LiveEvent`.

Scopes are ``queue``, ``center``, ``channel`` and ``tenant`` (the whole tenant, key ``*``). Each keeps

* contacts waiting now and a heap of their queue-entry times (longest wait as of any clock);
* per-second buckets of counts (offered, answered, answered within the queue's threshold, abandoned, short
  abandons, handled, handle seconds, wait seconds, answered wait seconds, transferred) and running sums for the
  sliding 5/15/30-minute windows and for today in the tenant's zone;
* agents by state (agents count in every queue they have a skill for, their center, the channels of those queues
  and the tenant).

Order-insensitive by construction: a contact leg ``(contact_id, queue)`` collects facts (offered at, answered at,
ended at) and each counter is added, at the event's own time, as soon as the facts it needs are known — whichever
event comes first. Agents keep a timeline; an agent event older than the agent's current state only enters the
timeline (adherence), so a late event never overwrites a newer state. Applying the same events in any order
within the window retention (30 min) therefore gives the same state, and replays are exactly reproducible.

The clock (``now``) is the newest event time seen; measures are read "as of" a clock.
"""

from __future__ import annotations

import bisect
import heapq
import math
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import sub
from typing import Any

from callops.realtime.events import LiveEvent

BUCKET_S = 5  # counters are kept in 5-second buckets: windows slide in 5-second steps
WINDOWS: tuple[tuple[str, int], ...] = (("5m", 300), ("15m", 900), ("30m", 1800))
WINDOW_NAMES: tuple[str, ...] = (*(w for w, _ in WINDOWS), "today")
_WB = tuple(width // BUCKET_S for _, width in WINDOWS)  # window widths in buckets
RING_B = _WB[-1]  # buckets older than the longest window are dropped

# Counter slots (indexes into a bucket).
OFFERED, ANSWERED, ANSWERED_SL, ABANDONED, ABANDONED_SHORT, HANDLED, HANDLE_S, WAIT_S, ANS_WAIT_S, TRANSFERRED = (
    range(10)
)
DIVERTED = 10  # legs traffic balancing or care sent away from the agents (contact.diverted, issues 11 and 16)
NM = 11
_ZERO = [0.0] * NM
_OFFERED1, _ANSWERED1, _ABANDONED1, _TRANSFERRED1 = (((OFFERED, 1.0),), ((ANSWERED, 1.0),), ((ABANDONED, 1.0),),
                                                      ((TRANSFERRED, 1.0),))
_DIVERTED1 = ((DIVERTED, 1.0),)


def _handled_items(handle: float) -> tuple[tuple[int, float], ...]:
    return (HANDLED, 1.0), (HANDLE_S, max(handle, 0.0))


COUNTERS = ("offered", "answered", "answered_in_sl", "abandoned", "abandoned_short", "handled", "handle_s",
            "wait_s", "answered_wait_s", "transferred", "diverted")  # fmt: skip

STATES: tuple[str, ...] = ("ready", "busy", "acw", "aux", "offline")
READY, BUSY, ACW, AUX, OFFLINE = range(5)
STATE_INDEX = {s: i for i, s in enumerate(STATES)}
WORKING = frozenset({"ready", "busy", "acw"})
SCOPE_KINDS: tuple[str, ...] = ("queue", "center", "channel", "tenant")


@dataclass(frozen=True)
class QueueConfig:
    """What the engine knows of a queue beyond its events (all optional)."""

    center: str | None = None
    channel: str | None = None
    sl_threshold_s: float = 20.0
    target_sl: float = 0.8
    short_abandon_s: float = 5.0
    patience_s: float | None = None  # mean patience for what-ifs; estimated from live data when None
    aht_s: float | None = None  # handle time for what-ifs when the live window has too few contacts
    direction: str = "inbound"
    skill: str | None = None  # skill that serves it (default: the queue name); peers share a skill
    region: str | None = None


@dataclass
class LiveConfig:
    """Tenant-level settings of the live engine."""

    tenant: str
    timezone: str = "Asia/Shanghai"
    queues: dict[str, QueueConfig] = field(default_factory=dict)
    centers: dict[str, str] = field(default_factory=dict)  # center -> region
    sl_definition: str = "answered+abandoned"  # or "answered", "short-abandons-excluded"
    tolerance_s: float = 5.0  # out-of-order tolerance (events later than this are counted as late)
    tick_s: float = 1.0  # how often (event time) time-driven measures are re-evaluated

    def queue(self, name: str) -> QueueConfig:
        """The config of ``name`` (defaults when the queue is not configured)."""
        q = self.queues.get(name)
        if q is None:
            q = self.queues[name] = QueueConfig()
        return q


@dataclass(frozen=True)
class RosterAgent:
    """A roster row (canonical ``agents`` table): skills parsed from ``'billing:3;vip:1'``."""

    agent_id: str
    name: str | None = None
    center: str | None = None
    team: str | None = None
    skills: dict[str, int] = field(default_factory=dict)
    emergency_echelon: int | None = None

    @property
    def primary(self) -> str | None:
        """The skill with the highest level (ties: alphabetical first)."""
        if not self.skills:
            return None
        return min(self.skills, key=lambda q: (-self.skills[q], q))


def parse_skills(text: str | None) -> dict[str, int]:
    """``'billing:3;vip:1'`` -> ``{'billing': 3, 'vip': 1}`` (a skill without a level gets 1)."""
    out: dict[str, int] = {}
    for part in (text or "").split(";"):
        part = part.strip()
        if not part:
            continue
        name, _, level = part.partition(":")
        out[name.strip()] = int(level) if level.strip() else 1
    return out


@dataclass(frozen=True)
class ScheduleRow:
    """A scheduled activity (canonical ``schedules`` table) in epoch seconds."""

    agent_id: str
    activity: str
    start: float
    end: float
    queue: str | None = None


class Scope:
    """Aggregates of one scope key (a queue, a center, a channel or the tenant)."""

    __slots__ = ("agents", "buckets", "day", "heap", "idx", "keys", "kind", "moved", "name", "sec", "sums", "today",
                 "waiting")

    def __init__(self, kind: str, name: str) -> None:
        self.kind, self.name = kind, name
        self.keys: list[int] = []  # seconds with a bucket, ascending
        self.buckets: dict[int, list[float]] = {}
        self.idx = [0, 0, 0]  # per window: position in keys of the first second inside it
        self.sums = [[0.0] * NM for _ in WINDOWS]
        self.sec = -(10**12)  # the bucket the windows end with
        self.moved = False  # whether a bucket left a window since the flag was last reset
        self.today = [0.0] * NM
        self.day = 0.0  # start (epoch s) of the local day ``today`` counts
        self.waiting = 0
        self.heap: list[tuple[float, tuple]] = []  # (queue entry time, leg key), lazily cleaned
        self.agents = [0, 0, 0, 0, 0]

    def advance(self, bucket: int) -> None:
        """Slide the windows so that they end with bucket ``bucket`` (never backwards)."""
        if bucket <= self.sec:
            return
        keys, buckets, idx, sums = self.keys, self.buckets, self.idx, self.sums
        if keys and bucket - keys[-1] >= RING_B:  # everything falls out: start afresh
            keys.clear()
            buckets.clear()
            self.idx = [0, 0, 0]
            self.sums = [[0.0] * NM for _ in WINDOWS]
            self.sec = bucket
            self.moved = True
            return
        n = len(keys)
        for w in range(3):
            i = idx[w]
            start = bucket - _WB[w]
            if i < n and keys[i] <= start:
                s = sums[w]
                while i < n and keys[i] <= start:
                    s = list(map(sub, s, buckets[keys[i]]))  # both NM long
                    i += 1
                sums[w] = s
                idx[w] = i
                self.moved = True
        drop = idx[2]  # the longest window is the ring: what left it is gone
        if drop > 64 or (drop and drop == n):
            for k in keys[:drop]:
                del buckets[k]
            del keys[:drop]
            idx[0] -= drop
            idx[1] -= drop
            idx[2] = 0
        self.sec = bucket

    def add(self, t: float, items: tuple[tuple[int, float], ...], day: float, day_end: float) -> None:
        """Add each ``(counter, value)`` of ``items`` at event time ``t`` (the windows must be at the clock)."""
        sec = int(t // BUCKET_S)
        now = self.sec
        if sec > now - RING_B:
            b = self.buckets.get(sec)
            if b is None:
                b = self.buckets[sec] = [0.0] * NM
                keys = self.keys
                if not keys or sec > keys[-1]:
                    keys.append(sec)
                else:
                    keys.insert(bisect.bisect_left(keys, sec), sec)
                if sec <= now - _WB[0]:
                    # a late bucket before a window's start shifts that start right by one -- also when it is the
                    # newest bucket kept (appended), e.g. the first event for a while, more than 5 minutes late
                    idx = self.idx
                    for w in range(3):
                        if sec <= now - _WB[w]:
                            idx[w] += 1
            s0, s1, s2 = self.sums
            if sec > now - _WB[1]:
                if sec > now - _WB[0]:
                    for m, v in items:
                        b[m] += v
                        s0[m] += v
                        s1[m] += v
                        s2[m] += v
                else:
                    for m, v in items:
                        b[m] += v
                        s1[m] += v
                        s2[m] += v
            else:
                for m, v in items:
                    b[m] += v
                    s2[m] += v
        if day <= t < day_end:
            if self.day != day:
                self.today = [0.0] * NM
                self.day = day
            today = self.today
            for m, v in items:
                today[m] += v

    def window(self, w: int, day: float) -> list[float]:
        """Counters of window ``w`` (0: 5 min, 1: 15 min, 2: 30 min, 3: today, the local day starting at ``day``)."""
        if w < 3:
            return self.sums[w]
        return self.today if self.day == day else _ZERO

    def oldest_entry(self, legs: dict[tuple, Leg]) -> float | None:
        """Queue-entry time of the contact waiting longest (stale heap entries are dropped)."""
        heap = self.heap
        while heap:
            t, key = heap[0]
            leg = legs.get(key)
            if leg is not None and leg.waiting and leg.offered_t == t:
                return t
            heapq.heappop(heap)
        return None


class Leg:
    """What is known of one contact leg ``(contact_id, queue)``."""

    __slots__ = ("agent", "answered_t", "end_t", "offered_t", "outcome", "scopes", "short", "threshold", "waiting")

    def __init__(self, scopes: list[Scope], threshold: float, short: float) -> None:
        self.scopes = scopes
        self.offered_t: float | None = None
        self.answered_t: float | None = None
        self.end_t: float | None = None
        self.outcome: str | None = None
        self.agent: str | None = None
        self.waiting = False
        self.threshold, self.short = threshold, short


class Agent:
    """Live state of one agent."""

    __slots__ = ("center", "info", "queue", "queues", "reason", "scopes", "since", "state", "state_t", "timeline")

    def __init__(self, info: RosterAgent) -> None:
        self.info = info
        self.center = info.center
        self.state = "offline"
        self.reason: str | None = None
        self.queue: str | None = None  # queue of the current busy/acw state, when the source says
        self.state_t = -math.inf  # time of the newest state event applied
        self.since = -math.inf  # when the current (state, reason) began
        self.queues: list[str] = list(info.skills)
        self.scopes: list[Scope] = []
        self.timeline: list[tuple[float, str, str | None]] = []  # (t, state, reason), sorted by t


class TenantState:
    """Pure live state of one tenant; feed it with :meth:`apply`, read it with the measure methods."""

    def __init__(
        self,
        config: LiveConfig,
        roster: list[RosterAgent] | None = None,
        schedule: list[ScheduleRow] | None = None,
    ) -> None:
        self.config = config
        self.zone = zoneinfo.ZoneInfo(config.timezone)
        self.now = -math.inf
        self.day, self.day_end = 0.0, 0.0
        self.scopes: dict[tuple[str, str], Scope] = {}
        self.legs: dict[tuple, Leg] = {}
        self.agents: dict[str, Agent] = {}
        self.roster = {a.agent_id: a for a in roster or []}
        self.schedule: dict[str, list[ScheduleRow]] = {}
        for row in sorted(schedule or [], key=lambda r: (r.agent_id, r.start)):
            self.schedule.setdefault(row.agent_id, []).append(row)
        self.tenant_scope = self.scope("tenant", "*")
        self.diversions: dict[tuple[str, str], int] = {}  # today's diverted legs per (queue, reason) (issue 11)
        self.diversions_day = 0.0
        self._leg_scopes: dict[tuple, list[Scope]] = {}
        self._prune_at = -math.inf
        self._sec = -(10**12)
        for info in self.roster.values():
            self._agent(info.agent_id, None, None)

    # ------------------------------------------------------------------------------------------------ scopes
    def scope(self, kind: str, name: str) -> Scope:
        """The scope ``kind``/``name``, created empty on first use."""
        key = (kind, name)
        sc = self.scopes.get(key)
        if sc is None:
            sc = self.scopes[key] = Scope(kind, name)
            if self.now > -math.inf:
                sc.advance(int(self.now // BUCKET_S))
        return sc

    def _scopes_for(self, queue: str, center: str | None, channel: str | None) -> list[Scope]:
        key = (queue, center, channel)
        got = self._leg_scopes.get(key)
        if got is None:
            qc = self.config.queue(queue)
            center = center or qc.center
            channel = channel or qc.channel
            got = [self.scope("queue", queue), self.tenant_scope]
            if center:
                got.append(self.scope("center", center))
            if channel:
                got.append(self.scope("channel", channel))
            self._leg_scopes[key] = got
        return got

    # ------------------------------------------------------------------------------------------------ clock
    def advance(self, t: float) -> None:
        """Move the clock to ``t`` (never backwards) and slide every scope's windows."""
        if t <= self.now:
            return
        self.now = t
        sec = int(t // BUCKET_S)
        if sec == self._sec:
            return
        self._sec = sec
        if t >= self.day_end:
            local = datetime.fromtimestamp(t, self.zone)
            midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
            self.day = midnight.timestamp()
            self.day_end = datetime.combine(midnight.date() + timedelta(days=1), midnight.timetz()).timestamp()
            for sc in self.scopes.values():
                sc.moved = True  # today's counters start again
        for sc in self.scopes.values():
            if sc.sec < sec:
                sc.advance(sec)
        if t >= self._prune_at:
            self._prune(t)

    def _prune(self, t: float) -> None:
        """Forget finished legs older than the window retention (their counters are already in the buckets)."""
        cutoff = t - 2 * RING_B * BUCKET_S
        dead = [k for k, leg in self.legs.items() if leg.end_t is not None and leg.end_t < cutoff
                and leg.offered_t is not None]  # fmt: skip
        for k in dead:
            del self.legs[k]
        self._prune_at = t + RING_B * BUCKET_S

    # ------------------------------------------------------------------------------------------------ events
    def apply(self, ev: LiveEvent, t: float) -> list[Scope]:
        """Apply one validated event at epoch time ``t``; returns the scopes it changed."""
        if t > self.now:
            self.advance(t)
        if ev.type == "agent.state":
            return self._agent_state(ev, t)
        return self._contact(ev, t)

    def _contact(self, ev: LiveEvent, t: float) -> list[Scope]:
        typ = ev.type
        key = (ev.contact_id, ev.queue)
        leg = self.legs.get(key)
        if leg is None:
            queue = ev.queue
            assert queue is not None  # guaranteed by the event contract
            qc = self.config.queue(queue)
            channel = ev.channel
            leg = self.legs[key] = Leg(self._scopes_for(queue, ev.center, channel), qc.sl_threshold_s,
                                       qc.short_abandon_s)
        scopes = leg.scopes
        d0, d1 = self.day, self.day_end
        if typ == "contact.offered":
            if leg.offered_t is not None:
                return []
            leg.offered_t = t
            for sc in scopes:
                sc.add(t, _OFFERED1, d0, d1)
            if leg.answered_t is None and leg.end_t is None:
                leg.waiting = True
                for sc in scopes:
                    sc.waiting += 1
                    heapq.heappush(sc.heap, (t, key))
            elif leg.answered_t is not None:
                self._count_answer_wait(leg, leg.answered_t - t)
            elif leg.outcome == "abandoned":
                self._count_abandon_wait(leg, leg.end_t - t)  # type: ignore[operator]  # end_t set with outcome
            return scopes
        if typ == "contact.answered":
            if leg.answered_t is not None:
                return []
            leg.answered_t = t
            leg.agent = ev.agent_id
            # the answer and, when the offer is known, its wait: one add per scope
            items = _ANSWERED1
            if leg.offered_t is not None:
                items += self._answer_wait_items(leg, t - leg.offered_t)
            for sc in scopes:
                sc.add(t, items, d0, d1)
            if leg.waiting:
                leg.waiting = False
                for sc in scopes:
                    sc.waiting -= 1
            if leg.end_t is not None and leg.outcome in ("ended", "transferred"):
                self._count_handled(leg, leg.end_t, leg.end_t - t)
            return scopes
        # terminal: abandoned, ended, transferred
        if leg.end_t is not None:
            return []
        leg.end_t = t
        outcome = typ.split(".", 1)[1]
        if outcome == "abandoned" and leg.answered_t is not None:
            outcome = "ended"  # an answered contact that hangs up has ended, not abandoned
        leg.outcome = outcome
        if leg.waiting:
            leg.waiting = False
            for sc in scopes:
                sc.waiting -= 1
        if outcome == "abandoned":
            items = _ABANDONED1
            if leg.offered_t is not None:
                items += self._abandon_wait_items(leg, t - leg.offered_t)
        elif outcome == "diverted":
            items = _DIVERTED1 if leg.answered_t is None else ()  # answered first: it reached an agent after all
            if items and d0 <= t < d1:  # per queue and reason (the route) for today, beside the scope counters
                if self.diversions_day != d0:
                    self.diversions, self.diversions_day = {}, d0
                k = (ev.queue or "", ev.reason or "unspecified")
                self.diversions[k] = self.diversions.get(k, 0) + 1
        else:
            items = _TRANSFERRED1 if outcome == "transferred" else ()
            if leg.answered_t is not None:
                items += _handled_items(t - leg.answered_t)
        if items:
            for sc in scopes:
                sc.add(t, items, d0, d1)
        return scopes

    @staticmethod
    def _answer_wait_items(leg: Leg, wait: float) -> tuple[tuple[int, float], ...]:
        wait = max(wait, 0.0)
        if wait <= leg.threshold:
            return (WAIT_S, wait), (ANS_WAIT_S, wait), (ANSWERED_SL, 1.0)
        return (WAIT_S, wait), (ANS_WAIT_S, wait)

    @staticmethod
    def _abandon_wait_items(leg: Leg, wait: float) -> tuple[tuple[int, float], ...]:
        wait = max(wait, 0.0)
        return ((WAIT_S, wait), (ABANDONED_SHORT, 1.0)) if wait <= leg.short else ((WAIT_S, wait),)

    def _count_answer_wait(self, leg: Leg, wait: float) -> None:
        """The answer's wait, once the offer arrives after the answer (out of order), at the answer's time."""
        items = self._answer_wait_items(leg, wait)
        for sc in leg.scopes:
            sc.add(leg.answered_t, items, self.day, self.day_end)  # type: ignore[arg-type]

    def _count_abandon_wait(self, leg: Leg, wait: float) -> None:
        """The abandon's wait, once the offer arrives after the abandon (out of order), at the abandon's time."""
        items = self._abandon_wait_items(leg, wait)
        for sc in leg.scopes:
            sc.add(leg.end_t, items, self.day, self.day_end)  # type: ignore[arg-type]

    def _count_handled(self, leg: Leg, t: float, handle: float) -> None:
        items = _handled_items(handle)
        for sc in leg.scopes:
            sc.add(t, items, self.day, self.day_end)

    # ------------------------------------------------------------------------------------------------ agents
    def _agent(self, agent_id: str, center: str | None, queue: str | None) -> Agent:
        ag = self.agents.get(agent_id)
        if ag is None:
            info = self.roster.get(agent_id) or RosterAgent(agent_id, center=center)
            ag = self.agents[agent_id] = Agent(info)
            if ag.center is None:
                ag.center = center
            if not ag.queues and queue is not None:
                ag.queues = [queue]
            ag.scopes = self._agent_scopes(ag)
            for sc in ag.scopes:
                sc.agents[OFFLINE] += 1
        elif queue is not None and not ag.info.skills and queue not in ag.queues:
            # no roster skills: the agent serves the queues its events name
            ag.queues.append(queue)
            new = [sc for sc in self._agent_scopes(ag) if sc not in ag.scopes]
            i = STATE_INDEX[ag.state]
            for sc in new:
                sc.agents[i] += 1
            ag.scopes.extend(new)
        return ag

    def _agent_scopes(self, ag: Agent) -> list[Scope]:
        scopes = [self.tenant_scope]
        if ag.center:
            scopes.append(self.scope("center", ag.center))
        channels: list[str] = []
        for q in ag.queues:
            scopes.append(self.scope("queue", q))
            ch = self.config.queue(q).channel
            if ch and ch not in channels:
                channels.append(ch)
        scopes.extend(self.scope("channel", ch) for ch in channels)
        return scopes

    def _agent_state(self, ev: LiveEvent, t: float) -> list[Scope]:
        state: str = ev.state  # type: ignore[assignment]  # a plain string (use_enum_values), set for agent.state
        ag = self._agent(ev.agent_id, ev.center, ev.queue)  # type: ignore[arg-type]
        entry = (t, state, ev.reason)
        if t < ag.state_t:  # older than what we show: history only
            bisect.insort(ag.timeline, entry, key=lambda e: e[0])
            return []
        ag.timeline.append(entry)
        old = ag.state
        if state != old or ev.reason != ag.reason:
            ag.since = t
        if state != old:
            i, j = STATE_INDEX[old], STATE_INDEX[state]
            for sc in ag.scopes:
                sc.agents[i] -= 1
                sc.agents[j] += 1
        ag.state, ag.reason, ag.state_t = state, ev.reason, t
        ag.queue = ev.queue if state in ("busy", "acw") else None
        return ag.scopes

    # ----------------------------------------------------------------------------------------------- measures
    def longest_wait(self, sc: Scope, now: float | None = None) -> float:
        """Seconds the longest-waiting contact of ``sc`` has waited as of ``now`` (default: the clock)."""
        t = sc.oldest_entry(self.legs)
        if t is None:
            return 0.0
        return max((self.now if now is None else now) - t, 0.0)

    def service_level(self, c: list[float], queue_def: str | None = None) -> float | None:
        """Live service level of counters ``c`` under the tenant's definition; None when nothing to measure."""
        d = queue_def or self.config.sl_definition
        if d == "answered":
            den = c[ANSWERED]
        elif d == "short-abandons-excluded":
            den = c[ANSWERED] + c[ABANDONED] - c[ABANDONED_SHORT]
        else:
            den = c[ANSWERED] + c[ABANDONED]
        return c[ANSWERED_SL] / den if den > 0 else None

    def time_in_state(self, agent_id: str, now: float | None = None) -> float:
        """Seconds agent ``agent_id`` has been in its current state as of ``now``."""
        ag = self.agents[agent_id]
        if ag.since == -math.inf:
            return 0.0
        return max((self.now if now is None else now) - ag.since, 0.0)

    def adherence(self, agent_id: str, now: float | None = None) -> dict[str, Any]:
        """Adherence of an agent to today's schedule up to ``now``: share of scheduled seconds in a conforming
        state (work -> ready/busy/acw; break, lunch, training, meeting, off -> anything else)."""
        now = self.now if now is None else now
        rows = [r for r in self.schedule.get(agent_id, []) if r.end > self.day and r.start < now]
        ag = self.agents.get(agent_id)
        timeline = ag.timeline if ag is not None else []
        scheduled = conform = 0.0
        current = None
        for r in rows:
            lo, hi = max(r.start, self.day), min(r.end, now)
            if r.start <= now < r.end:
                current = r.activity
            if hi <= lo:
                continue
            scheduled += hi - lo
            want_work = r.activity == "work"
            # walk the timeline segments overlapping [lo, hi)
            i = max(bisect.bisect_right(timeline, lo, key=lambda e: e[0]) - 1, 0)
            while i < len(timeline) and timeline[i][0] < hi:
                s0 = max(timeline[i][0], lo)
                s1 = min(timeline[i + 1][0] if i + 1 < len(timeline) else now, hi)
                if s1 > s0 and ((timeline[i][1] in WORKING) == want_work):
                    conform += s1 - s0
                i += 1
            if not timeline or timeline[0][0] > lo:  # before the first event the agent is offline
                first = timeline[0][0] if timeline else hi
                if not want_work:
                    conform += max(min(first, hi) - lo, 0.0)
        in_adherence = None
        if current is not None and ag is not None:
            in_adherence = (ag.state in WORKING) == (current == "work")
        return {
            "scheduled_s": scheduled,
            "conforming_s": conform,
            "adherence": conform / scheduled if scheduled > 0 else None,
            "scheduled_now": current,
            "in_adherence_now": in_adherence,
        }

    # ----------------------------------------------------------------------------------------------- snapshot
    def scope_measures(self, sc: Scope, now: float | None = None) -> dict[str, Any]:
        """Every live measure of one scope as a flat dict (None where a ratio has no denominator)."""
        out: dict[str, Any] = {"waiting": sc.waiting, "longest_wait_s": round(self.longest_wait(sc, now), 6)}
        for w, name in enumerate(WINDOW_NAMES):
            c = sc.window(w, self.day)
            for m, cname in enumerate(COUNTERS):
                out[f"{cname}_{name}"] = round(c[m], 6)
            done = c[ANSWERED] + c[ABANDONED]
            sl = self.service_level(c)
            out[f"service_level_{name}"] = None if sl is None else round(sl, 9)
            out[f"answer_rate_{name}"] = round(c[ANSWERED] / done, 9) if done else None
            out[f"abandon_rate_{name}"] = round(c[ABANDONED] / done, 9) if done else None
            out[f"aht_{name}"] = round(c[HANDLE_S] / c[HANDLED], 6) if c[HANDLED] else None
            out[f"asa_{name}"] = round(c[ANS_WAIT_S] / c[ANSWERED], 6) if c[ANSWERED] else None
        for i, s in enumerate(STATES):
            out[f"agents_{s}"] = sc.agents[i]
        working = sc.agents[READY] + sc.agents[BUSY] + sc.agents[ACW]
        out["agents_working"] = working
        out["agents_logged_in"] = working + sc.agents[AUX]
        out["occupancy"] = round((sc.agents[BUSY] + sc.agents[ACW]) / working, 9) if working else None
        return out

    def diversions_today(self) -> dict[str, dict[str, int]]:
        """Today's diverted legs per queue and reason (the decision's route), sorted; empty on a new day."""
        if self.diversions_day != self.day:
            return {}
        out: dict[str, dict[str, int]] = {}
        for (queue, reason), n in sorted(self.diversions.items()):
            out.setdefault(queue, {})[reason] = n
        return out

    def snapshot(self, now: float | None = None, adherence: bool = True) -> dict[str, Any]:
        """The whole state as plain, sorted data (for wallboards, the API and equality checks)."""
        now = self.now if now is None else now
        scopes = {f"{k}:{n}": self.scope_measures(sc, now) for (k, n), sc in sorted(self.scopes.items())}
        agents = {}
        for aid in sorted(self.agents):
            ag = self.agents[aid]
            row: dict[str, Any] = {
                "state": ag.state,
                "reason": ag.reason,
                "queue": ag.queue,
                "center": ag.center,
                "time_in_state_s": round(self.time_in_state(aid, now), 6),
            }
            if adherence and aid in self.schedule:
                row["adherence"] = self.adherence(aid, now)
            agents[aid] = row
        return {"now": now, "scopes": scopes, "agents": agents,
                "waiting_legs": sorted(f"{k[0]}@{k[1]}" for k, leg in self.legs.items() if leg.waiting)}
