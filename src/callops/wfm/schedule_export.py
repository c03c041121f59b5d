"""Schedule exports planners can open: an Excel workbook and one iCalendar file per agent."""

from __future__ import annotations

import re
import zoneinfo
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from callops.wfm.rules import DAY_MIN, DAYS, Problem

_LETTER = {"work": "W", "break": "B", "lunch": "L", "off": ""}
_FILL = {"work": "C6EFCE", "break": "FFEB9C", "lunch": "F4B084"}


def write_xlsx(problem: Problem, rows: list[dict], coverage: dict, summary: dict, path: Path) -> Path:
    """Workbook: a summary, one agent × interval grid per day, every row, and required vs scheduled.

    Times people read are the tenant's wall clock (headers name the zone); the ``*_utc`` columns are for machines.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import PatternFill

    from callops.exports import local_cell, xlsx_row  # formula-like names stay text (issue 21)

    zone = zoneinfo.ZoneInfo(problem.timezone)
    step = problem.interval_minutes
    per_day = DAY_MIN // step
    week0 = datetime.combine(problem.week_start, datetime.min.time())
    fills = {k: PatternFill("solid", fgColor=v) for k, v in _FILL.items()}
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Summary")
    ws.append(["figure", "value"])
    ws.append(["times", f"times are local wall-clock time in {problem.timezone}"])
    for k, v in summary.items():
        if not isinstance(v, dict):
            ws.append([k, local_cell(v)])  # NaN (no bound yet) as an empty cell
    # grid[agent][interval] = activity, in local week intervals
    grid: dict[str, dict[int, str]] = defaultdict(dict)
    for r in rows:
        if r["activity"] == "off":
            continue
        s = r["start_at"].astimezone(zone).replace(tzinfo=None)
        e = r["end_at"].astimezone(zone).replace(tzinfo=None)
        i0 = int((s - week0).total_seconds() // 60 // step)
        i1 = int((e - week0).total_seconds() // 60 // step)
        for i in range(max(0, i0), min(problem.n_intervals, i1)):
            grid[r["agent_id"]][i] = r["activity"]
    for d in range(DAYS):
        day = problem.week_start + timedelta(days=d)
        ws = wb.create_sheet(day.strftime("%a %Y-%m-%d"))
        ws.append(["agent", *[f"{(j * step) // 60:02d}:{(j * step) % 60:02d}" for j in range(per_day)]])
        for agent in problem.agents:
            line: list = xlsx_row(ws, [agent.agent_id])
            for j in range(per_day):
                act = grid[agent.agent_id].get(d * per_day + j)
                cell = WriteOnlyCell(ws, value=_LETTER.get(act, act[:1].upper()) if act else None)
                if act in fills:
                    cell.fill = fills[act]
                line.append(cell)
            ws.append(line)
    ws = wb.create_sheet("Rows")
    local = f"({problem.timezone})"
    ws.append(["agent_id", "activity", f"start_local {local}", f"end_local {local}", "queue", "start_at_utc",
               "end_at_utc"])  # fmt: skip
    for r in rows:
        ws.append(xlsx_row(ws,
            [
                r["agent_id"],
                r["activity"],
                r["start_at"].astimezone(zone).replace(tzinfo=None),
                r["end_at"].astimezone(zone).replace(tzinfo=None),
                r["queue"],
                r["start_at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                r["end_at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            ]
        ))  # fmt: skip
    ws = wb.create_sheet("Coverage")
    ws.append([f"interval_start_local {local}", "queue", "required", "scheduled", "difference"])
    for q, req in problem.requirements.items():
        cov = coverage[q]
        for i in range(problem.n_intervals):
            ws.append(xlsx_row(ws, [week0 + timedelta(minutes=i * step), q or "all", int(req[i]), int(cov[i]),
                                    int(cov[i] - req[i])]))  # fmt: skip
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def ics_escape(text: str) -> str:
    """Escape a TEXT value (RFC 5545 §3.3.11): backslash, semicolon, comma and newlines."""
    return (
        text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n").replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 §3.1), never splitting a UTF-8 character."""
    out, cur = [], b""
    for ch in line:
        b = ch.encode("utf-8")
        if len(cur) + len(b) > (75 if not out else 74):
            out.append(cur.decode("utf-8"))
            cur = b""
        cur += b
    out.append(cur.decode("utf-8"))
    return "\r\n ".join(out)


def _utc(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def agent_ics(agent_id: str, rows: list[dict], stamp: datetime | None = None) -> str:
    """One VCALENDAR with a VEVENT per shift (breaks listed in its description), times in UTC."""
    stamp = stamp or datetime.now(UTC)
    mine = sorted(
        (r for r in rows if r["agent_id"] == agent_id and r["activity"] != "off"), key=lambda r: r["start_at"]
    )
    shifts: list[list[dict]] = []
    for r in mine:
        if shifts and shifts[-1][-1]["end_at"] == r["start_at"]:
            shifts[-1].append(r)
        else:
            shifts.append([r])
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//callops//schedule//EN", "CALSCALE:GREGORIAN"]
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", agent_id)
    for sh in shifts:
        queues = sorted({r["queue"] for r in sh if r["activity"] == "work" and r["queue"]})
        pauses = [f"{r['activity']} {_utc(r['start_at'])}-{_utc(r['end_at'])}" for r in sh if r["activity"] != "work"]
        summary = "Shift" + (f" ({', '.join(queues)})" if queues else "")
        lines += [
            "BEGIN:VEVENT",
            f"UID:{safe}-{_utc(sh[0]['start_at'])}@callops",
            f"DTSTAMP:{_utc(stamp)}",
            f"DTSTART:{_utc(sh[0]['start_at'])}",
            f"DTEND:{_utc(sh[-1]['end_at'])}",
            f"SUMMARY:{ics_escape(summary)}",
            f"DESCRIPTION:{ics_escape('; '.join(pauses) or 'no breaks')}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)


def write_ics(problem: Problem, rows: list[dict], directory: Path) -> list[Path]:
    """Write ``<agent_id>.ics`` for every agent into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC)
    paths = []
    for agent in problem.agents:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", agent.agent_id)
        p = directory / f"{safe}.ics"
        p.write_bytes(agent_ics(agent.agent_id, rows, stamp).encode("utf-8"))
        paths.append(p)
    return paths
