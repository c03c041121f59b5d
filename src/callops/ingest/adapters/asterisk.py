"""Asterisk ``queue_log`` adapter: queue events become ``contacts`` or ``agent_states`` rows.

Two layouts are detected per file from its first non-blank line:

* the flat file written by Asterisk, pipe-delimited:
  ``epoch|callid|queuename|agent|event|data1|data2|...`` (field counts vary, trailing empty
  fields may be missing; runs of NUL bytes left by an unclean shutdown are stripped);
* a database-table export, CSV with a header line (the header is line 1 and is not a record):
  the realtime columns ``time, callid, queuename, agent, event, data`` (``data`` pipe-joined)
  or ``data1..data5``, or the Bicom PBXware layout ``uid, date_time (epoch), callid, queue_name,
  type (= agent), event, param1..param3, entpos, expos, htime, ttime, time (local text)``.
  An epoch column (``date_time``, or ``time`` holding digits) is preferred; a text datetime
  without a zone is read in the tenant's ``timezone``.

Epoch seconds are UTC instants; every timestamp is written as ISO-8601 in UTC with its offset
(``2010-02-22T10:18:31+00:00``). Durations are decimal strings of seconds.

Events of all files are put in time order (ties keep file order, files ordered by their first
timestamp, so rotated files may be given in any order) before calls and agent timelines are
built, so a call may start in one rotated file and end in the next: its row then belongs to
the file of the event that closed it.

Accounting (every line counted exactly once): ``records_read`` counts every line that has at
least one character besides its line ending. Completely empty lines are not records and are
not counted; a line made only of NUL bytes and/or whitespace is read and skipped as
"blank line (only NUL bytes or whitespace)". Each read line is then exactly one of: the line
that produced an output row, a reject (too few fields, bad timestamp, no event name), or a
skip with a reason. Lines folded into a row besides the one that produced it are skipped as
"event merged into its contact". Hence ``len(rows) + len(rejects) + sum(skipped) == records_read``.

Contacts (one per ENTERQUEUE): ``contact_id`` is the callid (Asterisk uniqueid); when the same
callid enters a queue again (e.g. a transfer to another queue), the later entries get ``#2``,
``#3``... in time order. CONNECT gives ``answered_at``, ``wait_s`` (holdtime) and ``agent_id``;
COMPLETEAGENT/COMPLETECALLER close it as answered (``talk_s`` = calltime); TRANSFER,
BLINDTRANSFER and ATTENDEDTRANSFER close it as transferred (holdtime/calltime taken from the
trailing numeric data fields); ABANDON, EXITWITHTIMEOUT, EXITEMPTY and EXITWITHKEY close it as
abandoned (``wait_s`` = logged waittime, else seconds since ENTERQUEUE). The row's ``_line`` is
the closing event; its ENTERQUEUE and CONNECT lines are "event merged into its contact".
RINGNOANSWER/RINGCANCELED lines (an agent was rung and did not answer) are counted only, under
their own skip reason; nothing from them is kept. A call with no final event by the end of the
files is not loaded: one line per call is skipped as "call still open at end of log (no final
event)", its other lines as merged. ``customer_id`` is the ENTERQUEUE caller id unless it is
empty, "anonymous" or "unknown"; ``center`` is left empty.

Agent states: AGENTLOGIN/AGENTCALLBACKLOGIN/ADDMEMBER and UNPAUSE/UNPAUSEALL start "ready",
PAUSE/PAUSEALL start "aux" (with the pause reason), AGENTLOGOFF/AGENTCALLBACKLOGOFF/REMOVEMEMBER
start "offline". One timeline per agent (not per queue): ``queue`` is the queue of the event
that set the state, ``ended_at`` the next kept change of that agent (empty for the last). The
row's ``_line`` is the line of the change that starts it. Two changes in the same second: the
last is kept, the others are skipped as "superseded state change in the same second"; a change
to the state (and reason) the agent is already in is skipped as "no state change". Busy periods
(CONNECT to COMPLETE) are not emitted. Agent interfaces are normalised (``Local/2004@from-internal/n``,
``SIP/1001``, ``Agent/1109`` become ``2004``, ``1001``, ``1109``); a member *name* written
instead of the interface (Issabel writes ``Sathish`` on UNPAUSE but ``SIP/1001`` on ADDMEMBER)
is kept as-is and is therefore a separate agent: a known limitation of the source.
"""

