"""The schedule validator's rules one by one, and the scheduler's objective against an independent recount.

``test_scheduling`` checks that solver output passes the validator; here each rule is shown to fire on a
hand-made week that breaks it (and only then), so deleting or weakening a check fails a test. The objective
is recounted from the rows with datetimes in the tenant's zone, not with the validator's ``score``.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime, timedelta

import numpy as np
import pytest
from test_scheduling import SMALL_RULES, WEEK, ZONE, N, _at, _legal_week, _problem, _shift

from callops.wfm import schedule_validator as sv
from callops.wfm.rules import Agent, TimeOff
from callops.wfm.schedule_instances import random_problem
from callops.wfm.scheduling import solve_schedule

TZ = zoneinfo.ZoneInfo(ZONE)


def _rules(rows: list[dict], agents: list[Agent] | None = None, req: dict | None = None) -> set[str]:
    problem = _problem(agents or [Agent(agent_id="v", contract="ft")], req)
    return {v.rule for v in sv.validate(problem, rows)}


def _night(agent: str, day: int) -> list[dict]:
    """Template N (22:00, 8 h) on ``day``: work, a 15' break at 01:00, work."""
    return [
        {"agent_id": agent, "activity": "work", "start_at": _at(day, 22), "end_at": _at(day + 1, 1), "queue": None},
        {"agent_id": agent, "activity": "break", "start_at": _at(day + 1, 1), "end_at": _at(day + 1, 1, 15),
         "queue": None},
        {"agent_id": agent, "activity": "work", "start_at": _at(day + 1, 1, 15), "end_at": _at(day + 1, 6),
         "queue": None},
    ]


@pytest.mark.parametrize(
    ("start", "end", "broken"),
    [
        ((23, 12), (23, 14), True),  # two hours inside Monday's 09:00-17:00 shift
        ((26, 16, 59), (26, 18), True),  # one minute of Thursday's shift
        ((26, 17), (27, 12), False),  # right after Thursday's shift: touching is not overlapping
        ((27, 8), (28, 8), False),  # Friday to Saturday: no shift then
    ],
)
def test_time_off_as_a_start_end_range(start: tuple, end: tuple, broken: bool) -> None:
    """Time off given as a local start/end range is checked against the shifts (regression: it was ignored)."""
    off = TimeOff(start=datetime(2026, 11, *start), end=datetime(2026, 11, *end))
    agent = Agent(agent_id="v", contract="ft", time_off=[off])
    assert ("time_off" in _rules(_legal_week(), [agent])) is broken


def test_time_off_range_of_full_days_credits_hours() -> None:
    """Whole days inside a time-off range lower the minimum hours (8 h credit per full day off)."""
    two = _shift("v", 0, 9) + _shift("v", 1, 9)  # 16 h, minimum 24 h
    assert "hours" in _rules(two)
    # Wed 00:00 to Thu 00:00 covers one full day: minimum 24 - 8 = 16 h
    day = TimeOff(start=datetime(2026, 11, 25), end=datetime(2026, 11, 26))
    agent = Agent(agent_id="v", contract="ft", time_off=[day])
    assert _rules(two, [agent]) == set()
    # a range that is not a full day credits nothing
    hours = TimeOff(start=datetime(2026, 11, 25, 1), end=datetime(2026, 11, 26))
    part = Agent(agent_id="v", contract="ft", time_off=[hours])
    assert "hours" in _rules(two, [part])


def test_one_shift_per_day() -> None:
    """A second shift starting the same day breaks the rule, even with enough rest in between."""
    # Monday D 09:00-17:00 and Monday N 22:00-06:00 (5 h rest); Tue and Wed D at 09:00 would clash with rest,
    # so the week continues Thursday and Friday.
    rows = _shift("v", 0, 9) + _night("v", 0) + _shift("v", 3, 9)
    got = _rules(rows)
    assert "one_shift_per_day" in got
    # the same shifts on different days do not break it
    assert "one_shift_per_day" not in _rules(_shift("v", 0, 9) + _night("v", 1) + _shift("v", 3, 9))


