"""The offers step of ``make demo`` (issue 12): train the propensity model, decide for a few customers, back-test.

Called as ``run(wh, console)`` after the hotline is loaded and the value step has scored the customers
(``demo.CAPABILITY_STEPS``). The hotline's offers were presented uniformly among the fitting ones and accepted
by the true model of ``callops.sim.marketing`` (its docstring); the learner never sees that model.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from rich.console import Console

from callops import tenancy
from callops.errors import CallopsError
from callops.warehouse import Warehouse

DEMO_TENANT = "demo"
HOLDOUT_DAYS = 7


def run(wh: Warehouse, console: Console, tenant_id: str = DEMO_TENANT) -> None:
    """Train, back-test (learned vs rules-only) and show three decisions with their offer and guidance."""
    from callops.marketing.backtest import backtest, save_result
    from callops.marketing.propensity import train
    from callops.value.decide import decide

    tenant = tenancy.get_tenant(wh, tenant_id)
    today = datetime.now(ZoneInfo(tenant.timezone)).date()
    try:
        with console.status("back-testing the offer policy (learned vs rules-only)"):
            bt = backtest(wh, tenant, today - timedelta(days=HOLDOUT_DAYS), reps=200)
    except CallopsError as exc:  # a short demo (--days) has no offers before the hold-out
        console.print(f"[yellow]offers back-test: {exc}[/]")
    else:
        save_result(tenant_id, bt)  # shown on the console's offers page
        a, r = bt["lift"]["acceptance_rate"], bt["lift"]["revenue_per_contact"]
        console.print(f"offers back-test from {bt['split']} ({bt['holdout_offers']:,} held-out offers): propensity AUC "
                      f"{bt['auc']:.3f}; revenue per offered contact learned "
                      f"{bt['learned']['revenue_per_contact']['dr']:.2f} vs rules-only "
                      f"{bt['rules']['revenue_per_contact']['dr']:.2f} (lift {r['dr']:+.2f}, 95 % CI "
                      f"{r['dr_ci95'][0]:+.2f} to {r['dr_ci95'][1]:+.2f}); acceptance lift {a['dr']:+.3f}")  # fmt: skip
    with console.status("training the offer propensity model"):
        doc = train(wh, tenant)
    console.print(f"offer propensity model v{doc['version']}: {doc['rows']:,} presented offers, "
                  f"{doc['accepted']:,} accepted ({doc['seconds']:.1f} s)")  # fmt: skip
    ids = (tenancy.scoped(wh, tenant, "customers").select("customer_id").order_by("customer_id").limit(3)
           .to_pyarrow().column("customer_id").to_pylist())  # fmt: skip
    for cid, reason in zip(ids, ("data_plan", "upgrade_5g", "complaint"), strict=False):
        d = decide(tenant, cid, "voice", reason)
        o = d["offer"]
        if o is None:
            console.print(f"decision for {cid} ({reason}): no offer — {d['offer_why']}")
            continue
        s = o["score"]
        console.print(f"decision for {cid} ({reason}, tags {', '.join(d['tags']) or '-'}): {o['offer_id']} "
                      f"score {s['score']:.1f} = {s['propensity']:.3f} × {s['value']:g} × {s['weight']:.3f}, "
                      f"p(chosen) {o['probability']:.2f}; {o['guidance']['zh-CN']['phrase']}")  # fmt: skip