from __future__ import annotations

import csv
import re
import zoneinfo
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from callops.errors import CallopsError
from callops.ingest.adapters import AdapterOutput, AdapterReject

MERGED = "event merged into its contact"
OPEN_CALL = "call still open at end of log (no final event)"
REENTERED = "call entered the same queue again before a final event"
SUPERSEDED = "superseded state change in the same second"
BLANK = "blank line (only NUL bytes or whitespace)"

CONTACT_COLUMNS = [
    "contact_id", "queue", "channel", "direction", "customer_id", "offered_at", "answered_at",
    "ended_at", "wait_s", "talk_s", "outcome", "agent_id", "transfers",
]
STATE_COLUMNS = ["agent_id", "state", "reason", "queue", "started_at", "ended_at"]

_ANSWERED = {"COMPLETEAGENT", "COMPLETECALLER"}
_TRANSFERRED = {"TRANSFER", "BLINDTRANSFER", "ATTENDEDTRANSFER"}
# Abandon-like events and the index of their waittime data field.
_ABANDONED = {"ABANDON": 2, "EXITWITHTIMEOUT": 2, "EXITEMPTY": 2, "EXITWITHKEY": 3}
_RINGS = {"RINGNOANSWER", "RINGCANCELED"}
_STATE_EVENTS = {
    "AGENTLOGIN": "ready",
    "AGENTCALLBACKLOGIN": "ready",
    "ADDMEMBER": "ready",
    "UNPAUSE": "ready",
    "UNPAUSEALL": "ready",
    "PAUSE": "aux",
    "PAUSEALL": "aux",
    "AGENTLOGOFF": "offline",
    "AGENTCALLBACKLOGOFF": "offline",
    "REMOVEMEMBER": "offline",
}
_NO_CUSTOMER = {"", "anonymous", "unknown"}
_EPOCH = re.compile(r"^\d+(\.\d+)?$")
_INT = re.compile(r"^\d+$")
_INTERFACE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*/([^@/]+)")

# Table layout: canonical field -> accepted header names, in order of preference.
_HEADER_NAMES = {
    "callid": ("callid", "call_id", "uniqueid"),
    "queue": ("queuename", "queue_name", "queue"),
    "agent": ("agent", "type", "membername"),
    "event": ("event",),
}
_TIME_NAMES = ("date_time", "time", "timestamp", "datetime")


@dataclass(frozen=True)
class _Event:
    """One parsed queue_log record."""

    file: int
    line: int
    ts: float
    callid: str
    queue: str
    agent: str
    event: str
    data: tuple[str, ...]


@dataclass
class _Tally:
    """Rejects, skips and lines read of one adapter run."""

    rejects: list[AdapterReject] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    read: int = 0

    def skip(self, reason: str, n: int = 1) -> None:
        """Count ``n`` lines skipped for ``reason``."""
        if n > 0:
            self.skipped[reason] += n

    def reject(self, path: Path, line: int, column: str | None, reason: str, raw: str) -> None:
        """Record a line that could not be parsed."""
        self.rejects.append(AdapterReject(str(path), line, column, reason, raw))


# ---------------------------------------------------------------------------------------------------- entry point


