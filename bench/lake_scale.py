"""The indicator catalog on the Parquet lake at scale (issue 17, part 3): DuckDB over Parquet and Spark ``local[2]``.

For every lake given (``--lake LABEL=DIR``, written by ``bench/lake_generate.py``) and every engine, one fresh
child process opens the lake with :func:`callops.lake.read.open_lake` and, at month × queue and day × queue, times:

* ``hand``: the 8 core figures of ``bench/metrics_catalog.py`` in hand-written SQL on that engine (the baseline:
  the DuckDB query of ``metrics_catalog.HAND_SQL``; for Spark the same query transpiled by sqlglot, with the local
  period written in Spark SQL);
* ``core``: the same 8 figures through the catalog (:func:`callops.metrics.query.query`), checked equal to ``hand``;
* ``full``: every base metric of the catalog on contacts (the repeat window included), as in metrics_catalog.py.

The parent samples the resident memory of the child and all its descendants (the Spark JVM included) with psutil
every 0.2 s and records the peak. A child that runs past ``--timeout`` is stopped and its finished steps kept.

    nice -n 10 .venv/bin/python bench/lake_scale.py --lake 10M=/tmp/lakebench/l10m --lake 100M=/tmp/lakebench/l100m \
        [--engines duckdb,spark] [--grains month,day] [--sets hand,core,full] [--out results.json]
        [--spark-master spark://host:7077 | sc://host:15002]   (a cluster: the lake on a path every worker reads)
        [--duckdb-memory 12GB]   (DuckDB's memory_limit; beyond it, it spills to a temporary folder)

On a cluster the peak memory is that of the driver process tree on this machine only (the executors run elsewhere).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from metrics_catalog import CORE, HAND_SQL, ZONE, _measures  # noqa: E402  (the 8 figures and their SQL, reused)

TENANT = "bench"
DUCK_DAY = f"CAST(timezone('{ZONE}', offered_at) AS DATE)"
PERIOD = {
    ("duckdb", "day"): DUCK_DAY,
    ("duckdb", "month"): f"CAST(date_trunc('month', timezone('{ZONE}', offered_at)) AS DATE)",
    ("spark", "day"): f"to_date(from_utc_timestamp(offered_at, '{ZONE}'))",
    ("spark", "month"): f"trunc(from_utc_timestamp(offered_at, '{ZONE}'), 'MM')",
}


def hand_sql(engine: str, grain: str) -> str:
    """``metrics_catalog.HAND_SQL`` at ``grain`` in ``engine``'s SQL (sqlglot writes the Spark dialect)."""
    assert DUCK_DAY in HAND_SQL and f"tenant_id = '{TENANT}'" in HAND_SQL
    sql = HAND_SQL.replace(DUCK_DAY, "__period__")
    if engine == "spark":
        import sqlglot

        sql = sqlglot.transpile(sql, read="duckdb", write="spark")[0]
    return sql.replace("__period__", PERIOD[(engine, grain)])


def contact_metrics() -> list[str]:
    """Every base metric of the catalog whose measures read contacts (the repeat window included)."""
    from callops.metrics.catalog import load_catalog

    cat = load_catalog()
    return [m.id for m in cat.base_metrics()
            if all(cat.measures[x].source in ("contacts", "contact_repeats") for x in _measures(cat, m.id))]


