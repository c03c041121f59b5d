"""Independent check of a schedule against every hard rule, and its objective, in plain Python.

Nothing here calls a solver or reuses the scheduler's internals: shifts are rebuilt from
the ``schedules`` rows (contiguous work/break/lunch rows of one agent form a shift), local
times come from ``zoneinfo``, and each rule is re-derived from the inputs. Tests use it to
prove that produced schedules obey the contracts; the scheduler uses :func:`score` so the
objective it reports is measured on its own output.
"""

from __future__ import annotations

import itertools
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time

import numpy as np

from callops.wfm.rules import Problem

_DAY = 1440
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ACTIVITIES = {"work", "break", "lunch", "training", "meeting", "off"}


@dataclass(frozen=True)
class Violation:
    """A broken hard rule."""

    rule: str
    agent_id: str
    detail: str


@dataclass
class _Block:
    start: float
    end: float
    rows: list[tuple[str, float, float, str | None]]  # (activity, start, end, queue)


@dataclass
class Score:
    """Objective of a schedule, recomputed from its rows."""

    objective: float
    under: int
    over: int
    weekend_spread: int
    night_spread: int
    coverage: dict[str | None, np.ndarray]


def _minutes(problem: Problem, ts: datetime) -> float:
    local = ts.astimezone(zoneinfo.ZoneInfo(problem.timezone)).replace(tzinfo=None)
    return (local - datetime.combine(problem.week_start, time())).total_seconds() / 60


def _blocks(problem: Problem, rows: list[dict]) -> dict[str, list[_Block]]:
    """Per agent: shifts, as maximal runs of back-to-back non-off rows."""
    per: dict[str, list[tuple[str, float, float, str | None]]] = defaultdict(list)
    for r in rows:
        if r["activity"] != "off":
            per[r["agent_id"]].append(
                (r["activity"], _minutes(problem, r["start_at"]), _minutes(problem, r["end_at"]), r.get("queue"))
            )
    out: dict[str, list[_Block]] = {}
    for agent, items in per.items():
        items.sort(key=lambda x: x[1])
        blocks: list[_Block] = []
        for it in items:
            if blocks and abs(blocks[-1].end - it[1]) < 1e-6:
                blocks[-1].rows.append(it)
                blocks[-1].end = it[2]
            else:
                blocks.append(_Block(it[1], it[2], [it]))
        out[agent] = blocks
    return out


