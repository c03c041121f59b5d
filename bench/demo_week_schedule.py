"""Bench (issue 18): the demo's week rostered for every queue, as `make demo`'s roster step does for billing.

Simulates the demo tenant's history (``generate_demo_tenant``, 28 days, seed 7) into ``$CALLOPS_HOME`` unless it is
there already, forecasts and staffs the next calendar week at 30-minute intervals (``plan_for_tenant``, default
targets, as ``callops.demo.plan_workforce``), then for each queue with requirements schedules the agents who hold
its skill (``solve_schedule`` with the tenant's workforce rules), optionally with a CPU burner beside the solver,
checks every schedule with the independent validator, and prints each queue's gap and what limits it.

    CALLOPS_HOME=$(mktemp -d) .venv/bin/python bench/demo_week_schedule.py [--seconds 30] [--burner] [--json]
        [--queues app_service,data_plan] [--dump DIR | --problems DIR]

A second run with the same ``$CALLOPS_HOME`` reuses the simulated history (only the planning is done again).
``--dump DIR`` writes each queue's problem (pickle) instead of solving it; ``--problems DIR`` solves those files
(no warehouse needed), so two versions of the solver (e.g. one through ``PYTHONPATH``) see the same week.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing as mp
import os
import pickle
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from callops import tenancy
from callops.demo import DEMO_TENANT, DEMO_TIMEZONE, ensure_demo_tenant
from callops.warehouse import Warehouse
from callops.wfm import schedule_validator as sv
from callops.wfm.rules import Problem, problem_from_workforce
from callops.wfm.schedule_cli import planned_agents, read_requirements, roster, workforce_for
from callops.wfm.scheduling import solve_schedule
from scheduling_bench import _burn


def _planned_problems(args: argparse.Namespace, only: set[str], out: dict) -> Iterator[tuple[str, Problem | None]]:
    """Simulate (unless ``$CALLOPS_HOME`` has the history), plan, and yield each queue's problem (None: no agents)."""
    from callops.sim.demo import generate_demo_tenant
    from callops.wfm.staffing import StaffingTargets, plan_for_tenant
    from callops.wfm.staffing_export import write_requirements_csv

    today = datetime.now(ZoneInfo(DEMO_TIMEZONE)).date()
    monday = today + timedelta(days=7 - today.weekday())
    horizon = (monday - today).days + 6
    out["week"] = str(monday)
    with Warehouse() as wh, tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        tenant = ensure_demo_tenant(wh)
        if tenancy.scoped(wh, tenant, "contacts").count().execute() == 0:  # else reuse $CALLOPS_HOME's history
            generate_demo_tenant(wh, days=28, seed=7)
        out["generate_s"] = round(time.perf_counter() - t0, 1)
        t0 = time.perf_counter()
        plan = plan_for_tenant(wh, DEMO_TENANT, horizon_days=horizon, interval_min=30, targets=StaffingTargets())
        every = write_requirements_csv(plan, Path(tmp) / "requirements.csv")
        out["plan_s"] = round(time.perf_counter() - t0, 1)
        with every.open(encoding="utf-8") as f:
            rows = [r for r in csv.DictReader(f) if r["interval_start"][:10] >= str(monday)]
        wf, _ = workforce_for(DEMO_TENANT)
        agent_rows = tenancy.scoped(wh, tenant, "agents").to_pyarrow().to_pylist()
        for queue in sorted({r["skill"] for r in rows}):
            mine = [r for r in rows if r["skill"] == queue]
            if (only and queue not in only) or not any(float(r["required"]) > 0 for r in mine):
                continue
            path = Path(tmp) / f"requirements-{queue}.csv"
            with path.open("w", encoding="utf-8", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=["interval_start", "required", "skill"])
                writer.writeheader()
                writer.writerows(mine)
            req = read_requirements(path, monday, tenant.timezone, wf.interval_minutes)
            agents = planned_agents(roster(agent_rows, wf), req)
            yield queue, (problem_from_workforce(wf, agents, monday, tenant.timezone, req) if agents else None)


def _dumped_problems(folder: Path, only: set[str], out: dict) -> Iterator[tuple[str, Problem | None]]:
    """The problems an earlier ``--dump`` wrote, by queue name."""
    files = sorted(folder.glob("*.pickle"))
    if not files:
        raise SystemExit(f"no <queue>.pickle files in {folder} (write them with --dump)")
    for path in files:
        if not only or path.stem in only:
            problem = pickle.loads(path.read_bytes())  # files this script wrote
            out["week"] = str(problem.week_start)
            yield path.stem, problem


def main() -> None:
    """Generate (if needed), plan and roster every queue; print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0, help="solver limit per queue (the demo uses 30)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--burner", action="store_true", help="keep one other core busy during each solve")
    ap.add_argument("--json", action="store_true", help="print one JSON document")
    ap.add_argument("--queues", default="", help="comma-separated queues to roster (default: every queue)")
    ap.add_argument("--dump", type=Path, default=None,
                    help="write each queue's scheduling problem to DIR/<queue>.pickle instead of solving it")
    ap.add_argument("--problems", type=Path, default=None,
                    help="solve the problems --dump wrote to DIR (no simulation, no planning: the same week for an "
                         "A/B of two versions of the solver)")  # fmt: skip
    args = ap.parse_args()
    only = {q.strip() for q in args.queues.split(",") if q.strip()}
    out: dict = {"week": None, "seconds": args.seconds, "burner": args.burner, "queues": {}}
    source = (_dumped_problems(args.problems, only, out) if args.problems is not None
              else _planned_problems(args, only, out))  # fmt: skip
    for queue, problem in source:
        if problem is None:
            out["queues"][queue] = {"agents": 0}
            continue
        agents = problem.agents
        if args.dump is not None:
            args.dump.mkdir(parents=True, exist_ok=True)
            (args.dump / f"{queue}.pickle").write_bytes(pickle.dumps(problem))
            out["queues"][queue] = {"agents": len(agents), "dumped": str(args.dump / f"{queue}.pickle")}
            continue
        stop = mp.Event()
        burner = mp.Process(target=_burn, args=(stop,), daemon=True) if args.burner else None
        if burner is not None:
            burner.start()
        try:
            c0, w0 = time.process_time(), time.perf_counter()
            res = solve_schedule(problem, time_limit=args.seconds, workers=args.workers)
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        finally:
            if burner is not None:
                stop.set()
                burner.join(5)
        bad = sv.validate(problem, res.rows())
        if bad:
            raise SystemExit(f"{queue}: schedule breaks {len(bad)} rule(s), first: {bad[0]}")
        out["queues"][queue] = {
            "agents": len(agents), "objective": res.objective, "under": res.under, "over": res.over,
            "lower_bound": round(res.lower_bound, 1), "gap": round(res.gap, 4), "wall_s": round(wall, 1),
            "cpu_s": round(cpu, 1), "load_average": round(os.getloadavg()[0], 2),
            "limited_by": res.stages["limits"]["limited_by"],
        }  # fmt: skip
        if not args.json:
            q = out["queues"][queue]
            print(f"{queue:>14}: {q['agents']:4d} agents, objective {q['objective']:8.0f}, bound "
                  f"{q['lower_bound']:8.1f}, gap {q['gap']:6.1%} in {q['wall_s']} s ({q['cpu_s']} CPU s) — "
                  f"{q['limited_by']}", flush=True)
    if args.json:
        print(json.dumps(out))


if __name__ == "__main__":
    main()
