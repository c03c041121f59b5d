"""The live engine of one tenant: intake (validate, de-duplicate), state, alert evaluation, plans, bus.

Evaluation is event-driven and deterministic: after each event the rules whose measure that kind of event can
change are evaluated on the scopes it touched, at the event's time; measures that move with time alone (longest
wait, sliding windows, time in state) are re-evaluated on every scope at each ``tick_s`` boundary of event time
that the clock passes (before the event that passes it is applied). Agent-scope rules on time in a state use
timers (due when the next threshold will be crossed) instead of scanning every agent. The same events in the
same order therefore give the same alerts, whatever the transport or batching (file, stdin, NATS, HTTP).

Out-of-order events are applied at their own time (the state is order-insensitive, see
:mod:`callops.realtime.state`); events more than ``tolerance_s`` behind the clock are still applied but
counted as late. Alert ``latency_s`` is the wall time from the arrival of the event that triggered the
evaluation to the alert.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

from callops.realtime.alerts import AlertBook, AlertEvent, AlertRule, CompiledRule, load_rules
from callops.realtime.bus import Bus
from callops.realtime.events import (
    Deduper,
    EventError,
    IntakeStats,
    LiveEvent,
    Rejection,
    parse_event,
)
from callops.realtime.state import SCOPE_KINDS, LiveConfig, RosterAgent, ScheduleRow, Scope, TenantState

# Queue and center scopes one tenant may have without listing its queues in live.yaml (issue 21).
MAX_SCOPES = 1000

AlertListener = Callable[[AlertEvent], None]


class LiveEngine:
    """State + alerts (+ optional plans) for one tenant."""

    adherence: Any = None  # a people.adherence.AdherenceWatch once attached (issue 19); class default for old pickles

    def __init__(
        self,
        config: LiveConfig,
        rules: list[AlertRule] | None = None,
        roster: list[RosterAgent] | None = None,
        schedule: list[ScheduleRow] | None = None,
        bus: Bus | None = None,
        dedupe_horizon_s: float = 3600.0,
    ) -> None:
        self.config = config
        self.state = TenantState(config, roster, schedule)
        self.book = AlertBook(load_rules() if rules is None else rules)
        self.bus = bus or Bus()
        self.stats = IntakeStats()
        self.dedupe = Deduper(dedupe_horizon_s)
        self.events: list[AlertEvent] = []
        self.listeners: list[AlertListener] = []
        self.latencies: list[float] = []
        self.processed = 0
        self.next_tick = -math.inf
        self._arrived = 0.0
        self.timers: list[tuple[float, int, str, int, float]] = []  # (due, seq, agent, rule index, since)
        self._seq = 0
        self._index_rules()
        # Bounded scopes (issue 21): with queues in the live configuration, other queues are refused; without,
        # at most max_scopes queue and center tiles are created (invented names cannot flood the wallboard).
        self.known_queues = frozenset(config.queues)
        self.max_scopes = MAX_SCOPES

    def _index_rules(self) -> None:
        """File the book's rules by (scope kind, what changes their measure)."""
        self.on_contact: dict[str, list[CompiledRule]] = {k: [] for k in SCOPE_KINDS}
        self.on_agent: dict[str, list[CompiledRule]] = {k: [] for k in SCOPE_KINDS}
        self.on_wait: dict[str, list[CompiledRule]] = {k: [] for k in SCOPE_KINDS}  # longest wait: while waiting
        self.on_window: dict[str, list[CompiledRule]] = {k: [] for k in SCOPE_KINDS}  # when buckets leave
        self.agent_rules: list[CompiledRule] = []
        for cr in self.book.rules:
            kind = cr.rule.scope
            if kind == "agent":
                self.agent_rules.append(cr)
                continue
            if "contact" in cr.deps:
                self.on_contact[kind].append(cr)
            if "agent" in cr.deps:
                self.on_agent[kind].append(cr)
            if "wait" in cr.deps:
                self.on_wait[kind].append(cr)
            elif "time" in cr.deps:
                self.on_window[kind].append(cr)

    def set_rules(self, rules: list[AlertRule]) -> None:
        """Run ``rules`` from now on, without a restart (:meth:`AlertBook.replace_rules` says what is kept).

        Every scope and agent is evaluated at once under the new rules, so a lowered threshold raises now rather
        than at the next event; agent timers are re-armed for the new thresholds."""
        now = self.state.now
        for ev in self.book.replace_rules(rules, now):
            self._emit(ev)
        self._index_rules()
        self.timers = []
        if now == -math.inf:
            return
        for sc in self.state.scopes.values():
            rules_of = [cr for cr in self.book.rules if cr.rule.scope == sc.kind]
            if rules_of:
                self._evaluate(rules_of, sc, now)
        for agent_id, ag in self.state.agents.items():
            if self.agent_rules and ag.since > -math.inf:
                self._agent_rules(agent_id, now)

    # ------------------------------------------------------------------------------------------------ intake
    def submit(self, raw: str | bytes | dict[str, Any], where: str = "") -> bool:
        """Validate and process one raw event; a bad one is rejected (counted, with its reason). True if used."""
        arrived = time.perf_counter()
        try:
            ev = parse_event(raw)
        except EventError as exc:
            text = raw if isinstance(raw, str) else (raw.decode(errors="replace") if isinstance(raw, bytes)
                                                     else repr(raw))  # fmt: skip
            self.stats.reject(Rejection(where, exc.reason, text[:200]))
            return False
        return self.process(ev, where, arrived)

    def submit_many(self, items: Iterable[tuple[str, str | bytes | dict[str, Any]]]) -> int:
        """Submit ``(where, raw)`` pairs; returns how many were used."""
        used = 0
        for where, raw in items:
            used += self.submit(raw, where)
        return used

    def process(self, ev: LiveEvent, where: str = "", arrived: float | None = None) -> bool:
        """Process one validated event (tenant check, duplicates, ticks, state, rules). True if used."""
        self._arrived = time.perf_counter() if arrived is None else arrived
        if ev.tenant != self.config.tenant:
            self.stats.reject(Rejection(where, f"event for tenant {ev.tenant!r} sent to {self.config.tenant!r}"))
            return False
        refusal = self._scope_refusal(ev)
        if refusal is not None:
            self.stats.reject(Rejection(where, refusal))
            return False
        t = ev.ts.timestamp()
        st = self.state
        if self.dedupe.is_duplicate((ev.type, ev.contact_id, t, ev.agent_id), t, st.now if st.now > t else t):
            self.stats.duplicates += 1
            return False
        stats = self.stats
        stats.accepted += 1
        if t < st.now - self.config.tolerance_s:
            stats.late += 1
        if t >= self.next_tick:
            self._tick_to(t)
        touched = st.apply(ev, t)
        self.processed += 1
        if touched:
            now = st.now
            if ev.type == "agent.state":
                table = self.on_agent
                if self.agent_rules:
                    self._agent_rules(ev.agent_id, now)  # type: ignore[arg-type]
                if self.adherence is not None:
                    self.adherence.on_state(ev.agent_id, now)
            else:
                table = self.on_contact
            for sc in touched:
                rules = table[sc.kind]
                if rules:
                    self._evaluate(rules, sc, now)
        return True

    def _scope_refusal(self, ev: LiveEvent) -> str | None:
        """Why ``ev`` may not create the queue/center scopes it names, or None."""
        if ev.queue is not None and self.known_queues and ev.queue not in self.known_queues:
            return f"queue: unknown queue {ev.queue!r} (not in the live configuration)"
        scopes = self.state.scopes
        new = sum(1 for kind, name in (("queue", ev.queue), ("center", ev.center))
                  if name is not None and (kind, name) not in scopes)  # fmt: skip
        if new and len(scopes) + new > self.max_scopes:
            return f"queue: too many live scopes (at most {self.max_scopes}); configure the queues in live.yaml"
        return None

    # ------------------------------------------------------------------------------------------------ rules
    def _evaluate(self, rules: list[CompiledRule] | tuple[CompiledRule, ...], sc: Scope, now: float) -> None:
        st = self.state
        book = self.book
        hot = book.hot
        name = sc.name
        for cr in rules:
            if cr.only is not None and name not in cr.only:
                continue
            v = cr.get(st, sc, now)
            if v is None or (cr.sign * v < cr.lowest and (cr.name, name) not in hot):
                continue  # fast path: below every threshold and nothing raised
            if cr.guard is not None:
                g = cr.guard(st, sc, now)
                if g is None or g < cr.guard_min:
                    continue
            ev = book.evaluate(cr, name, v, now)
            if ev is not None:
                self._emit(ev)

    def _agent_rules(self, agent_id: str, now: float) -> None:
        ag = self.state.agents[agent_id]
        book = self.book
        for i, cr in enumerate(self.agent_rules):
            if cr.only is not None and agent_id not in cr.only:
                continue
            if cr.state is not None and ag.state != cr.state and (cr.name, agent_id) not in book.hot:
                continue  # not in the rule's state and nothing raised: nothing to do
            ev = book.evaluate(cr, agent_id, cr.get(self.state, ag, now), now)
            if ev is not None:
                self._emit(ev)
            self._arm(agent_id, i, cr, ag)

    def _arm(self, agent_id: str, i: int, cr: CompiledRule, ag: Any) -> None:
        """Schedule a timer for when ``cr``'s time-in-state value will reach its next threshold."""
        if cr.sign < 0 or ag.since == -math.inf or (cr.state is not None and ag.state != cr.state):
            return
        rk = self.book.keys.get((cr.name, agent_id))
        level = rk.level if rk is not None else 0
        for lv in range(level + 1, 5):
            thr = cr.thr[lv]
            if thr is not None:
                self._seq += 1
                heapq.heappush(self.timers, (ag.since + thr, self._seq, agent_id, i, ag.since))
                return

    def _tick_to(self, t: float) -> None:
        """Evaluate time-driven rules at the last tick boundary not after ``t`` (and due agent timers)."""
        tick = self.config.tick_s
        b = math.floor(t / tick) * tick
        st = self.state
        if st.now > -math.inf and b > st.now:
            st.advance(b)
            hot = self.book.hot
            for sc in st.scopes.values():
                # a time-driven value can only have moved where contacts wait or counts left a window; a
                # raised level is re-checked anyway (a cool-down may have held it)
                kind = sc.kind
                for cr in self.on_wait[kind]:
                    if sc.waiting or (cr.name, sc.name) in hot:
                        self._evaluate((cr,), sc, b)
                rules = self.on_window[kind]
                if rules:
                    if sc.moved:
                        self._evaluate(rules, sc, b)
                    else:
                        for cr in rules:
                            if (cr.name, sc.name) in hot:
                                self._evaluate((cr,), sc, b)
                sc.moved = False
            timers = self.timers
            while timers and timers[0][0] <= b:
                _, _, agent_id, i, since = heapq.heappop(timers)
                ag = st.agents[agent_id]
                if ag.since != since:
                    continue  # the agent changed state since the timer was armed
                cr = self.agent_rules[i]
                ev = self.book.evaluate(cr, agent_id, cr.get(st, ag, b), b)
                if ev is not None:
                    self._emit(ev)
                self._arm(agent_id, i, cr, ag)
            if self.adherence is not None:
                self.adherence.tick(b)
        self.next_tick = b + tick

    def advance(self, t: float) -> None:
        """Move the clock to ``t`` without an event (a live engine calls this from a wall-clock timer)."""
        self._arrived = time.perf_counter()
        if t >= self.next_tick:
            self._tick_to(t)
        self.state.advance(t)

    def _emit(self, ev: AlertEvent) -> None:
        ev.latency_s = time.perf_counter() - self._arrived
        self.latencies.append(ev.latency_s)
        self.events.append(ev)
        for fn in self.listeners:
            fn(ev)
        self.bus.publish("alerts", ev.as_dict())

    # ----------------------------------------------------------------------------------------- people, views
    def acknowledge(self, alert_id: str, by: str) -> AlertEvent:
        """A person acknowledges an alert (at the engine's clock)."""
        ev = self.book.acknowledge(alert_id, by, self.state.now)
        self.events.append(ev)
        self.bus.publish("alerts", ev.as_dict())
        return ev

    def resolve(self, alert_id: str, by: str, note: str | None = None) -> AlertEvent:
        """A person resolves an alert (at the engine's clock)."""
        ev = self.book.resolve(alert_id, by, self.state.now, note)
        self.events.append(ev)
        self.bus.publish("alerts", ev.as_dict())
        return ev

    def results(self) -> dict[str, Any]:
        """Deterministic outcome of the run so far: alert events, commands and the state snapshot."""
        return {
            "alerts": [e.as_dict() for e in self.events],
            "commands": list(self.bus.commands),
            "state": self.state.snapshot(),
            "intake": {k: v for k, v in self.stats.as_dict().items() if k != "samples"},
        }


def build_engine(
    config: LiveConfig,
    rules: list[AlertRule] | None = None,
    plans: list[Any] | None = None,
    roster: list[RosterAgent] | None = None,
    schedule: list[ScheduleRow] | None = None,
) -> tuple[LiveEngine, Any]:
    """An engine with the plan engine listening to its alerts (``plans`` None: the six-step playbook)."""
    from callops.realtime.plans import PlanEngine, load_plans

    eng = LiveEngine(config, rules, roster, schedule)
    pe = PlanEngine(eng.state, load_plans() if plans is None else plans, eng.bus)
    eng.listeners.append(pe.on_alert)
    return eng, pe
