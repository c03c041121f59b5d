"""`callops value score` on one million customers: seconds and peak memory, against a plain ARPU ranking.

Generates ``--customers`` customers like the demo hotline's and a year of their account history
(:mod:`callops.sim.customer_history`), loads both through ingest into a temporary home, then runs
``callops value score --tenant bench --json`` in a fresh process (peak RSS of that process). The
baseline, in the same run, is the cheapest possible ranking: ``percent_rank()`` over ARPU through
``tenancy.scoped`` in one query.

    .venv/bin/python bench/value_score.py [--customers 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import run_cli


def main() -> None:
    """Generate, load, score; print one JSON document."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="value-score-") as tmp:
        home = Path(tmp)
        os.environ["CALLOPS_HOME"] = str(home)
        import ibis

        from callops import tenancy
        from callops.sim.customer_history import customers_config, generate_history
        from callops.sim.customers import generate_customers
        from callops.sim.records import write_to_warehouse
        from callops.warehouse import Warehouse

        t0 = time.perf_counter()
        _, customers = generate_customers(customers_config(args.customers), np.random.default_rng(1))
        events = generate_history(customers, date.today(), seed=1)
        gen_s = time.perf_counter() - t0
        with Warehouse() as wh:
            tenant = tenancy.create_tenant(wh, "bench")
            t0 = time.perf_counter()
            write_to_warehouse(wh, tenant, {"customers": customers, "customer_events": events})
            load_s = time.perf_counter() - t0
            c = tenancy.scoped(wh, tenant, "customers")
            t0 = time.perf_counter()
            ranked = c.select(c.customer_id, rank=ibis.percent_rank().over(order_by=c.arpu)).to_pyarrow()
            baseline_s = time.perf_counter() - t0
            assert ranked.num_rows == args.customers
        seconds, doc, peak = run_cli(["value", "score", "--tenant", "bench", "--json"], home)
    assert doc is not None and doc["customers"] == args.customers
    print(json.dumps({
        "customers": args.customers, "events": events.num_rows, "generate_s": round(gen_s, 1),
        "load_s": round(load_s, 1), "score_wall_s (process)": round(seconds, 1),
        "score_s (reported)": doc["seconds"], "peak_rss_mib": round(peak), "classes": doc["classes"],
        "baseline_arpu_rank_s": round(baseline_s, 2), "ratio_vs_baseline": round(doc["seconds"] / baseline_s, 1),
        "cpu_cores": os.cpu_count(),
    }, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