def read_queue_log(paths: list[Path], table: str, timezone: str) -> AdapterOutput:
    """Read Asterisk queue_log files (flat or table export) into candidate rows of ``table``.

    ``table`` is "contacts" or "agent_states"; ``timezone`` (IANA name) is used only for text
    datetimes without a zone in table exports. See the module docstring for the rules and the
    line accounting (``len(rows) + len(rejects) + sum(skipped.values()) == records_read``).
    """
    if table not in ("contacts", "agent_states"):
        raise CallopsError(
            f"the asterisk_queue_log adapter loads only 'contacts' or 'agent_states', not {table!r}"
        )
    zone = _zone(timezone)
    tally = _Tally()
    per_file = [read_events(Path(p), i, zone, tally) for i, p in enumerate(paths)]
    events = order_events(per_file)
    if table == "contacts":
        rows, columns = build_contacts(events, tally), CONTACT_COLUMNS
    else:
        rows, columns = build_agent_states(events, tally), STATE_COLUMNS
    return AdapterOutput(
        rows=_to_arrow(rows, columns),
        columns=list(columns),
        rejects=tally.rejects,
        skipped=dict(tally.skipped),
        records_read=tally.read,
    )


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise CallopsError(f"unknown time zone {name!r}; use an IANA name such as Europe/Berlin") from None


def _to_arrow(rows: list[dict], columns: list[str]) -> pa.Table:
    fields = [pa.field("_file", pa.int32()), pa.field("_line", pa.int64())]
    fields += [pa.field(c, pa.string()) for c in columns]
    schema = pa.schema(fields)
    data = {f.name: [r.get(f.name) for r in rows] for f in fields}
    return pa.table(data, schema=schema)


# ---------------------------------------------------------------------------------------------------- reading