def child(lake: str, engine: str, grains: list[str], sets: list[str], repeat: int,
          spark_master: str | None = None, duckdb_memory: str | None = None, spill: str | None = None) -> None:
    """Open the lake on ``engine`` and print one JSON line per timed step (flushed, so a timeout keeps them)."""
    import numpy as np
    import psutil

    from callops.lake.read import open_lake
    from callops.metrics.catalog import load_catalog
    from callops.metrics.query import query

    me = psutil.Process()

    def cpu() -> float:  # CPU seconds of this process and its children (the Spark JVM): load-independent work
        total = 0.0
        for p in (me, *me.children(recursive=True)):
            with contextlib.suppress(psutil.Error):
                c = p.cpu_times()
                total += c.user + c.system
        return total

    cat = load_catalog()
    full = contact_metrics()
    t0 = time.perf_counter()
    with open_lake(lake, engine, spark_master if engine == "spark" else None) as wh:
        emit({"step": "open", "seconds": time.perf_counter() - t0, "metrics_full": len(full)})
        if engine == "duckdb" and duckdb_memory:  # cap DuckDB and let it spill to disk beyond the cap
            assert spill, "the parent gives the spill folder (it measures it)"
            wh.backend.raw_sql(f"SET memory_limit = '{duckdb_memory}'")
            wh.backend.raw_sql(f"SET temp_directory = '{spill}'")
            wh.backend.raw_sql("SET preserve_insertion_order = false")
        if engine == "spark":
            session = wh.backend._session

            def run_hand(sql: str):
                return session.sql(sql).toPandas()
        else:
            def run_hand(sql: str):
                return wh.backend.raw_sql(sql).df()
        for grain in grains:
            sql = hand_sql(engine, grain)
            ref = None
            for name in sets:
                times, cpus, result = [], [], None
                for _ in range(repeat):
                    t, c = time.perf_counter(), cpu()
                    try:
                        if name == "hand":
                            result = run_hand(sql)
                        else:
                            result = query(wh, TENANT, CORE if name == "core" else full, grain=grain, by=["queue"],
                                           catalog=cat).to_pandas()
                    except Exception as exc:  # a metric the engine cannot run is a finding, recorded as such
                        emit({"step": name, "grain": grain, "error": f"{type(exc).__name__}: {str(exc)[:300]}"})
                        break
                    times.append(time.perf_counter() - t)
                    cpus.append(cpu() - c)
                else:
                    doc = {"step": name, "grain": grain, "seconds": min(times), "runs": times, "rows": len(result),
                           "cpu_s": cpus[times.index(min(times))]}
                    if name == "hand":
                        ref = result.sort_values(["period", "queue"]).reset_index(drop=True)
                        doc["offered_total"] = int(ref["contacts_offered"].sum())
                    elif ref is not None:
                        got = result.sort_values(["period", "queue"]).reset_index(drop=True)
                        doc["equal_to_hand"] = bool(len(got) == len(ref) and np.allclose(
                            got[CORE].to_numpy(float), ref[CORE].to_numpy(float), rtol=1e-9, atol=1e-9,
                            equal_nan=True))
                    emit(doc)


def emit(doc: dict) -> None:
    """One result line on stdout."""
    print(json.dumps(doc), flush=True)


