"""The account-history generator keeps the links its docstring states."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import numpy as np

from callops.sim.customer_history import customers_config, generate_history
from callops.sim.customers import generate_customers

END = date(2026, 12, 6)


def _world(n: int = 3000) -> tuple[dict, dict]:
    _, cust = generate_customers(customers_config(n), np.random.default_rng(5))
    ev = generate_history(cust, END, seed=5).to_pylist()
    return {c["customer_id"]: c for c in cust.to_pylist()}, ev


def test_churn_suspension_and_purchases_follow_the_documented_rules() -> None:
    """Churned customers churn once and buy nothing afterwards; suspended ones were suspended at a month start;
    every event lies in the year before the end; the key (customer, ts, kind) is unique."""
    cust, ev = _world()
    zone = ZoneInfo("Asia/Shanghai")
    churn = {e["customer_id"]: e["ts"] for e in ev if e["kind"] == "status_change" and e["status_to"] == "churned"}
    assert set(churn) == {c for c, row in cust.items() if row["status"] == "churned"}
    for e in ev:
        if e["kind"] == "purchase" and e["customer_id"] in churn:
            assert e["ts"] < churn[e["customer_id"]]
        local = e["ts"].astimezone(zone).date()
        assert (END - local).days <= 366 and local <= END
    suspended = [e for e in ev if e["kind"] == "status_change" and e["status_to"] == "suspended"]
    now_suspended = {c for c, row in cust.items() if row["status"] == "suspended"}
    assert now_suspended <= {e["customer_id"] for e in suspended}
    for e in suspended:
        assert e["ts"].astimezone(zone).day == 1 and e["reason"] in {"billing", "fraud_check"}
    keys = [(e["customer_id"], e["ts"], e["kind"]) for e in ev]
    assert len(keys) == len(set(keys))


def test_better_plans_buy_more() -> None:
    """Purchase rates rise with ARPU (λ ∝ √ARPU): the top ARPU quartile buys more than the bottom one."""
    cust, ev = _world(6000)
    counts: dict[str, int] = {}
    for e in ev:
        if e["kind"] == "purchase":
            counts[e["customer_id"]] = counts.get(e["customer_id"], 0) + 1
    arpu = np.array([cust[c]["arpu"] for c in cust])
    n = np.array([counts.get(c, 0) for c in cust])
    lo, hi = np.quantile(arpu, [0.25, 0.75])
    assert n[arpu >= hi].mean() > 1.3 * n[arpu <= lo].mean()
