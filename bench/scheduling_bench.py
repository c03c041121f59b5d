"""Bench: one week at 15-minute intervals for 300 named agents, 60 s on 2 workers.

Prints the objective, the LP bound, the gap and the solve time of the CP-SAT decomposition, and the
same objective for a greedy baseline (agents one by one take their best legal week) as a ratio.
Every schedule is checked by the independent validator first. Timings are noisy on a shared machine.

    .venv/bin/python bench/scheduling_bench.py [--agents 300] [--seconds 60] [--workers 2] [--seed 1] [--burner]

``--burner`` starts a CPU burner process (a busy loop, not niced) before the solve and stops it after: the
solver then has the other core busy for its whole run, as on a shared machine (issue 18).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import time

from callops.wfm import schedule_validator as sv
from callops.wfm.schedule_instances import random_problem
from callops.wfm.scheduling import greedy_schedule, schedule_rows, solve_schedule


def _burn(stop: mp.synchronize.Event) -> None:  # type: ignore[name-defined]
    """Keep one core busy until ``stop`` is set (checked every ~10 ms of work)."""
    x = 0
    while not stop.is_set():
        for i in range(20_000):
            x ^= i


def main() -> None:
    """Run the bench and print its figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=300)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--burner", action="store_true", help="keep one other core busy during the solve")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args()

    problem = random_problem(args.seed, args.agents)
    stop = mp.Event()
    burner = mp.Process(target=_burn, args=(stop,), daemon=True) if args.burner else None
    if burner is not None:
        burner.start()
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        res = solve_schedule(problem, time_limit=args.seconds, workers=args.workers)
        cp_seconds = time.perf_counter() - t0
        cpu_seconds = time.process_time() - c0  # what the solver got of the machine (all its threads)
    finally:
        if burner is not None:
            stop.set()
            burner.join(5)
    rows = res.rows()
    bad = sv.validate(problem, rows)
    if bad:
        raise SystemExit(f"CP-SAT schedule breaks {len(bad)} rule(s), first: {bad[0]}")

    t0 = time.perf_counter()
    greedy_rows = schedule_rows(problem, greedy_schedule(problem))
    greedy_seconds = time.perf_counter() - t0
    bad = sv.validate(problem, greedy_rows)
    if bad:
        raise SystemExit(f"greedy schedule breaks {len(bad)} rule(s), first: {bad[0]}")
    greedy = sv.score(problem, greedy_rows)

    out = {
        "agents": args.agents,
        "intervals": problem.n_intervals,
        "queues": len(problem.queues),
        "shifts": len(res.shifts),
        "time_limit_s": args.seconds,
        "workers": args.workers,
        "burner": args.burner,
        "objective": res.objective,
        "under_coverage": res.under,
        "over_coverage": res.over,
        "weekend_spread": res.weekend_spread,
        "night_spread": res.night_spread,
        "lp_bound": res.lp_bound,
        "mip_bound": res.mip_bound,
        "lower_bound": res.lower_bound,
        "gap": res.gap,
        "solve_s": round(cp_seconds, 2),
        "solve_cpu_s": round(cpu_seconds, 2),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "stages": res.stages,
        "greedy_objective": greedy.objective,
        "greedy_under": greedy.under,
        "greedy_over": greedy.over,
        "greedy_s": round(greedy_seconds, 2),
        "greedy_over_cpsat_objective_ratio": round(greedy.objective / res.objective, 3) if res.objective else None,
    }
    if args.json:
        print(json.dumps(out, default=str))
        return
    print(
        f"scheduling {args.agents} agents x {problem.n_intervals} intervals x {len(problem.queues)} queues, "
        f"{args.seconds:g} s limit, {args.workers} workers"
    )
    print(
        f"  CP-SAT decomposition: objective {res.objective:,.0f} (under {res.under}, over {res.over}, "
        f"weekend spread {res.weekend_spread}, night spread {res.night_spread}) in {cp_seconds:.1f} s "
        f"({cpu_seconds:.1f} CPU s; load average {out['load_average'][0]})"
    )
    print(f"  LP bound {res.lp_bound:,.1f}, MIP bound (breaks fractional) {res.mip_bound}")
    print(f"  gap to the best lower bound {res.lower_bound:,.1f}: {res.gap:.1%}")
    for name, st in res.stages.items():
        print(f"    stage {name}: {st}")
    print(
        f"  greedy baseline: objective {greedy.objective:,.0f} (under {greedy.under}, over {greedy.over}) "
        f"in {greedy_seconds:.1f} s"
    )
    print(f"  ratio greedy / CP-SAT objective: {out['greedy_over_cpsat_objective_ratio']}")


if __name__ == "__main__":
    main()
