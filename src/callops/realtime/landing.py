"""Live → warehouse: contacts and agent states the live engine completed land in the warehouse in micro-batches.

The live day and the history are one data set: a :class:`Lander` follows the tenant's durable event log
(:mod:`callops.realtime.eventlog`), pairs its events into finished canonical rows and loads them through the
same path as files (:func:`callops.ingest.loader.load_files` with the ``canonical`` mapping), so every batch has
a load id, row accounting (``read = loaded + updated + unchanged + rejected + skipped``) and rejects with their
reasons, and the warehouse's natural keys make a repeated batch ``unchanged`` instead of doubled.

What becomes a row:

- **contacts**: a contact leg from ``contact.offered`` (its queue's channel, center and direction from
  live.yaml) to its end: ``contact.ended`` (``answered``, or ``callback`` when the event says so),
  ``contact.abandoned``, ``contact.transferred`` or ``contact.diverted`` (``self_served``: balancing sent it to
  self-service). The offer's optional ``ivr_s``, ``customer_id`` and ``business_type`` and the end's survey
  ``csat`` and ``nps`` are kept; ``offered_at`` is the arrival (queue entry less ``ivr_s``, the queue entry when
  the event gives none). ``wait_s`` runs from queue entry to answer (or to the end for an unanswered leg),
  ``talk_s`` from answer to end (handling as a whole: the live contract does not split after-contact work off).
- **agent_states**: the interval an ``agent.state`` event opens, closed by the agent's next state event. A
  zero-length interval (two states at one instant) is not an interval and is dropped.

Restart safety: the landing's state - the log position it has read up to, plus the contacts and agent states
still open there - is written atomically to ``landing.json`` in the tenant's live folder **after** the batch's
loads commit. A crash between the two replays the last batch from the older state: the same rows, which the
loader counts ``unchanged``. So a restart neither loses nor doubles a row; loads are the landing's only record in
the warehouse (their ``files`` name the batch and the log range it came from).

:func:`land_lines` does the same for an event stream without a log (``callops live replay``).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from callops import schema
from callops.errors import CallopsError
from callops.ingest.loader import LoadSummary, load_files
from callops.ingest.mapping import load_mapping
from callops.realtime.eventlog import ACTION_PREFIX, log_dir, log_files
from callops.realtime.events import EventError, LiveEvent, parse_event
from callops.realtime.state import LiveConfig
from callops.warehouse import Warehouse

log = logging.getLogger(__name__)
STATE_FILE = "landing.json"
LOCK_FILE = "landing.lock"  # one landing pass at a time per tenant, across processes
BATCH_DIR = "landing"
DEFAULT_INTERVAL_S = 15.0  # how often a worker lands: well inside the one-minute promise
MAX_LINES = 200_000  # lines read per pass: bounds one batch's memory; the next pass goes on from there
# a diverted leg left the agents' queue for self-service (or the IVR's payment): the warehouse's self_served
_END_OUTCOME = {"contact.abandoned": "abandoned", "contact.transferred": "transferred",
                "contact.diverted": "self_served"}  # fmt: skip
_CONTACT_COLS = ("contact_id", "center", "queue", "channel", "direction", "offered_at", "answered_at", "ended_at",
                 "wait_s", "talk_s", "outcome", "agent_id", "ivr_s", "customer_id", "business_type", "csat",
                 "nps")  # fmt: skip
_STATE_COLS = ("agent_id", "state", "reason", "queue", "started_at", "ended_at")


def _ts(ev: LiveEvent) -> float:
    return ev.ts.timestamp()


class Collector:
    """Pairs accepted live events into finished ``contacts`` and ``agent_states`` rows (epoch-second times)."""

    def __init__(self, config: LiveConfig) -> None:
        self.config = config
        self.open_contacts: dict[str, dict[str, Any]] = {}
        self.open_states: dict[str, dict[str, Any]] = {}
        self.contacts: list[dict[str, Any]] = []
        self.states: list[dict[str, Any]] = []

    def add(self, ev: LiveEvent) -> None:
        """Take one event the engine accepted (in log order)."""
        t = _ts(ev)
        if ev.type == "agent.state":
            prev = self.open_states.get(ev.agent_id)  # type: ignore[arg-type]
            if prev is not None and t > prev["started_at"]:
                self.states.append({**prev, "ended_at": t})
            self.open_states[ev.agent_id] = {"agent_id": ev.agent_id, "state": ev.state, "reason": ev.reason,  # type: ignore[index]
                                             "queue": ev.queue, "started_at": t}  # fmt: skip
            return
        cid = ev.contact_id or ""
        row = self.open_contacts.get(cid)
        if ev.type == "contact.offered":
            q = self.config.queues.get(ev.queue or "")
            # offered_at is the arrival (IVR entry: the queue entry less the IVR time); waits run from queue entry
            self.open_contacts[cid] = {
                "contact_id": cid, "queue": ev.queue, "center": ev.center or (q.center if q else None),
                "channel": ev.channel or (q.channel if q else None),
                "direction": q.direction if q else "inbound", "offered_at": t - (ev.ivr_s or 0.0), "entered_at": t,
                "answered_at": None, "agent_id": None, "ivr_s": ev.ivr_s, "customer_id": ev.customer_id,
                "business_type": ev.business_type,
            }  # fmt: skip
            return
        if row is None:  # an event of a leg whose offer we never saw: land what we know; the loader says what's missing
            row = {"contact_id": cid, "queue": ev.queue, "center": ev.center, "channel": None, "direction": None,
                   "offered_at": None, "entered_at": None, "answered_at": None, "agent_id": None}  # fmt: skip
            self.open_contacts[cid] = row
        if ev.type == "contact.answered":
            row["answered_at"] = t
            row["agent_id"] = ev.agent_id or row["agent_id"]
            row["center"] = ev.center or row["center"]
            return
        del self.open_contacts[cid]
        answered = row["answered_at"]
        outcome = _END_OUTCOME.get(ev.type)
        if outcome is None:  # contact.ended
            outcome = "callback" if ev.reason == "callback" else ("answered" if answered is not None else "abandoned")
        start = row.pop("entered_at", row["offered_at"])  # rows reopened from an older landing state lack it
        wait = None if start is None else max(0.0, (answered if answered is not None else t) - start)
        talk = None if answered is None else max(0.0, t - answered)
        self.contacts.append({**row, "agent_id": ev.agent_id or row["agent_id"], "ended_at": t, "outcome": outcome,
                              "wait_s": wait, "talk_s": talk, "csat": ev.csat, "nps": ev.nps})  # fmt: skip

    def take(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The finished rows so far (and forget them)."""
        out = (self.contacts, self.states)
        self.contacts, self.states = [], []
        return out

    def state(self) -> dict[str, Any]:
        """What is still open, JSON-ready (finished rows must have been taken)."""
        return {"open_contacts": self.open_contacts, "open_states": self.open_states}

    def restore(self, data: dict[str, Any]) -> None:
        """Reopen what :meth:`state` saved."""
        self.open_contacts = dict(data.get("open_contacts") or {})
        self.open_states = dict(data.get("open_states") or {})