def _night_minutes(start: float, end: float) -> float:
    total = 0.0
    first = int(start // _DAY) - 1
    for d in range(first, int(end // _DAY) + 2):
        lo, hi = d * _DAY + 22 * 60, d * _DAY + 30 * 60
        total += max(0.0, min(end, hi) - max(start, lo))
    return total


def score(problem: Problem, rows: list[dict]) -> Score:
    """Weighted under- and over-coverage plus weekend/night spread, from the rows alone."""
    step = problem.interval_minutes
    n = problem.n_intervals
    total_only = list(problem.requirements) == [None]
    coverage = {q: np.zeros(n, dtype=int) for q in problem.requirements}
    for r in rows:
        if r["activity"] != "work":
            continue
        q = None if total_only else r.get("queue")
        if q not in coverage:
            continue
        s, e = _minutes(problem, r["start_at"]), _minutes(problem, r["end_at"])
        # an interval counts when the agent works all of it
        first = max(0, int(-(-s // step)))
        last = min(n, int(e // step))
        if last > first:
            coverage[q][first:last] += 1
    under = sum(int(np.maximum(problem.requirements[q] - c, 0).sum()) for q, c in coverage.items())
    over = sum(int(np.maximum(c - problem.requirements[q], 0).sum()) for q, c in coverage.items())
    blocks = _blocks(problem, rows)
    weekend, nights = [], []
    for a in problem.agents:
        bl = blocks.get(a.agent_id, [])
        weekend.append(sum(1 for b in bl if int(b.start // _DAY) in (5, 6)))
        nights.append(sum(1 for b in bl if _night_minutes(b.start, b.end) >= 180))
    w = problem.weights
    we_spread = (max(weekend) - min(weekend)) if weekend else 0
    ni_spread = (max(nights) - min(nights)) if nights else 0
    objective = w.under * under + w.over * over + w.weekend_spread * we_spread + w.night_spread * ni_spread
    return Score(float(objective), under, over, we_spread, ni_spread, coverage)


def _hhmm(text: str) -> int:
    hh, mm = text.split(":")
    return int(hh) * 60 + int(mm)


def _available(agent, start: float, end: float) -> bool:
    if agent.availability is None:
        return True
    spans = []
    for d, name in enumerate(_WEEKDAYS):
        for w in agent.availability.get(name, []):
            a, b = w.split("-")
            s, e = _hhmm(a), _hhmm(b)
            spans.append((d * _DAY + s, d * _DAY + (e if e > s else e + _DAY)))
    spans.sort()
    # walk the windows: the shift must be covered without a hole
    cursor = start
    for s, e in spans:
        if s <= cursor < e:
            cursor = e
        if cursor >= end:
            return True
    return cursor >= end


def validate(problem: Problem, rows: list[dict]) -> list[Violation]:
    """Every hard-rule violation in ``rows`` (empty list: the schedule is legal)."""
    out: list[Violation] = []
    agents = {a.agent_id: a for a in problem.agents}
    week_start = datetime.combine(problem.week_start, time())
    per_agent_rows: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    for r in rows:
        aid = r["agent_id"]
        if aid not in agents:
            out.append(Violation("unknown_agent", aid, "agent not in the roster"))
            continue
        if r["activity"] not in _ACTIVITIES:
            out.append(Violation("activity", aid, f"unknown activity {r['activity']!r}"))
        s, e = _minutes(problem, r["start_at"]), _minutes(problem, r["end_at"])
        if e <= s:
            out.append(Violation("order", aid, f"row at {r['start_at']} ends before it starts"))
        per_agent_rows[aid].append((s, e, r["activity"]))
    for aid, items in per_agent_rows.items():
        items.sort()
        for (s1, e1, a1), (s2, _e2, a2) in itertools.pairwise(items):
            if s2 < e1 - 1e-6:
                out.append(Violation("overlap", aid, f"{a1} at minute {s1:g} overlaps {a2} at minute {s2:g}"))
    blocks = _blocks(problem, rows)
    multi_queue = list(problem.requirements) != [None]
    for aid, agent in agents.items():
        c = problem.contracts[agent.contract]
        allowed = [t for t in problem.templates if c.templates is None or t.name in c.templates]
        shifts = blocks.get(aid, [])
        paid = 0
        days = []
        time_off = []
        for t in agent.time_off:
            if t.day is not None:
                lo = datetime.combine(t.day, time())
                time_off.append(((lo - week_start).total_seconds() / 60, (lo - week_start).total_seconds() / 60 + _DAY))
            else:
                lo, hi = t.start.replace(tzinfo=None), t.end.replace(tzinfo=None)
                time_off.append(((lo - week_start).total_seconds() / 60, (hi - week_start).total_seconds() / 60))
        for b in shifts:
            day = int(b.start // _DAY)
            days.append(day)
            where = f"shift at minute {b.start:g}"
            if not 0 <= day < 7:
                out.append(Violation("week", aid, f"{where} starts outside the week"))
            length = b.end - b.start
            tod = b.start - day * _DAY
            if b.rows[0][0] != "work" or b.rows[-1][0] != "work":
                out.append(Violation("breaks", aid, f"{where}: a break or lunch at the edge of the shift"))
            brks = [(act, s - b.start, e - s) for act, s, e, _ in b.rows if act in ("break", "lunch")]
            match = None
            for t in allowed:
                if t.start_minute != tod or t.length_minutes != length:
                    continue
                if len(brks) == len(t.breaks) and all(
                    act == rule.kind
                    and ln in rule.lengths
                    and off >= rule.earliest_start
                    and off + ln <= rule.latest_end
                    for (act, off, ln), rule in zip(brks, t.breaks, strict=True)
                ):
                    match = t
                    break
            if match is None:
                same = [t for t in allowed if t.start_minute == tod and t.length_minutes == length]
                rule = "breaks" if same else "template"
                out.append(Violation(rule, aid, f"{where}: no allowed template with these start, length and breaks"))
                paid += length
            else:
                paid += match.paid_minutes or match.length_minutes
            queues = {q for act, _, _, q in b.rows if act == "work"}
            if len(queues) > 1:
                out.append(Violation("queue", aid, f"{where}: works several queues {sorted(map(str, queues))}"))
            if multi_queue and any(q not in agent.skills for q in queues):
                out.append(Violation("skills", aid, f"{where}: queue {queues} not among skills {agent.skills}"))
            if not _available(agent, b.start, b.end):
                out.append(Violation("availability", aid, f"{where}: outside availability"))
            if any(b.start < oe and os_ < b.end for os_, oe in time_off):
                out.append(Violation("time_off", aid, f"{where}: overlaps approved time off"))
        # hours band (minimum reduced by credited full days of time off)
        full_off = sum(1 for d in range(7) if any(os_ <= d * _DAY and (d + 1) * _DAY <= oe for os_, oe in time_off))
        lo_min = max(0.0, (c.min_hours - c.time_off_credit_hours * full_off) * 60)
        if paid < round(lo_min) or paid > round(c.max_hours * 60):
            out.append(Violation("hours", aid, f"{paid / 60:g} h outside {lo_min / 60:g}-{c.max_hours:g} h"))
        if len(set(days)) != len(days):
            out.append(Violation("one_shift_per_day", aid, "two shifts start on the same day"))
        worked = [d in days for d in range(7)]
        if 7 - sum(worked) < c.days_off:
            out.append(Violation("days_off", aid, f"{7 - sum(worked)} days off, contract needs {c.days_off}"))
        if (
            c.consecutive_days_off
            and c.days_off >= 2
            and not any(not worked[d] and not worked[d + 1] for d in range(6))
        ):
            out.append(Violation("consecutive_days_off", aid, "no two consecutive days off"))
        run = best = 0
        for wd in worked:
            run = run + 1 if wd else 0
            best = max(best, run)
        if best > c.max_consecutive_days:
            out.append(Violation("consecutive_days", aid, f"{best} days in a row, max {c.max_consecutive_days}"))
        for b1, b2 in itertools.pairwise(shifts):
            if b2.start - b1.end < c.min_rest_hours * 60 - 1e-6:
                out.append(Violation("rest", aid, f"{(b2.start - b1.end) / 60:g} h rest before minute {b2.start:g}"))
    return out
