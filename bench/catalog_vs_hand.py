"""The full contact catalog against one hand-written SQL query doing the same work (issue 18, part 3).

Generates N synthetic contacts (default 10M, the generator of ``bench/metrics_catalog.py``) into a
scratch DuckDB warehouse, then times, at day × queue:

* ``hand SQL``: one hand-written DuckDB query computing every contact metric of the catalog (the
  repeat-contact window and the distinct customers included) with the catalog's definitions at the
  default parameters (T = 20 s, S = 0 s, a 7-day repeat window, 60 an agent hour, the default
  channel costs) — the baseline;
* ``callops full``: the same metrics through :func:`callops.metrics.query.query`.

The script first checks that both give the same numbers (to 1e-9, relative and absolute) and that the
hand query names exactly the catalog's contact metrics, then runs the two alternately (``--repeat``
rounds after a warm-up of each, so both see the same load on a shared machine) and prints the best
wall and CPU times, the ratio catalog / hand (target ≤ 1.5×) and the ratio of each round.
``--warehouse DIR`` keeps the generated warehouse in DIR and reuses it on the next run (for quick
iteration; the default is a fresh temporary one). ``--explain`` prints DuckDB's ``EXPLAIN ANALYZE`` of
both queries.

    nice -n 10 .venv/bin/python -W ignore bench/catalog_vs_hand.py [ROWS] [--warehouse DIR] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from callops import tenancy
from callops.metrics.catalog import load_catalog
from callops.metrics.compiler import compile_query
from callops.metrics.parameters import load_parameters
from callops.metrics.query import query
from callops.warehouse import Warehouse
from metrics_catalog import GENERATE, ZONE, _measures  # the 10M generator, shared

TENANT = "bench"

# Written as an analyst who knows DuckDB would: the repeat flag from one LEAD window over the tenant's
# contacts (all of its history, before any period filter, as the catalog defines it), then one
# GROUP BY with a FILTER per figure. Conditions and expressions follow metrics.yaml / cost.yaml
# literally at the default parameters (T = 20, S = 0, 7 days = 604800 s, 60 an hour).
HAND_FULL_SQL = """
WITH c AS (
  SELECT offered_at, queue, channel, direction = 'inbound' AS inb, outcome, answered_at IS NOT NULL AS ans,
         wait_s, coalesce(wait_s, 0) AS w, talk_s, hold_s, acw_s, ivr_s, transfers, resolved, csat, nps,
         offer_id, offer_result, revenue, customer_id,
         CASE WHEN customer_id IS NULL THEN NULL
              ELSE coalesce(epoch(lead(offered_at) OVER (PARTITION BY customer_id ORDER BY offered_at, contact_id))
                            - epoch(offered_at) <= 604800.0, false) END AS repeated
  FROM contacts WHERE tenant_id = '{tenant}'
), k AS (
  SELECT CAST(timezone('{zone}', offered_at) AS DATE) AS period, queue,
    count(*) AS n_all,
    count(*) FILTER (WHERE inb) AS n_received,
    count(*) FILTER (WHERE inb AND outcome <> 'self_served' AND NOT (outcome = 'abandoned' AND w < 0))
      AS n_offered,
    count(*) FILTER (WHERE inb AND ans) AS n_answered,
    count(*) FILTER (WHERE inb AND outcome = 'abandoned' AND w >= 0) AS n_abandoned,
    count(*) FILTER (WHERE inb AND outcome = 'abandoned' AND w < 0) AS n_short_abandoned,
    count(*) FILTER (WHERE inb AND outcome = 'self_served') AS n_self_served,
    count(*) FILTER (WHERE inb AND ans AND w <= 20) AS n_within_t,
    count(*) FILTER (WHERE inb AND outcome = 'abandoned' AND w >= 0 AND w <= 20) AS n_abandoned_within_t,
    count(*) FILTER (WHERE inb AND (ans OR (outcome = 'abandoned' AND w >= 0))) AS n_ans_ab,
    count(*) FILTER (WHERE ans AND (coalesce(transfers, 0) > 0 OR outcome = 'transferred')) AS n_transferred,
    count(*) FILTER (WHERE outcome = 'callback') AS n_callback,
    coalesce(sum(w) FILTER (WHERE inb AND ans), 0) AS s_wait_answered,
    coalesce(sum(w) FILTER (WHERE inb AND outcome = 'abandoned' AND w >= 0), 0) AS s_wait_abandoned,
    max(wait_s) FILTER (WHERE inb) AS max_wait_s,
    count(*) FILTER (WHERE ans) AS n_handled,
    coalesce(sum(coalesce(talk_s, 0) + coalesce(hold_s, 0) + coalesce(acw_s, 0)) FILTER (WHERE ans), 0) AS s_handle,
    coalesce(sum(coalesce(talk_s, 0)) FILTER (WHERE ans), 0) AS s_talk,
    coalesce(sum(coalesce(hold_s, 0)) FILTER (WHERE ans), 0) AS s_hold,
    coalesce(sum(coalesce(acw_s, 0)) FILTER (WHERE ans), 0) AS s_acw,
    count(*) FILTER (WHERE ans AND coalesce(hold_s, 0) > 0) AS n_held,
    coalesce(sum(coalesce(ivr_s, 0)) FILTER (WHERE inb), 0) AS s_ivr,
    count(*) FILTER (WHERE inb AND ivr_s IS NOT NULL) AS n_ivr_reported,
    count(*) FILTER (WHERE ans AND resolved) AS n_resolved,
    count(*) FILTER (WHERE ans AND resolved IS NOT NULL) AS n_resolution_reported,
    count(*) FILTER (WHERE inb AND repeated IS NOT NULL) AS n_repeat_eligible,
    count(*) FILTER (WHERE inb AND repeated) AS n_repeated,
    count(*) FILTER (WHERE inb AND ans AND repeated IS NOT NULL) AS n_fcr_eligible,
    count(*) FILTER (WHERE inb AND ans AND coalesce(resolved, true) AND NOT repeated) AS n_fcr,
    count(*) FILTER (WHERE inb AND outcome = 'self_served' AND NOT repeated) AS n_contained,
    count(*) FILTER (WHERE csat IS NOT NULL) AS n_csat,
    count(*) FILTER (WHERE csat >= 4) AS n_csat_top2,
    coalesce(sum(csat::DOUBLE), 0) AS s_csat,
    count(*) FILTER (WHERE nps >= 9) AS n_promoters,
    count(*) FILTER (WHERE nps <= 6) AS n_detractors,
    count(*) FILTER (WHERE nps IS NOT NULL) AS n_nps,
    count(*) FILTER (WHERE channel <> 'voice') AS n_e_channel,
    count(*) FILTER (WHERE offer_id IS NOT NULL OR offer_result IS NOT NULL) AS n_offers,
    count(*) FILTER (WHERE offer_result = 'accepted') AS n_accepted,
    coalesce(sum(coalesce(revenue, 0)::DOUBLE), 0) AS s_revenue,
    count(DISTINCT customer_id) AS n_customers,
    coalesce(sum((coalesce(talk_s, 0) + coalesce(hold_s, 0) + coalesce(acw_s, 0)) * 60.0 / 3600
      + CASE channel WHEN 'voice' THEN 0.8 WHEN 'chat' THEN 0.3 WHEN 'web' THEN 0.05 WHEN 'app' THEN 0.05
                     WHEN 'sms' THEN 0.02 WHEN 'email' THEN 0.2 WHEN 'social' THEN 0.05 WHEN 'video' THEN 1.0
                     ELSE 0 END), 0) AS s_cost
  FROM c WHERE offered_at IS NOT NULL
  GROUP BY 1, 2
)
SELECT period, queue,
  n_all AS contacts_all, n_received AS contacts_received, n_offered AS contacts_offered,
  n_answered AS contacts_answered, n_abandoned AS contacts_abandoned, n_short_abandoned AS contacts_short_abandoned,
  n_self_served AS contacts_self_served, n_within_t AS contacts_answered_within_t,
  n_abandoned_within_t AS contacts_abandoned_within_t, n_offered - n_answered AS contacts_unanswered,
  n_transferred AS contacts_transferred, n_callback AS contacts_callback,
  n_within_t / nullif(n_ans_ab, 0) AS service_level,
  s_wait_answered / nullif(n_answered, 0) AS asa_s,
  s_handle / nullif(n_handled, 0) AS aht_s,
  s_talk / nullif(n_handled, 0) AS att_s,
  s_hold / nullif(n_handled, 0) AS avg_hold_s,
  s_acw / nullif(n_handled, 0) AS avg_acw_s,
  n_held / nullif(n_handled, 0) AS hold_rate,
  s_ivr / nullif(n_ivr_reported, 0) AS avg_ivr_s,
  s_wait_abandoned / nullif(n_abandoned, 0) AS avg_abandon_wait_s,
  max_wait_s,
  s_handle AS handle_time_total_s,
  n_abandoned / nullif(n_ans_ab, 0) AS abandon_rate,
  n_answered / nullif(n_offered, 0) AS answer_rate,
  n_transferred / nullif(n_handled, 0) AS transfer_rate,
  n_resolved / nullif(n_resolution_reported, 0) AS resolution_rate,
  n_fcr / nullif(n_fcr_eligible, 0) AS fcr_rate,
  n_repeated / nullif(n_repeat_eligible, 0) AS repeat_rate,
  n_csat AS csat_responses,
  n_csat_top2 / nullif(n_csat, 0) AS csat_top2,
  s_csat / nullif(n_csat, 0) AS csat_mean,
  n_promoters AS nps_promoters, n_detractors AS nps_detractors, n_nps AS nps_responses,
  100 * (n_promoters - n_detractors) / nullif(n_nps, 0) AS nps,
  n_self_served / nullif(n_received, 0) AS ivr_containment,
  n_contained / nullif(n_repeat_eligible, 0) AS true_containment,
  n_e_channel / nullif(n_all, 0) AS e_channel_share,
  n_offers AS offers_presented, n_accepted AS offers_accepted,
  n_offers / nullif(n_handled, 0) AS offer_rate,
  n_accepted / nullif(n_offers, 0) AS offer_acceptance_rate,
  s_revenue AS revenue,
  s_revenue / nullif(n_handled, 0) AS revenue_per_contact,
  n_customers AS customers_distinct,
  n_all / nullif(n_customers, 0) AS contacts_per_customer,
  s_cost AS contact_cost,
  s_cost / nullif(n_all, 0) AS cost_per_contact