def run_child(label: str, lake: str, engine: str, args: argparse.Namespace) -> dict:
    """Run one (lake, engine) child; return its steps, wall time, peak RSS of its process tree and the load."""
    import psutil

    cmd = [sys.executable, "-W", "ignore", __file__, "--child", "--engine", engine, "--lake", f"{label}={lake}",
           "--grains", args.grains, "--sets", args.sets, "--repeat", str(args.repeat),
           *(["--spark-master", args.spark_master] if args.spark_master else []),
           *(["--duckdb-memory", args.duckdb_memory] if args.duckdb_memory else [])]
    spill = Path(tempfile.mkdtemp(prefix="lake-scale-spill-"))  # DuckDB's temp_directory: its size is sampled
    cmd += ["--spill-dir", str(spill)]
    env = {**os.environ, "PYSPARK_SUBMIT_ARGS": f"--driver-memory {args.spark_memory} pyspark-shell"}
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    me = psutil.Process(proc.pid)
    peak, peak_spill, timed_out, loads = 0, 0, False, []
    while proc.poll() is None:
        try:
            tree = [me, *me.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        with contextlib.suppress(OSError):  # files come and go while DuckDB spills
            peak_spill = max(peak_spill, sum(f.stat().st_size for f in spill.rglob("*") if f.is_file()))
        loads.append(os.getloadavg()[0])
        if time.perf_counter() - t0 > args.timeout:
            timed_out = True
            for p in reversed([me, *me.children(recursive=True)]):  # only this child's own tree
                with contextlib.suppress(psutil.Error):
                    p.kill()
            break
        time.sleep(0.2)
    out = proc.communicate()[0]
    shutil.rmtree(spill, ignore_errors=True)
    steps = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return {"label": label, "lake": lake, "engine": engine, "wall_s": time.perf_counter() - t0,
            "peak_rss_mib": peak / 2**20, "peak_spill_mib": peak_spill / 2**20, "timed_out": timed_out,
            "returncode": proc.returncode, "load_before": load_before, "load_mean": sum(loads) / max(len(loads), 1),
            "steps": steps}


def rows_of(label: str) -> float:
    """``10M`` -> 1e7."""
    mult = {"K": 1e3, "M": 1e6, "B": 1e9}
    return float(label[:-1]) * mult[label[-1].upper()] if label[-1].upper() in mult else float(label)


def report(results: list[dict]) -> None:
    """Print the times, the ratios to the hand SQL and the growth per 10x rows."""
    table: dict[tuple, float] = {}
    print(f"{'rows':>6} {'engine':7} {'grain':6} {'step':5} {'time s':>9} {'x hand':>7} {'peak RSS':>9} {'load':>5}")
    for r in results:
        hand = {s["grain"]: s.get("seconds") for s in r["steps"] if s.get("step") == "hand"}
        for s in r["steps"]:
            if s["step"] == "open":
                print(f"{r['label']:>6} {r['engine']:7} {'':6} open  {s['seconds']:9.2f}")
                continue
            if "error" in s:
                print(f"{r['label']:>6} {r['engine']:7} {s['grain']:6} {s['step']:5} failed: {s['error'][:80]}")
                continue
            table[(r["engine"], s["grain"], s["step"], r["label"])] = s["seconds"]
            ratio = s["seconds"] / hand[s["grain"]] if hand.get(s["grain"]) else math.nan
            eq = "" if "equal_to_hand" not in s else (" =hand" if s["equal_to_hand"] else " DIFFERS")
            print(f"{r['label']:>6} {r['engine']:7} {s['grain']:6} {s['step']:5} {s['seconds']:9.2f} {ratio:7.2f} "
                  f"{r['peak_rss_mib']:8,.0f}M {r['load_mean']:5.1f} cpu {s.get('cpu_s', math.nan):7.1f} s{eq}")
        if r.get("peak_spill_mib"):
            print(f"{r['label']:>6} {r['engine']:7} spilled to disk: at most {r['peak_spill_mib']:,.0f} MiB at once")
        if r["timed_out"]:
            print(f"{r['label']:>6} {r['engine']:7} stopped at the timeout after {r['wall_s']:.0f} s")
    labels = sorted({r["label"] for r in results}, key=rows_of)
    if len(labels) >= 2:
        lo, hi = labels[0], labels[-1]
        k = math.log10(rows_of(hi) / rows_of(lo))
        print(f"\ngrowth {lo} -> {hi}: time ratio, and per 10x rows (10x per 10x rows, exponent 1.00 = linear)")
        for (engine, grain, step, label), t in sorted(table.items()):
            if label == lo and (engine, grain, step, hi) in table:
                ratio = table[(engine, grain, step, hi)] / t
                print(f"  {engine:7} {grain:6} {step:5} {t:8.2f} s -> {table[(engine, grain, step, hi)]:8.2f} s: "
                      f"x{ratio:6.2f} ({ratio ** (1 / k):.2f}x per 10x rows, exponent {math.log10(ratio) / k:.2f})")


def main() -> None:
    """Parse the arguments; run the children (or be one)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lake", action="append", required=True, help="LABEL=DIR, e.g. 10M=/tmp/lakebench/l10m")
    ap.add_argument("--engines", default="duckdb,spark")
    ap.add_argument("--grains", default="month,day")
    ap.add_argument("--sets", default="hand,core,full")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=900, help="seconds per (lake, engine) child")
    ap.add_argument("--spark-memory", default="4g", help="Spark driver memory (local[2]: the whole JVM)")
    ap.add_argument("--spark-master", help="local[N] (default local[2]), spark://host:7077 or sc://host:15002")
    ap.add_argument("--duckdb-memory", help="DuckDB memory_limit, e.g. 12GB: beyond it DuckDB spills to a temp folder")
    ap.add_argument("--out", type=Path, help="also write the raw results as JSON")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--spill-dir", help=argparse.SUPPRESS)
    ap.add_argument("--engine", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.lake[0].split("=", 1)[1], args.engine, args.grains.split(","), args.sets.split(","), args.repeat,
              args.spark_master, args.duckdb_memory, args.spill_dir)
        return
    results = []
    for spec in args.lake:
        label, lake = spec.split("=", 1)
        for engine in args.engines.split(","):
            print(f"# {label} on {engine} ...", file=sys.stderr, flush=True)
            results.append(run_child(label, lake, engine, args))
            if args.out:
                args.out.write_text(json.dumps(results, indent=1))
    report(results)


if __name__ == "__main__":
    main()
