"""What a request does to the schedule, and whether it may: contract rules and coverage (pure functions).

A schedule row is a dict ``agent_id, activity, start_at, end_at, queue`` with aware UTC datetimes (the canonical
``schedules`` table). A request becomes a :class:`Change`: the rows of the agents it touches that meet its window,
before and after. An approved change is a schedule version (kept with the rows before and after) and is written to
the warehouse's schedule (``people.data.save_version``).

The contract check re-runs the scheduler's independent validator (``wfm.schedule_validator.validate``) on the
affected agents' weeks before and after, and reports the rules the change breaks that were not broken before
(rest between shifts, weekly hours, days off, consecutive days, time off, skills). The coverage check prices every
15-minute interval the change touches with Erlang A (``wfm.queueing.erlang_a_metrics``) at the scheduled agents
with and without the change, next to the target.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np

from callops.wfm import schedule_validator
from callops.wfm.queueing import erlang_a_metrics
from callops.wfm.rules import Agent, Problem, TimeOff, Workforce

Row = dict[str, Any]
# The validator's rules a swap or trade is judged on (time off only on "hours": see contract_check).
CONTRACT_RULES = ("rest", "hours", "days_off", "consecutive_days_off", "consecutive_days", "one_shift_per_day",
                  "time_off", "skills", "availability", "overlap", "template", "breaks")
RULE_LABELS = {
    "rest": "rest between shifts", "hours": "weekly hours", "days_off": "days off",
    "consecutive_days_off": "consecutive days off", "consecutive_days": "days worked in a row",
    "one_shift_per_day": "one shift a day", "time_off": "approved time off", "skills": "skills",
    "availability": "availability", "overlap": "overlapping activities",
    "template": "shift templates of the contract", "breaks": "breaks",
}
RULE_LABELS_ZH = {
    "rest": "班次间休息", "hours": "每周工时", "days_off": "休息日", "consecutive_days_off": "连续休息日",
    "consecutive_days": "连续工作天数", "one_shift_per_day": "每天一个班次", "time_off": "已批准的休假",
    "skills": "技能", "availability": "可用时间", "overlap": "活动重叠", "template": "合同班次模板",
    "breaks": "休息安排",
}


@dataclass
class Change:
    """The rows of ``agents`` that meet ``[start, end)``, before and after a request."""

    agents: list[str]
    start: datetime
    end: datetime
    before: list[Row]
    after: list[Row]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (times as ISO text)."""
        return {"agent_ids": self.agents, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "before": [row_json(r) for r in self.before], "after": [row_json(r) for r in self.after]}


def row_json(r: Row) -> Row:
    """A row with ISO times."""
    return {**r, "start_at": r["start_at"].isoformat(), "end_at": r["end_at"].isoformat()}


def row_from_json(r: Mapping[str, Any]) -> Row:
    """A row read back from JSON."""
    return {"agent_id": r["agent_id"], "activity": r["activity"], "queue": r.get("queue"),
            "start_at": datetime.fromisoformat(r["start_at"]), "end_at": datetime.fromisoformat(r["end_at"])}


def _meets(r: Row, start: datetime, end: datetime) -> bool:
    return r["start_at"] < end and start < r["end_at"]


def time_off_change(rows: Iterable[Row], agent_id: str, start: datetime, end: datetime) -> Change:
    """Time off ``[start, end)``: the agent's activities inside it give way to one ``off`` row."""
    before = sorted((r for r in rows if r["agent_id"] == agent_id and _meets(r, start, end)),
                    key=lambda r: r["start_at"])  # fmt: skip
    after: list[Row] = []
    for r in before:
        if r["activity"] == "off":
            continue  # folded into the time-off row
        if r["start_at"] < start:
            after.append({**r, "end_at": start})
        if r["end_at"] > end:
            after.append({**r, "start_at": end})
    lo = min([start, *(r["start_at"] for r in before if r["activity"] == "off")])
    hi = max([end, *(r["end_at"] for r in before if r["activity"] == "off")])
    after.append({"agent_id": agent_id, "activity": "off", "start_at": lo, "end_at": hi, "queue": None})
    return Change([agent_id], start, end, before, sorted(after, key=lambda r: r["start_at"]))