def _column(table: schema.Table, name: str, values: list[Any]) -> pa.Array:
    ctype = table.column(name).type
    if ctype is schema.ColumnType.TIMESTAMP:
        return pa.array([None if v is None else datetime.fromtimestamp(v, UTC) for v in values],
                        pa.timestamp("us", tz="UTC"))  # fmt: skip
    if ctype is schema.ColumnType.FLOAT:
        return pa.array(values, pa.float64())
    return pa.array(values, pa.string())


def rows_table(table: schema.Table, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> pa.Table:
    """Finished rows as an Arrow table of canonical columns."""
    return pa.table({c: _column(table, c, [r.get(c) for r in rows]) for c in columns})


def load_rows(wh: Warehouse, tenant_id: str, folder: Path, name: str, contacts: list[dict[str, Any]],
              states: list[dict[str, Any]]) -> dict[str, LoadSummary]:  # fmt: skip
    """Load finished rows as one batch per table (Parquet files ``<name>-<table>.parquet`` in ``folder``, kept
    until their load commits) through the canonical mapping; returns the summaries of the tables with rows."""
    from callops import tenancy

    tenant = tenancy.get_tenant(wh, tenant_id)
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, LoadSummary] = {}
    for table, cols, rows in ((schema.CONTACTS, _CONTACT_COLS, contacts), (schema.AGENT_STATES, _STATE_COLS, states)):
        if not rows:
            continue
        path = folder / f"{name}-{table.name}.parquet"
        pq.write_table(rows_table(table, cols, rows), path)
        out[table.name] = load_files(wh, tenant, table.name, [path], load_mapping("canonical", table.name))
        path.unlink()
    return out