def test_several_queues_in_one_shift() -> None:
    """One shift works one queue: switching queue mid-shift breaks the rule, one queue per shift does not."""
    agents = [Agent(agent_id="v", contract="ft", skills=["billing", "tech"])]
    req = {"billing": np.ones(N), "tech": np.ones(N)}
    rows = _legal_week()
    one_each = [{**r, "queue": ("billing" if r["start_at"] < _at(2, 0) else "tech") if r["activity"] == "work"
                 else None} for r in rows]  # fmt: skip
    assert _rules(one_each, agents, req) == set()
    works = [i for i, r in enumerate(rows) if r["activity"] == "work"]
    mixed = [dict(r) for r in one_each]
    mixed[works[1]]["queue"] = "tech"  # Monday: billing, then tech after the break
    assert _rules(mixed, agents, req) == {"queue"}


@pytest.mark.parametrize(("day", "hour"), [(-1, 9), (7, 9)], ids=["sunday-before", "monday-after"])
def test_shift_outside_the_week(day: int, hour: int) -> None:
    """A shift that starts before Monday 00:00 or from the next Monday on is out of the week."""
    assert "week" in _rules(_legal_week() + _shift("v", day, hour))
    assert "week" not in _rules(_legal_week())


def test_night_shift_of_sunday_is_in_the_week() -> None:
    """Sunday 22:00 starts inside the week though it ends next Monday (the bound is on the start)."""
    assert "week" not in _rules(_shift("v", 0, 9) + _shift("v", 1, 9) + _shift("v", 2, 9) + _night("v", 6))


def test_activity_and_order_rows() -> None:
    """An unknown activity and a row ending before it starts are named."""
    rows = _legal_week()
    nap = [dict(r) for r in rows]
    nap[1]["activity"] = "nap"
    assert "activity" in _rules(nap)
    backwards = [dict(r) for r in rows]
    backwards[0]["start_at"], backwards[0]["end_at"] = backwards[0]["end_at"], backwards[0]["start_at"]
    assert "order" in _rules(backwards)
    empty = [dict(r) for r in rows]
    empty[0]["end_at"] = empty[0]["start_at"]  # zero length
    assert "order" in _rules(empty)
    assert not {"activity", "order"} & _rules(rows)


def test_unknown_agent_is_named() -> None:
    assert "unknown_agent" in _rules(_legal_week() + _shift("ghost", 5, 9))


# ---------------------------------------------------------------- the objective, recounted independently


def _local(ts: datetime) -> datetime:
    return ts.astimezone(TZ).replace(tzinfo=None)


def independent_objective(problem, rows: list[dict]) -> float:
    """under/over coverage (an interval counts when an agent works all of it), weekend and night spreads.

    Counted with local datetimes: interval i covers [week start + i·step, + step); shifts are runs of
    back-to-back rows other than ``off``; a shift is a weekend shift when it starts on Saturday or Sunday,
    a night shift when at least 3 h of it fall between 22:00 and 06:00.
    """
    step = timedelta(minutes=problem.interval_minutes)
    start = datetime.combine(problem.week_start, datetime.min.time())
    total = list(problem.requirements) == [None]
    under = over = 0
    work = [(r.get("queue"), _local(r["start_at"]), _local(r["end_at"])) for r in rows if r["activity"] == "work"]
    for q, req in problem.requirements.items():
        for i in range(problem.n_intervals):
            lo, hi = start + i * step, start + (i + 1) * step
            have = sum(1 for wq, s, e in work if (total or wq == q) and s <= lo and hi <= e)
            under += max(int(req[i]) - have, 0)
            over += max(have - int(req[i]), 0)
    weekend, nights = [], []
    for a in problem.agents:
        mine = sorted((_local(r["start_at"]), _local(r["end_at"])) for r in rows
                      if r["agent_id"] == a.agent_id and r["activity"] != "off")  # fmt: skip
        shifts: list[list[datetime]] = []
        for s, e in mine:
            if shifts and shifts[-1][1] == s:
                shifts[-1][1] = e
            else:
                shifts.append([s, e])
        weekend.append(sum(1 for s, _ in shifts if s.weekday() >= 5))
        n = 0
        for s, e in shifts:
            night = timedelta()
            day = datetime.combine(s.date() - timedelta(days=1), datetime.min.time())
            while day < e:
                lo, hi = day + timedelta(hours=22), day + timedelta(hours=30)
                night += max(timedelta(), min(e, hi) - max(s, lo))
                day += timedelta(days=1)
            n += night >= timedelta(hours=3)
        nights.append(n)
    w = problem.weights
    spread = (max(weekend) - min(weekend), max(nights) - min(nights)) if weekend else (0, 0)
    return float(w.under * under + w.over * over + w.weekend_spread * spread[0] + w.night_spread * spread[1])