def read_events(path: Path, index: int, zone: zoneinfo.ZoneInfo, tally: _Tally) -> list[_Event]:
    """Parse one file (layout auto-detected) into events; count lines, rejects and blank lines in ``tally``."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final line ending does not start another line
    lines = [ln.removesuffix("\r") for ln in lines]
    first = next((ln.strip("\0").strip() for ln in lines if ln.strip("\0").strip()), "")
    if _is_table_header(first):
        return _table_events(path, index, lines, zone, tally)
    return _flat_events(path, index, lines, tally)


def _is_table_header(line: str) -> bool:
    names = {n.strip().strip('"').lower() for n in line.split(",")}
    return "event" in names and bool(names & set(_HEADER_NAMES["callid"]))


def _flat_events(path: Path, index: int, lines: list[str], tally: _Tally) -> list[_Event]:
    events = []
    for number, raw in enumerate(lines, start=1):
        if raw == "":
            continue
        tally.read += 1
        line = raw.strip("\0")
        if not line.strip():
            tally.skip(BLANK)
            continue
        event = _flat_event(path, index, number, line, tally)
        if event is not None:
            events.append(event)
    return events


def _flat_event(path: Path, index: int, number: int, line: str, tally: _Tally) -> _Event | None:
    parts = line.split("|")
    if len(parts) < 5:
        tally.reject(path, number, None, f"too few fields ({len(parts)} < 5): expected epoch|callid|queue|agent|event",
                     line)
        return None
    stamp = parts[0].strip()
    if not _EPOCH.match(stamp):
        tally.reject(path, number, "time", f"timestamp is not epoch seconds: {stamp!r}", line)
        return None
    name = parts[4].strip().upper()
    if not name:
        tally.reject(path, number, "event", "empty event name", line)
        return None
    data = _trim([p.strip() for p in parts[5:]])
    return _Event(index, number, float(stamp), parts[1].strip(), parts[2].strip(), parts[3].strip(), name, data)


def _trim(values: list[str]) -> tuple[str, ...]:
    while values and values[-1] == "":
        values.pop()
    return tuple(values)


# ---------------------------------------------------------------------------------------------------- table layout


@dataclass(frozen=True)
class _Header:
    """Column positions of a table export."""

    names: list[str]
    pos: dict[str, int]
    time_cols: list[str]
    pbxware: bool

    def get(self, row: list[str], name: str) -> str:
        """Value of column ``name`` in ``row`` ('' when absent)."""
        i = self.pos.get(name)
        return row[i].strip() if i is not None and i < len(row) else ""


def _header(row: list[str]) -> _Header:
    names = [n.strip().strip("\0").lower() for n in row]
    pos: dict[str, int] = {}
    for i, n in enumerate(names):
        pos.setdefault(n, i)
    time_cols = [n for n in _TIME_NAMES if n in pos]
    return _Header(names, pos, time_cols, pbxware="htime" in pos and "param1" in pos)


def _csv_records(lines: list[str]) -> Iterator[tuple[int, int, list[str]]]:
    """Yield (first line, last line, fields) of each CSV record; NULs are removed first."""
    reader = csv.reader(ln.replace("\0", "") + "\n" for ln in lines)
    last = 0
    for row in reader:
        start, last = last + 1, reader.line_num
        yield start, last, row


def _table_events(path: Path, index: int, lines: list[str], zone: zoneinfo.ZoneInfo, tally: _Tally) -> list[_Event]:
    header: _Header | None = None
    events = []
    for start, end, row in _csv_records(lines):
        raw = "\n".join(lines[start - 1:end])
        if raw == "":
            continue
        if header is None and any(v.strip() for v in row):
            header = _header(row)
            continue
        tally.read += 1
        if header is None or not any(v.strip() for v in row):
            tally.skip(BLANK)
            continue
        event = _table_event(path, index, start, row, raw.replace("\0", ""), header, zone, tally)
        if event is not None:
            events.append(event)
    return events


def _table_event(
    path: Path, index: int, number: int, row: list[str], raw: str, h: _Header, zone: zoneinfo.ZoneInfo, tally: _Tally
) -> _Event | None:
    if len(row) < 5:
        tally.reject(path, number, None, f"too few fields ({len(row)} < 5)", raw)
        return None
    ts = _row_time(row, h, zone)
    if ts is None:
        column = h.time_cols[0] if h.time_cols else "time"
        value = h.get(row, column)
        tally.reject(path, number, column, f"timestamp is neither epoch seconds nor a datetime: {value!r}", raw)
        return None
    name = _pick(h, row, "event").upper()
    if not name:
        tally.reject(path, number, "event", "empty event name", raw)
        return None
    data = _pbxware_data(name, h, row) if h.pbxware else _table_data(h, row)
    return _Event(index, number, ts, _pick(h, row, "callid"), _pick(h, row, "queue"), _pick(h, row, "agent"), name,
                  data)


def _pick(h: _Header, row: list[str], what: str) -> str:
    for name in _HEADER_NAMES[what]:
        if name in h.pos:
            return h.get(row, name)
    return ""


def _row_time(row: list[str], h: _Header, zone: zoneinfo.ZoneInfo) -> float | None:
    """Epoch of the row: an epoch column first, else a text datetime (zone-less text is in ``zone``)."""
    values = [h.get(row, c) for c in h.time_cols]
    for v in values:
        if _EPOCH.match(v):
            return float(v)
    for v in values:
        ts = _parse_datetime(v, zone)
        if ts is not None:
            return ts
    return None


def _parse_datetime(text: str, zone: zoneinfo.ZoneInfo) -> float | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.timestamp()


def _table_data(h: _Header, row: list[str]) -> tuple[str, ...]:
    if "data" in h.pos and "data1" not in h.pos:
        return _trim([p.strip() for p in h.get(row, "data").split("|")])
    return _trim([h.get(row, f"data{i}") for i in range(1, 6)])


def _pbxware_data(event: str, h: _Header, row: list[str]) -> tuple[str, ...]:
    """Rebuild the standard data fields from PBXware's pre-parsed columns (entpos, expos, htime, ttime)."""
    p1, p2, p3 = (h.get(row, f"param{i}") for i in (1, 2, 3))
    entpos, expos, htime, ttime = (h.get(row, c) for c in ("entpos", "expos", "htime", "ttime"))
    if event == "ENTERQUEUE":
        values = ["", p1, entpos]
    elif event == "CONNECT":
        values = [htime, p2, p3]
    elif event in _ANSWERED:
        values = [htime, ttime, entpos]
    elif event in _TRANSFERRED:
        values = [p1, p2, htime, ttime, entpos]
    elif event == "EXITWITHKEY":
        values = [p1, expos, entpos, htime]
    elif event in _ABANDONED:
        values = [expos, entpos, htime]
    else:
        values = [p1, p2, p3]
    return _trim(values)


# ---------------------------------------------------------------------------------------------------- ordering


