"""The durable event log of the live engine, and recovery by replay.

:class:`LoggedIntake` sits in front of a :class:`~callops.realtime.engine.LiveEngine`: each event is validated and
processed by the engine exactly as :meth:`LiveEngine.submit` would, and every event the engine *accepted* (not
rejected, not a duplicate) is appended to an append-only JSON-lines file per tenant and local day,
``$CALLOPS_HOME/live/<tenant>/events-YYYYMMDD.jsonl``. A batch is written, flushed and ``fsync``-ed before
:meth:`LoggedIntake.commit` returns, so a source that acknowledges only after ``commit`` (the NATS consumer does)
never loses an event it acknowledged.

The day of a line is the local date (tenant zone) of the engine's clock after the event, which never goes
backwards; reading the files in name order therefore gives the events in their original arrival order, and
:func:`rebuild` replays them into a fresh engine, which - the engine being deterministic - ends in the same state
with the same alert history as before the crash. What is not logged is not rebuilt: rejection and duplicate
counters start again from zero. A torn last line (a crash in the middle of a write) is skipped with a warning
count, never raised.

People's actions on the engine (acknowledge or resolve an alert, approve or reject a plan step) change its
results too, so they are logged between the events as ``{"op": ...}`` lines (:meth:`LoggedIntake.record`) and
handed back, in their place, to ``rebuild``'s ``on_action``. Alert and activation ids are deterministic
(counters), so an action replayed at the same point finds the same alert.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from callops.errors import CallopsError
from callops.realtime.engine import LiveEngine
from callops.realtime.events import TENANT_PATTERN, EventError, LiveEvent, parse_event
from callops.settings import callops_home

_TENANT = re.compile(TENANT_PATTERN)
ACTION_PREFIX = '{"op":'  # an action line; an event line never starts so (events have no "op" field first)
ActionHandler = Callable[[dict[str, Any]], None]


def log_dir(tenant: str, home: Path | None = None) -> Path:
    """The tenant's live log folder: ``$CALLOPS_HOME/live/<tenant>``."""
    if not _TENANT.match(tenant):
        raise CallopsError(f"invalid tenant id {tenant!r}")
    return (home or callops_home()) / "live" / tenant


def log_files(tenant: str, home: Path | None = None) -> list[Path]:
    """The tenant's day files, oldest first (their names sort by date)."""
    folder = log_dir(tenant, home)
    return sorted(folder.glob("events-*.jsonl")) if folder.is_dir() else []


def _line(raw: str | bytes | dict[str, Any], ev: LiveEvent) -> str:
    """The text to log: the raw event as received when it is text (faithful), else the validated model."""
    if isinstance(raw, bytes):
        raw = raw.decode()
    if isinstance(raw, str):
        text = raw.strip()
        if "\n" not in text and not text.startswith(ACTION_PREFIX):  # an event may carry an "op" field first
            return text
    return ev.model_dump_json(exclude_none=True)


class LoggedIntake:
    """Validate, process and log events for one engine; :meth:`commit` makes a batch durable."""

    def __init__(self, engine: LiveEngine, home: Path | None = None, fsync: bool = True) -> None:
        self.engine = engine
        self.folder = log_dir(engine.config.tenant, home)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        self.pending: list[tuple[str, str]] = []  # (day, line) accepted but not yet durable
        self.logged = 0
        self._file: IO[str] | None = None
        self._file_day = ""
        self._day_start = 0.0
        self._day_name = ""

    def _day(self) -> str:
        st = self.engine.state
        if st.day != self._day_start:  # the state moved to a new local day
            self._day_start = st.day
            self._day_name = datetime.fromtimestamp(st.now, st.zone).strftime("%Y%m%d")
        return self._day_name

    def submit(self, raw: str | bytes | dict[str, Any], where: str = "") -> bool:
        """Like :meth:`LiveEngine.submit`; an accepted event is queued for the log (durable after :meth:`commit`)."""
        try:
            ev = parse_event(raw)
        except EventError:
            return self.engine.submit(raw, where)  # the engine rejects it with its reason, as usual
        if not self.engine.process(ev, where):
            return False
        self.pending.append((self._day(), _line(raw, ev)))
        return True

    def record(self, action: dict[str, Any]) -> None:
        """Log a person's action (``{"op": "acknowledge", ...}``) after the events already queued, durably now."""
        if "op" not in action:
            raise ValueError("an action needs an 'op'")
        line = json.dumps({"op": action["op"], **action}, ensure_ascii=False, separators=(",", ":"))
        self.pending.append((self._day(), line))
        self.commit()

    def submit_batch(self, items: Iterable[tuple[str, str | bytes | dict[str, Any]]]) -> int:
        """Submit ``(where, raw)`` pairs and commit them as one batch; returns how many were accepted."""
        used = 0
        for where, raw in items:
            used += self.submit(raw, where)
        self.commit()
        return used

    def commit(self) -> int:
        """Append the queued lines to their day files, flush and fsync; returns how many were written."""
        # Actions taken before the engine has seen any event (a rule set or schedule version attached at start)
        # have no day yet: they go into the day file of the first event after them, so they replay in order;
        # until then they stay queued (they used to be dropped: there was no file to write them to).
        dated: list[tuple[str, str]] = []
        undated: list[str] = []
        for day, line in self.pending:
            if not day:
                undated.append(line)
                continue
            dated.extend((day, u) for u in undated)
            undated = []
            dated.append((day, line))
        self.pending = [("", u) for u in undated]
        if not dated:
            return 0
        chunk: list[str] = []
        for day, line in dated:
            if day != self._file_day:
                self._write(chunk)
                chunk = []
                self._open(day)
            chunk.append(line)
        self._write(chunk)
        self.logged += len(dated)
        return len(dated)

    def _open(self, day: str) -> None:
        if self._file is not None:
            self._file.close()
        path = self.folder / f"events-{day}.jsonl"
        torn = False
        if path.exists() and path.stat().st_size:
            with path.open("rb") as f:
                f.seek(-1, os.SEEK_END)
                torn = f.read(1) != b"\n"
        self._file = path.open("a", encoding="utf-8")
        if torn:  # a crash mid-write left a partial line: end it, so it cannot swallow the next event
            self._file.write("\n")
        self._file_day = day

    def _write(self, lines: list[str]) -> None:
        if not lines or self._file is None:
            return
        self._file.write("\n".join(lines) + "\n")
        self._file.flush()
        if self.fsync:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        """Commit what is queued and close the current file."""
        self.commit()
        if self._file is not None:
            self._file.close()
            self._file = None
            self._file_day = ""