def test_independent_objective_of_a_hand_made_week() -> None:
    """The recount itself, on a week worked out by hand: one D shift against 1 agent needed 09:00-10:00."""
    req = np.zeros(N)
    req[36:40] = 1  # Monday 09:00-10:00
    problem = _problem([Agent(agent_id="v", contract="ft"), Agent(agent_id="w", contract="ft")], {None: req})
    rows = _shift("v", 0, 9) + _night("w", 5)
    # v works 09:00-17:00 minus break 10:45-11:00 and lunch 13:00-13:30: 29 intervals, 4 needed -> over 25;
    # w works Saturday 22:00 - Sunday 06:00 minus a 15' break: 31 intervals over, one weekend and one night shift.
    assert independent_objective(problem, rows) == 10 * 0 + 1 * (25 + 31) + 1 * 1 + 1 * 1
    assert sv.score(problem, rows).objective == independent_objective(problem, rows)


@pytest.mark.parametrize("seed", [1, 2])
def test_reported_objective_matches_an_independent_recount(seed: int) -> None:
    """The objective the scheduler reports equals the recount of its rows (so a wrong ``score`` fails here)."""
    problem = random_problem(seed, n_agents=6 + 3 * seed, load=0.6 + 0.2 * seed)
    res = solve_schedule(problem, time_limit=1.5, workers=2)
    rows = res.rows()
    assert sv.validate(problem, rows) == []
    assert res.objective == independent_objective(problem, rows)
    assert res.lower_bound <= res.objective + 1e-6


def _work(agent: str, start: datetime, end: datetime) -> dict:
    return {"agent_id": agent, "activity": "work", "start_at": start, "end_at": end, "queue": None}


def test_score_edges_worked_by_hand() -> None:
    """Partly worked intervals do not count; a night shift needs at least 3 h between 22:00 and 06:00."""
    x = _work("x", _at(0, 9, 7), _at(0, 10))  # Mon 09:07-10:00: only 09:15, 09:30 and 09:45 are fully worked
    y = _work("y", _at(1, 20), _at(2, 0, 30))  # Tue 20:00-00:30: 18 intervals, 2.5 h of night: not a night shift
    z = _work("z", _at(3, 21), _at(4, 1))  # Thu 21:00-01:00: 16 intervals, exactly 3 h of night: a night shift
    zero = {None: np.zeros(N)}
    p_xy = _problem([Agent(agent_id="x", contract="ft"), Agent(agent_id="y", contract="ft")], zero)
    s = sv.score(p_xy, [x, y])
    assert (s.over, s.under, s.night_spread, s.weekend_spread, s.objective) == (21, 0, 0, 0, 21.0)
    p_xz = _problem([Agent(agent_id="x", contract="ft"), Agent(agent_id="z", contract="ft")], zero)
    s = sv.score(p_xz, [x, z])
    assert (s.over, s.night_spread, s.objective) == (19, 1, 20.0)
    assert independent_objective(p_xy, [x, y]) == 21.0 and independent_objective(p_xz, [x, z]) == 20.0
    # one agent needed Monday 09:00-10:00: x covers three of the four intervals
    need = np.zeros(N)
    need[36:40] = 1
    s = sv.score(_problem([Agent(agent_id="x", contract="ft")], {None: need}), [x])
    assert (s.under, s.over, s.objective) == (1, 0, 10.0)


# ---------------------------------------------------------------- survivors of `make mutate` (validator)


def test_each_violation_names_its_agent_and_says_why() -> None:
    """Violations carry the rule, the agent and a readable detail (what a planner reads)."""
    rows = [dict(r) for r in _legal_week()]
    rows[1]["activity"] = "nap"
    rows[0]["start_at"], rows[0]["end_at"] = rows[0]["end_at"], rows[0]["start_at"]
    rows += _shift("ghost", 5, 9)[:1]
    rows += [_work("v", _at(1, 16), _at(1, 18))]  # overlaps Tuesday's last row
    problem = _problem([Agent(agent_id="v", contract="ft")])
    got = {v.rule: v for v in sv.validate(problem, rows)}
    assert {"activity", "order", "unknown_agent", "overlap"} <= set(got)
    assert (got["unknown_agent"].agent_id, got["unknown_agent"].detail) == ("ghost", "agent not in the roster")
    for rule in ("activity", "order", "overlap"):
        assert got[rule].agent_id == "v" and got[rule].detail
    assert "'nap'" in got["activity"].detail and "ends before it starts" in got["order"].detail
    assert "overlaps" in got["overlap"].detail