def move_change(rows: Iterable[Row], giver: str, taker: str | None, start: datetime, end: datetime,
                both_ways: bool) -> Change:  # fmt: skip
    """The giver's activities that start in ``[start, end)`` go to ``taker`` (None: to the open pool, nobody);
    with ``both_ways`` (a swap) the taker's activities starting there come back to the giver."""
    agents = [giver] if taker is None else [giver, taker]
    rows = list(rows)
    before = sorted((r for r in rows if r["agent_id"] in agents and _meets(r, start, end)),
                    key=lambda r: (r["agent_id"], r["start_at"]))  # fmt: skip
    after: list[Row] = []
    for r in before:
        moves = start <= r["start_at"] < end
        if not moves:
            after.append(r)
        elif r["agent_id"] == giver and taker is not None:
            after.append({**r, "agent_id": taker})
        elif r["agent_id"] == taker:  # a swap hands the taker's rows back; a trade leaves them where they are
            after.append({**r, "agent_id": giver} if both_ways else r)
    # A moved row may land on an ``off`` row of the other agent that starts before the window and runs into it
    # (a day off): that row is cut where the first arriving row starts. A *working* row running into the window
    # (a night shift) is kept: the overlap or short rest is for the contract check to report.
    final: list[Row] = []
    for r in after:
        arriving = [m["start_at"] for m in after if m["agent_id"] == r["agent_id"] and m is not r
                    and r["activity"] == "off" and start <= m["start_at"] < end and r["start_at"] < start
                    and _meets(m, r["start_at"], r["end_at"])]  # fmt: skip
        if arriving:
            cut = min(arriving)
            if cut > r["start_at"]:
                final.append({**r, "end_at": cut})
            continue
        final.append(r)
    return Change(agents, start, end, before, sorted(final, key=lambda r: (r["agent_id"], r["start_at"])))


def apply_change(rows: Iterable[Row], agents: Sequence[str], start: datetime, end: datetime,
                 after: Iterable[Row]) -> list[Row]:  # fmt: skip
    """``rows`` with the rows of ``agents`` meeting ``[start, end)`` replaced by ``after``."""
    who = set(agents)
    kept = [r for r in rows if not (r["agent_id"] in who and _meets(r, start, end))]
    return sorted([*kept, *after], key=lambda r: (r["agent_id"], r["start_at"]))


# ------------------------------------------------------------------------------------------------ contract rules
def mondays(start: datetime, end: datetime, zone: str) -> list[date]:
    """The local Mondays of the weeks ``[start, end)`` touches."""
    tz = zoneinfo.ZoneInfo(zone)
    first = start.astimezone(tz).date()
    last = (end - timedelta(microseconds=1)).astimezone(tz).date()
    monday = first - timedelta(days=first.weekday())
    out = []
    while monday <= last:
        out.append(monday)
        monday += timedelta(days=7)
    return out


def week_bounds(monday: date, zone: str) -> tuple[datetime, datetime]:
    """UTC bounds of the local week starting ``monday``."""
    tz = zoneinfo.ZoneInfo(zone)
    lo = datetime.combine(monday, time()).replace(tzinfo=tz).astimezone(UTC)
    hi = datetime.combine(monday + timedelta(days=7), time()).replace(tzinfo=tz).astimezone(UTC)
    return lo, hi


def local_time_off(spans: Iterable[tuple[datetime, datetime]], zone: str) -> list[TimeOff]:
    """Approved time off (UTC spans) as the validator's local :class:`TimeOff`."""
    tz = zoneinfo.ZoneInfo(zone)
    return [TimeOff(start=s.astimezone(tz).replace(tzinfo=None), end=e.astimezone(tz).replace(tzinfo=None))
            for s, e in spans]  # fmt: skip


def _violations(problem: Problem, rows: list[Row], rules: Sequence[str]) -> list[schedule_validator.Violation]:
    ids = {a.agent_id for a in problem.agents}
    return [v for v in schedule_validator.validate(problem, [r for r in rows if r["agent_id"] in ids])
            if v.rule in rules]  # fmt: skip


