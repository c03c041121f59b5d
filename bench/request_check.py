"""Time to check a self-service request against the contract rules and coverage (issue 19).

A week of 15-minute intervals (672) and 300 agents in two queues, every agent on five 8.5-hour full-time shifts
with breaks (the shipped templates, random start hours). Measured, each the median of several runs:

* ``core time off``: a week-long time-off request of one agent: the change, the contract check (the validator on
  the agent's week before and after) and the coverage check (agents per queue and interval for all 300 agents,
  Erlang A at the scheduled agents with and without the change, over every touched interval);
* ``core swap``: a one-day swap between two agents (contract rules for both, coverage of the day);
* ``end to end``: ``people.requests.evaluate`` on a real DuckDB warehouse and SQLite store (the roster, the
  schedule and the forecast snapshot read back, patience given), the time a request waits for its answer.

Baseline in the same run: re-validating the whole roster's week with ``wfm.schedule_validator.validate`` (what
checking a request by validating the schedule again would cost). Prints JSON with the ratios.

    .venv/bin/python bench/request_check.py [--agents 300] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

import numpy as np

from callops.people import checks
from callops.wfm import schedule_validator
from callops.wfm.rules import Agent, Problem, default_workforce

ZONE = "UTC"
FT = [("work", 0, 60), ("break", 60, 75), ("work", 75, 180), ("lunch", 180, 210), ("work", 210, 360),
      ("break", 360, 375), ("work", 375, 510)]
QUEUES = ("billing", "tech")


def monday() -> date:
    """A Monday well in the future (requests may not start in the past)."""
    today = datetime.now(UTC).date()
    return today + timedelta(days=14 - today.weekday())


def roster(n: int, week: date, seed: int = 7) -> tuple[list[dict], list[dict]]:
    """(agents table rows, schedule rows): five shifts per agent at 06:00-12:00 starts, Monday to Friday."""
    rng = np.random.default_rng(seed)
    agents, rows = [], []
    for i in range(n):
        aid, q = f"a{i:04d}", QUEUES[i % 2]
        agents.append({"agent_id": aid, "team": f"team{i // 15:02d}", "skills": f"{q}:1", "contract": "full-time"})
        hour = int(rng.integers(6, 13))
        for d in range(5):
            t0 = datetime.combine(week + timedelta(days=d), dtime(hour), tzinfo=UTC)
            rows += [{"agent_id": aid, "activity": act, "queue": q, "start_at": t0 + timedelta(minutes=a),
                      "end_at": t0 + timedelta(minutes=b)} for act, a, b in FT]  # fmt: skip
    return agents, rows


def forecast(week: date) -> checks.Forecast:
    """A flat forecast: 50 calls per 15 minutes per queue from 06:00 to 22:00, 240 s handle time."""
    fc = checks.Forecast(15)
    for q in QUEUES:
        fc.calls[q], fc.aht_s[q] = {}, {}
        for k in range(7 * 96):
            ts = datetime.combine(week, dtime()) + timedelta(minutes=15 * k)
            fc.calls[q][ts] = 50.0 if 6 <= ts.hour < 22 else 0.0
            fc.aht_s[q][ts] = 240.0
    return fc


def core(rows: list[dict], wf, week: date, fc: checks.Forecast, kind: str) -> dict:
    """One request through the pure checks."""
    if kind == "time_off":
        start, end = datetime.combine(week, dtime(), tzinfo=UTC), datetime.combine(week, dtime(), tzinfo=UTC) + \
            timedelta(days=7)  # fmt: skip
        change = checks.time_off_change([r for r in rows if r["agent_id"] == "a0000"], "a0000", start, end)
        who, rules = ["a0000"], ("hours",)
    else:
        start = datetime.combine(week + timedelta(days=2), dtime(), tzinfo=UTC)
        end = start + timedelta(days=1)
        firsts = {r["agent_id"]: r["start_at"] for r in rows
                  if start <= r["start_at"] < end and r["activity"] == "work" and r["queue"] == "billing"}
        mate = next(a for a, t in sorted(firsts.items()) if t != firsts["a0002"])  # a colleague on another shift
        mine = [r for r in rows if r["agent_id"] in ("a0002", mate)]
        change = checks.move_change(mine, "a0002", mate, start, end, both_ways=True)
        who, rules = ["a0002", mate], checks.CONTRACT_RULES
    agents = [Agent(agent_id=a, contract="full-time", skills=[QUEUES[int(a[1:]) % 2]]) for a in who]
    lo, hi = checks.week_bounds(checks.mondays(start, end, ZONE)[0], ZONE)
    own = [r for r in rows if r["agent_id"] in who and lo <= r["start_at"] < hi]
    after_own = checks.apply_change(own, who, start, end, change.after)
    contract = checks.contract_check(wf, agents, agents, own, after_own, ZONE, start, end, rules)
    grid = checks.interval_grid(start, end, ZONE, 15)
    window = [r for r in rows if r["start_at"] < end and r["end_at"] > start]
    before = checks.working_counts(window, grid, ZONE, 15, QUEUES)
    after = checks.working_counts(checks.apply_change(window, who, start, end, change.after), grid, ZONE, 15, QUEUES)
    cov = checks.coverage_check(fc, grid, before, after, dict.fromkeys(QUEUES, 120.0), 0.8, 20.0)
    return {"contract_ok": contract["ok"], "intervals": len(cov["intervals"]), "coverage_ok": cov["ok"]}


def baseline(rows: list[dict], wf, week: date, agents: list[dict]) -> int:
    """Validate the whole roster's week (every agent, every rule)."""
    problem = Problem(week_start=week, timezone=ZONE, interval_minutes=15, templates=wf.templates,
                      contracts={c.name: c for c in wf.contracts},
                      agents=[Agent(agent_id=a["agent_id"], contract="full-time") for a in agents],
                      requirements={None: np.zeros(672)})  # fmt: skip
    return len(schedule_validator.validate(problem, rows))