def test_overlap_is_exact() -> None:
    """Back-to-back rows do not overlap; rows overlapping by 30 seconds do."""
    legal = _legal_week()
    assert "overlap" not in _rules([*legal, _work("v", _at(4, 9), _at(4, 10)), _work("v", _at(4, 10), _at(4, 11))])
    late = _at(4, 10) - timedelta(seconds=30)
    assert "overlap" in _rules([*legal, _work("v", _at(4, 9), _at(4, 10)), _work("v", late, _at(4, 11))])


def test_rows_after_an_unknown_agent_are_still_checked() -> None:
    """An unknown agent's row does not stop the check of the rows after it."""
    rows = _shift("ghost", 5, 9)[:1] + [dict(r) for r in _legal_week()]
    rows[-1]["activity"] = "nap"
    assert {"unknown_agent", "activity"} <= _rules(rows)


def test_skills_are_checked_per_queue() -> None:
    """With per-queue requirements a shift on a queue the agent lacks is named; total requirements ignore skills."""
    legal = _legal_week()
    tech = [{**r, "queue": "tech" if r["activity"] == "work" else None} for r in legal]
    agents = [Agent(agent_id="v", contract="ft", skills=["billing"])]
    assert "skills" in _rules(tech, agents, {"billing": np.ones(N), "tech": np.ones(N)})
    assert "skills" not in _rules(tech, agents)


def test_hours_band_is_inclusive_and_an_idle_agent_is_short() -> None:
    """Exactly the maximum (5 x 8 h = 40 h) is legal; an agent without rows breaks the minimum and nothing else."""
    five = [r for d in range(5) for r in _shift("v", d, 9)]
    assert _rules(five) == set()
    problem = _problem([Agent(agent_id="v", contract="ft"), Agent(agent_id="idle", contract="ft")])
    assert {(v.rule, v.agent_id) for v in sv.validate(problem, five)} == {("hours", "idle")}


@pytest.mark.parametrize(
    ("windows", "ok"),
    [
        (["09:00-17:00"], True),  # exactly the shift
        (["09:00-13:00", "13:00-17:00"], True),  # two windows back to back
        (["09:30-17:00"], False),  # starts half an hour late
        (["09:00-16:59"], False),  # ends a minute early
        (["08:00-12:00", "12:30-18:00"], False),  # a hole at lunch time
    ],
)
def test_availability_windows(windows: list[str], ok: bool) -> None:
    """A shift must lie inside the agent's availability windows, without a hole."""
    agent = Agent(agent_id="v", contract="ft", availability={d: windows for d in ("mon", "tue", "wed", "thu")})
    assert ("availability" not in _rules(_legal_week(), [agent])) is ok


def test_availability_window_across_midnight() -> None:
    """A window such as 22:00-06:00 runs into the next day."""
    rows = _shift("v", 0, 9) + _shift("v", 1, 9) + _night("v", 3)
    night_ok = Agent(agent_id="v", contract="ft", availability={"mon": ["09:00-17:00"], "tue": ["09:00-17:00"],
                                                                "thu": ["22:00-06:00"]})  # fmt: skip
    assert "availability" not in _rules(rows, [night_ok])
    short = Agent(agent_id="v", contract="ft", availability={"mon": ["09:00-17:00"], "tue": ["09:00-17:00"],
                                                             "thu": ["22:00-05:00"]})  # fmt: skip
    assert "availability" in _rules(rows, [short])


@pytest.mark.parametrize(
    ("start", "end", "minutes"),
    [(22 * 60, 30 * 60, 480), (0, 1440, 480), (600, 840, 0), (5 * 60, 7 * 60, 60), (21 * 60, 23 * 60, 60),
     (1440 + 22 * 60, 1440 + 31 * 60, 480), (0, 3 * 1440, 3 * 480)],
)
def test_night_minutes(start: float, end: float, minutes: float) -> None:
    """Minutes between 22:00 and 06:00 in [start, end) (week minutes), counted by hand."""
    assert sv._night_minutes(start, end) == minutes