def _problem(wf: Workforce, monday: date, zone: str, agents: Sequence[Agent]) -> Problem:
    return Problem(week_start=monday, timezone=zone, interval_minutes=wf.interval_minutes, templates=wf.templates,
                   contracts={c.name: c for c in wf.contracts}, agents=list(agents),
                   requirements={None: np.zeros(7 * 1440 // wf.interval_minutes)})  # fmt: skip


def contract_check(wf: Workforce, agents_before: Sequence[Agent], agents_after: Sequence[Agent], before: list[Row],
                   after: list[Row], zone: str, start: datetime, end: datetime,
                   rules: Sequence[str] = CONTRACT_RULES) -> dict[str, Any]:  # fmt: skip
    """Rules the change breaks that the schedule kept before, per local week ``[start, end)`` touches.

    ``agents_before``/``agents_after`` are the affected agents (contract, skills, approved time off — after: with
    the requested time off, so a full day off earns its contract credit); ``before``/``after`` hold at least their
    rows of those weeks. ``rules``: the validator's rules to judge (time off can only break the weekly minimum:
    removing work never shortens a rest or adds a working day, while a shift cut in two by an hour off would
    look like two shifts to the rest rule).
    """
    reasons: list[dict[str, Any]] = []
    weeks = mondays(start, end, zone)
    for monday in weeks:
        lo, hi = week_bounds(monday, zone)
        was = {(v.rule, v.agent_id) for v in _violations(_problem(wf, monday, zone, agents_before),
                                                          [r for r in before if lo <= r["start_at"] < hi], rules)}
        for v in _violations(_problem(wf, monday, zone, agents_after), [r for r in after if lo <= r["start_at"] < hi],
                             rules):  # fmt: skip
            if (v.rule, v.agent_id) not in was:
                was.add((v.rule, v.agent_id))
                reasons.append({"rule": v.rule, "label": RULE_LABELS.get(v.rule, v.rule),
                                "label_zh": RULE_LABELS_ZH.get(v.rule, v.rule), "agent_id": v.agent_id,
                                "week": monday.isoformat(), "detail": v.detail})  # fmt: skip
    return {"ok": not reasons, "weeks": [m.isoformat() for m in weeks], "rules": list(rules), "reasons": reasons}


# ------------------------------------------------------------------------------------------------------ coverage
@dataclass
class Forecast:
    """Per queue: calls and mean handle time per local interval (naive local start → value)."""

    interval_minutes: int
    calls: dict[str, dict[datetime, float]] = field(default_factory=dict)
    aht_s: dict[str, dict[datetime, float]] = field(default_factory=dict)
    snapshot_id: str | None = None


def interval_grid(start: datetime, end: datetime, zone: str, step_min: int) -> list[datetime]:
    """Naive local starts of the ``step_min`` intervals meeting ``[start, end)``."""
    tz = zoneinfo.ZoneInfo(zone)
    lo = start.astimezone(tz).replace(tzinfo=None)
    hi = end.astimezone(tz).replace(tzinfo=None)
    midnight = datetime.combine(lo.date(), time())
    first = midnight + timedelta(minutes=((lo - midnight).total_seconds() // 60) // step_min * step_min)
    out = []
    t = first
    while t < hi:
        out.append(t)
        t += timedelta(minutes=step_min)
    return out


def working_counts(rows: Iterable[Row], grid: Sequence[datetime], zone: str, step_min: int,
                   queues: Sequence[str]) -> dict[str, np.ndarray]:  # fmt: skip
    """Agents working all of each interval, per queue (the validator's rule: an interval counts when worked whole).

    ``grid``: consecutive naive local interval starts. A work row without a queue counts for the only queue when
    there is one. Vectorised: local minutes from UTC epoch plus the zone's offset (looked up once per UTC hour),
    then a difference array per queue.
    """
    out = {q: np.zeros(len(grid), dtype=int) for q in queues}
    if not grid:
        return out
    tz = zoneinfo.ZoneInfo(zone)
    only = queues[0] if len(queues) == 1 else None
    picked = [(q, r["start_at"].timestamp(), r["end_at"].timestamp()) for r in rows if r["activity"] == "work"
              and (q := r.get("queue") or only) in out]  # fmt: skip
    if not picked:
        return out
    qs = np.array([out_q for out_q, _, _ in picked], dtype=object)
    se = np.array([(a, b) for _, a, b in picked], dtype=float)
    hours = np.floor(se / 3600).astype(np.int64)
    uniq, inv = np.unique(hours, return_inverse=True)
    offs = np.array([datetime.fromtimestamp(int(h) * 3600, UTC).astimezone(tz).utcoffset().total_seconds()  # type: ignore[union-attr]
                     for h in uniq])
    local_min = (se + offs[inv.reshape(se.shape)]) / 60.0
    g0 = (grid[0] - datetime(1970, 1, 1)).total_seconds() / 60.0
    first = np.ceil((local_min[:, 0] - g0) / step_min - 1e-9).astype(np.int64)
    last = np.floor((local_min[:, 1] - g0) / step_min + 1e-9).astype(np.int64)
    n = len(grid)
    first, last = np.clip(first, 0, n), np.clip(last, 0, n)
    for q in out:
        sel = (qs == q) & (last > first)
        diff = np.zeros(n + 1, dtype=np.int64)
        np.add.at(diff, first[sel], 1)
        np.add.at(diff, last[sel], -1)
        out[q] = np.cumsum(diff[:n]).astype(int)
    return out


def coverage_check(forecast: Forecast, grid: Sequence[datetime], before: dict[str, np.ndarray],
                   after: dict[str, np.ndarray], patience_s: Mapping[str, float], target_sl: float,
                   threshold_s: float) -> dict[str, Any]:  # fmt: skip
    """Service level per queue and interval at the scheduled agents before and after the change, and the target.

    The check fails where the change lowers the agents of an interval and leaves its service level below the
    target; an interval the change does not touch is not listed. Intervals without a forecast are listed as
    unknown (the check then cannot pass by itself).
    """
    rows: list[dict[str, Any]] = []
    unknown = 0
    for q in before:
        b, a = before[q], after[q]
        touched = np.nonzero(a != b)[0]
        if not len(touched):
            continue
        calls = np.array([forecast.calls.get(q, {}).get(grid[i], np.nan) for i in touched])
        aht = np.array([forecast.aht_s.get(q, {}).get(grid[i], np.nan) for i in touched])
        known = np.isfinite(calls) & np.isfinite(aht) & (aht > 0)
        unknown += int((~known).sum())
        sl_b = np.full(len(touched), np.nan)
        sl_a = np.full(len(touched), np.nan)
        if known.any():
            pat = patience_s.get(q, np.inf)
            idx = touched[known]
            m = erlang_a_metrics(np.concatenate([calls[known], calls[known]]), forecast.interval_minutes * 60,
                                 np.concatenate([aht[known], aht[known]]), np.concatenate([b[idx], a[idx]]),
                                 pat, threshold_s)  # fmt: skip
            n = int(known.sum())
            sl_b[known], sl_a[known] = m.service_level[:n], m.service_level[n:]
        for j, i in enumerate(touched):
            fine = bool(a[i] >= b[i] or (np.isfinite(sl_a[j]) and sl_a[j] >= target_sl))
            rows.append({"queue": q, "interval_start": grid[i].isoformat(timespec="minutes"),
                         "forecast": None if not np.isfinite(calls[j]) else round(float(calls[j]), 2),
                         "agents_before": int(b[i]), "agents_after": int(a[i]),
                         "sl_before": None if not np.isfinite(sl_b[j]) else round(float(sl_b[j]), 4),
                         "sl_after": None if not np.isfinite(sl_a[j]) else round(float(sl_a[j]), 4),
                         "target": target_sl,
                         "ok": fine if np.isfinite(sl_a[j]) or a[i] >= b[i] else None})  # fmt: skip
    below = [r for r in rows if r["ok"] is False]
    known_after = [r["sl_after"] for r in rows if r["sl_after"] is not None and r["agents_after"] < r["agents_before"]]
    reasons = [f"{r['queue']} {r['interval_start']}: service level {r['sl_after']:.0%} without this agent "
               f"(target {target_sl:.0%}, {r['sl_before']:.0%} now)" for r in below[:5]]  # fmt: skip
    reasons_zh = [f"{r['queue']} {r['interval_start']}：缺少该坐席时服务水平为 {r['sl_after']:.0%}"
                  f"（目标 {target_sl:.0%}，当前 {r['sl_before']:.0%}）" for r in below[:5]]  # fmt: skip
    if len(below) > 5:
        reasons.append(f"and {len(below) - 5} more intervals below the target")
        reasons_zh.append(f"另有 {len(below) - 5} 个时段低于目标")
    if unknown:
        reasons.append(f"{unknown} intervals have no forecast: coverage unknown")
        reasons_zh.append(f"{unknown} 个时段没有预测：覆盖情况未知")
    return {"ok": not below and not unknown, "unknown": unknown, "intervals": rows, "below_target": len(below),
            "worst_sl_after": min(known_after) if known_after else None, "target": target_sl,
            "threshold_s": threshold_s, "reasons": reasons, "reasons_zh": reasons_zh}
