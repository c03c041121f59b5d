"""How fast the demo hotline generates: 90 days (target: under 3 minutes on 2 cores), against 9 days.

Runs :func:`callops.sim.runner.run_scenario` on the shipped provincial hotline (600 agents, 200k
customers) for a baseline of 9 days and for 90 days, in the same process, and prints days,
contacts, seconds, contacts/s, the split between the engine and the rest, and the 90/9 per-contact
ratio (1.0 = linear scaling). With ``--load`` the 90-day run is also written into a fresh warehouse
through the normal ingest path, and that time is printed too.

Run: .venv/bin/python bench/demo_generation.py [--days 90] [--baseline 9] [--load]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

from callops.sim import runner
from callops.sim.scenario import demo_scenario

START = date(2024, 1, 1)  # covers New Year's Day and, with 90 days, the Spring Festival holidays


def timed(days: int) -> tuple[dict, float, float]:
    """Tables, total seconds and engine seconds of one run."""
    marks: dict[str, float] = {}
    t0 = time.perf_counter()

    def progress(stage: str, *_: int) -> None:
        marks.setdefault(stage, time.perf_counter() - t0)

    tables = runner.run_scenario(demo_scenario(), days, seed=1, start_date=START, progress=progress)
    total = time.perf_counter() - t0
    return tables, total, marks["customers' behaviour"] - marks["simulating"]


def main() -> None:
    """Run the baseline and the full horizon and print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--baseline", type=int, default=9)
    parser.add_argument("--load", action="store_true", help="also load the long run into a fresh warehouse")
    args = parser.parse_args()
    print(f"{'run':>10}{'days':>6}{'contacts':>12}{'rows (all)':>12}{'seconds':>10}{'cpu s':>8}{'engine s':>10}"
          f"{'contacts/s':>12}")
    results = {}
    for label, days in (("baseline", args.baseline), ("demo", args.days)):
        cpu0 = time.process_time()
        tables, seconds, engine = timed(days)
        cpu = time.process_time() - cpu0
        contacts = tables["contacts"].num_rows
        rows = sum(t.num_rows for t in tables.values())
        results[label] = (contacts, seconds, cpu)
        print(f"{label:>10}{days:>6}{contacts:>12,}{rows:>12,}{seconds:>10.1f}{cpu:>8.1f}{engine:>10.1f}"
              f"{contacts / seconds:>12,.0f}")
    (bc, bs, bcpu), (dc, ds, dcpu) = results["baseline"], results["demo"]
    print(f"per-contact time {args.days} days / {args.baseline} days: wall {(ds / dc) / (bs / bc):.2f}x, "
          f"cpu {(dcpu / dc) / (bcpu / bc):.2f}x (1.0 = linear)")
    print(f"{args.days} days: wall {ds:.1f} s, cpu {dcpu:.1f} s ({dc / dcpu:,.0f} contacts per cpu-second); "
          f"target 180 s: wall {'met' if ds < 180 else 'NOT met'}, cpu {'met' if dcpu < 180 else 'NOT met'}"
          f" (wall > cpu means other processes shared the cores)")
    if args.load:
        from callops.sim.records import write_to_warehouse
        from callops.tenancy import create_tenant
        from callops.warehouse import Warehouse

        with tempfile.TemporaryDirectory() as tmp, Warehouse(f"duckdb://{Path(tmp) / 'wh.duckdb'}") as wh:
            tenant = create_tenant(wh, "bench", "Asia/Shanghai")
            t0 = time.perf_counter()
            summaries = write_to_warehouse(wh, tenant, tables)
            load_s = time.perf_counter() - t0
        rows = sum(s.read for s in summaries.values())
        rejected = sum(s.rejected for s in summaries.values())
        print(f"load through ingest: {rows:,} rows in {load_s:.1f} s ({rows / load_s:,.0f} rows/s), "
              f"{rejected} rejected")


if __name__ == "__main__":
    main()