def test_score_spreads_and_queues() -> None:
    """Weekend and night spreads are max minus min over agents; per-queue coverage counts each queue's rows only;
    total requirements count every work row whatever its queue; an interval at minute 0 counts."""
    zero = {None: np.zeros(N)}
    agents = [Agent(agent_id=a, contract="ft") for a in ("a", "b", "c")]
    rows = (_night("a", 5) + _night("a", 6) + _shift("b", 5, 9) + _night("b", 3) + _shift("c", 0, 9)
            + _night("c", 5) + [_work("c", _at(0, 0), _at(0, 1))])  # fmt: skip
    s = sv.score(_problem(agents, zero), rows)
    # weekend shifts a 2, b 1, c 1; night shifts a 2, b 1, c 1: spreads are 2 - 1 (not 2 + 1, not 2)
    assert (s.weekend_spread, s.night_spread) == (1, 1)
    assert s.coverage[None][0] == 1  # Monday 00:00-00:15
    named = [{**r, "queue": "billing"} for r in _shift("c", 0, 9)]
    assert sv.score(_problem(agents, zero), named).over == 29  # total requirements: the queue name is ignored
    per_queue = {"billing": np.zeros(N), "tech": np.zeros(N)}
    mixed = [{**r, "queue": "sales"} for r in _shift("a", 1, 9)] + named
    s = sv.score(_problem(agents, per_queue), mixed)
    assert s.over == 29 and int(s.coverage["billing"].sum()) == 29 and int(s.coverage["tech"].sum()) == 0
    assert sv.score(_problem([], zero), []).objective == 0.0


def test_a_day_of_time_off_starts_at_midnight() -> None:
    """Time off for Wednesday covers Wednesday 00:00-24:00 local: a Tuesday row until 23:45 does not touch it,
    a Wednesday row at 00:10 or 23:50 does."""
    agent = Agent(agent_id="v", contract="ft", time_off=[TimeOff(day=WEEK + timedelta(days=2))])
    base = _shift("v", 0, 9)
    assert "time_off" not in _rules([*base, _work("v", _at(1, 22, 30), _at(1, 23, 45))], [agent])
    assert "time_off" in _rules([*base, _work("v", _at(2, 0, 10), _at(2, 1))], [agent])
    assert "time_off" in _rules([*base, _work("v", _at(2, 23, 50), _at(3, 0, 30))], [agent])
    assert "time_off" not in _rules([*base, _work("v", _at(3, 0, 0), _at(3, 1))], [agent])


# ---------------------------------------------------------------- survivors of `make mutate`, fourth round


def test_a_contract_allows_only_its_templates() -> None:
    """The part-time contract lists templates D and E: two D shifts are legal, a night shift (N) is not; the
    full-time contract lists none, so N is fine there."""
    pt = [Agent(agent_id="p", contract="pt")]
    assert _rules(_shift("p", 0, 9) + _shift("p", 1, 9), pt) == set()
    problem = _problem(pt)
    got = [v for v in sv.validate(problem, _shift("p", 0, 9) + _night("p", 2)) if v.rule == "template"]
    assert [(v.agent_id, v.detail) for v in got] == [
        ("p", "shift at minute 4200: no allowed template with these start, length and breaks")]  # Wed 22:00
    assert "template" not in _rules(_legal_week() + _night("v", 5))


def test_a_shift_outside_the_week_is_named() -> None:
    problem = _problem([Agent(agent_id="v", contract="ft")])
    got = [v for v in sv.validate(problem, _legal_week() + _shift("v", -1, 9)) if v.rule == "week"]
    # Sunday before the week, 09:00: minute -1440 + 540
    assert [(v.agent_id, v.detail) for v in got] == [("v", "shift at minute -900 starts outside the week")]