FROM k ORDER BY period, queue
"""


def hand_full_sql(tenant: str = TENANT, zone: str = ZONE) -> str:
    """The hand-written query for ``tenant`` (timestamps bucketed into days of ``zone``)."""
    return HAND_FULL_SQL.format(tenant=tenant, zone=zone)


def hand_columns(con) -> list[str]:
    """The metric ids the hand query computes, in its column order (``con``: a DuckDB connection with contacts)."""
    names = [d[0] for d in con.execute(f"SELECT * FROM ({hand_full_sql()}) LIMIT 0").description]
    return names[2:]


def full_contact_metrics(cat) -> list[str]:
    """Every base metric of the catalog computed from contacts alone (repeat-based ones included)."""
    return [m.id for m in cat.base_metrics()
            if all(cat.measures[x].source in ("contacts", "contact_repeats") for x in _measures(cat, m.id))]


def timed(fn) -> tuple[float, float]:
    """Wall time and process CPU time (all DuckDB threads) of one call of ``fn``."""
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def alternate(hand, catalog, repeat: int) -> dict[str, list[tuple[float, float]]]:
    """``repeat`` rounds of (hand, catalog) after one warm-up of each: alternating, both see the same load.

    CPU time is the steadier figure on a shared machine: waiting for a core does not count.
    """
    hand()
    catalog()
    runs: dict[str, list[tuple[float, float]]] = {"hand": [], "catalog": []}
    for _ in range(repeat):
        runs["hand"].append(timed(hand))
        runs["catalog"].append(timed(catalog))
    return runs


def check_equal(hand: pd.DataFrame, cat_df: pd.DataFrame, metrics: list[str]) -> None:
    """Same keys, and every metric equal to 1e-9 (relative or absolute); raise AssertionError otherwise."""
    assert list(hand.columns[2:]) == metrics or sorted(hand.columns[2:]) == sorted(metrics)
    assert len(hand) == len(cat_df), f"{len(hand)} hand rows vs {len(cat_df)} catalog rows"
    assert (pd.to_datetime(hand.period).to_numpy() == pd.to_datetime(cat_df.period).to_numpy()).all()
    assert (hand["queue"].to_numpy() == cat_df["queue"].to_numpy()).all()
    for m in metrics:
        a = hand[m].to_numpy(float)
        b = cat_df[m].to_numpy(float)
        ok = np.isclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True)
        assert ok.all(), f"{m}: hand {a[~ok][:3]} vs catalog {b[~ok][:3]}"


def main() -> None:
    """Generate (or reuse), check equal, time, print the ratio."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rows", nargs="?", type=int, default=10_000_000)
    ap.add_argument("--warehouse", type=Path, help="keep/reuse the generated warehouse in this folder")
    ap.add_argument("--repeat", type=int, default=3, help="timed rounds (hand, then catalog) after one warm-up of each")
    ap.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of both queries")
    args = ap.parse_args()
    home = args.warehouse or Path(tempfile.mkdtemp(prefix="callops-bench-"))
    home.mkdir(parents=True, exist_ok=True)
    os.environ["CALLOPS_HOME"] = str(home)
    marker = home / f"rows-{args.rows}"
    fresh = not marker.exists()
    if fresh:
        (home / "wh.duckdb").unlink(missing_ok=True)
    wh = Warehouse(f"duckdb://{home / 'wh.duckdb'}")
    if fresh:
        tenancy.create_tenant(wh, TENANT, ZONE)
        t0 = time.perf_counter()
        wh.writer().execute(GENERATE.format(n=args.rows))
        wh.writer().execute("CHECKPOINT")
        marker.touch()
        print(f"generated {args.rows:,} contacts in {time.perf_counter() - t0:.1f} s")
    con = wh.writer()
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    cat = load_catalog()
    metrics = full_contact_metrics(cat)
    hand_metrics = hand_columns(con)
    assert sorted(hand_metrics) == sorted(metrics), (
        f"the hand query and the catalog differ: {sorted(set(hand_metrics) ^ set(metrics))}")
    sql = hand_full_sql()

    def run_hand() -> pd.DataFrame:
        return con.execute(sql).df()

    def run_catalog() -> pd.DataFrame:
        return query(wh, TENANT, metrics, grain="day", by=["queue"], catalog=cat).to_pandas()

    check_equal(run_hand(), run_catalog(), metrics)
    print(f"{len(metrics)} contact metrics, day x queue, {args.rows:,} contacts: hand SQL and catalog agree to 1e-9")
    if args.explain:
        expr = compile_query(wh, tenancy.get_tenant(wh, TENANT), cat, metrics, grain="day", by=["queue"],
                             params=load_parameters(TENANT))
        for name, text in (("hand", sql), ("catalog", str(expr.compile()))):
            plan = con.execute("EXPLAIN ANALYZE " + text).fetchall()
            print(f"--- EXPLAIN ANALYZE {name}\n{plan[0][1]}")
    runs = alternate(run_hand, run_catalog, args.repeat)
    hand_t, hand_cpu = (min(r[i] for r in runs["hand"]) for i in (0, 1))
    cat_t, cat_cpu = (min(r[i] for r in runs["catalog"]) for i in (0, 1))
    pair = sorted(c[0] / h[0] for h, c in zip(runs["hand"], runs["catalog"], strict=True))
    print(f"DuckDB threads: {threads}; {args.repeat} alternating rounds after a warm-up; best wall time "
          "(best CPU time of all threads)")
    print(f"hand-written DuckDB SQL, {len(metrics)} contact metrics (baseline): {hand_t:7.3f} s "
          f"({hand_cpu:7.3f} s CPU)")
    print(f"callops catalog, same {len(metrics)} metrics              : {cat_t:7.3f} s ({cat_cpu:7.3f} s CPU)  "
          f"{cat_t / hand_t:.2f}x hand SQL wall, {cat_cpu / hand_cpu:.2f}x CPU; target <= 1.5x")
    print(f"catalog / hand per round (wall): {', '.join(f'{r:.2f}' for r in pair)} "
          f"(median {pair[len(pair) // 2]:.2f})")
    wh.close()


if __name__ == "__main__":
    main()