def order_events(per_file: list[list[_Event]]) -> list[_Event]:
    """All events in time order; ties keep file order, files ranked by their first timestamp."""
    firsts = [min((e.ts for e in evs), default=float("inf")) for evs in per_file]
    rank = {i: r for r, i in enumerate(sorted(range(len(per_file)), key=lambda i: (firsts[i], i)))}
    events = [e for evs in per_file for e in evs]
    events.sort(key=lambda e: (e.ts, rank[e.file], e.line))
    return events


def iso(ts: float) -> str:
    """ISO-8601 UTC text with offset for epoch seconds ``ts``."""
    return datetime.fromtimestamp(ts, UTC).isoformat()


def seconds(value: float) -> str:
    """Duration text: integral seconds without a decimal point."""
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}".rstrip("0")


def normalize_agent(raw: str) -> str | None:
    """Agent id from a member interface (``Local/2004@ctx/n`` -> ``2004``); names are kept; NONE -> None."""
    value = raw.strip()
    if not value or value.upper() == "NONE":
        return None
    match = _INTERFACE.match(value)
    return match.group(1) if match else value


def _none_if_system(value: str) -> str | None:
    return None if not value or value.upper() == "NONE" else value


# ---------------------------------------------------------------------------------------------------- contacts


@dataclass
class _Call:
    """A queued call being assembled."""

    contact_id: str
    enter: _Event
    connect: _Event | None = None
    lines: int = 1


def build_contacts(events: list[_Event], tally: _Tally) -> list[dict]:
    """Pair ENTERQUEUE with CONNECT and the final event of each call into contact rows."""
    open_calls: dict[tuple[str, str], _Call] = {}
    entries: Counter[str] = Counter()
    rows: list[dict] = []
    for ev in events:
        key = (ev.callid, ev.queue)
        if ev.event == "ENTERQUEUE":
            _enter(ev, key, open_calls, entries, tally)
        elif ev.event in _RINGS:
            tally.skip(f"agent rung without answer, counted only ({ev.event})")
        elif ev.event == "CONNECT" and key in open_calls:
            call = open_calls[key]
            call.connect = call.connect or ev
            call.lines += 1
        elif _is_final(ev.event) and key in open_calls:
            call = open_calls.pop(key)
            rows.append(contact_row(call, ev))
            tally.skip(MERGED, call.lines)
        elif ev.event == "CONNECT" or _is_final(ev.event):
            tally.skip(f"call event without an open ENTERQUEUE ({ev.event})")
        else:
            tally.skip(f"not a contact event ({ev.event})")
    for call in open_calls.values():
        tally.skip(OPEN_CALL)
        tally.skip(MERGED, call.lines - 1)
    return rows


def _is_final(name: str) -> bool:
    return name in _ANSWERED or name in _TRANSFERRED or name in _ABANDONED


def _enter(ev: _Event, key: tuple[str, str], open_calls: dict[tuple[str, str], _Call], entries: Counter[str],
           tally: _Tally) -> None:
    previous = open_calls.pop(key, None)
    if previous is not None:
        tally.skip(REENTERED)
        tally.skip(MERGED, previous.lines - 1)
    entries[ev.callid] += 1
    n = entries[ev.callid]
    open_calls[key] = _Call(ev.callid if n == 1 else f"{ev.callid}#{n}", ev)


def contact_row(call: _Call, final: _Event) -> dict:
    """The contact row of ``call`` closed by ``final``."""
    enter, connect = call.enter, call.connect
    row: dict = {
        "_file": final.file,
        "_line": final.line,
        "contact_id": call.contact_id,
        "queue": _none_if_system(enter.queue),
        "channel": "voice",
        "direction": "inbound",
        "customer_id": _customer(enter),
        "offered_at": iso(enter.ts),
        "answered_at": iso(connect.ts) if connect else None,
        "ended_at": iso(final.ts),
        "agent_id": None,
        "transfers": "0",
    }
    if final.event in _ABANDONED:
        row.update(outcome="abandoned", wait_s=_abandon_wait(call, final), talk_s=None)
    else:
        row.update(_handled(call, final))
    return row


