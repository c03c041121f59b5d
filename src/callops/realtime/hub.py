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
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from callops.errors import CallopsError
from callops.realtime.alerts import LEVELS, Alert, AlertRule
from callops.realtime.config import load_config, load_roster, load_schedule
from callops.realtime.engine import build_engine
from callops.realtime.events import iter_lines, parse_event
from callops.realtime.plans import PlanConfig
from callops.realtime.state import LiveConfig, RosterAgent, ScheduleRow
from callops.settings import callops_home

Listener = Callable[[str, dict[str, Any]], None]
# the measures a wallboard tile shows, in order
TILE_MEASURES = ("waiting", "longest_wait_s", "service_level_30m", "answer_rate_30m", "offered_30m",
                 "answered_30m", "abandoned_30m", "agents_ready", "agents_busy", "agents_acw", "agents_aux",
                 "agents_working", "occupancy")  # fmt: skip


def live_dir(tenant: str, home: Path | None = None) -> Path:
    """The folder of a tenant's live settings and logs: ``$CALLOPS_HOME/live/<tenant>``."""
    return (home or callops_home()) / "live" / tenant


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

    def __init__(
        self,
        config: LiveConfig,
        rules: list[AlertRule] | None = None,
        plans: list[PlanConfig] | None = None,
        roster: list[RosterAgent] | None = None,
        schedule: list[ScheduleRow] | None = None,
    ) -> None:
        self.tenant = config.tenant
        self.engine, self.planner = build_engine(config, rules, plans, roster, schedule)
        self.lock = threading.RLock()
        self.version = 0
        self.listeners: list[Listener] = []
        self.engine.bus.subscribe("*", self._fan_out)
        self._replay: threading.Thread | None = None
        self._stop = threading.Event()

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
        """Process a batch of raw events; answer how many were accepted and why each rejected one was."""
        eng = self.engine
        rejections: list[dict[str, Any]] = []
        with self.lock:
            dup0, late0 = eng.stats.duplicates, eng.stats.late
            accepted = 0
            for i, raw in enumerate(items):
                n_samples, rejected0 = len(eng.stats.samples), eng.stats.rejected
                if eng.submit(raw, f"{where}[{i}]"):
                    accepted += 1
                elif eng.stats.rejected > rejected0:
                    reason = (eng.stats.samples[-1].reason if len(eng.stats.samples) > n_samples
                              else "rejected (reason not kept: too many rejections)")  # fmt: skip
                    rejections.append({"index": i, "reason": reason})
            self.version += 1
            answer = {"received": len(items), "accepted": accepted, "rejected": len(rejections),
                      "duplicates": eng.stats.duplicates - dup0, "late": eng.stats.late - late0,
                      "rejections": rejections[:100]}  # fmt: skip
            self._fan_out("state", {"version": self.version, "now": eng.state.now})
        return answer

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
            for (kind, name), sc in sorted(st.scopes.items()):
                if kind == "tenant":
                    continue
                m = st.scope_measures(sc)
                level = worst.get((kind, name), 0)
                out.append({"scope": kind, "key": name, "level": LEVELS[level - 1] if level else None,
                            **{k: m.get(k) for k in TILE_MEASURES}})  # fmt: skip
            return out

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
            self.engine.acknowledge(alert_id, by)
            self.version += 1
            return self.alert(alert_id)

    def resolve(self, alert_id: str, by: str, note: str | None = None) -> dict[str, Any]:
        """A person resolves an alert."""
        with self.lock:
            self.engine.resolve(alert_id, by, note)
            self.version += 1
            return self.alert(alert_id)

    def activations(self, active_only: bool = True) -> list[dict[str, Any]]:
        """Plan activations with their steps, recommended agents and expected effect, newest first."""
        with self.lock:
            acts = [a for a in self.planner.activations.values() if a.active or not active_only]
            return [a.as_dict() for a in sorted(acts, key=lambda a: -a.at)]

    def decide(self, activation_id: str, step: str, approve: bool, by: str) -> dict[str, Any]:
        """A dispatcher approves (commands go out) or rejects a step waiting for approval."""
        with self.lock:
            if approve:
                self.planner.approve(activation_id, step, by)
            else:
                self.planner.reject(activation_id, step, by)
            self.version += 1
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
        first: float | None = None
        t0 = time.monotonic()
        pending: list[str] = []
        for _, line in iter_lines(lines):
            if self._stop.is_set():
                return
            if speed:
                try:
                    t = parse_event(line).ts.timestamp()
                except Exception:  # a malformed line is rejected by submit, with its reason
                    t = None
                if t is not None:
                    first = t if first is None else first
                    delay = (t - first) / speed - (time.monotonic() - t0)
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


_HUBS: dict[tuple[str, str], LiveHub] = {}
_HUBS_LOCK = threading.Lock()


def build_hub(tenant: str, timezone: str | None = None, folder: Path | None = None) -> LiveHub:
    """A hub for ``tenant`` from its live folder (live.yaml, agents.csv, schedules.csv), else defaults."""
    folder = folder or live_dir(tenant)
    cfg_path = folder / "live.yaml"
    config = load_config(cfg_path if cfg_path.exists() else None, tenant, timezone)
    roster = load_roster(folder / "agents.csv") if (folder / "agents.csv").exists() else None
    schedule = load_schedule(folder / "schedules.csv") if (folder / "schedules.csv").exists() else None
    return LiveHub(config, roster=roster, schedule=schedule)


def hub_for(tenant: str, timezone: str | None = None) -> LiveHub:
    """The process-wide hub of ``tenant`` (built on first use, per ``$CALLOPS_HOME``)."""
    key = (str(callops_home()), tenant)
    with _HUBS_LOCK:
        hub = _HUBS.get(key)
        if hub is None:
            hub = _HUBS[key] = build_hub(tenant, timezone)
        return hub


def reset_hubs() -> None:
    """Forget every hub (stopping replays); the next :func:`hub_for` builds afresh."""
    with _HUBS_LOCK:
        for hub in _HUBS.values():
            hub.stop()
        _HUBS.clear()
