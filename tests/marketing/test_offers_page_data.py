"""What the console's offers page reads (issue 12): the per-offer figures and trend against pandas on generated
rows (property test), decisions counted per offer, period and tenant (``mk1`` / ``mk10``) from the real store, and
the back-test kept and read back per tenant."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callops.marketing import decisionlog
from callops.marketing.backtest import latest_result, save_result
from callops.store.db import Store
from callops.ui.pages_offers import offer_stats

DAY0 = date(2026, 3, 2)  # a Monday
_IDS = itertools.count()

rows_st = st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), st.booleans(),
                             st.floats(0, 500, allow_nan=False), st.integers(0, 60)), max_size=80)


@settings(max_examples=60, deadline=None)
@given(rows=rows_st, decided=st.dictionaries(st.sampled_from(["A", "B", "D"]), st.integers(1, 9)),
       grain=st.sampled_from(["day", "week"]))
def test_offer_figures_and_trend_equal_a_pandas_recount(rows: list, decided: dict, grain: str) -> None:
    """Per offer: presented, accepted, rate, revenue, decisions (also for offers never presented); per day or
    week (Monday) the same, summing to the totals."""
    hist = pa.table({"offer_id": pa.array([r[0] for r in rows], pa.string()),
                     "accepted": pa.array([r[1] for r in rows], pa.bool_()),
                     "revenue": pa.array([r[2] for r in rows], pa.float64()),
                     "day": pa.array([DAY0 + timedelta(days=r[3]) for r in rows], pa.date32())})
    per, trend = offer_stats(hist, decided, grain)
    df = pd.DataFrame(rows, columns=["offer_id", "accepted", "revenue", "d"])
    assert set(per) == set(df["offer_id"]) | set(decided)
    for oid, got in per.items():
        mine = df[df["offer_id"] == oid]
        assert got["presented"] == len(mine)
        assert got["accepted"] == int(mine["accepted"].sum())
        assert got["revenue"] == pytest.approx(float(mine["revenue"].sum()))
        assert got["decisions"] == decided.get(oid, 0)
        assert got["acceptance_rate"] == (pytest.approx(mine["accepted"].mean()) if len(mine) else None)
        pts = trend.get(oid, [])
        key = (mine["d"] // 7 * 7) if grain == "week" else mine["d"]  # DAY0 is a Monday
        want = {(DAY0 + timedelta(days=int(k))).isoformat(): n for k, n in key.value_counts().items()}
        assert {p["period"]: p["presented"] for p in pts} == want
        assert [p["period"] for p in pts] == sorted(want)
        assert sum(p["accepted"] for p in pts) == got["accepted"]


def _decision(tenant: str, offer: str | None, at: datetime) -> dict:
    return {"id": f"pagetest{next(_IDS):024d}", "tenant_id": tenant, "decided_at": at, "customer_id": "c1",
            "contact_id": None, "channel": "voice", "reason": None, "offer_id": offer,
            "campaign_id": "C" if offer else None, "probability": 1.0 if offer else None, "propensity": None,
            "value": None, "weight": None, "score": None, "policy": "rules", "model_version": None,
            "eligible": [], "why": None if offer else "no eligible offer"}


def test_decisions_are_counted_per_offer_period_and_tenant(marketing_world) -> None:
    """mk1 and mk10 (a prefix of each other): each counts its own decisions with an offer, in its period only."""
    store = Store(marketing_world.store_url)
    now = datetime.now(UTC)
    for tenant, offer, when in [("mk1", "PT-A", now - timedelta(hours=1))] * 3 + [
            ("mk1", "PT-B", now - timedelta(hours=2)), ("mk1", "PT-A", now - timedelta(days=10)),
            ("mk1", None, now - timedelta(hours=1))] + [("mk10", "PT-A", now - timedelta(hours=1))] * 5:
        decisionlog.log(store, _decision(tenant, offer, when))
    try:
        def mine(tenant: str, since: datetime) -> dict[str, int]:
            counts = decisionlog.decision_counts(store, tenant, since, now + timedelta(minutes=1))
            return {k: v for k, v in counts.items() if k.startswith("PT-")}

        assert mine("mk1", now - timedelta(days=1)) == {"PT-A": 3, "PT-B": 1}
        assert mine("mk1", now - timedelta(days=20)) == {"PT-A": 4, "PT-B": 1}
        assert mine("mk10", now - timedelta(days=1)) == {"PT-A": 5}
    finally:
        store.close()


def test_the_backtest_is_kept_per_tenant(marketing_world) -> None:
    """A kept back-test reads back with when it was kept; another tenant has none."""
    doc = {"split": "2026-01-01", "auc": 0.71, "holdout_offers": 12, "rules": {}, "learned": {}, "lift": {}}
    kept = save_result("mk1", doc)
    got = latest_result("mk1")
    assert got == kept and got["auc"] == 0.71
    assert datetime.fromisoformat(got["computed_at"]) <= datetime.now(UTC)
    assert latest_result("mk10") is None