@dataclass
class Landing:
    """One pass of a lander: lines read, rows landed per table (with their load summaries) and timings."""

    lines: int = 0
    events: int = 0
    skipped_lines: int = 0
    loads: dict[str, LoadSummary] = field(default_factory=dict)
    open_contacts: int = 0
    contact_ids: list[str] = field(default_factory=list)  # the contacts this pass landed (lag measurements)
    landed_at: float = 0.0  # wall clock (epoch s) when the loads committed
    seconds: float = 0.0
    busy: bool = False  # another process held the tenant's landing lock: this pass read nothing

    @property
    def rows(self) -> int:
        """Rows read by this pass's loads."""
        return sum(s.read for s in self.loads.values())

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"lines": self.lines, "events": self.events, "skipped_lines": self.skipped_lines,
                "open_contacts": self.open_contacts, "seconds": round(self.seconds, 3),
                "loads": {k: v.as_dict() for k, v in self.loads.items()}}  # fmt: skip


def _read_new(folder: Path, files: list[Path], cursor: dict[str, Any], limit: int) -> tuple[list[str], dict[str, Any]]:
    """Complete lines after ``cursor`` ({"file", "offset"}) across the day files, at most ``limit``."""
    out: list[str] = []
    name, offset = cursor.get("file") or "", int(cursor.get("offset") or 0)
    for path in files:
        if path.name < name:
            continue
        start = offset if path.name == name else 0
        with path.open("rb") as f:
            f.seek(start)
            data = f.read()
        end = data.rfind(b"\n") + 1  # a line still being written is read next time
        pos = start
        for raw in data[:end].splitlines(keepends=True):
            pos += len(raw)
            out.append(raw.decode("utf-8", errors="replace"))
            if len(out) >= limit:
                return out, {"file": path.name, "offset": pos}
        name, offset = path.name, start + end
    return out, {"file": name, "offset": offset}


class Lander:
    """Follows one tenant's event log and lands what it completed (see the module doc)."""

    def __init__(self, config: LiveConfig, home: Path | None = None) -> None:
        self.config = config
        self.tenant = config.tenant
        self.home = home
        self.folder = log_dir(self.tenant, home)
        self.state_path = self.folder / STATE_FILE
        self.collector = Collector(config)
        self.cursor: dict[str, Any] = {}
        self.batches = 0
        self._load_state()

    def _load_state(self) -> None:
        if not self.state_path.exists():
            return
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise CallopsError(f"{self.state_path}: unreadable landing state ({exc}); delete it to land the log "
                               "again from its start (rows already landed count as unchanged)") from None
        cursor = data.get("cursor") or {}
        path = self.folder / str(cursor.get("file") or "")
        if cursor.get("file") and (not path.exists() or path.stat().st_size < int(cursor.get("offset") or 0)):
            return  # the log was replaced (a new demo day): start again from its beginning
        self.cursor = cursor
        self.batches = int(data.get("batches") or 0)
        self.collector.restore(data)

    def _save_state(self) -> None:
        tmp = self.state_path.with_suffix(".tmp")
        data = {"cursor": self.cursor, "batches": self.batches, **self.collector.state()}
        with tmp.open("w", encoding="utf-8") as f:
            json.dump(data, f, separators=(",", ":"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.state_path)

    def reset(self) -> None:
        """Forget the position and what is open (the log was deleted); the next pass starts from the log's start."""
        self.cursor, self.batches = {}, 0
        self.collector = Collector(self.config)
        self.state_path.unlink(missing_ok=True)

    def land(self, wh: Warehouse, limit: int = MAX_LINES) -> Landing:
        """Read the log written since the last pass and load what finished; then save the new position.

        A pass holds the tenant's ``landing.lock`` (an exclusive ``flock``) and starts from the saved state, so
        two processes that both land a log (a home server and a ``live serve`` that took the tenant over) take
        turns from one position instead of repeating each other's batches; a pass that finds the lock held lands
        nothing (``busy``). A pass that fails leaves the saved state as it was and goes back to it: the next pass
        repeats it."""
        import fcntl

        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / LOCK_FILE).open("a") as lock:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return Landing(busy=True)
            self._reload()  # another process may have landed since this one's last pass
            try:
                return self._land(wh, limit)
            except BaseException:
                self._reload()
                raise

    def _reload(self) -> None:
        self.cursor, self.batches, self.collector = {}, 0, Collector(self.config)
        self._load_state()

    def _land(self, wh: Warehouse, limit: int) -> Landing:
        t0 = time.perf_counter()
        result = Landing()
        lines, cursor = _read_new(self.folder, log_files(self.tenant, self.home), self.cursor, limit)
        result.lines = len(lines)
        for line in lines:
            text = line.strip()
            if not text or text.startswith(ACTION_PREFIX):
                continue
            try:
                ev = parse_event(text)
            except EventError:
                result.skipped_lines += 1  # a torn write the hub skipped as well
                continue
            result.events += 1
            self.collector.add(ev)
        contacts, states = self.collector.take()
        result.contact_ids = [c["contact_id"] for c in contacts]
        if contacts or states:
            start = f"{self.cursor.get('file', 'start')}@{self.cursor.get('offset', 0)}"
            name = f"live-{self.batches + 1:06d}-{start}-{cursor['file']}@{cursor['offset']}".replace("events-", "")
            result.loads = load_rows(wh, self.tenant, self.folder / BATCH_DIR, name.replace(".jsonl", ""),
                                     contacts, states)  # fmt: skip
            self.batches += 1
        result.landed_at = time.time()
        if cursor != self.cursor or result.loads:
            self.cursor = cursor
            self._save_state()
        result.open_contacts = len(self.collector.open_contacts)
        result.seconds = time.perf_counter() - t0
        return result

    def land_all(self, wh: Warehouse) -> list[Landing]:
        """Land until the log has nothing new."""
        out = []
        while True:
            r = self.land(wh)
            out.append(r)
            if r.lines < MAX_LINES:
                return out


