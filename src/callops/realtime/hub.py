"""The live engine of each tenant inside a running service (API, console, ``callops live serve``).

A :class:`LiveHub` wraps one tenant's :class:`~callops.realtime.engine.LiveEngine` and
:class:`~callops.realtime.plans.PlanEngine` behind a lock (HTTP handlers run in a thread pool, the console in
the event loop), turns batches into per-item accept/reject answers, and fans every change out to listeners
(the console's push, the notifier). :func:`hub_for` keeps one hub per tenant per process; a tenant's live
settings come from ``$CALLOPS_HOME/live/<tenant>/`` (``live.yaml``, ``agents.csv``, ``schedules.csv``) when
they exist, else the defaults.

Listeners are called synchronously under the lock, in order, with ``(topic, message)``; topics are
``state`` (after each batch: ``{"version", "now"}``), ``alerts``, ``plans`` and ``commands``. They must not
block: hand the message to a queue or set a flag.

Durability (``log=True``, the default of :func:`hub_for`): every accepted event, and every person's action
(acknowledge, resolve, approve, reject), is appended to the tenant's event log
(:mod:`callops.realtime.eventlog`, ``events-YYYYMMDD.jsonl`` in the live folder) and fsync-ed before
:meth:`LiveHub.submit` answers; a hub built on an existing log first replays it, so a restarted service is back in
the state it had (alerts, plans, commands, agents, windows). Only intake counters of rejected and duplicate
events start again from zero.

Start-up does not grow with history: every ``snapshot_every`` logged lines, and when it closes, the hub writes a
snapshot (``snapshot.pkl``: the engine and plan engine, pickled with cloudpickle because alert measures are
lambdas, plus the log position it is exact at); a restart loads it and replays only the log written after it.
A snapshot is only a short cut: if it cannot be read, was made for other settings (live.yaml, roster, schedule,
rules, plans: a fingerprint says) or points past the end of the log (the log was replaced), the hub replays
the whole log as before.

One writer per tenant: a durable hub holds the tenant's :class:`~callops.realtime.eventlog.WriterLock`, so a
second process (a second ``live serve``) is refused with a message naming the first, and takes over once the
first is gone.

Custom rules (issue 16): :meth:`LiveHub.use_rules_from` gives the hub a source of the tenant's saved live alert
rules (:mod:`callops.rules.live` reads the store); the hub polls it at most every ``poll_s`` seconds as batches
arrive and, when the rules changed, swaps them into the running engine (:meth:`LiveEngine.set_rules`) and logs the
change as an action, so a rebuild switches rules at the same point of the log. The rules' recipients become
notification routes beside those of ``notify.yaml``.

Notifications (:meth:`LiveHub.attach_notifier`): alert changes are written to the store's outbox by the
:mod:`callops.realtime.notify` routes of the tenant's ``notify.yaml``, in the engine's thread, before the batch
that caused them is logged; a separate sender delivers them.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callops.errors import CallopsError
from callops.realtime.alerts import LEVELS, Alert, AlertRule, parse_rules
from callops.realtime.config import load_config, load_roster, load_schedule
from callops.realtime.engine import build_engine
from callops.realtime.eventlog import LoggedIntake, RebuildInfo, WriterLock, log_dir, log_end, log_files, rebuild
from callops.realtime.events import EventPacer, iter_lines
from callops.realtime.plans import PlanConfig
from callops.realtime.state import LiveConfig, RosterAgent, ScheduleRow
from callops.settings import callops_home
from callops.wfm.intraday import LiveReforecast, queue_reforecasts

if TYPE_CHECKING:
    from callops.realtime.alerts import AlertEvent
    from callops.realtime.notify import Notifier, Route
    from callops.store.db import Store

log = logging.getLogger(__name__)

Listener = Callable[[str, dict[str, Any]], None]
# () -> (token, yaml of the whole live rule set, notification routes of its recipients, store) or None
RulesSource = Callable[[], "tuple[str, str, list[Route], Store | None] | None"]
# (the version the hub runs) -> the tenant's later schedule changes, oldest first: each a dict with ``version``,
# ``agents``, ``start``, ``end`` (epoch seconds) and ``rows`` ([agent_id, activity, start, end, queue] lists)
ScheduleSource = Callable[[int], "list[dict[str, Any]]"]
SNAPSHOT_FILE = "snapshot.pkl"
SNAPSHOT_FORMAT = 3  # 2: the diverted counter (issue 16); 3: diversions per reason (issue 11); older: log replayed
PERSON_OPS = ("acknowledge", "resolve", "approve", "reject")  # the actions a follower forwards to the owner
MAX_REFS = 10_000  # forwarded actions remembered (a redelivered batch is at most one batch old)
SNAPSHOT_EVERY = 200_000  # logged lines between snapshots: a restart replays at most about this many
# the measures a wallboard tile shows, in order
TILE_MEASURES = ("waiting", "longest_wait_s", "service_level_30m", "answer_rate_30m", "offered_30m",
                 "answered_30m", "abandoned_30m", "diverted_30m", "diverted_today", "agents_ready", "agents_busy",
                 "agents_acw", "agents_aux", "agents_working", "occupancy")  # fmt: skip


def live_dir(tenant: str, home: Path | None = None) -> Path:
    """The folder of a tenant's live settings and logs: ``$CALLOPS_HOME/live/<tenant>`` (the event log's folder)."""
    return log_dir(tenant, home)


def alert_dict(alert: Alert) -> dict[str, Any]:
    """JSON-ready view of an alert with its level history."""
    return {
        "alert_id": alert.alert_id, "rule": alert.rule, "scope": alert.scope, "key": alert.key,
        "level": LEVELS[alert.level - 1] if alert.level else None,
        "max_level": LEVELS[alert.max_level - 1] if alert.max_level else None,
        "status": alert.status, "opened_at": alert.opened_at, "closed_at": alert.closed_at,
        "acknowledged_by": alert.acknowledged_by, "acknowledged_at": alert.acknowledged_at,
        "resolved_by": alert.resolved_by, "resolved_at": alert.resolved_at,
        "history": [e.as_dict() for e in alert.history],
    }  # fmt: skip


class LiveHub:
    """One tenant's live engine, safe to share between threads."""

    follower = False  # a read replica of another process's hub (:class:`~callops.realtime.follower.FollowerHub`)

    def __init__(
        self,
        config: LiveConfig,
        rules: list[AlertRule] | None = None,
        plans: list[PlanConfig] | None = None,
        roster: list[RosterAgent] | None = None,
        schedule: list[ScheduleRow] | None = None,
        *,
        log: bool = False,
        home: Path | None = None,
        fsync: bool = True,
        snapshot_every: int = SNAPSHOT_EVERY,
    ) -> None:
        """``log=True``: rebuild from the tenant's snapshot and event log under ``home`` (default
        ``$CALLOPS_HOME``), then log every accepted event and action to it (``fsync`` per batch); a snapshot
        is written every ``snapshot_every`` logged lines (0: only when closed)."""
        self.tenant = config.tenant
        self.home = home
        self.engine, self.planner = build_engine(config, rules, plans, roster, schedule)
        self.fingerprint = hashlib.sha256(repr((config, rules, plans, roster, schedule)).encode()).hexdigest()
        self.snapshot_every = snapshot_every
        self.snapshot_info: dict[str, Any] | None = None  # what the start-up loaded (None: no snapshot used)
        self._snap_at = 0
        self._writer: WriterLock | None = None
        self.lock = threading.RLock()
        self.version = 0
        self.listeners: list[Listener] = []
        self._replay: threading.Thread | None = None
        self._stop = threading.Event()
        self.log: LoggedIntake | None = None
        self.rebuilt: RebuildInfo | None = None
        self.notifier: Notifier | None = None
        self._unqueued: list[AlertEvent] = []  # alert changes the outbox could not take yet (store down)
        self.rules_fingerprint: str | None = None  # which saved rule set runs (None: the ones the hub was built with)
        self.rules_source: RulesSource | None = None
        self.rules_poll_s = 5.0
        self._rules_polled = -float("inf")
        self._file_routes: list[Route] = []  # notify.yaml's routes; the rules' recipients are added to them
        self.schedule_source: ScheduleSource | None = None  # the tenant's schedule changes (issue 19), polled
        self.schedule_poll_s = 5.0
        self._schedule_polled = -float("inf")
        if log:
            self._open_log(fsync)
        self.engine.bus.subscribe("*", self._fan_out)
        # the playbook sizes on the rest-of-day re-forecast where today has a forecast (issue 18, wfm.intraday)
        self.planner.planner.reforecast = LiveReforecast(self.tenant, config.timezone)

    def _open_log(self, fsync: bool) -> None:
        """Take the tenant's log (its writer lock), rebuild from the snapshot and the log, and log from now on."""
        self._writer = WriterLock(self.tenant, self.home)
        try:
            start = self._load_snapshot()
            self._engine_hooks()
            self.log, self.rebuilt = rebuild(self.tenant, self.engine, self.home, on_action=self._apply, fsync=fsync,
                                             start=start)  # fmt: skip
        except BaseException:
            self._writer.release()
            raise
        self.version = 1 if self.rebuilt.events or start else 0

    def _engine_hooks(self) -> None:
        """Run the :func:`on_new_engine` hooks: before a replay, so logged actions on their alerts find them."""
        for fn in list(_ON_NEW_ENGINE):
            fn(self.engine, self.tenant)

    # ------------------------------------------------------------------------------------------------ listeners
    def _fan_out(self, topic: str, message: dict[str, Any]) -> None:
        for fn in list(self.listeners):
            fn(topic, message)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(topic, message)`` on every change; returns the function that unsubscribes."""
        with self.lock:
            self.listeners.append(listener)

        def unsubscribe() -> None:
            with self.lock:
                if listener in self.listeners:
                    self.listeners.remove(listener)

        return unsubscribe

    # ---------------------------------------------------------------------------------------------------- intake
    def submit(self, items: Sequence[Any], where: str = "batch") -> dict[str, Any]:
        """Process a batch of raw events; answer how many were accepted and why each rejected one was.

        With a log, the accepted events are durable (fsync-ed) when this returns."""
        return self._ingest([(f"{where}[{i}]", raw) for i, raw in enumerate(items)])

    def submit_batch(self, pairs: Iterable[tuple[str, Any]]) -> int:
        """Process ``(where, raw)`` pairs as one batch (durable on return); how many were accepted (NATS sink)."""
        return int(self._ingest(list(pairs))["accepted"])

    def _ingest(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        eng = self.engine
        rejections: list[dict[str, Any]] = []
        with self.lock:
            if self.rules_source is not None and time.monotonic() - self._rules_polled >= self.rules_poll_s:
                self.poll_rules()
                eng = self.engine
            if self.schedule_source is not None and time.monotonic() - self._schedule_polled >= self.schedule_poll_s:
                self.poll_schedule()
            take = self.log.submit if self.log is not None else eng.submit
            dup0, late0 = eng.stats.duplicates, eng.stats.late
            accepted = 0
            try:
                for i, (where, raw) in enumerate(pairs):
                    n_samples, rejected0 = len(eng.stats.samples), eng.stats.rejected
                    if take(raw, where):
                        accepted += 1
                    elif eng.stats.rejected > rejected0:
                        reason = (eng.stats.samples[-1].reason if len(eng.stats.samples) > n_samples
                                  else "rejected (reason not kept: too many rejections)")  # fmt: skip
                        rejections.append({"index": i, "reason": reason})
            finally:
                if self.log is not None:
                    self.log.commit()  # what the engine took is logged before anyone hears "accepted"
            if self.log is not None and self.snapshot_every and self.log.logged - self._snap_at >= self.snapshot_every:
                self.save_snapshot()
            self._retry_unqueued()
            self.version += 1
            answer = {"received": len(pairs), "accepted": accepted, "rejected": len(rejections),
                      "duplicates": eng.stats.duplicates - dup0, "late": eng.stats.late - late0,
                      "rejections": rejections[:100]}  # fmt: skip
            self._fan_out("state", {"version": self.version, "now": eng.state.now})
        return answer

    # ------------------------------------------------------------------------------------------------- actions
    def _apply(self, action: dict[str, Any]) -> None:
        """Carry out a person's action (live, or replayed from the log)."""
        op = action["op"]
        if op == "acknowledge":
            self.engine.acknowledge(action["alert_id"], action["by"])
        elif op == "resolve":
            self.engine.resolve(action["alert_id"], action["by"], action.get("note"))
        elif op == "approve":
            self.planner.approve(action["activation_id"], action["step"], action["by"])
        elif op == "reject":
            self.planner.reject(action["activation_id"], action["step"], action["by"])
        elif op == "rules":
            self.engine.set_rules(parse_rules(action["yaml"], "saved live rules"))
            self.rules_fingerprint = action["token"]
        elif op == "schedule":
            self._replace_schedule(action)
        elif op != "refused":  # a forwarded action the owner refused: nothing changes, its ref and reason are kept
            raise CallopsError(f"unknown action {op!r}")
        if isinstance(action.get("ref"), str):  # forwarded by a follower: remembered so a repeat is not applied
            refs = forwarded_refs(self.engine)
            refs[action["ref"]] = str(action.get("error") or "refused") if op == "refused" else None
            while len(refs) > MAX_REFS:
                del refs[next(iter(refs))]

    def apply_forwarded(self, action: dict[str, Any]) -> bool:
        """A person's action another process sent through the tenant's stream (a :class:`~callops.realtime.follower.
        FollowerHub`: the home's ``callops serve`` showing a tenant a cluster member runs): applied and logged as if
        made here, once per ``ref`` (a batch delivered again after a takeover repeats none). False: applied before.
        A refused action (an alert resolved meanwhile) raises :class:`CallopsError`, nothing logged."""
        if action.get("op") not in PERSON_OPS or not isinstance(action.get("ref"), str):
            raise CallopsError(f"not a forwarded person's action: {str(action)[:200]}")
        if action.get("tenant") != self.tenant:
            raise CallopsError(f"action for tenant {action.get('tenant')!r} sent to {self.tenant!r}'s live room")
        with self.lock:
            if action["ref"] in forwarded_refs(self.engine):
                return False
            self._act(action)
            self._fan_out("state", {"version": self.version, "now": self.engine.state.now})
            return True

    def refuse_forwarded(self, action: dict[str, Any], error: str) -> bool:
        """Log that a forwarded action was refused (``error``: the engine's message, e.g. an alert resolved
        meanwhile), so the follower that sent it answers with that message instead of waiting; once per ``ref``."""
        if action.get("op") not in PERSON_OPS or not isinstance(action.get("ref"), str):
            raise CallopsError(f"not a forwarded person's action: {str(action)[:200]}")
        if action.get("tenant") != self.tenant:  # nothing of another tenant's goes into this tenant's log
            raise CallopsError(f"action for tenant {action.get('tenant')!r} sent to {self.tenant!r}'s live room")
        with self.lock:
            if action["ref"] in forwarded_refs(self.engine):
                return False
            self._act({"op": "refused", "ref": action["ref"], "of": action["op"], "error": error[:300]})
            return True

    def _act(self, action: dict[str, Any]) -> None:
        """Apply an action and, when it worked, log it (durably) so a rebuild repeats it."""
        self._apply(action)
        if self.log is not None:
            self.log.record(action)
        self.version += 1

    # ------------------------------------------------------------------------------------------ schedule changes
    @property
    def schedule_version(self) -> int:
        """The last of the tenant's schedule versions this hub runs (0: the schedule it was built with)."""
        return int(getattr(self.engine, "schedule_version", 0))  # on the engine: snapshots keep it

    def _replace_schedule(self, action: dict[str, Any]) -> None:
        st = self.engine.state
        lo, hi = float(action["start"]), float(action["end"])
        agents = list(action["agents"])
        new: dict[str, list[ScheduleRow]] = {a: [] for a in agents}
        for agent_id, activity, start, end, queue in action["rows"]:
            new.setdefault(agent_id, []).append(ScheduleRow(agent_id, activity, float(start), float(end), queue))
        watch = getattr(self.engine, "adherence", None)  # the people package's adherence watch, when attached
        for a, rows in new.items():
            kept = [r for r in st.schedule.get(a, []) if not (r.start < hi and lo < r.end)]
            st.schedule[a] = sorted(kept + rows, key=lambda r: r.start)
            if watch is not None and hasattr(watch, "reschedule"):
                watch.reschedule(a)  # judged against the new expectations at once
        self.engine.schedule_version = max(self.schedule_version, int(action["version"]))

    def change_schedule(self, version: int, agents: list[str], start: float, end: float,
                        rows: list[ScheduleRow], by: str = "schedule") -> bool:  # fmt: skip
        """Run schedule version ``version``: the rows of ``agents`` meeting ``[start, end)`` give way to ``rows``;
        logged as an action (a rebuild repeats it). False when the hub already runs that version or a later one."""
        with self.lock:
            if version <= self.schedule_version:
                return False
            self._act({"op": "schedule", "version": version, "agents": agents, "start": start, "end": end,
                       "rows": [[r.agent_id, r.activity, r.start, r.end, r.queue] for r in rows], "by": by})
            return True

    def use_schedule_from(self, source: ScheduleSource, poll_s: float = 5.0) -> int:
        """Follow the tenant's schedule changes from ``source`` now and, at most every ``poll_s`` seconds, as
        batches arrive (a change approved in another process reaches this hub); how many it applied now."""
        with self.lock:
            self.schedule_source, self.schedule_poll_s = source, poll_s
            return self.poll_schedule()

    def poll_schedule(self) -> int:
        """Ask the schedule source for versions after the one this hub runs and apply them; how many."""
        with self.lock:
            self._schedule_polled = time.monotonic()
            if self.schedule_source is None:
                return 0
            try:
                changes = self.schedule_source(self.schedule_version)
            except Exception as exc:  # the store is down: keep the running schedule, try again later
                log.warning("schedule changes of %s not polled (%s)", self.tenant, exc)
                return 0
            done = 0
            for c in changes:
                rows = [ScheduleRow(a, act, float(s0), float(e0), q) for a, act, s0, e0, q in c["rows"]]
                done += self.change_schedule(int(c["version"]), list(c["agents"]), float(c["start"]),
                                             float(c["end"]), rows, by="store")  # fmt: skip
            return done

    # ---------------------------------------------------------------------------------------------- custom rules
    def set_rules(self, yaml_text: str, fingerprint: str, by: str = "rules") -> bool:
        """Run the live rules of ``yaml_text`` (an ``alerts:`` file) from now on, logged as an action; False when
        ``fingerprint`` (the rule set's version) is the one already running."""
        with self.lock:
            if fingerprint == self.rules_fingerprint:
                return False
            parse_rules(yaml_text, "saved live rules")  # refuse before logging anything
            self._act({"op": "rules", "yaml": yaml_text, "token": fingerprint, "by": by})
            return True

    def use_rules_from(self, source: RulesSource, poll_s: float = 5.0) -> bool:
        """Take the tenant's saved live rules from ``source`` (``() -> (token, yaml, routes)``, or None when
        nothing is saved) now and, at most every ``poll_s`` seconds, as batches arrive; True if rules changed."""
        with self.lock:
            self.rules_source, self.rules_poll_s = source, poll_s
            return self.poll_rules()

    def poll_rules(self) -> bool:
        """Ask the rules source now; swap the rules in when they changed (True) and refresh the recipients."""
        with self.lock:
            self._rules_polled = time.monotonic()
            if self.rules_source is None:
                return False
            try:
                got = self.rules_source()
            except Exception as exc:  # the store is down: keep the running rules, try again later
                log.warning("live rules of %s not polled (%s)", self.tenant, exc)
                return False
            if got is None:
                return False
            fingerprint, text, routes, store = got
            self._set_rule_routes(routes, store)  # first: the alerts the new rules raise at once notify too
            return self.set_rules(text, fingerprint)

    def _set_rule_routes(self, routes: list[Route], store: Store | None) -> None:
        """Notify the rules' recipients too (a notifier is attached for them when notify.yaml gave none)."""
        from callops.realtime.notify import Notifier

        if self.notifier is None:
            if not routes or store is None:
                return
            self.notifier = Notifier(store, self.tenant, [], self.engine.state.zone)
            self.engine.listeners.append(self._notify)
        self.notifier.routes = [*self._file_routes, *routes]

    # ----------------------------------------------------------------------------------------------------- views
    def tiles(self) -> list[dict[str, Any]]:
        """Wallboard tiles: each queue, center and channel with its key measures and worst active alert level."""
        with self.lock:
            st = self.engine.state
            worst: dict[tuple[str, str], int] = {}
            for a in self.engine.book.active():
                k = (a.scope, a.key)
                worst[k] = max(worst.get(k, 0), a.level)
            out = []
            diverted = st.diversions_today()
            for (kind, name), sc in sorted(st.scopes.items()):
                if kind == "tenant":
                    continue
                m = st.scope_measures(sc)
                level = worst.get((kind, name), 0)
                out.append({"scope": kind, "key": name, "level": LEVELS[level - 1] if level else None,
                            **{k: m.get(k) for k in TILE_MEASURES}})  # fmt: skip
                if kind == "queue" and name in diverted:  # today's diversions by route (issue 11)
                    out[-1]["diverted_reasons"] = diverted[name]
            return out

    def diversions(self) -> dict[str, dict[str, int]]:
        """Today's diverted contacts per queue and reason (the route that sent them away from the agents)."""
        with self.lock:
            return self.engine.state.diversions_today()

    def reforecasts(self) -> dict[str, dict[str, Any]]:
        """Per queue with a forecast for today: the rest of the day re-forecast from what has arrived so far."""
        with self.lock:
            return queue_reforecasts(self.engine.state, self.planner.planner.reforecast)

    def snapshot(self) -> dict[str, Any]:
        """The full live state (every measure of every scope, every agent) plus the hub's version."""
        with self.lock:
            return {"tenant": self.tenant, "version": self.version, **self.engine.state.snapshot()}

    def alerts(self, active_only: bool = True) -> list[dict[str, Any]]:
        """Alerts (open and acknowledged by default), worst first, each with its level history."""
        with self.lock:
            book = self.engine.book
            chosen = book.active() if active_only else sorted(book.alerts.values(), key=lambda a: -a.opened_at)
            return [alert_dict(a) for a in chosen]

    def alert(self, alert_id: str) -> dict[str, Any]:
        """One alert with its history."""
        with self.lock:
            alert = self.engine.book.alerts.get(alert_id)
            if alert is None:
                raise CallopsError(f"no alert {alert_id!r}")
            return alert_dict(alert)

    def acknowledge(self, alert_id: str, by: str) -> dict[str, Any]:
        """A person acknowledges an alert."""
        with self.lock:
            self._act({"op": "acknowledge", "alert_id": alert_id, "by": by})
            return self.alert(alert_id)

    def resolve(self, alert_id: str, by: str, note: str | None = None) -> dict[str, Any]:
        """A person resolves an alert."""
        with self.lock:
            self._act({"op": "resolve", "alert_id": alert_id, "by": by, "note": note})
            return self.alert(alert_id)

    def activations(self, active_only: bool = True) -> list[dict[str, Any]]:
        """Plan activations with their steps, recommended agents and expected effect, newest first."""
        with self.lock:
            acts = [a for a in self.planner.activations.values() if a.active or not active_only]
            return [a.as_dict() for a in sorted(acts, key=lambda a: -a.at)]

    def decide(self, activation_id: str, step: str, approve: bool, by: str) -> dict[str, Any]:
        """A dispatcher approves (commands go out) or rejects a step waiting for approval."""
        with self.lock:
            self._act({"op": "approve" if approve else "reject", "activation_id": activation_id, "step": step,
                       "by": by})  # fmt: skip
            return self.planner.activations[activation_id].as_dict()

    def commands(self, limit: int = 200) -> list[dict[str, Any]]:
        """The latest routing commands sent to the ACD, newest last."""
        with self.lock:
            return list(self.engine.bus.commands[-limit:])

    def intake(self) -> dict[str, Any]:
        """Counts of accepted, rejected, duplicate and late events, with sample rejections."""
        with self.lock:
            return self.engine.stats.as_dict()

    # ---------------------------------------------------------------------------------------------------- replay
    def replay(self, lines: Iterable[str], speed: float = 0.0, batch: int = 50) -> None:
        """Feed JSON lines through :meth:`submit`; ``speed`` N paces them at N× event time (0: as fast as it can)."""
        pacer = EventPacer(speed)
        pending: list[str] = []
        for _, line in iter_lines(lines):
            if self._stop.is_set():
                return
            delay = pacer.delay(line)
            if delay > 0:
                if pending:
                    self.submit(pending, "replay")
                    pending = []
                if self._stop.wait(delay):
                    return
            pending.append(line)
            if len(pending) >= batch:
                self.submit(pending, "replay")
                pending = []
        if pending:
            self.submit(pending, "replay")

    def start_replay(self, path: Path, speed: float = 0.0) -> threading.Thread:
        """Replay an event file in a background thread (the demo's live day)."""
        if not path.exists():
            raise CallopsError(f"event file {path} not found")

        def run() -> None:
            with path.open(encoding="utf-8") as f:
                self.replay(f, speed)

        self._stop.clear()
        self._replay = threading.Thread(target=run, name=f"replay-{self.tenant}", daemon=True)
        self._replay.start()
        return self._replay

    def stop(self) -> None:
        """Stop a running replay."""
        self._stop.set()
        if self._replay is not None:
            self._replay.join(timeout=5)

    def close(self) -> None:
        """Stop a replay, write a snapshot and close the event log (what was accepted is already on disk); the
        tenant's log is free for another writer afterwards."""
        self.stop()
        with self.lock:
            if self.log is not None:
                self.log.close()
                if self._writer is not None:
                    try:
                        self.save_snapshot()
                    except Exception as exc:  # a snapshot is a short cut: never fail a shutdown for it
                        log.warning("no snapshot written for %s: %s", self.tenant, exc)
                    self._writer.release()
                    self._writer = None

    # -------------------------------------------------------------------------------------------------- snapshot
    def _snapshot_path(self) -> Path:
        return log_dir(self.tenant, self.home) / SNAPSHOT_FILE

    def save_snapshot(self) -> dict[str, Any]:
        """Write the engine's state and the log position it is exact at (atomically); returns the position."""
        import cloudpickle

        with self.lock:
            if self.log is None:
                raise CallopsError("only a durable hub (log=True) keeps snapshots")
            self.log.commit()
            position = log_end(self.tenant, self.home)
            # the hub's own hooks (locks, listeners of this process) are not state: leave them out
            mine = [h for h in self.engine.bus.handlers.get("*", []) if getattr(h, "__self__", None) is self]
            listeners = list(self.engine.listeners)
            for h in mine:
                self.engine.bus.handlers["*"].remove(h)
            self.engine.listeners[:] = [f for f in listeners if getattr(f, "__self__", None) is not self]
            try:
                data = cloudpickle.dumps({"format": SNAPSHOT_FORMAT, "fingerprint": self.fingerprint,
                                          "position": position, "engine": self.engine, "planner": self.planner,
                                          "version": self.version,
                                          "rules_fingerprint": self.rules_fingerprint})  # fmt: skip
            finally:
                self.engine.bus.handlers.setdefault("*", []).extend(mine)
                self.engine.listeners[:] = listeners
            path = self._snapshot_path()
            tmp = path.with_suffix(".tmp")
            with tmp.open("wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            self._snap_at = self.log.logged
            return position

    def _load_snapshot(self) -> dict[str, Any] | None:
        """Take the engine from a usable snapshot; the position to replay the log from (None: from its start)."""
        import pickle

        path = self._snapshot_path()
        if not path.exists():
            return None
        try:
            data = pickle.loads(path.read_bytes())  # our own file, written by save_snapshot
            position = data["position"]
            if data.get("format") != SNAPSHOT_FORMAT or data["fingerprint"] != self.fingerprint:
                raise ValueError("made for other settings")
            if position:
                day = log_dir(self.tenant, self.home) / position["file"]
                if not day.exists() or day.stat().st_size < position["offset"]:
                    raise ValueError("the log it belongs to was replaced")
            elif log_files(self.tenant, self.home):
                raise ValueError("made before the log began")
        except Exception as exc:  # a short cut only: replay the whole log instead
            log.info("snapshot of %s not used (%s); replaying the whole log", self.tenant, exc)
            return None
        self.engine, self.planner = data["engine"], data["planner"]
        self.rules_fingerprint = data.get("rules_fingerprint")
        self.snapshot_info = {"position": position, "bytes": path.stat().st_size}
        return position or None

    # ------------------------------------------------------------------------------------------- notifications
    def attach_notifier(self, store: Store, routes_path: Path | None = None, catch_up_s: float = 900.0) -> int:
        """Write the outbox rows of alert changes from now on, by the routes of ``notify.yaml`` (default: the
        tenant's live folder); returns how many rows a catch-up enqueued (0 without routes: nothing attached).

        Catch-up: the alert changes of the last ``catch_up_s`` of event time (rebuilt from the log) are enqueued
        again; their dedup keys make that a no-op for those already in the outbox, and it closes the window in
        which a crash could separate a logged event from its notification.
        """
        from callops.realtime.notify import Notifier, load_notify

        path = routes_path or live_dir(self.tenant) / "notify.yaml"
        if not path.exists():
            return 0
        cfg = load_notify(path)
        with self.lock:
            extra = self.notifier.routes if self.notifier is not None else []  # the rules' recipients
            if self.notifier is not None:
                self.engine.listeners.remove(self._notify)
            self._file_routes = list(cfg.notify)
            self.notifier = Notifier(store, self.tenant, [*cfg.notify, *extra], self.engine.state.zone)
            now = self.engine.state.now
            recent = [e for e in self.engine.events if e.at >= now - catch_up_s]
            new = self.notifier.enqueue_many(recent)
            self.engine.listeners.append(self._notify)
            return new

    def _notify(self, ev: AlertEvent) -> None:
        """Engine listener: enqueue ``ev``'s notifications; if the store fails, keep it for the next batch."""
        if self._unqueued:
            self._unqueued.append(ev)
            return
        try:
            self.notifier.on_alert(ev)  # type: ignore[union-attr]
        except Exception as exc:  # the store is down: never fail the engine, retry on the next batch
            log.warning("outbox unavailable (%s); alert change kept for retry", exc)
            self._unqueued.append(ev)

    def _retry_unqueued(self) -> None:
        if not self._unqueued or self.notifier is None:
            return
        try:
            self.notifier.enqueue_many(self._unqueued)
            self._unqueued = []
        except Exception as exc:
            log.warning("outbox still unavailable (%s); %d alert change(s) waiting", exc, len(self._unqueued))


_HUBS: dict[tuple[str, str], LiveHub] = {}
_HUBS_LOCK = threading.Lock()
# called with each durable hub hub_for builds (a served app lands every live day: callops.realtime.landing)
_ON_NEW_HUB: list[Callable[[LiveHub], None]] = []


# called with the engine of every durable hub once it is built or restored from a snapshot and *before* it replays
# its log (the people package's adherence watch: a logged acknowledgement of one of its alerts must find it)
_ON_NEW_ENGINE: list[Callable[[Any, str], None]] = []


def forwarded_refs(engine: Any) -> dict[str, str | None]:
    """The ``ref`` of each forwarded action the engine has taken, oldest first, with None when it was applied or the
    owner's reason when it was refused (kept on the engine, so a snapshot keeps them with the state)."""
    refs = getattr(engine, "forwarded_refs", None)
    if refs is None:
        refs = engine.forwarded_refs = {}
    return refs


def on_new_engine(fn: Callable[[Any, str], None]) -> Callable[[], None]:
    """Call ``fn(engine, tenant)`` for every durable hub's engine from now on, before the hub replays its log
    (what :func:`on_new_hub` cannot do: it runs on the finished hub); returns the function that stops."""
    _ON_NEW_ENGINE.append(fn)
    return lambda: _ON_NEW_ENGINE.remove(fn) if fn in _ON_NEW_ENGINE else None


def on_new_hub(fn: Callable[[LiveHub], None]) -> Callable[[], None]:
    """Call ``fn(hub)`` for every durable hub :func:`hub_for` builds from now on; returns the function that stops."""
    _ON_NEW_HUB.append(fn)
    return lambda: _ON_NEW_HUB.remove(fn) if fn in _ON_NEW_HUB else None


def build_hub(
    tenant: str, timezone: str | None = None, folder: Path | None = None, *, log: bool = False,
    home: Path | None = None, follow: bool = False,
) -> LiveHub:  # fmt: skip
    """A hub for ``tenant`` from its live folder (live.yaml, agents.csv, schedules.csv), else defaults.

    ``log=True`` rebuilds it from the tenant's event log under ``home`` and keeps logging (see the module doc);
    ``follow=True`` makes a read replica of the hub a cluster member runs (:mod:`callops.realtime.follower`)."""
    folder = folder or live_dir(tenant, home)
    cfg_path = folder / "live.yaml"
    config = load_config(cfg_path if cfg_path.exists() else None, tenant, timezone)
    roster = load_roster(folder / "agents.csv") if (folder / "agents.csv").exists() else None
    schedule = load_schedule(folder / "schedules.csv") if (folder / "schedules.csv").exists() else None
    if follow:
        from callops.realtime.follower import FollowerHub

        return FollowerHub(config, roster=roster, schedule=schedule, home=home)
    return LiveHub(config, roster=roster, schedule=schedule, log=log, home=home)


def hub_for(tenant: str, timezone: str | None = None, *, log: bool = True) -> LiveHub:
    """The process-wide hub of ``tenant`` (built on first use, per ``$CALLOPS_HOME``).

    ``log`` (default on) makes it durable: rebuilt from the tenant's event log when first built, and every
    accepted event logged. It only matters for the call that builds the hub. A tenant a cluster member runs
    (``cluster.json`` beside its log) gets a read replica of the member's hub instead
    (:class:`~callops.realtime.follower.FollowerHub`): the member holds the tenant's log."""
    from callops.realtime.follower import member_runs

    key = (str(callops_home()), tenant)
    with _HUBS_LOCK:
        hub = _HUBS.get(key)
        if hub is not None and getattr(hub, "stale", False):  # a replica whose log was replaced: read it afresh
            hub.close()
            hub = None
        if hub is None:
            follow = log and member_runs(tenant)
            # a replica is built as the member builds its hub (live.yaml's zone, not the caller's) or it would differ
            hub = _HUBS[key] = build_hub(tenant, None if follow else timezone, log=log, follow=follow)
            if log and not follow:
                for fn in list(_ON_NEW_HUB):
                    fn(hub)
        return hub


def open_hubs() -> dict[str, LiveHub]:
    """The hubs this process has opened under the current ``$CALLOPS_HOME``, by tenant."""
    home = str(callops_home())
    with _HUBS_LOCK:
        return {tenant: hub for (h, tenant), hub in _HUBS.items() if h == home}


def reset_hubs() -> None:
    """Forget every hub (stopping replays, closing logs); the next :func:`hub_for` builds afresh."""
    with _HUBS_LOCK:
        for hub in _HUBS.values():
            hub.close()
        _HUBS.clear()