def _customer(enter: _Event) -> str | None:
    caller = enter.data[1].strip() if len(enter.data) > 1 else ""
    return None if caller.lower() in _NO_CUSTOMER else caller


def _field(data: tuple[str, ...], i: int) -> str | None:
    return data[i] if i < len(data) and data[i] != "" else None


def _abandon_wait(call: _Call, final: _Event) -> str:
    logged = _field(final.data, _ABANDONED[final.event])
    return logged if logged is not None else seconds(final.ts - call.enter.ts)


def _handled(call: _Call, final: _Event) -> dict:
    """Outcome, times and agent of an answered or transferred call."""
    if final.event in _TRANSFERRED:
        hold, talk = transfer_times(final.data)
        outcome, transfers = "transferred", "1"
    else:
        hold, talk = _field(final.data, 0), _field(final.data, 1)
        outcome, transfers = "answered", "0"
    connect = call.connect
    wait = _field(connect.data, 0) if connect else None
    values = {
        "outcome": outcome,
        "transfers": transfers,
        "wait_s": wait if wait is not None else hold,
        "talk_s": talk,
        "agent_id": normalize_agent(connect.agent if connect else final.agent),
    }
    if connect is None and talk is not None and _EPOCH.match(talk):
        values["answered_at"] = iso(final.ts - float(talk))
    return values


def transfer_times(data: tuple[str, ...]) -> tuple[str | None, str | None]:
    """(holdtime, calltime) of a transfer event: the numeric fields before origposition, or the last two."""
    if len(data) >= 3 and all(_INT.match(v) for v in data[-3:]):
        return data[-3], data[-2]
    if len(data) >= 2 and all(_INT.match(v) for v in data[-2:]):
        return data[-2], data[-1]
    return None, None


# ---------------------------------------------------------------------------------------------------- agent states


@dataclass
class _Change:
    """A state change of one agent."""

    ev: _Event
    agent: str
    state: str
    reason: str | None
    started: str


def build_agent_states(events: list[_Event], tally: _Tally) -> list[dict]:
    """Member events turned into one state timeline per agent."""
    timelines: dict[str, list[_Change]] = {}
    for ev in events:
        change = _change(ev, tally)
        if change is not None:
            timelines.setdefault(change.agent, []).append(change)
    rows: list[dict] = []
    for changes in timelines.values():
        rows.extend(_timeline_rows(_collapse(_supersede(changes, tally), tally)))
    rows.sort(key=lambda r: (r["_file"], r["_line"]))
    return rows


def _change(ev: _Event, tally: _Tally) -> _Change | None:
    state = _STATE_EVENTS.get(ev.event)
    if state is None:
        tally.skip(f"not an agent state event ({ev.event})")
        return None
    agent = normalize_agent(ev.agent)
    if agent is None:
        tally.skip(f"agent state event without an agent ({ev.event})")
        return None
    reason = (ev.data[0] or None) if state == "aux" and ev.data else None
    return _Change(ev, agent, state, reason, iso(ev.ts))


def _supersede(changes: list[_Change], tally: _Tally) -> list[_Change]:
    kept: list[_Change] = []
    for ch in changes:
        if kept and kept[-1].started == ch.started:
            kept[-1] = ch
            tally.skip(SUPERSEDED)
        else:
            kept.append(ch)
    return kept


def _collapse(changes: list[_Change], tally: _Tally) -> list[_Change]:
    kept: list[_Change] = []
    for ch in changes:
        if kept and (kept[-1].state, kept[-1].reason) == (ch.state, ch.reason):
            tally.skip(f"no state change (agent already {ch.state})")
        else:
            kept.append(ch)
    return kept


def _timeline_rows(changes: list[_Change]) -> list[dict]:
    rows = []
    for ch, nxt in zip(changes, [*changes[1:], None], strict=True):
        rows.append({
            "_file": ch.ev.file,
            "_line": ch.ev.line,
            "agent_id": ch.agent,
            "state": ch.state,
            "reason": ch.reason,
            "queue": _none_if_system(ch.ev.queue),
            "started_at": ch.started,
            "ended_at": nxt.started if nxt else None,
        })
    return rows