@pytest.mark.parametrize("edge", ["start", "end"])
def test_a_break_at_either_edge_of_a_shift(edge: str) -> None:
    """A shift that starts with a break, or ends with a lunch, breaks the rule (one edge is enough)."""
    d = 4  # Friday, after the legal Mon-Thu
    if edge == "start":
        rows = [{"agent_id": "v", "activity": "break", "start_at": _at(d, 9), "end_at": _at(d, 9, 15), "queue": None},
                _work("v", _at(d, 9, 15), _at(d, 17))]  # fmt: skip
    else:
        lunch = {"agent_id": "v", "activity": "lunch", "start_at": _at(d, 16, 30), "end_at": _at(d, 17), "queue": None}
        rows = [_work("v", _at(d, 9), _at(d, 16, 30)), lunch]
    problem = _problem([Agent(agent_id="v", contract="ft")])
    got = [(v.rule, v.agent_id, v.detail) for v in sv.validate(problem, _legal_week() + rows)]
    assert ("breaks", "v", "shift at minute 6300: a break or lunch at the edge of the shift") in got  # Fri 09:00


def test_two_agents_on_the_same_interval_count_twice() -> None:
    """Coverage adds agents up: two agents working Monday 09:00-10:00 with nobody needed are 2 x 4 intervals over."""
    x, y = _work("x", _at(0, 9), _at(0, 10)), _work("y", _at(0, 9), _at(0, 10))
    p = _problem([Agent(agent_id="x", contract="ft"), Agent(agent_id="y", contract="ft")], {None: np.zeros(N)})
    s = sv.score(p, [x, y])
    assert (s.over, s.under, s.objective) == (8, 0, 8.0)
    assert list(s.coverage[None][36:40]) == [2, 2, 2, 2] and int(s.coverage[None].sum()) == 8


Pause = tuple[int, int, int] | None


def _d_shift(day: int, brk: Pause = (10, 45, 15), lunch: Pause = (13, 0, 30), brk_kind: str = "break",
             end_h: int = 17) -> list[dict]:  # fmt: skip
    """A 09:00 shift of agent v on ``day`` ending at ``end_h``: work, then each (hh, mm, minutes) pause given."""
    pauses = [(kind, _at(day, p[0], p[1]), p[2]) for kind, p in ((brk_kind, brk), ("lunch", lunch)) if p]
    rows, t = [], _at(day, 9)
    for kind, s, minutes in pauses:
        rows += [_work("v", t, s), {"agent_id": "v", "activity": kind, "start_at": s,
                                    "end_at": s + timedelta(minutes=minutes), "queue": None}]  # fmt: skip
        t = s + timedelta(minutes=minutes)
    return [*rows, _work("v", t, _at(day, end_h))]


@pytest.mark.parametrize(
    ("shift", "rule"),
    [
        (_d_shift(4, brk=(10, 0, 15), lunch=(13, 30, 30)), None),  # break at exactly +60, lunch ends at exactly +300
        (_d_shift(4, lunch=(13, 45, 30)), "breaks"),  # lunch ends at +315, after +300
        (_d_shift(4, brk=(9, 30, 15)), "breaks"),  # break at +30, before +60
        (_d_shift(4, brk=(10, 45, 20)), "breaks"),  # a 20-minute break (only 15 allowed)
        (_d_shift(4, brk_kind="lunch"), "breaks"),  # a 15-minute "lunch" where the break goes
        (_d_shift(4, lunch=None), "breaks"),  # the lunch missing
        (_d_shift(4, end_h=16), "template"),  # 09:00 for 7 h: no template that long starts then
    ],
)
def test_breaks_must_fit_the_template_windows(shift: list[dict], rule: str | None) -> None:
    """Break windows and lengths of template D (break 15' in +60..+150, lunch 30-60' in +180..+300) are inclusive;
    a pause off its window, of the wrong length or kind, or missing is a "breaks" violation; a start and length
    that no template has is a "template" violation."""
    problem = _problem([Agent(agent_id="v", contract="ft")])
    got = [(v.rule, v.agent_id, v.detail) for v in sv.validate(problem, _legal_week() + shift)]
    want = [] if rule is None else [
        (rule, "v", "shift at minute 6300: no allowed template with these start, length and breaks")]  # fmt: skip
    assert got == want