def timed(fn, repeat: int) -> tuple[float, object]:
    """Median seconds of ``repeat`` runs and the last result."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def end_to_end(n_agents: int, agents: list[dict], rows: list[dict], week: date, repeat: int) -> dict:
    """``requests.evaluate`` on a real warehouse and store for a week of time off and a one-day swap."""
    import csv

    import pandas as pd

    tmp = Path(tempfile.mkdtemp(prefix="request-check-"))
    os.environ["CALLOPS_HOME"] = str(tmp / "home")
    from callops import tenancy
    from callops.ingest.loader import load_files
    from callops.ingest.mapping import load_mapping
    from callops.people import requests
    from callops.people.self_settings import PeopleSettings
    from callops.store.db import Store
    from callops.store.tenants import create_tenant
    from callops.warehouse import Warehouse
    from callops.wfm.forecast_io import save_snapshot

    store = Store(f"sqlite:///{tmp / 'store.sqlite3'}")
    with Warehouse(f"duckdb://{tmp / 'wh.duckdb'}") as wh:
        create_tenant(store, wh, "bench", ZONE)
        t = tenancy.get_tenant(wh, "bench")
        with (tmp / "agents.csv").open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=["agent_id", "team", "skills", "contract"])
            w.writeheader()
            w.writerows(agents)
        with (tmp / "schedules.csv").open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=["agent_id", "activity", "start_at", "end_at", "queue"])
            w.writeheader()
            w.writerows({**r, "start_at": r["start_at"].isoformat(), "end_at": r["end_at"].isoformat()} for r in rows)
        load_files(wh, t, "agents", [tmp / "agents.csv"], load_mapping("canonical", "agents"))
        load_files(wh, t, "schedules", [tmp / "schedules.csv"], load_mapping("canonical", "schedules"))
        fc = forecast(week)
        frame = pd.DataFrame([{"queue": q, "interval_start": ts, "forecast": v, "aht_s": fc.aht_s[q][ts]}
                              for q in QUEUES for ts, v in fc.calls[q].items()])  # fmt: skip
        save_snapshot("bench", frame, {"interval_min": 15})
        settings = PeopleSettings(patience_s=120.0)
        w0 = datetime.combine(week, dtime(), tzinfo=UTC)
        out = {}
        with store.session() as s:
            requests.evaluate(s, wh, "bench", "time_off", "a0000", None, w0, w0 + timedelta(days=7), settings)  # warm
            out["time_off_week_s"], _ = timed(lambda: requests.evaluate(
                s, wh, "bench", "time_off", "a0000", None, w0, w0 + timedelta(days=7), settings), repeat)  # fmt: skip
            d2 = w0 + timedelta(days=2)
            out["swap_day_s"], _ = timed(lambda: requests.evaluate(
                s, wh, "bench", "swap", "a0002", "a0006", d2, d2 + timedelta(days=1), settings), repeat)  # fmt: skip
    store.close()
    return out


def main() -> None:
    """Run the benchmark and print JSON."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--agents", type=int, default=300)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    wf = default_workforce()
    week = monday()
    agents, rows = roster(args.agents, week)
    fc = forecast(week)
    base_s, violations = timed(lambda: baseline(rows, wf, week, agents), args.repeat)
    off_s, off = timed(lambda: core(rows, wf, week, fc, "time_off"), args.repeat)
    swap_s, swap = timed(lambda: core(rows, wf, week, fc, "swap"), args.repeat)
    e2e = end_to_end(args.agents, agents, rows, week, max(1, args.repeat // 2))
    print(json.dumps({
        "agents": args.agents, "intervals_in_week": 672, "schedule_rows": len(rows),
        "baseline_validate_whole_roster_s": round(base_s, 4), "baseline_violations": violations,
        "core_time_off_week_s": round(off_s, 4), "core_time_off_intervals_checked": off["intervals"],
        "core_swap_day_s": round(swap_s, 4), "core_swap_intervals_checked": swap["intervals"],
        "ratio_time_off_to_baseline": round(off_s / base_s, 3), "ratio_swap_to_baseline": round(swap_s / base_s, 3),
        "end_to_end_time_off_week_s": round(e2e["time_off_week_s"], 3),
        "end_to_end_swap_day_s": round(e2e["swap_day_s"], 3),
        "ratio_end_to_end_time_off_to_baseline": round(e2e["time_off_week_s"] / base_s, 3),
        "machine": f"{os.cpu_count()} cores, shared with other engineers' runs (loaded)",
        "python": sys.version.split()[0],
    }, indent=2))


if __name__ == "__main__":
    main()
