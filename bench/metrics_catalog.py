"""Metric engine speed: core figures at day × queue through the catalog vs hand-written SQL vs pandas.

Generates N synthetic contacts (default 10M) straight into a scratch DuckDB warehouse, then times:

* ``callops core``: 8 core metrics (offered, answered, abandoned, service level, ASA, AHT,
  abandon rate, transfer rate) through :func:`callops.metrics.query.query`, day × queue;
* ``hand SQL``: one hand-written DuckDB query computing the same figures (baseline);
* ``pandas straightforward``: per figure a boolean mask and a groupby, as written in a notebook
  (:func:`pandas_straightforward`); ``pandas tuned``: flag columns and one groupby-sum. Both start
  from the 9 needed columns already in a DataFrame (loading them is timed apart, not counted);
* ``callops full``: every base metric on the contacts table (repeat-based ones included), day × queue.

Every engine's figures are checked equal to the hand SQL's. Targets (issue 4): callops ≤ 1.5× hand
SQL; ≥ 10× faster than a straightforward pandas implementation. ``--memory-limit 1GB`` also runs the
full catalog with DuckDB capped (it spills to disk) to show the out-of-core behaviour.

    .venv/bin/python bench/metrics_catalog.py [ROWS] [--memory-limit 1GB]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from callops import tenancy
from callops.metrics.catalog import load_catalog
from callops.metrics.query import query
from callops.metrics.sources import SOURCES
from callops.warehouse import Warehouse

ZONE = "Asia/Shanghai"
CORE = ["contacts_offered", "contacts_answered", "contacts_abandoned", "service_level", "asa_s", "aht_s",
        "abandon_rate", "transfer_rate"]

GENERATE = """
INSERT INTO contacts BY NAME
SELECT 'bench' AS tenant_id, 'L0' AS load_id, 'C' || i AS contact_id,
       ['Hefei','Wuhu','Bengbu'][1 + i % 3] AS center,
       ['billing','data_plans','broadband','complaints','vip','roaming'][1 + i % 6] AS queue,
       CASE WHEN i % 7 = 0 THEN 'chat' ELSE 'voice' END AS channel, 'inbound' AS direction,
       'U' || (i * 7919 % 2000000) AS customer_id, 'billing' AS business_type,
       TIMESTAMPTZ '2026-01-01 00:00:00+08' + to_seconds(i * 3 % 7776000) AS offered_at,
       CASE WHEN i % 5 <> 0 THEN TIMESTAMPTZ '2026-01-01 00:00:00+08' + to_seconds(i * 3 % 7776000 + 20 + i % 40) END
         AS answered_at,
       TIMESTAMPTZ '2026-01-01 00:00:00+08' + to_seconds(i * 3 % 7776000 + 300 + i % 200) AS ended_at,
       (i % 30)::DOUBLE AS ivr_s, (i % 45)::DOUBLE AS wait_s,
       CASE WHEN i % 5 <> 0 THEN 260 + i % 160 END::DOUBLE AS talk_s, (i % 20)::DOUBLE AS hold_s,
       (15 + i % 30)::DOUBLE AS acw_s,
       CASE WHEN i % 5 <> 0 THEN 'answered' WHEN i % 10 = 0 THEN 'abandoned' ELSE 'self_served' END AS outcome,
       CASE WHEN i % 5 <> 0 THEN 'A' || (i % 600) END AS agent_id, (i % 13 = 0)::BIGINT AS transfers,
       CASE WHEN i % 5 <> 0 THEN (i % 9 <> 0) END AS resolved, 0::UBIGINT AS _row_hash
FROM range({n}) t(i)
"""

HAND_SQL = """
SELECT CAST(timezone('Asia/Shanghai', offered_at) AS DATE) AS period, queue,
  count(*) FILTER (WHERE outcome <> 'self_served') AS contacts_offered,
  count(*) FILTER (WHERE answered_at IS NOT NULL) AS contacts_answered,
  count(*) FILTER (WHERE outcome = 'abandoned') AS contacts_abandoned,
  (count(*) FILTER (WHERE answered_at IS NOT NULL AND wait_s <= 20))::DOUBLE
    / NULLIF(count(*) FILTER (WHERE answered_at IS NOT NULL OR outcome = 'abandoned'), 0) AS service_level,
  sum(wait_s) FILTER (WHERE answered_at IS NOT NULL) / NULLIF(count(*) FILTER (WHERE answered_at IS NOT NULL), 0)
    AS asa_s,
  sum(coalesce(talk_s, 0) + coalesce(hold_s, 0) + coalesce(acw_s, 0)) FILTER (WHERE answered_at IS NOT NULL)
    / NULLIF(count(*) FILTER (WHERE answered_at IS NOT NULL), 0) AS aht_s,
  (count(*) FILTER (WHERE outcome = 'abandoned'))::DOUBLE
    / NULLIF(count(*) FILTER (WHERE answered_at IS NOT NULL OR outcome = 'abandoned'), 0) AS abandon_rate,
  (count(*) FILTER (WHERE answered_at IS NOT NULL AND transfers > 0))::DOUBLE
    / NULLIF(count(*) FILTER (WHERE answered_at IS NOT NULL), 0) AS transfer_rate
