"""Benchmark: what the console's QA page computes for a tenant (the figures shown at once, the recorded draw, and
the month's plan on demand), on the warehouse and store of ``$CALLOPS_HOME`` (e.g. after ``callops demo``).

    CALLOPS_HOME=/path nice -n 10 .venv/bin/python bench/quality_page.py [--tenant demo] [--period YYYY-MM]

Prints the size (agents, evaluations, handled contacts of the month) beside each time: the times grow with them.
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    """Time ``pages_quality.page_data``'s parts and ``service.plan`` (Neyman over channel × risk, as the demo)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--tenant", default="demo")
    ap.add_argument("--period", default=None)
    args = ap.parse_args()
    from callops.quality import data, service
    from callops.store.db import Store
    from callops.warehouse import Warehouse

    with Warehouse(read_only=True) as wh, Store() as st:
        period = args.period or data.latest_period(wh, args.tenant)
        t0 = time.perf_counter()
        rank = service.ranking_report(wh, args.tenant, period, store=st)
        t1 = time.perf_counter()
        service.coaching_report(wh, args.tenant, period, store=st)  # with rank stability and evaluator drift
        t3 = time.perf_counter()
        draw = service.draw_summary(wh, st, args.tenant, period)
        t4 = time.perf_counter()
        plan = service.plan(wh, args.tenant, period, strata=("channel", "risk"), allocation="neyman", seed=14)
        t5 = time.perf_counter()
    contacts = sum(a["population"] for a in plan["agents"])
    evaluations = sum(a["n"] + (a["adhoc"] or {}).get("n", 0) for a in rank["agents"])
    print(f"{os.environ.get('CALLOPS_HOME', '~/.callops')}: tenant {args.tenant} {period}, {len(rank['agents'])} "
          f"agents, {evaluations} routine evaluations, {contacts} handled contacts")
    print(f"page figures {t4 - t0:.1f} s (ranking {t1 - t0:.1f}, coaching and drift {t3 - t1:.1f}, "
          f"recorded draw {t4 - t3:.1f} s: {0 if draw is None else draw['routine']} routine contacts); "
          f"plan on demand {t5 - t4:.1f} s")


if __name__ == "__main__":
    main()
