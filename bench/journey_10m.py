"""Journey views (variants, directly-follows graph with waits, durations) on 10M events, against pm4py.

    nice -n 10 .venv/bin/python bench/journey_10m.py [--events 10000000] [--ref-events 300000]
        [--pm4py-events 1000000,3000000,10000000] [--rss-limit-gib 14]

A synthetic log (sessions of 2-14 steps over 15 step names, 10-20 min apart, in time order) goes to a new warehouse
under two tenants: ``big`` (``--events``) and ``ref`` (its first sessions, about ``--ref-events`` events).
callops computes summary + variants + DFG through ``callops.journey.views`` (DuckDB, both cores) on both;
pm4py (AGPL, bench extra only) runs ``format_dataframe`` + variants + performance DFG + case durations on the
``ref`` log (in this process), and then on larger logs given by ``--pm4py-events`` (default 1M, 3M and the full
``--events``; each the first sessions of the same generator), each in a child process whose resident memory the
parent samples (psutil, every 0.1 s): above ``--rss-limit-gib`` (default 14) the child is stopped and the step it
was in is reported; a size that does not fit ends the series. Each measured size is checked against callops on
the same log. The printed ratio compares the two on the same ``ref`` log (and checks they agree).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

import ibis
from rich.console import Console

from callops.journey import views
from callops.tenancy import create_tenant, get_tenant, scoped
from callops.warehouse import Warehouse

err = Console(stderr=True)


def generate(wh: Warehouse, tenant: str, events: int, seed: int = 7) -> int:
    """Insert about ``events`` synthetic journey events for ``tenant``; the number written."""
    sessions = max(1, events // 8)  # lengths 2..14, mean 8
    con = wh.writer()
    con.execute(f"SELECT setseed({seed / 100})")
    con.execute(
        f"""INSERT INTO journey_events (tenant_id, load_id, session_id, seq, customer_id, ts, channel, step,
                                       outcome, _row_hash)
        SELECT '{tenant}', 'bench', 'S' || s, k, 'C' || (s % {max(1, sessions // 3)}),
               TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds(s * 7 + k * 600 + (hash(s, k) % 590)::BIGINT),
               CASE s % 4 WHEN 0 THEN 'app' WHEN 1 THEN 'voice' WHEN 2 THEN 'web' ELSE 'chat' END,
               'step_' || ((hash(s) % 5 + k * (1 + hash(s) % 3) + hash(s, k) % 2) % 15),
               CASE WHEN hash(s, k, 1) % 20 = 0 THEN 'failed' ELSE 'ok' END, 1
        FROM range({sessions}) r(s), LATERAL range(2 + s % 13) t(k)"""
    )
    return scoped(wh, tenant, "journey_events").count().to_pyarrow().as_py()


def ours(wh: Warehouse, tenant: str) -> tuple[float, dict]:
    """Seconds for summary + all variants + DFG, and the summary."""
    t0 = time.perf_counter()
    t = get_tenant(wh, tenant)
    s = views.summary(wh, t)
    views.variants(wh, t, top=None)
    views.dfg(wh, t)
    return time.perf_counter() - t0, s


def reference(wh: Warehouse, tenant: str) -> tuple[float, dict]:
    """Seconds for pm4py's variants, performance DFG and case durations on the tenant's log (formatting included)."""
    import numpy as np
    import pm4py

    df = _log(wh, tenant).to_pandas()
    t0 = time.perf_counter()
    f = pm4py.format_dataframe(df, case_id="session_id", activity_key="step", timestamp_key="ts")
    variants = pm4py.get_variants(f)
    perf, _, _ = pm4py.discover_performance_dfg(f)
    dfg, _, _ = pm4py.discover_dfg(f)
    durations = pm4py.get_all_case_durations(f)
    secs = time.perf_counter() - t0
    return secs, {"variants": len(variants), "edges": len(dfg), "perf_edges": len(perf),
                  "median_duration_s": float(np.median(durations))}


def _log(wh: Warehouse, tenant: str) -> ibis.Table:
    """The tenant's log as pm4py gets it: sorted by session and step number."""
    return scoped(wh, tenant, "journey_events").select("session_id", "step", "ts", "seq").order_by(
        ["session_id", "seq"])


def _pm4py_child(path: str, conn: Connection) -> None:
    """In a child process: load the parquet log, run the same pm4py steps as :func:`reference`, reporting each
    step's name before it starts and the results at the end."""
    import numpy as np
    import pandas as pd
    import pm4py

    conn.send(("step", "load parquet"))
    t_load = time.perf_counter()
    df = pd.read_parquet(path)
    load_s = time.perf_counter() - t_load
    t0 = time.perf_counter()
    conn.send(("step", "format_dataframe"))
    f = pm4py.format_dataframe(df, case_id="session_id", activity_key="step", timestamp_key="ts")
    del df
    conn.send(("step", "get_variants"))
    variants = pm4py.get_variants(f)
    conn.send(("step", "discover_performance_dfg"))
    perf, _, _ = pm4py.discover_performance_dfg(f)
    conn.send(("step", "discover_dfg"))
    dfg, _, _ = pm4py.discover_dfg(f)
    conn.send(("step", "get_all_case_durations"))
    durations = pm4py.get_all_case_durations(f)
    secs = time.perf_counter() - t0
    conn.send(("done", {"pm4py_s": round(secs, 2), "load_s": round(load_s, 2), "variants": len(variants),
                        "edges": len(dfg), "perf_edges": len(perf), "median_duration_s": float(np.median(durations))}))


def reference_watched(wh: Warehouse, tenant: str, folder: Path, limit_bytes: int) -> dict:
    """pm4py on the tenant's log in a child process under an RSS watch; its figures, peak RSS and how it ended."""
    import multiprocessing as mp

    import psutil

    path = folder / f"{tenant}.parquet"
    _log(wh, tenant).to_parquet(path)
    ctx = mp.get_context("spawn")  # no fork of a process holding DuckDB's threads
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_pm4py_child, args=(str(path), child))
    t0 = time.perf_counter()
    proc.start()
    watch = psutil.Process(proc.pid)
    step, peak, out, stopped = "start-up (imports)", 0, None, False
    while proc.is_alive() or parent.poll():
        while parent.poll():
            kind, value = parent.recv()
            if kind == "step":
                step = value
            else:
                out = value
        try:
            peak = max(peak, watch.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        if peak > limit_bytes:
            stopped = True
            proc.terminate()
            proc.join(10)
            break
        time.sleep(0.1)
    proc.join()
    path.unlink(missing_ok=True)
    res = {"peak_rss_gib": round(peak / 2**30, 2), "wall_s": round(time.perf_counter() - t0, 1)}
    if stopped:
        return {**res, "status": f"stopped above the RSS limit during {step}"}
    if out is None:
        return {**res, "status": f"child exited with code {proc.exitcode} during {step}"}
    return {**res, **out, "status": "done"}


def main() -> None:
    """Run the benchmark and print one JSON document."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--ref-events", type=int, default=300_000)
    ap.add_argument("--pm4py-events", default="1000000,3000000,full",
                    help="comma-separated log sizes for pm4py under the memory watch ('full' = --events; '' = none)")
    ap.add_argument("--rss-limit-gib", type=float, default=14.0)
    args = ap.parse_args()
    sizes = [args.events if s.strip() == "full" else int(s) for s in args.pm4py_events.split(",") if s.strip()]
    watched: list[dict] = []
    with tempfile.TemporaryDirectory() as d:
        wh = Warehouse(f"duckdb://{Path(d) / 'bench.duckdb'}")
        try:
            for name in ("big", "ref"):
                create_tenant(wh, name, "UTC")
            with err.status("generating the logs"):
                n_big = generate(wh, "big", args.events)
                n_ref = generate(wh, "ref", args.ref_events)
            err.print(f"logs: big {n_big:,} events, ref {n_ref:,} events")
            with err.status("callops on the ref log"):
                ours(wh, "ref")  # warm-up (Ibis compile, caches)
                ref_ours = min(ours(wh, "ref")[0] for _ in range(3))
                _, ref_summary = ours(wh, "ref")
            with err.status("pm4py on the ref log"):
                ref_pm4py, ref_check = reference(wh, "ref")
            agree = (ref_check["variants"] == ref_summary["variants"] and ref_check["edges"] == ref_summary["edges"]
                     and abs(ref_check["median_duration_s"] - ref_summary["median_duration_s"]) < 1e-6)
            with err.status(f"callops on {n_big:,} events"):
                big_secs, big_summary = ours(wh, "big")
            for size in sorted(sizes):
                tenant = "big" if size == args.events else f"p{size}"
                if tenant != "big":
                    create_tenant(wh, tenant, "UTC")
                    with err.status(f"generating {size:,} events"):
                        generate(wh, tenant, size)
                with err.status(f"pm4py on {size:,} events (RSS watch)"):
                    row = reference_watched(wh, tenant, Path(d), int(args.rss_limit_gib * 2**30))
                cops_s, cops = ours(wh, tenant)
                row = {"events": n_big if tenant == "big" else scoped(wh, tenant, "journey_events").count()
                       .to_pyarrow().as_py(), "callops_s": round(cops_s, 2), **row}
                if row["status"] == "done":
                    row["agree"] = (row["variants"] == cops["variants"] and row["edges"] == cops["edges"]
                                    and abs(row["median_duration_s"] - cops["median_duration_s"]) < 1e-6)
                    row["ratio_pm4py_over_callops"] = round(row["pm4py_s"] / cops_s, 1)
                err.print(json.dumps(row))
                watched.append(row)
                if row["status"] != "done":
                    break
        finally:
            wh.close()
    out = {
        "events": n_big, "callops_s": round(big_secs, 2), "callops_events_per_s": round(n_big / big_secs),
        "sessions": big_summary["sessions"], "variants": big_summary["variants"],
        "ref_events": n_ref, "ref_callops_s": round(ref_ours, 3), "ref_pm4py_s": round(ref_pm4py, 3),
        "ratio_pm4py_over_callops": round(ref_pm4py / ref_ours, 1), "ref_results_agree": agree,
        "pm4py_watched": watched, "rss_limit_gib": args.rss_limit_gib,
    }
    print(json.dumps(out, indent=2))
    if not agree or any(r.get("agree") is False for r in watched):
        sys.exit(1)


if __name__ == "__main__":
    main()