@dataclass
class RebuildInfo:
    """What a replay read: files, events replayed, and unreadable lines (a torn last write) skipped."""

    files: int = 0
    events: int = 0
    actions: int = 0
    skipped: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, float]:
        """JSON-ready counts."""
        return {"files": self.files, "events": self.events, "actions": self.actions, "skipped": self.skipped,
                "seconds": round(self.seconds, 3)}  # fmt: skip


def log_end(tenant: str, home: Path | None = None) -> dict[str, Any]:
    """The position just after the last logged line: ``{"file": day file name, "offset": bytes}`` (empty: no log)."""
    files = log_files(tenant, home)
    return {"file": files[-1].name, "offset": files[-1].stat().st_size} if files else {}


class WriterLock:
    """One writer per tenant: an exclusive ``flock`` on ``writer.lock`` in the tenant's live folder.

    The kernel drops the lock when its process ends, however it ends, so a second writer is refused while the
    first one lives and takes over as soon as it is gone. The file names the holder (pid, host, since) for the
    refusal message.
    """

    def __init__(self, tenant: str, home: Path | None = None) -> None:
        import fcntl
        import socket

        folder = log_dir(tenant, home)
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "writer.lock"
        self._f: IO[str] | None = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(self._f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._f.seek(0)
            holder = self._f.read().strip() or "another process"
            self._f.close()
            self._f = None
            raise CallopsError(f"tenant {tenant!r}'s live room is already run by {holder}: one writer per tenant; "
                               "stop that one first (this one may take over once it is gone)") from None
        self._f.seek(0)
        self._f.truncate()
        self._f.write(f"process {os.getpid()} on {socket.gethostname()} since "
                      f"{datetime.now().astimezone().isoformat(timespec='seconds')}")  # fmt: skip
        self._f.flush()

    def release(self) -> None:
        """Give the tenant's log up (closing the file drops the lock)."""
        if self._f is not None:
            self._f.close()
            self._f = None


def rebuild(
    tenant: str,
    engine: LiveEngine,
    home: Path | None = None,
    since: str | None = None,
    on_action: ActionHandler | None = None,
    fsync: bool = True,
    start: dict[str, Any] | None = None,
) -> tuple[LoggedIntake, RebuildInfo]:
    """Replay the tenant's log into ``engine`` (a fresh one) and return an intake that appends to the same log.

    ``since`` (``YYYYMMDD``) skips older day files - the state only needs today and the 30-minute windows, so
    a restart could replay from yesterday's date on (the default replays every file: the same state exactly).
    Listeners attached to ``engine`` before the call see the replayed alerts again; attach them afterwards to
    hear only new ones. Action lines go to ``on_action`` (skipped when None); one that fails is counted in
    ``skipped`` (it failed the same way when it was first made, or it would not have been logged). ``start``
    (a :func:`log_end` position, e.g. a snapshot's) replays only what was logged after it.
    """
    if engine.config.tenant != tenant:
        raise CallopsError(f"engine is for tenant {engine.config.tenant!r}, not {tenant!r}")
    info = RebuildInfo()
    t0 = time.perf_counter()
    for path in log_files(tenant, home):
        if since is not None and path.stem.removeprefix("events-") < since:
            continue
        if start and path.name < start["file"]:
            continue
        info.files += 1
        with path.open(encoding="utf-8") as f:
            if start and path.name == start["file"]:
                f.seek(start["offset"])
            for n, line in enumerate(f, 1):  # (line numbers count from the start position)
                text = line.strip()
                if not text:
                    continue
                if text.startswith(ACTION_PREFIX):
                    info.actions += 1
                    if on_action is not None:
                        try:
                            on_action(json.loads(text))
                        except Exception:  # a torn action line, or one the engine refuses
                            info.skipped += 1
                    continue
                try:
                    ev = parse_event(text)
                except EventError:
                    info.skipped += 1  # only a torn write can leave a bad line: accepted events were valid
                    continue
                info.events += engine.process(ev, f"{path.name} line {n}")
    info.seconds = time.perf_counter() - t0
    return LoggedIntake(engine, home, fsync), info