def test_a_later_template_still_matches_and_unmatched_shifts_count_their_hours() -> None:
    """An E shift (13:00, lunch +180..+300) is legal for ft although D comes first in the list; three 8-hour shifts
    with misplaced breaks still count 24 paid hours (the minimum): only their "breaks" violations are reported."""
    e = [_work("v", _at(4, 13), _at(4, 16, 30)),
         {"agent_id": "v", "activity": "lunch", "start_at": _at(4, 16, 30), "end_at": _at(4, 17), "queue": None},
         _work("v", _at(4, 17), _at(4, 21))]  # fmt: skip
    assert _rules(_legal_week() + e) == set()
    bad = [r for d in (0, 1, 2) for r in _d_shift(d, brk=(9, 30, 15))]
    problem = _problem([Agent(agent_id="v", contract="ft")])
    assert [v.rule for v in sv.validate(problem, bad)] == ["breaks"] * 3


def test_several_queues_name_the_agent_and_the_queues() -> None:
    rows = [dict(r) for r in _shift("v", 4, 9)]
    for r in rows:
        if r["activity"] == "work":
            r["queue"] = "billing"
    rows[-1]["queue"] = "tech"
    problem = _problem([Agent(agent_id="v", contract="ft")],
                       {"billing": np.zeros(N), "tech": np.zeros(N)})  # fmt: skip
    got = [(v.agent_id, v.detail) for v in sv.validate(problem, _legal_week() + rows) if v.rule == "queue"]
    assert got == [("v", "shift at minute 6300: works several queues ['billing', 'tech']")]


def _violations(rows: list[dict], agents: list[Agent] | None = None, req: dict | None = None) -> list[tuple]:
    problem = _problem(agents or [Agent(agent_id="v", contract="ft")], req)
    return [(v.rule, v.agent_id, v.detail) for v in sv.validate(problem, rows)]


def test_week_rules_name_the_agent_and_the_figures() -> None:
    """Contract ft: 24-40 h, 2 days off (two in a row), at most 5 days in a row, 11 h rest. Figures worked by hand."""
    six = [r for d in range(6) for r in _shift("v", d, 9)]  # Mon-Sat: 48 h, one day off, six in a row
    assert _violations(six) == [("hours", "v", "48 h outside 24-40 h"),
                                ("days_off", "v", "1 days off, contract needs 2"),
                                ("consecutive_days_off", "v", "no two consecutive days off"),
                                ("consecutive_days", "v", "6 days in a row, max 5")]  # fmt: skip
    five = [r for d in range(5) for r in _shift("v", d, 9)]  # Mon-Fri: 40 h, Sat and Sun off: legal
    assert _violations(five) == []
    # Mon, Wed, Thu, Sat: three days off, never two in a row (the contract needs two, so the pair is required)
    singles = [r for d in (0, 2, 3, 5) for r in _shift("v", d, 9)]
    assert _violations(singles) == [("consecutive_days_off", "v", "no two consecutive days off")]
    # half an hour more than 40 h (an extra 30-minute row on Saturday is a shift of its own)
    extra = [_work("v", _at(5, 9), _at(5, 9, 30))]
    assert ("hours", "v", "40.5 h outside 24-40 h") in _violations(five + extra)


def test_days_in_a_row_restart_after_a_day_off() -> None:
    """Part-time (at most 3 days in a row): Mon, Tue, then Thu-Sat is three in a row at most."""
    pt = [Agent(agent_id="v", contract="pt")]
    rows = [r for d in (0, 1, 3, 4, 5) for r in _shift("v", d, 9)]
    assert "consecutive_days" not in {v[0] for v in _violations(rows, pt)}
    rows = [r for d in (0, 1, 2, 3) for r in _shift("v", d, 9)]
    assert ("consecutive_days", "v", "4 days in a row, max 3") in _violations(rows, pt)


def test_rest_between_shifts_to_the_minute() -> None:
    """pt needs 12 h rest: an E shift Monday (to 21:00) then Tuesday 09:00 is exactly 12 h (legal); 08:59 is not."""
    pt = [Agent(agent_id="v", contract="pt")]
    e = [_work("v", _at(0, 13), _at(0, 16, 30)),
         {"agent_id": "v", "activity": "lunch", "start_at": _at(0, 16, 30), "end_at": _at(0, 17), "queue": None},
         _work("v", _at(0, 17), _at(0, 21))]  # fmt: skip
    assert "rest" not in {v[0] for v in _violations(e + _shift("v", 1, 9), pt)}
    early = [_work("v", _at(1, 8, 59), _at(1, 17))]
    assert ("rest", "v", "11.9833 h rest before minute 1979") in _violations(e + early, pt)
    # ft (11 h): a night shift Monday 22:00-06:00 and Tuesday 09:00 leave 3 h
    assert ("rest", "v", "3 h rest before minute 1980") in _violations(_night("v", 0) + _shift("v", 1, 9))


