"""A week the roster cannot cover says why, per short interval: not enough people, or the contract rules
(or, when neither explains it, the assignment within its time limit). Checked on weeks small enough to count by
hand."""

from __future__ import annotations

import numpy as np
from test_scheduling import SMALL_RULES, WEEK, ZONE, N

from callops.wfm import schedule_validator as sv
from callops.wfm.rules import Agent, load_workforce, problem_from_workforce
from callops.wfm.scheduling import solve_schedule


def _problem(agents: list[Agent], req: np.ndarray):
    return problem_from_workforce(load_workforce(text=SMALL_RULES), agents, WEEK, ZONE, {None: req})


def test_nobody_can_work_the_night_and_two_cannot_be_three() -> None:
    # part-timers work only the D (09:00-17:00) and E (13:00-21:00) templates
    agents = [Agent(agent_id=f"p{i}", contract="pt") for i in range(2)]
    req = np.zeros(N)
    req[3 * 4:4 * 4] = 1  # Monday 03:00-04:00: no template reaches it
    req[96 + 10 * 4:96 + 11 * 4] = 3  # Tuesday 10:00-11:00: three wanted, two exist
    res = solve_schedule(_problem(agents, req), time_limit=2.0, workers=2)
    assert sv.validate(res.problem, res.rows()) == []
    night = [u for u in res.uncovered if u["interval_start"].startswith(("2026-11-22T19", "2026-11-22T20"))]
    assert len(night) == 4 and all(u["reason"] == "people" and u["agents_able"] == 0 for u in night)
    tuesday = [u for u in res.uncovered if u["interval_start"].startswith("2026-11-24T02")]
    assert len(tuesday) == 4
    assert all(u["reason"] == "people" and u["agents_able"] == 2 and u["short"] >= 1 for u in tuesday)


def test_one_full_timer_cannot_work_seven_days() -> None:
    """One agent, one needed 09:00-17:00 every day: the contract allows five days, so two days stay short although
    the agent could work any one of them (able = 1): the contract rules, not the people, leave them short."""
    req = np.zeros(N)
    for d in range(7):
        req[d * 96 + 36:d * 96 + 68] = 1
    res = solve_schedule(_problem([Agent(agent_id="f0", contract="ft")], req), time_limit=2.0, workers=2)
    assert sv.validate(res.problem, res.rows()) == []
    assert {u["agents_able"] for u in res.uncovered} == {1}  # never "not enough people": one can do any day
    assert {u["reason"] for u in res.uncovered} <= {"contract_rules", "assignment"}
    # the two days the contract forbids (five days at most) are short all day for that reason
    by_day: dict[str, int] = {}
    for u in res.uncovered:
        if u["reason"] == "contract_rules":
            by_day[u["interval_start"][:10]] = by_day.get(u["interval_start"][:10], 0) + 1
    assert sum(1 for n in by_day.values() if n == 32) == 2
    # a day the plan wanted but the quick assignment (2 s: its legal start only) left out is the assignment's
    worked = {r["start_at"].date().isoformat() for r in res.rows() if r["activity"] == "work"}
    assert len(worked) + sum(1 for n in by_day.values() if n == 32) + sum(
        1 for d in {u["interval_start"][:10] for u in res.uncovered if u["reason"] == "assignment"}
        if d not in worked) == 7
