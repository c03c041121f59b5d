"""The live room of a tenant a cluster member runs, as the home's serving process shows it (issue 17, part 4).

A tenant of the partitioned live room (:mod:`callops.realtime.cluster`) has its durable hub in whichever member
holds its lease; that member holds the tenant's one-writer lock, so the home's ``callops serve`` cannot open the
hub, and the console's wallboard, alerts and plans pages of such a tenant used to be refused. A
:class:`FollowerHub` is a read replica of the owner's hub in the serving process:

* **Reads.** It loads the snapshot the owner writes (atomically) and replays the owner's event log after it, then
  follows the log: a thread (``follower-<tenant>``) applies the lines appended since its last pass every
  ``poll_s`` seconds (0.5 s), stopping at the last complete line, so a line being written is read on the next
  pass. The engine is the one the owner runs, fed the same lines in the same order, so the replica's state is the
  owner's state as of the last line read (the same construction as a rebuild, checked by the tests). The log is
  on the shared home, so the replica follows the tenant across owners: a new owner appends to the same day files.
* **Person's actions** (acknowledge, resolve, approve, reject) must change the owner's state, and be logged there.
  The follower checks the action on its replica (an unknown alert or a resolved one is refused at once with the
  owner's own message), then publishes it on the tenant's subject of the cluster's stream, with a random ``ref``
  (NATS at ``CALLOPS_NATS_URL``; the stream is the one in the tenant's ``cluster.json``). The owning member takes
  it in stream order with the events (:meth:`LiveHub.apply_forwarded`) and logs it; the follower answers once its
  replica has read that action back from the log, so the answer shows the alert as acknowledged. No owner
  within ``confirm_s`` (10 s) is a 503 (:class:`Unavailable`): the action stays in the stream and is applied when
  a member takes the tenant. A ``ref`` is applied once, even when a batch is delivered again after a takeover.
  An action the owner refuses (an alert another person resolved between the check and the owner) is logged as
  refused with the owner's message, which the follower answers with (400).
* **Events and rule or schedule changes** are not taken here: producers publish on the tenant's subject (``callops
  live cluster publish``), and the owner follows the saved rules and schedule changes itself.

The follower never writes the tenant's folder (no lock, log, snapshot or outbox row of its own): the owner does.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from callops.errors import CallopsError, Unavailable
from callops.realtime.eventlog import ACTION_PREFIX, RebuildInfo, log_dir, log_files
from callops.realtime.events import EventError, parse_event
from callops.realtime.hub import LiveHub, forwarded_refs
from callops.realtime.plans import PlanConfig
from callops.realtime.state import LiveConfig, RosterAgent, ScheduleRow

log = logging.getLogger(__name__)

NATS_ENV = "CALLOPS_NATS_URL"  # where the serving process sends person's actions (the members' broker)
POLL_S = 0.5
CONFIRM_S = 10.0


def member_runs(tenant: str, home: Path | None = None) -> bool:
    """True when a cluster member writes ``tenant``'s live log (its ``cluster.json`` is beside the log)."""
    from callops.realtime.cluster import POSITION_FILE

    return (log_dir(tenant, home) / POSITION_FILE).is_file()


class LogTail:
    """The complete lines appended to a tenant's day files after a position (``{"file", "offset"}``)."""

    def __init__(self, tenant: str, home: Path | None, start: dict[str, Any] | None) -> None:
        """Follow ``tenant``'s log from ``start`` (a :func:`~callops.realtime.eventlog.log_end` position; None: its
        beginning)."""
        self.tenant, self.home = tenant, home
        self.file: str | None = start["file"] if start else None
        self.offset = int(start["offset"]) if start else 0

    def replaced(self) -> bool:
        """True when the file being read is gone or shorter than what was read (the log was replaced)."""
        if self.file is None:
            return False
        path = log_dir(self.tenant, self.home) / self.file
        return not path.exists() or path.stat().st_size < self.offset

    def read(self) -> list[tuple[str, str]]:
        """``(where, line)`` for each line appended since the last call. The last file is read up to its last
        newline (a line being written waits for the next call); an earlier file is read to its end, a torn last
        line included (the owner moved on to the next day: the line is never completed, and it is skipped as
        unreadable, as a rebuild does)."""
        files = [p for p in log_files(self.tenant, self.home) if self.file is None or p.name >= self.file]
        out: list[tuple[str, str]] = []
        for i, path in enumerate(files):
            if path.name != self.file:
                self.file, self.offset = path.name, 0
            with path.open("rb") as f:
                f.seek(self.offset)
                data = f.read()
            if i == len(files) - 1:
                data = data[: data.rfind(b"\n") + 1]
            at = self.offset
            self.offset += len(data)
            for raw in data.split(b"\n"):  # newlines only, as a rebuild reads: JSON text may hold U+2028 and the like
                text = raw.decode("utf-8", errors="replace").strip()
                if text:
                    out.append((f"{path.name} byte {at}", text))
                at += len(raw) + 1
        return out


