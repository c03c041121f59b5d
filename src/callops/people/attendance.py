"""Attendance from the warehouse's agent states and schedules (issue 19, part 4).

Per agent and local day with scheduled work (the day's scheduled blocks but ``off``; the shift is the span from
the first work block's start to the last work block's end):

* **absent** - no logged-in time (any state but offline) inside the shift;
* **late** - present, but the first log-in inside the shift (or the state the shift began in) came more than
  ``late_grace_s`` after the shift began: ``late_s`` is how much later;
* **left early** - present, but logged out for good more than ``early_grace_s`` before the shift ended;
* **attendance rate** - logged-in seconds inside the scheduled blocks / scheduled seconds (the V3 balance
  model's "share of scheduled time actually attended"), summed per agent, team and tenant before dividing.

Adherence and conformance per day (:func:`callops.people.adherence.agent_day`) are computed from the same rows.
Time no state interval covers counts as offline; an open interval (no ``ended_at``) runs to the end of the day.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from callops import tenancy
from callops.errors import CallopsError
from callops.people.adherence import Span, agent_day
from callops.warehouse import Warehouse

LOGGED_OUT = "offline"


def _logged(states: Iterable[Span]) -> list[Span]:
    """Logged-in spans (any state but offline), sorted, touching ones merged."""
    out: list[Span] = []
    for s in sorted((s for s in states if s.label != LOGGED_OUT and s.end > s.start), key=lambda s: s.start):
        if out and s.start <= out[-1].end:
            if s.end > out[-1].end:
                out[-1] = Span("in", out[-1].start, s.end)
        else:
            out.append(Span("in", s.start, s.end))
    return out


def _covered(spans: list[Span], lo: float, hi: float, starts: list[float] | None = None) -> float:
    """Seconds of ``[lo, hi)`` that the sorted, disjoint ``spans`` cover (``starts``: their starts, to bisect)."""
    starts = starts if starts is not None else [s.start for s in spans]
    total = 0.0
    for j in range(max(bisect.bisect_right(starts, lo) - 1, 0), len(spans)):
        s = spans[j]
        if s.start >= hi:
            break
        a, b = max(s.start, lo), min(s.end, hi)
        if b > a:
            total += b - a
    return total


def attendance_day(
    schedule: Iterable[Span], states: Iterable[Span], late_grace_s: float = 120.0, early_grace_s: float = 120.0
) -> dict[str, Any] | None:
    """One agent's attendance for one day's ``schedule`` blocks and ``states`` (see the module docstring); None
    when nothing but ``off`` is scheduled."""
    blocks = sorted((s for s in schedule if s.label != "off" and s.end > s.start), key=lambda s: s.start)
    work = [s for s in blocks if s.label == "work"]
    if not work:
        return None
    shift_lo, shift_hi = work[0].start, max(s.end for s in work)
    logged = _logged(states)
    inside = [s for s in logged if s.end > shift_lo and s.start < shift_hi]
    scheduled = sum(s.end - s.start for s in blocks)
    # blocks of one agent do not overlap: each block's logged-in cover adds up
    starts = [s.start for s in logged]
    attended = sum(_covered(logged, s.start, s.end, starts) for s in blocks)
    absent = not inside
    first_in = max(inside[0].start, shift_lo) if inside else None
    last_out = min(max(s.end for s in inside), shift_hi) if inside else None
    late_s = (first_in - shift_lo) if first_in is not None else 0.0
    early_s = (shift_hi - last_out) if last_out is not None else 0.0
    return {
        "shift_start": shift_lo, "shift_end": shift_hi, "first_in": first_in, "last_out": last_out,
        "absent": absent, "late": (not absent) and late_s > late_grace_s, "late_s": late_s if not absent else 0.0,
        "left_early": (not absent) and early_s > early_grace_s, "early_s": early_s if not absent else 0.0,
        "scheduled_s": scheduled, "attended_s": attended,
        "attendance_rate": attended / scheduled if scheduled > 0 else None,
    }  # fmt: skip


# ------------------------------------------------------------------------------------------------ warehouse
def _epoch(ts: datetime | None, default: float) -> float:
    if ts is None:
        return default
    return (ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)).timestamp()


def _sec(ts: Any) -> Any:
    """Epoch seconds of a timestamp column, as a float (fractions kept)."""
    return ts.epoch_seconds().cast("float64")


def load_days(
    wh: Warehouse, tenant: str, start: date, end: date
) -> tuple[ZoneInfo, dict[str, str | None], dict[tuple[str, date], dict[str, list[Span]]]]:
    """The tenant's zone, each agent's team and, per (agent, local day) in ``[start, end]`` with something
    scheduled, the day's schedule blocks (a block belongs to the local day it starts on, so a night shift stays
    one shift) and the agent's state intervals within 12 hours either side of that day (read through
    :func:`tenancy.scoped`; times are epoch seconds computed in the query)."""
    if end < start:
        raise CallopsError("the period ends before it starts")
    if (end - start).days > 366:
        raise CallopsError("a period of at most a year, please")
    t = tenancy.get_tenant(wh, tenant)
    zone = ZoneInfo(t.timezone)
    n_days = (end - start).days + 1
    bounds = [datetime.combine(start + timedelta(days=i), datetime.min.time(), zone).timestamp()
              for i in range(n_days + 1)]  # fmt: skip
    lo = datetime.fromtimestamp(bounds[0], zone)
    hi = datetime.fromtimestamp(bounds[-1], zone)
    pad = 43200.0  # a night shift's tail, an early log-in
    s = tenancy.scoped(wh, t, "schedules")
    sch = s.filter(s.start_at >= lo, s.start_at < hi).select(
        "agent_id", "activity", b0=_sec(s.start_at), b1=_sec(s.end_at)).to_pyarrow()  # fmt: skip
    a = tenancy.scoped(wh, t, "agent_states")
    lo_pad, hi_pad = lo - timedelta(seconds=pad), hi + timedelta(seconds=pad)
    st = a.filter(a.started_at < hi_pad, a.ended_at.isnull() | (a.ended_at > lo_pad)).select(
        "agent_id", "state", a0=_sec(a.started_at), a1=_sec(a.ended_at)).to_pyarrow()  # fmt: skip
    g = tenancy.scoped(wh, t, "agents").select("agent_id", "team").to_pyarrow()
    teams = dict(zip(g.column("agent_id").to_pylist(), g.column("team").to_pylist(), strict=True))
    days: dict[tuple[str, date], dict[str, list[Span]]] = {}
    dates = [start + timedelta(days=i) for i in range(n_days)]
    cols = (sch.column(c).to_pylist() for c in ("agent_id", "activity", "b0", "b1"))
    for aid, act, b0, b1 in zip(*cols, strict=True):
        i = bisect.bisect_right(bounds, b0) - 1
        if 0 <= i < n_days:
            days.setdefault((aid, dates[i]), {"schedule": [], "states": []})["schedule"].append(
                Span(act, float(b0), float(b1)))  # fmt: skip
    scheduled = {aid for aid, _ in days}
    end_s = bounds[-1] + pad
    cols = (st.column(c).to_pylist() for c in ("agent_id", "state", "a0", "a1"))
    for aid, state, a0, a1 in zip(*cols, strict=True):
        if aid not in scheduled:
            continue
        a0, a1 = float(a0), float(a1) if a1 is not None else end_s
        # the days whose padded window [midnight - pad, next midnight + pad) the interval overlaps
        first = max(bisect.bisect_right(bounds, a0 - pad) - 1, 0)
        last = min(bisect.bisect_left(bounds, a1 + pad) - 1, n_days - 1)
        for i in range(first, last + 1):
            rows = days.get((aid, dates[i]))
            if rows is not None:
                w0, w1 = bounds[i] - pad, bounds[i + 1] + pad
                if a0 < w1 and a1 > w0:
                    rows["states"].append(Span(state, max(a0, w0), min(a1, w1)))
    return zone, teams, days


def _ratio(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def attendance_report(
    wh: Warehouse, tenant: str, start: date, end: date, late_grace_s: float = 120.0, early_grace_s: float = 120.0,
    team: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Per agent, team and tenant over ``[start, end]`` (local days): scheduled days, absences, late starts, early
    leavings, attendance rate, adherence and conformance; plus each flagged day (for the HR rules)."""
    zone, teams, days = load_days(wh, tenant, start, end)
    per: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    incidents: list[dict[str, Any]] = []
    for (aid, day), rows in sorted(days.items()):
        if team is not None and teams.get(aid) != team:
            continue
        att = attendance_day(rows["schedule"], rows["states"], late_grace_s, early_grace_s)
        if att is None:
            continue
        lo = datetime.combine(day, datetime.min.time(), zone).timestamp()
        hi = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone).timestamp()
        # the local day, stretched to a shift that crosses midnight
        adh = agent_day(rows["schedule"], rows["states"], (), min(lo, *(s.start for s in rows["schedule"])),
                        max(hi, *(s.end for s in rows["schedule"])))  # fmt: skip
        p = per[aid]
        p["days"] += 1
        for k in ("scheduled_s", "attended_s"):
            p[k] += att[k]
        for k in ("scheduled_s", "adherent_s", "scheduled_work_s", "worked_s"):
            p["adh_" + k] += adh[k] or 0.0  # type: ignore[operator]
        for flag, what in (("absent", "absence"), ("late", "late"), ("left_early", "early_leave")):
            if att[flag]:
                p[what] += 1
                incidents.append({"agent_id": aid, "team": teams.get(aid), "day": day.isoformat(), "kind": what,
                                  "late_s": att["late_s"], "early_s": att["early_s"]})  # fmt: skip

    def row(p: dict[str, float]) -> dict[str, Any]:
        return {"days": int(p["days"]), "absences": int(p["absence"]), "late_starts": int(p["late"]),
                "early_leaves": int(p["early_leave"]),
                "attendance_rate": _ratio(p["attended_s"], p["scheduled_s"]),
                "adherence": _ratio(p["adh_adherent_s"], p["adh_scheduled_s"]),
                "conformance": _ratio(p["adh_worked_s"], p["adh_scheduled_work_s"])}  # fmt: skip

    agents = [{"agent_id": aid, "team": teams.get(aid), **row(p)} for aid, p in sorted(per.items())]
    by_team: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    total: dict[str, float] = defaultdict(float)
    for aid, p in per.items():
        for k, v in p.items():
            by_team[teams.get(aid) or ""][k] += v
            total[k] += v
    return {"tenant": tenant, "start": start.isoformat(), "end": end.isoformat(), "timezone": str(zone),
            "agents": agents, "teams": [{"team": k or None, **row(v)} for k, v in sorted(by_team.items())],
            "total": row(total), "incidents": incidents}  # fmt: skip


def measured_attendance(wh: Warehouse, tenant: str, days: int = 28, until: date | None = None) -> float:
    """The tenant's attendance rate over the last ``days`` local days before ``until`` (default: today in its
    zone) - the V3 balance model's attendance factor from data. A CallopsError when nothing is scheduled."""
    t = tenancy.get_tenant(wh, tenant)
    end = (until or datetime.now(ZoneInfo(t.timezone)).date()) - timedelta(days=1)
    rep = attendance_report(wh, tenant, end - timedelta(days=days - 1), end)
    rate = rep["total"]["attendance_rate"]
    if rate is None or not math.isfinite(rate) or rate <= 0:
        raise CallopsError(f"tenant {tenant!r} has no scheduled work with agent states in the last {days} days")
    return min(rate, 1.0)