def test_full_days_of_time_off_lower_the_minimum_to_the_day() -> None:
    """8 h credit per full day off inside the week: two days give a 8-40 h band, three (24 h) a 0-40 h band; a day
    off after the week credits nothing."""
    def agent(start: datetime, end: datetime) -> list[Agent]:
        return [Agent(agent_id="v", contract="ft", time_off=[TimeOff(start=start, end=end)])]

    two = agent(datetime(2026, 11, 25), datetime(2026, 11, 27))  # Wed and Thu
    assert _violations([], two) == [("hours", "v", "0 h outside 8-40 h")]
    three = agent(datetime(2026, 11, 25), datetime(2026, 11, 28))
    assert "hours" not in {v[0] for v in _violations([], three)}
    # Sunday and the next Monday: only Sunday is in the week, the minimum is 16 h
    edge = agent(datetime(2026, 11, 29), datetime(2026, 12, 1))
    assert ("hours", "v", "8 h outside 16-40 h") in _violations(_shift("v", 0, 9), edge)


def test_other_rules_name_the_agent_and_the_shift() -> None:
    tech = [{**r, "queue": "tech" if r["activity"] == "work" else None} for r in _legal_week()]
    skilled = [Agent(agent_id="v", contract="ft", skills=["billing"])]
    assert _violations(tech, skilled, {"billing": np.ones(N), "tech": np.ones(N)})[0] == (
        "skills", "v", "shift at minute 540: queue {'tech'} not among skills ['billing']")
    late = [Agent(agent_id="v", contract="ft", availability={d: ["09:30-17:00"] for d in ("mon", "tue", "wed", "thu")})]
    assert _violations(_legal_week(), late)[0] == ("availability", "v", "shift at minute 540: outside availability")
    off = [Agent(agent_id="v", contract="ft", time_off=[TimeOff(day=datetime(2026, 11, 24).date())])]
    assert _violations(_legal_week(), off) == [("time_off", "v", "shift at minute 1980: overlaps approved time off")]
    twice = _shift("v", 0, 9) + _night("v", 0) + _shift("v", 3, 9)
    assert ("one_shift_per_day", "v", "two shifts start on the same day") in _violations(twice)


def test_a_day_marked_off_is_not_a_shift() -> None:
    day_off = {"agent_id": "v", "activity": "off", "start_at": _at(5, 0), "end_at": _at(6, 0), "queue": None}
    assert _violations([*_legal_week(), day_off]) == []


def test_paid_minutes_of_a_template_count_not_its_length() -> None:
    """A template paid 7.5 of its 8 hours: three such shifts are 22.5 h, under the 24-hour minimum."""
    d = '{name: D, start: "09:00", length_minutes: 480,'
    rules = SMALL_RULES.replace(d, d + " paid_minutes: 450,")
    assert rules != SMALL_RULES
    problem = _problem([Agent(agent_id="v", contract="ft")], rules=rules)
    rows = [r for d in (0, 1, 2) for r in _shift("v", d, 9)]
    assert [(v.rule, v.detail) for v in sv.validate(problem, rows)] == [("hours", "22.5 h outside 24-40 h")]


def test_a_shift_after_the_week_is_no_working_day_of_it() -> None:
    """Mon-Fri plus a shift next Monday: the extra shift is out of the week (and its hours count), but the week still
    has its two days off."""
    rows = [r for d in range(5) for r in _shift("v", d, 9)] + _shift("v", 7, 9)
    assert {v[0] for v in _violations(rows)} == {"week", "hours"}


def test_rows_a_minute_apart_are_two_shifts() -> None:
    """Blocks join rows that touch exactly; a one-minute gap starts a new shift (here a second one on Friday)."""
    rows = [*_legal_week(), *_shift("v", 4, 9), _work("v", _at(4, 17, 1), _at(4, 17, 30))]
    assert ("one_shift_per_day", "v", "two shifts start on the same day") in _violations(rows)