class FollowerHub(LiveHub):
    """A read replica of the hub a cluster member runs for one tenant (see the module doc)."""

    follower = True

    def __init__(
        self,
        config: LiveConfig,
        rules: list[Any] | None = None,
        plans: list[PlanConfig] | None = None,
        roster: list[RosterAgent] | None = None,
        schedule: list[ScheduleRow] | None = None,
        *,
        home: Path | None = None,
        poll_s: float = POLL_S,
        confirm_s: float = CONFIRM_S,
        nats_url: str | None = None,
    ) -> None:
        """Load the owner's snapshot and log (under ``home``, default ``$CALLOPS_HOME``), then follow the log every
        ``poll_s`` seconds; actions wait ``confirm_s`` for the owner; ``nats_url`` defaults to ``$CALLOPS_NATS_URL``."""
        self.poll_s, self.confirm_s, self.nats_url = poll_s, confirm_s, nats_url
        self.stale = False  # the log was replaced under the replica: :func:`hub_for` builds a new one
        self.skipped = 0
        super().__init__(config, rules, plans, roster, schedule, log=True, home=home)
        self._following = threading.Event()
        self._thread = threading.Thread(target=self._follow, name=f"follower-{self.tenant}", daemon=True)
        self._thread.start()

    def _open_log(self, fsync: bool) -> None:
        """The owner's snapshot and the log after it, read without the writer lock; no log of our own."""
        start = self._load_snapshot()
        self._engine_hooks()
        self._tail = LogTail(self.tenant, self.home, start)
        info = RebuildInfo()
        t0 = time.perf_counter()
        info.events, info.actions = self._apply_lines(self._tail.read())
        info.seconds = time.perf_counter() - t0
        info.skipped = self.skipped
        self.rebuilt = info
        self.version = 1 if info.events or start else 0

    def _apply_lines(self, lines: list[tuple[str, str]]) -> tuple[int, int]:
        """Feed logged lines to the replica as a rebuild does; (events, actions) applied."""
        events = actions = 0
        for where, text in lines:
            if text.startswith(ACTION_PREFIX):
                try:
                    self._apply(json.loads(text))
                    actions += 1
                except Exception:  # refused the same way when first made (it would not be logged), or torn
                    self.skipped += 1
                continue
            try:
                ev = parse_event(text)
            except EventError:
                self.skipped += 1  # a torn write
                continue
            events += self.engine.process(ev, where)
        return events, actions

    def catch_up(self) -> int:
        """Apply what the owner logged since the last pass; how many lines were read (listeners hear ``state``)."""
        with self.lock:
            if self.stale or self._tail.replaced():
                self.stale = True
                return 0
            lines = self._tail.read()
            if lines:
                self._apply_lines(lines)
                self.version += 1
                self._fan_out("state", {"version": self.version, "now": self.engine.state.now})
            return len(lines)

    def _follow(self) -> None:
        while not self._following.wait(self.poll_s):
            try:
                self.catch_up()
            except Exception as exc:  # the thread outlives a bad pass (a file system hiccup): the next one retries
                log.warning("following %s's live log failed: %s", self.tenant, exc)

    def close(self) -> None:
        """Stop following (nothing to write: the owner keeps the log and the snapshot)."""
        self._following.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    # ---------------------------------------------------------------------------------------- refused here
    def _owner(self) -> dict[str, Any]:
        from callops.realtime.cluster import read_position

        pos = read_position(self.tenant, self.home)
        if not pos or not pos.get("stream"):
            raise Unavailable(f"tenant {self.tenant!r}'s live room has no cluster position (cluster.json) to reach "
                              "its owner through")  # fmt: skip
        return pos

    def _ingest(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        from callops.realtime.cluster import tenant_subject

        stream = self._owner()["stream"]
        raise CallopsError(f"tenant {self.tenant!r}'s live room is run by the cluster of stream {stream!r}: publish "
                           f"its events on {tenant_subject(stream, self.tenant)} (`callops live cluster publish`), "
                           "not to this server")  # fmt: skip

    def _act(self, action: dict[str, Any]) -> None:
        raise CallopsError(f"tenant {self.tenant!r}'s live room is run by a cluster member: its rules and schedule "
                           "changes are followed there")  # fmt: skip

    # The owner follows the tenant's saved live rules and schedule versions from the store (Member.attach) and logs
    # each switch; the replica reads it from the log. A save made through this server (a rules or schedule page)
    # is stored first, so these are no-ops here instead of errors after the save.
    def set_rules(self, yaml_text: str, fingerprint: str, by: str = "rules") -> bool:
        """No-op: the owner switches rules (see above)."""
        return False

    def use_rules_from(self, source: Any, poll_s: float = 5.0) -> bool:
        """No-op: the owner follows the saved rules."""
        return False

    def change_schedule(self, version: int, agents: list[str], start: float, end: float,
                        rows: list[ScheduleRow], by: str = "schedule") -> bool:  # fmt: skip
        """No-op: the owner takes schedule version ``version`` from the store within its poll."""
        return False

    def use_schedule_from(self, source: Any, poll_s: float = 5.0) -> int:
        """No-op: the owner follows the schedule versions."""
        return 0

    def attach_notifier(self, store: Any, routes_path: Path | None = None, catch_up_s: float = 900.0) -> int:
        """No-op: the owner writes the tenant's notifications (a replica would enqueue them a second time)."""
        return 0

    # ------------------------------------------------------------------------------------- person's actions
    def acknowledge(self, alert_id: str, by: str) -> dict[str, Any]:
        """Acknowledge through the owner; the alert as the replica shows it once the owner logged the action."""
        self._forward({"op": "acknowledge", "alert_id": alert_id, "by": by})
        return self.alert(alert_id)

    def resolve(self, alert_id: str, by: str, note: str | None = None) -> dict[str, Any]:
        """Resolve through the owner (see :meth:`acknowledge`)."""
        self._forward({"op": "resolve", "alert_id": alert_id, "by": by, "note": note})
        return self.alert(alert_id)

    def decide(self, activation_id: str, step: str, approve: bool, by: str) -> dict[str, Any]:
        """Approve or reject a plan step through the owner (see :meth:`acknowledge`)."""
        self._forward({"op": "approve" if approve else "reject", "activation_id": activation_id, "step": step,
                       "by": by})  # fmt: skip
        with self.lock:
            return self.planner.activations[activation_id].as_dict()

    def _forward(self, action: dict[str, Any]) -> None:
        from callops.realtime.cluster import publish_partitioned

        with self.lock:  # the owner's own check, on the replica: a clear refusal now instead of a timeout
            self.catch_up()
            if action["op"] in ("acknowledge", "resolve"):
                self.engine.book.check_action(action["op"], action["alert_id"])
            else:
                self.planner.waiting_step(action["activation_id"], action["step"])
        owner = self._owner()
        url = self.nats_url or os.environ.get(NATS_ENV)
        if not url:
            raise Unavailable(f"tenant {self.tenant!r}'s live room is run by a cluster member, and this server has no "
                              f"{NATS_ENV} to send the action to it")  # fmt: skip
        ref = uuid.uuid4().hex
        line = json.dumps({**action, "tenant": self.tenant, "ref": ref}, ensure_ascii=False, separators=(",", ":"))
        try:
            publish_partitioned(url, owner["stream"], [line])
        except CallopsError as exc:  # the message names the broker's address: the log keeps it, the caller not
            log.warning("forwarding %s's action failed: %s", self.tenant, exc)
            raise Unavailable(f"the live room's broker did not take the action for tenant {self.tenant!r}; "
                              "try again") from None  # fmt: skip
        deadline = time.monotonic() + self.confirm_s
        while True:
            with self.lock:
                self.catch_up()
                refs = forwarded_refs(self.engine)
                if ref in refs:
                    if refs[ref] is not None:  # the owner refused it (the state changed since our check)
                        raise CallopsError(refs[ref])
                    return
            if time.monotonic() >= deadline:
                raise Unavailable(f"{action['op']} sent to tenant {self.tenant!r}'s live room (stream "
                                  f"{owner['stream']!r}) but not confirmed within {self.confirm_s:g} s: no member "
                                  "may be running the tenant now (it is applied when one takes it), or the state "
                                  "changed meanwhile; reload to see")  # fmt: skip
            time.sleep(0.05)