FROM contacts WHERE tenant_id = 'bench' GROUP BY 1, 2 ORDER BY 1, 2
"""


def best(fn, repeat: int = 3) -> float:
    """Best wall time of ``repeat`` runs (the first run also warms DuckDB's caches)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def pandas_tuned(df: pd.DataFrame) -> pd.DataFrame:
    """The core figures in one vectorised pass: flag columns, one groupby-sum (pandas at its best)."""
    d = df.assign(
        period=df.offered_at.dt.tz_convert(ZONE).dt.date,
        offered=df.outcome != "self_served",
        answered=df.answered_at.notna(),
        abandoned=df.outcome == "abandoned",
    )
    d["within"] = d.answered & (d.wait_s <= 20)
    d["wait_ans"] = d.wait_s.where(d.answered, 0)
    d["handle"] = (d.talk_s.fillna(0) + d.hold_s.fillna(0) + d.acw_s.fillna(0)).where(d.answered, 0)
    d["transferred"] = d.answered & (d.transfers > 0)
    g = d.groupby(["period", "queue"])[["offered", "answered", "abandoned", "within", "wait_ans", "handle",
                                        "transferred"]].sum()
    den = (g.answered + g.abandoned).replace(0, np.nan)
    ans = g.answered.replace(0, np.nan)
    return g.assign(contacts_offered=g.offered, contacts_answered=g.answered, contacts_abandoned=g.abandoned,
                    service_level=g.within / den, asa_s=g.wait_ans / ans, aht_s=g.handle / ans,
                    abandon_rate=g.abandoned / den, transfer_rate=g.transferred / ans)[CORE]


def pandas_straightforward(df: pd.DataFrame) -> pd.DataFrame:
    """The core figures as an analyst writes them in a notebook: per figure, a boolean mask and a groupby.

    One ``groupby(["period", "queue"])`` per figure (size or mean) on the filtered rows, ratios as
    quotients of those series, then one frame aligned on the keys. Vectorised pandas throughout:
    no Python loop over rows, no ``apply``.
    """
    df = df.assign(period=df.offered_at.dt.tz_convert(ZONE).dt.date)
    keys = ["period", "queue"]
    answered = df[df.answered_at.notna()]
    abandoned = df[df.outcome == "abandoned"]
    n_answered = answered.groupby(keys).size()
    n_abandoned = abandoned.groupby(keys).size()
    out = pd.DataFrame({
        "contacts_offered": df[df.outcome != "self_served"].groupby(keys).size(),
        "contacts_answered": n_answered,
        "contacts_abandoned": n_abandoned,
    }).fillna(0)
    denominator = out.contacts_answered + out.contacts_abandoned
    within = answered[answered.wait_s <= 20].groupby(keys).size().reindex(out.index, fill_value=0)
    out["service_level"] = within / denominator.replace(0, np.nan)
    out["asa_s"] = answered.groupby(keys).wait_s.mean()
    handle = answered.talk_s.fillna(0) + answered.hold_s.fillna(0) + answered.acw_s.fillna(0)
    out["aht_s"] = handle.groupby([answered.period, answered.queue]).mean()
    out["abandon_rate"] = out.contacts_abandoned / denominator.replace(0, np.nan)
    transferred = answered[answered.transfers > 0].groupby(keys).size().reindex(out.index, fill_value=0)
    out["transfer_rate"] = transferred / out.contacts_answered.replace(0, np.nan)
    return out.sort_index()


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    """Generate, time, print ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rows", nargs="?", type=int, default=10_000_000)
    ap.add_argument("--memory-limit", help="also run the full catalog under this DuckDB memory_limit (e.g. 1GB)")
    args = ap.parse_args()
    n = args.rows
    home = Path(tempfile.mkdtemp(prefix="callops-bench-"))
    os.environ["CALLOPS_HOME"] = str(home)
    wh = Warehouse(f"duckdb://{home / 'wh.duckdb'}")
    tenancy.create_tenant(wh, "bench", ZONE)
    t0 = time.perf_counter()
    wh.writer().execute(GENERATE.format(n=n))
    wh.writer().execute("CHECKPOINT")
    threads = wh.writer().execute("SELECT current_setting('threads')").fetchone()[0]
    print(f"generated {n:,} contacts in {time.perf_counter() - t0:.1f} s; DuckDB threads: {threads}")
    cat = load_catalog()
    full = [m.id for m in cat.base_metrics()
            if all(cat.measures[x].source in ("contacts", "contact_repeats") for x in _measures(cat, m.id))]
    plain = [m for m in full if all(cat.measures[x].source == "contacts" for x in _measures(cat, m))]

    con = wh.writer()
    hand = best(lambda: con.execute(HAND_SQL).to_arrow_table())
    core = best(lambda: query(wh, "bench", CORE, grain="day", by=["queue"], catalog=cat))
    check_a = query(wh, "bench", CORE, grain="day", by=["queue"], catalog=cat).to_pandas()
    check_b = con.execute(HAND_SQL).df()
    assert np.allclose(check_a[CORE].to_numpy(float), check_b[CORE].to_numpy(float), equal_nan=True)
    plain_t = best(lambda: query(wh, "bench", plain, grain="day", by=["queue"], catalog=cat), repeat=2)
    full_t = best(lambda: query(wh, "bench", full, grain="day", by=["queue"], catalog=cat), repeat=2)
    catalog_peak = peak_rss_mib()

    cols = "offered_at, answered_at, queue, outcome, wait_s, talk_s, hold_s, acw_s, transfers"
    t0 = time.perf_counter()
    df = con.execute(f"SELECT {cols} FROM contacts WHERE tenant_id = 'bench'").df()
    load_t = time.perf_counter() - t0
    straight = pandas_straightforward(df)
    tuned = pandas_tuned(df)
    ref = check_b.set_index(["period", "queue"])[CORE]
    for name, got in (("straightforward", straight), ("tuned", tuned)):
        got = got.reset_index().assign(period=lambda x: pd.to_datetime(x.period)).set_index(["period", "queue"])
        got = got.reindex(ref.index)[CORE]
        assert np.allclose(got.to_numpy(float), ref.to_numpy(float), equal_nan=True), f"pandas {name} differs"
    straight_t = best(lambda: pandas_straightforward(df), repeat=2)
    tuned_t = best(lambda: pandas_tuned(df), repeat=2)

    print(f"hand-written DuckDB SQL, core figures       : {hand:7.3f} s")
    print(f"callops catalog, {len(CORE)} core figures          : {core:7.3f} s  ({core / hand:.2f}x hand SQL;"
          " target <= 1.5x)")
    print(f"callops catalog, {len(plain)} metrics w/o repeats     : {plain_t:7.3f} s  ({plain_t / hand:.2f}x hand SQL)")
    print(f"callops catalog, {len(full)} contact metrics (full)  : {full_t:7.3f} s  ({full_t / hand:.2f}x hand SQL;"
          " incl. the repeat-window scan)")
    print(f"pandas straightforward (data in memory)     : {straight_t:7.3f} s  (callops core {straight_t / core:.1f}x"
          " faster; target >= 10x)")
    print(f"pandas tuned single groupby (data in memory): {tuned_t:7.3f} s  (callops core {tuned_t / core:.1f}x"
          " faster)")
    print(f"  (loading the 9 columns into pandas took {load_t:.1f} s, not counted above)")
    print(f"peak RSS after the catalog runs (before pandas): {catalog_peak:,.0f} MiB; "
          f"warehouse file {(home / 'wh.duckdb').stat().st_size / 2**20:,.0f} MiB")
    if args.memory_limit:
        spill = home / "spill"
        con.execute(f"SET memory_limit = '{args.memory_limit}'")
        con.execute(f"SET temp_directory = '{spill}'")
        t0 = time.perf_counter()
        query(wh, "bench", full, grain="day", by=["queue"], catalog=cat)
        lim_t = time.perf_counter() - t0
        t0 = time.perf_counter()
        query(wh, "bench", full, grain="interval:15", by=["queue", "center"], catalog=cat)
        lim_i = time.perf_counter() - t0
        print(f"full catalog under memory_limit={args.memory_limit}: day x queue {lim_t:.2f} s; "
              f"interval:15 x queue x center {lim_i:.2f} s")
    wh.close()


def _measures(cat, metric_id: str) -> list[str]:
    from callops.metrics.compiler import plan_query
    from callops.metrics.spec import Parameters

    return [u.measure for u in plan_query(cat, [metric_id], Parameters()).uses.values()]


if __name__ == "__main__":
    assert SOURCES  # keep the import: the catalog's sources are registered on import
    main()
