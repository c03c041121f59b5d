"""The offer back-test's lift: the learned policy against the rules-only policy on the simulated hotline.

Simulates the demo hotline (``--scale`` of its agents and traffic, ``--customers`` customers, ``--days`` days
ending yesterday), loads its customers, campaigns, offers and contacts into a fresh tenant through ingest,
scores the customers with the value model as of the day before the split, and runs
``callops.marketing.backtest`` (train before the split, evaluate the last ``--holdout`` days). The baseline is
the rules-only policy measured on the same hold-out. Acceptance depends on the customers' traits as
``callops.sim.marketing``'s docstring states; the learner sees only tags, class, score band, reason and channel.

    .venv/bin/python bench/offers_backtest.py [--scale 0.25] [--customers 50000] [--days 28] [--holdout 7]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import date, timedelta


def main() -> None:
    """Simulate, load, score, back-test; print one JSON document."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=0.25)
    ap.add_argument("--customers", type=int, default=50_000)
    ap.add_argument("--days", type=int, default=28)
    ap.add_argument("--holdout", type=int, default=7)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="offers-backtest-") as tmp:
        os.environ["CALLOPS_HOME"] = tmp
        os.environ.pop("CALLOPS_STORE_URL", None)
        os.environ.pop("CALLOPS_WAREHOUSE", None)
        from callops import tenancy
        from callops.marketing.backtest import backtest
        from callops.sim.demo import demo_scenario
        from callops.sim.records import write_to_warehouse
        from callops.sim.runner import run_scenario
        from callops.store.db import Store
        from callops.store.tenants import create_tenant
        from callops.value import snapshot
        from callops.warehouse import Warehouse

        today = date.today()
        split = today - timedelta(days=args.holdout)
        t0 = time.perf_counter()
        tables = run_scenario(demo_scenario().scaled(args.scale, customers=args.customers), args.days,
                              seed=args.seed, start_date=today - timedelta(days=args.days))  # fmt: skip
        with Store() as store, Warehouse() as wh:
            create_tenant(store, wh, "bench", "Asia/Shanghai")
            t = tenancy.get_tenant(wh, "bench")
            write_to_warehouse(wh, t, {k: tables[k] for k in ("customers", "campaigns", "offers", "contacts")})
            snapshot.score_tenant(wh, t, split - timedelta(days=1))
            setup_s = time.perf_counter() - t0
            bt = backtest(wh, t, split, details=True)
        truth = _truth(tables, demo_scenario(), bt.pop("choices"))
    print(json.dumps({"scale": args.scale, "customers": args.customers, "days": args.days, "holdout_days": args.holdout,
                      "setup_s": round(setup_s, 1), **bt, "simulator_truth": truth}, indent=1,
                     default=str))  # fmt: skip


def _truth(tables: dict, scenario: object, choices: dict) -> dict:
    """What each policy really earns on the evaluated hold-out contacts: the simulator's acceptance probability of
    the offer the policy chose (``sim.marketing.acceptance_probability``, which the estimates never see)."""
    import numpy as np

    from callops.sim.marketing import acceptance_probability

    cust = tables["customers"].to_pydict()
    row_of = {c: i for i, c in enumerate(cust["customer_id"])}
    contacts = tables["contacts"].select(["contact_id", "customer_id", "business_type"]).to_pydict()
    contact_of = {c: i for i, c in enumerate(contacts["contact_id"])}
    offers = {o.offer_id: o for c in scenario.campaigns for o in c.offers}  # type: ignore[attr-defined]
    out = {}
    for name in ("rules", "learned"):
        p, rev = [], []
        for cid, oid in zip(choices["contact_id"], choices[name], strict=True):
            if oid is None:
                p.append(0.0)
                rev.append(0.0)
                continue
            k = contact_of[cid]
            r = row_of.get(contacts["customer_id"][k])
            one = (lambda col, default, r=r: np.array([cust[col][r] if r is not None else default]))  # noqa: E731
            q = float(acceptance_probability(offers[oid], one("status", "active"), one("usage_gb", 0.0),
                                             one("network_generation", ""), one("arpu", 0.0), one("vip_level", 0),
                                             np.array([contacts["business_type"][k] or ""]))[0])  # fmt: skip
            p.append(q)
            rev.append(q * offers[oid].unit_price)
        out[name] = {"acceptance_rate": float(np.mean(p)), "revenue_per_contact": float(np.mean(rev))}
    out["lift"] = {k: out["learned"][k] - out["rules"][k] for k in ("acceptance_rate", "revenue_per_contact")}
    return out


if __name__ == "__main__":
    sys.exit(main())