WarehouseOpener = Callable[[], AbstractContextManager[Warehouse]]


class LandingWorker:
    """A thread that runs a :class:`Lander` every ``interval_s`` seconds (and once more when stopped)."""

    def __init__(self, lander: Lander, open_warehouse: WarehouseOpener, interval_s: float = DEFAULT_INTERVAL_S,
                 on_landed: Callable[[Landing], None] | None = None) -> None:  # fmt: skip
        self.lander = lander
        self.open_warehouse = open_warehouse
        self.interval_s = interval_s
        self.on_landed = on_landed
        self.errors: list[str] = []
        self.landings = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> Landing | None:
        """One pass; a failure (warehouse busy, tenant missing) is kept in :attr:`errors` and retried next time."""
        try:
            with self.open_warehouse() as wh:
                r = self.lander.land(wh)
        except Exception as exc:  # the thread must outlive a bad pass: the next one starts from the saved state
            if not self.errors or self.errors[-1] != str(exc):
                log.warning("landing %s failed: %s (retried every %g s)", self.lander.tenant, exc, self.interval_s)
            self.errors.append(str(exc))
            del self.errors[:-20]
            return None
        if r.loads:
            self.landings += 1
            if self.on_landed is not None:
                self.on_landed(r)
        return r

    def _run(self) -> None:
        self.run_once()  # what the log already holds lands at once
        while not self._stop.wait(self.interval_s):
            self.run_once()
        self.run_once()

    def start(self) -> LandingWorker:
        """Start the thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"landing-{self.lander.tenant}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Land what is left and stop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)


class ReplayLanding:
    """Lands an event stream that has no log (``callops live replay``): feed it the events the engine accepted;
    :meth:`flush` loads what finished (every ``interval_s`` of wall time, and at the end)."""

    def __init__(self, wh: Warehouse, config: LiveConfig, folder: Path, interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self.wh = wh
        self.collector = Collector(config)
        self.tenant = config.tenant
        self.folder = folder
        self.interval_s = interval_s
        self.loads: list[LoadSummary] = []
        self._last = time.monotonic()
        self._n = 0

    def add(self, raw: str | bytes | dict[str, Any]) -> None:
        """An event the engine accepted."""
        try:
            self.collector.add(parse_event(raw))
        except EventError:
            return
        if self.interval_s and time.monotonic() - self._last >= self.interval_s:
            self.flush()

    def flush(self) -> None:
        """Load what finished so far."""
        self._last = time.monotonic()
        contacts, states = self.collector.take()
        if contacts or states:
            self._n += 1
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
            self.loads.extend(load_rows(self.wh, self.tenant, self.folder, f"replay-{stamp}-{self._n:04d}",
                                        contacts, states).values())  # fmt: skip

    def summary(self) -> dict[str, Any]:
        """Rows landed per table, summed over the batches, with the load ids."""
        out: dict[str, Any] = {"load_ids": [s.load_id for s in self.loads],
                               "open_contacts": len(self.collector.open_contacts)}  # fmt: skip
        for s in self.loads:
            t = out.setdefault(s.table, dict.fromkeys(("read", "loaded", "updated", "unchanged", "rejected",
                                                       "skipped"), 0))  # fmt: skip
            for k in t:
                t[k] += getattr(s, k)
        return out


def land_lines(wh: Warehouse, config: LiveConfig, lines: Iterable[str], folder: Path) -> dict[str, Any]:
    """Land every event of ``lines`` (already accepted events, e.g. a day file) in one batch; the summary."""
    landing = ReplayLanding(wh, config, folder, interval_s=0)
    for line in _events_only(lines):
        landing.add(line)
    landing.flush()
    return landing.summary()


def _events_only(lines: Iterable[str]) -> Iterator[str]:
    for line in lines:
        text = line.strip()
        if text and not text.startswith(ACTION_PREFIX):
            yield text


@contextmanager
def _app_warehouse(resources: Any) -> Iterator[Warehouse]:
    """The serving app's one DuckDB connection, held under its writers' lock (how every landing writes)."""
    wh = resources.open_warehouse()
    with resources.warehouse_lock:
        yield wh


def start_landing(hub: Any, resources: Any, interval_s: float = DEFAULT_INTERVAL_S,
                  on_landed: Callable[[Landing], None] | None = None) -> LandingWorker:  # fmt: skip
    """Land ``hub``'s log continuously into the warehouse of a running app (its :class:`callops.api.deps.Resources`:
    the one DuckDB connection of the process, used under its lock)."""
    lander = Lander(hub.engine.config, hub.log.folder.parent.parent if hub.log is not None else None)
    return LandingWorker(lander, lambda: _app_warehouse(resources), interval_s, on_landed).start()


def land_served_hubs(resources: Any, interval_s: float = DEFAULT_INTERVAL_S) -> Callable[[], None]:
    """In a serving process: land every durable hub's log into the app's warehouse - the hubs open now and those
    :func:`~callops.realtime.hub.hub_for` opens later (a first ``POST /api/live/events``). Returns ``stop()``,
    which lands what is left and stops the workers."""
    from callops.realtime.hub import on_new_hub, open_hubs

    workers: dict[str, LandingWorker] = {}
    lock = threading.Lock()

    def start(hub: Any) -> None:
        with lock:
            if hub.log is not None and hub.tenant not in workers:
                workers[hub.tenant] = start_landing(hub, resources, interval_s)

    forget = on_new_hub(start)
    for hub in open_hubs().values():
        start(hub)

    def stop() -> None:
        forget()
        with lock:
            for w in workers.values():
                w.stop()
            workers.clear()

    return stop


MEMBERS_THREAD = "landing-members"


def member_run_tenants(home: Path | None = None) -> list[str]:
    """Tenants whose live log a cluster member writes (``callops live cluster run``): those with the member's
    stream position (``cluster.json``) beside their log, sorted."""
    from callops.realtime.cluster import POSITION_FILE
    from callops.settings import callops_home

    root = (home or callops_home()) / "live"  # the parent of every tenant's eventlog.log_dir
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / POSITION_FILE).is_file())


def land_member_logs(resources: Any, interval_s: float = DEFAULT_INTERVAL_S,
                     home: Path | None = None) -> Callable[[], None]:  # fmt: skip
    """In a home's serving process: land the logs its cluster members write into the home's warehouse.

    Members never open the warehouse (DuckDB admits one process per file), so the home's ``callops serve`` follows
    their logs on the shared ``CALLOPS_HOME``: every ``interval_s`` one thread (``landing-members``) lands each
    member-run tenant that has no durable hub in this process (those land through :func:`land_served_hubs`), with
    the same :class:`Lander` as a hub's, so batches, positions and the ``landing.lock`` are the same whichever
    process lands. A tenant whose pass fails (not in the warehouse yet, say) is retried at the next round.
    Returns ``stop()``, which lands what is left and stops the thread."""
    from callops.realtime.config import load_config
    from callops.realtime.eventlog import log_dir
    from callops.realtime.hub import open_hubs

    landers: dict[str, Lander] = {}
    errors: dict[str, str] = {}
    stop_event = threading.Event()

    def one_round() -> None:
        served = {t for t, hub in open_hubs().items() if hub.log is not None}
        for tenant in member_run_tenants(home):
            if tenant in served:
                continue
            try:
                lander = landers.get(tenant)
                if lander is None:
                    cfg = log_dir(tenant, home) / "live.yaml"
                    lander = landers[tenant] = Lander(load_config(cfg if cfg.exists() else None, tenant), home)
                with _app_warehouse(resources) as wh:
                    lander.land(wh)
                errors.pop(tenant, None)
            except Exception as exc:  # the thread outlives a bad pass; the next round starts from the saved state
                if errors.get(tenant) != str(exc):
                    log.warning("landing %s (cluster member's log) failed: %s (retried every %g s)", tenant, exc,
                                interval_s)  # fmt: skip
                errors[tenant] = str(exc)

    def run() -> None:
        one_round()
        while not stop_event.wait(interval_s):
            one_round()
        one_round()

    thread = threading.Thread(target=run, name=MEMBERS_THREAD, daemon=True)
    thread.start()

    def stop() -> None:
        stop_event.set()
        thread.join(timeout=60)

    return stop
