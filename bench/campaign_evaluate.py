"""Campaign evaluation (issue 12) on a year of demo-sized data, against one scan of the same contacts.

    nice -n 10 .venv/bin/python bench/campaign_evaluate.py [--days 365] [--per-day 37000]

A new warehouse gets the demo hotline's campaigns and offers (``sim.marketing.campaign_tables`` of the shipped
scenario) and ``--days`` days of contacts at the demo's volume (about 37,000 a day, 10.5 % with an offer, 90 %
handled; a pitched offer adds 45 s of talk and 10 s of after-contact work; acceptance at each offer's
``accept_p``), written by one DuckDB INSERT (the load is not what is measured). It then times
``campaigns.evaluate`` over the whole year (all campaigns: strata, the measured agent time, cost, return, score
and each campaign's SPRT over its presentations in time order), cold (first call: Ibis backend, SQL compiled) and
warm, and ``service_vs_marketing``. The baseline, timed in the same run, is one DuckDB aggregate over the tenant's
contacts (count, handle time and offers per queue and channel): the evaluation's cost is printed as a multiple of
reading the data once.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import date
from pathlib import Path

from rich.console import Console

from callops import tenancy
from callops.marketing.campaigns import evaluate, service_vs_marketing
from callops.sim.marketing import campaign_tables
from callops.sim.scenario import demo_scenario
from callops.warehouse import Warehouse

err = Console(stderr=True)
TENANT = "bench"


def generate(wh: Warehouse, days: int, per_day: int, seed: int = 7) -> tuple[int, int]:
    """Campaigns, offers and ``days`` × ``per_day`` contacts for the bench tenant; (contacts, presentations)."""
    first = date(2025, 1, 1)
    tables = campaign_tables(demo_scenario(), first, days)
    con = wh.writer()
    for name in ("campaigns", "offers"):
        tab = tables[name]
        con.register("src", tab)
        cols = ", ".join(tab.column_names)
        con.execute(f"INSERT INTO {name} (tenant_id, load_id, _row_hash, {cols}) SELECT '{TENANT}', 'bench', 1, "
                    f"{cols} FROM src")
        con.unregister("src")
    offers = tables["offers"].to_pylist()
    accept = {o.offer_id: o.accept_p for c in demo_scenario().campaigns for o in c.offers}
    k = len(offers)
    pick = " ".join(f"WHEN {i} THEN '{o['offer_id']}'" for i, o in enumerate(offers))
    acc = " ".join(f"WHEN '{o['offer_id']}' THEN {accept[o['offer_id']]}" for o in offers)
    con.execute(f"SELECT setseed({seed / 100})")
    n = days * per_day
    con.execute(f"""
        INSERT INTO contacts (tenant_id, load_id, _row_hash, contact_id, queue, channel, direction, offered_at,
                              answered_at, ended_at, talk_s, hold_s, acw_s, outcome, offer_id, offer_result, revenue)
        WITH base AS (
            SELECT i, TIMESTAMPTZ '2025-01-01 00:00:00+08' + to_seconds((i * 86400.0 / {per_day})::BIGINT) AS t_at,
                   CASE i % 5 WHEN 0 THEN 'billing' WHEN 1 THEN 'data' WHEN 2 THEN 'general' WHEN 3 THEN 'vip'
                        ELSE 'broadband' END AS queue,
                   CASE i % 7 WHEN 0 THEN 'chat' WHEN 1 THEN 'app' ELSE 'voice' END AS channel,
                   random() < 0.9 AS handled, random() AS r_offer, random() AS r_pitch, random() AS r_acc,
                   (hash(i) % {k})::INT AS o, 60 + 400 * random() AS talk, 30 * random() AS acw
            FROM range({n}) t(i)),
        offered AS (
            SELECT *, CASE WHEN handled AND r_offer < 0.105 THEN CASE o {pick} END END AS offer_id FROM base)
        SELECT '{TENANT}', 'bench', 1, 'B' || i, queue, channel, 'inbound', t_at,
               CASE WHEN handled THEN t_at + INTERVAL 20 SECOND END, t_at + INTERVAL 10 MINUTE,
               CASE WHEN handled THEN talk + CASE WHEN offer_id IS NOT NULL THEN 45 ELSE 0 END END,
               CASE WHEN handled THEN 0 END,
               CASE WHEN handled THEN acw + CASE WHEN offer_id IS NOT NULL THEN 10 ELSE 0 END END,
               CASE WHEN handled THEN 'answered' ELSE 'abandoned' END,
               offer_id,
               CASE WHEN offer_id IS NOT NULL THEN CASE WHEN r_acc < CASE offer_id {acc} END THEN 'accepted'
                    ELSE 'declined' END END,
               NULL
        FROM offered""")
    row = con.execute(f"SELECT count(*), count(offer_result) FROM contacts WHERE tenant_id = '{TENANT}'").fetchone()
    return int(row[0]), int(row[1])


def baseline(wh: Warehouse) -> float:
    """Seconds for one aggregate over the tenant's contacts (through ``tenancy.scoped``, like the evaluation)."""
    import ibis

    t0 = time.perf_counter()
    co = tenancy.scoped(wh, TENANT, "contacts")
    sql = ibis.to_sql(co, dialect="duckdb")
    wh.backend.con.sql(f"""WITH co AS ({sql}) SELECT queue, channel, count(*), sum(talk_s), sum(acw_s),
        count(offer_id), count(*) FILTER (WHERE offer_result = 'accepted') FROM co GROUP BY ALL""").fetchall()
    return time.perf_counter() - t0


def main() -> None:
    """Generate, time, print one JSON line."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--per-day", type=int, default=37_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="callops-bench-campaigns-") as tmp:
        wh = Warehouse(f"duckdb://{Path(tmp) / 'wh.duckdb'}")
        tenancy.create_tenant(wh, TENANT, "Asia/Shanghai")
        t0 = time.perf_counter()
        with err.status(f"writing {args.days} days of contacts"):
            contacts, presented = generate(wh, args.days, args.per_day)
        gen_s = time.perf_counter() - t0
        base_s = min(baseline(wh) for _ in range(3))
        t0 = time.perf_counter()
        ev = evaluate(wh, TENANT)
        cold = time.perf_counter() - t0
        warm = []
        for _ in range(3):
            t0 = time.perf_counter()
            evaluate(wh, TENANT)
            warm.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        service_vs_marketing(wh, TENANT, evaluation=ev)
        svm = time.perf_counter() - t0
        wh.close()
    result = {
        "days": args.days, "contacts": contacts, "presentations": presented, "generate_s": round(gen_s, 2),
        "baseline_scan_s": round(base_s, 3), "evaluate_cold_s": round(cold, 3), "evaluate_warm_s": round(min(warm), 3),
        "service_vs_marketing_s": round(svm, 3), "warm_over_scan": round(min(warm) / base_s, 2),
        "decisions": {c["campaign_id"]: c["decision"] for c in ev["campaigns"]},
        "agent_s_per_presentation": {c["campaign_id"]: round(c["evidence"]["agent_time"]["per_presentation_s"], 1)
                                     for c in ev["campaigns"]},
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
