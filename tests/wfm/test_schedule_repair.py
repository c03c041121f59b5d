"""The assignment repair (issue 16): agents' best responses against the counts a time-limited assignment left
short never make the count deviation worse, keep every hard rule (the independent validator), and fill what a
deliberately damaged assignment lost."""

from __future__ import annotations

import time

import pytest

from callops.wfm import schedule_validator as sv
from callops.wfm.schedule_instances import random_problem
from callops.wfm.scheduling import (
    _counting_model,
    _place_breaks,
    _repair,
    _sequential_hint,
    schedule_rows,
    shift_options,
)


def deviation(problem, target: dict, chosen: list) -> int:
    """Weighted short and over shift counts against the target, counted by hand from the chosen shifts."""
    w, step = problem.weights, problem.interval_minutes
    got: dict = {}
    for o in chosen:
        got[o.group] = got.get(o.group, 0) + 1
    total = 0
    for g in set(target) | set(got):
        t = problem.templates[g[1]]
        work = (t.length_minutes - sum(b.min_minutes for b in t.breaks)) // step
        diff = got.get(g, 0) - target.get(g, 0)
        total += (max(1, w.over) * diff if diff > 0 else w.under * -diff) * work
    return total


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_repair_never_worsens_and_keeps_the_rules(seed: int) -> None:
    problem = random_problem(seed, n_agents=8 + 2 * seed, load=0.7 + 0.1 * seed)
    opts = shift_options(problem)
    counts, _ = _counting_model(problem, opts, 3.0, 2)
    target = counts.n
    hint = [o for o, v in _sequential_hint(problem, opts, target).items() if v]
    # damage it: every third agent loses its week, as if the search had stopped early
    dropped = {o.agent for o in hint if o.agent % 3 == 0}
    damaged = [o for o in hint if o.agent not in dropped]
    before = deviation(problem, target, damaged)
    # an agent without a week breaks its contract minimum; the repair gives each its legal best week back
    repaired, moved = _repair(problem, opts, target, damaged, deadline=time.perf_counter() + 30)
    assert deviation(problem, target, repaired) <= before
    assert deviation(problem, target, repaired) <= deviation(problem, target, hint) or moved
    full, _ = _repair(problem, opts, target, hint, deadline=time.perf_counter() + 30)
    assert deviation(problem, target, full) <= deviation(problem, target, hint)
    brk, _ = _counting_model(problem, opts, 3.0, 2, fixed={g: sum(1 for o in full if o.group == g)
                                                           for g in {o.group for o in full}})  # fmt: skip
    rows = schedule_rows(problem, _place_breaks(problem, full, brk))
    assert sv.validate(problem, rows) == []
