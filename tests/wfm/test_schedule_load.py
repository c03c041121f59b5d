"""The week scheduler's time policy and report (issue 18): every stage says what it got and did or why it did not
run, the kept assignment is never further from the plan than the warm start, the gap is split into what each stage
left, and with no counts plan the greedy roster is the result — every schedule checked by the independent
validator."""

from __future__ import annotations

import time
from collections import defaultdict

import pytest
from test_schedule_repair import deviation

from callops.wfm import schedule_validator as sv
from callops.wfm.schedule_instances import random_problem
from callops.wfm.scheduling import (
    _counting_model,
    _deviation,
    _greedy_result,
    _Responder,
    _sequential_hint,
    shift_options,
    solve_schedule,
)


@pytest.mark.parametrize("seed", [2, 5])
def test_stages_report_budgets_and_the_gap_is_explained(seed: int) -> None:
    problem = random_problem(seed, n_agents=24, load=0.9)
    t0 = time.perf_counter()
    res = solve_schedule(problem, time_limit=20.0, workers=1)
    assert time.perf_counter() - t0 < 20.0 * 1.5  # the limit holds (with slack for a busy test machine)
    assert sv.validate(problem, res.rows()) == []
    st = res.stages
    for name in ("counts", "hint", "assignment", "repair", "breaks"):
        assert "seconds" in st[name] or (st[name].get("status") == "skipped" and st[name].get("reason")), name
    limits = st["limits"]
    assert limits["limited_by"]
    if st["hint"].get("status") == "greedy":  # no counts plan in time on this machine, and greedy did better
        assert st["counts"]["status"] == "rounded_lp" and st["decomposition"]["objective"] >= res.objective
        return
    assert st["repair"]["cost"] <= st["hint"]["cost"]  # never further from the plan than the warm start
    if st["counts"]["status"] == "optimal":  # the bound is the plan's own value
        assert limits["plan_above_bound"] == pytest.approx(0.0, abs=1e-6)
    # the parts add up to the objective: plan + assignment's weighted distance + the rest
    total = st["counts"]["objective"] + limits["assignment_off_plan"] + limits["breaks_and_rest"]
    assert total == pytest.approx(res.objective, abs=0.1)
    assert res.gap == pytest.approx(max(0.0, (res.objective - res.lower_bound) / res.objective) if res.objective else 0)


def test_deviation_is_the_hand_count() -> None:
    """_deviation's weighted cost equals the repair test's independent count on a real warm start."""
    problem = random_problem(3, n_agents=14, load=1.0)
    opts = shift_options(problem)
    counts, _ = _counting_model(problem, opts, 20.0, 1)
    by_agent = defaultdict(list)
    for o in opts:
        by_agent[o.agent].append(o)
    hint = _sequential_hint(problem, opts, counts.n, responder=_Responder(problem, by_agent))
    chosen = [o for o, v in hint.items() if v]
    short, extra, cost = _deviation(problem, counts.n, chosen)
    assert cost == deviation(problem, counts.n, chosen)
    assert cost == problem.weights.under * short + max(1, problem.weights.over) * extra


def test_without_a_counts_plan_the_greedy_roster_is_the_result() -> None:
    problem = random_problem(4, n_agents=16, load=0.9)
    opts = shift_options(problem)
    counts, lp = _counting_model(problem, opts, 20.0, 1)
    counts.status, counts.objective, counts.bound = "rounded_lp", None, None  # as when the MIP finds no plan in time
    res = _greedy_result(problem, opts, time.perf_counter(), {}, lp, counts)
    assert sv.validate(problem, res.rows()) == []
    assert res.stages["hint"]["status"] == "greedy"
    assert all(res.stages[k]["status"] == "skipped" for k in ("assignment", "repair", "breaks"))
    assert "counting stage" in res.stages["limits"]["limited_by"]
    assert res.lower_bound == pytest.approx(lp.bound)
    assert res.objective == sv.score(problem, res.rows()).objective
