"""Perception statistics against scipy, and the cost view and true containment on the hand-checked log."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from journey_testlib import CONTACTS, T1_LOG
from scipy import stats

from callops.errors import CallopsError
from callops.ingest.loader import load_files
from callops.ingest.mapping import load_mapping
from callops.journey import cost, perception
from callops.metrics.query import query
from callops.tenancy import Tenant, create_tenant
from callops.warehouse import Warehouse

samples = st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=3, max_size=40)


@settings(max_examples=60, deadline=None)
@given(samples, samples)
def test_welch_interval_and_hedges_g_equal_scipy(a: list[float], b: list[float]) -> None:
    x, y = np.array(a), np.array(b)
    r = perception.compare(x, y)
    if x.var(ddof=1) == 0 and y.var(ddof=1) == 0:
        return
    # scipy's Welch df squares the variance terms: below ~1e-150 they underflow and its interval is wrong, so
    # compare there only where it is exact (tiny scales are checked by scale invariance below)
    terms = [v / n for v, n in ((x.var(ddof=1), len(x)), (y.var(ddof=1), len(y))) if v > 0]
    assume(min(terms) > 1e-150)
    ci = stats.ttest_ind(x, y, equal_var=False).confidence_interval(0.95)
    assert r["diff_ci"] == pytest.approx([ci.low, ci.high], rel=1e-9, abs=1e-9)
    # Hedges' g from Student's pooled t: d = t * sqrt(1/n1 + 1/n2), g = d * (1 - 3 / (4 (n1 + n2) - 9))
    t = stats.ttest_ind(x, y, equal_var=True).statistic
    n1, n2 = len(x), len(y)
    if np.isfinite(t):
        assert r["hedges_g"] == pytest.approx(t * np.sqrt(1 / n1 + 1 / n2) * (1 - 3 / (4 * (n1 + n2) - 9)),
                                              rel=1e-9, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(samples, samples, st.sampled_from([1e-120, 1e-30, 1e30]))
def test_welch_interval_scales_with_the_data(a: list[float], b: list[float], scale: float) -> None:
    x, y = np.array(a), np.array(b)
    assume(x.var(ddof=1) > 1e-6 or y.var(ddof=1) > 1e-6)
    r, scaled = perception.compare(x, y), perception.compare(x * scale, y * scale)
    assert scaled["diff_ci"] == pytest.approx([v * scale for v in r["diff_ci"]], rel=1e-9, abs=0)
    assert scaled["hedges_g"] == pytest.approx(r["hedges_g"], rel=1e-9, abs=1e-12)  # g has no unit


@pytest.fixture
def t1(home: Warehouse, tmp_path: Path) -> Tenant:
    """Tenant t1 with the hand-checked journey log and its contacts."""
    t = create_tenant(home, "t1", "Asia/Shanghai")
    for table, text in (("journey_events", T1_LOG), ("contacts", CONTACTS)):
        p = tmp_path / f"{table}.csv"
        p.write_text(text, encoding="utf-8")
        load_files(home, t, table, [p], load_mapping("canonical", table))
    return t


def test_true_containment(home: Warehouse, t1: Tenant) -> None:
    # self-service sessions (no agent step): S1 (C1), S3 (C2), S4 (C3); C1's answered call K2 comes 1 h 59 min
    # after S1's last step: not contained within 24 h, contained within 1 h
    p = cost.JourneyParameters(containment_hours=24)
    c = cost.containment(home, t1, params=p)
    assert (c["self_service_sessions"], c["contained"]) == (3, 2)
    c = cost.containment(home, t1, params=p.model_copy(update={"containment_hours": 1}))
    assert (c["self_service_sessions"], c["contained"]) == (3, 3)


def test_cost_per_contact_and_e_channel_share(home: Warehouse, t1: Tenant, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    folder = Path(home.url.removeprefix("duckdb://")).parent / "tenants" / "t1"
    folder.mkdir(parents=True)
    (folder / "metrics.yaml").write_text(
        "parameters: {agent_cost_per_hour: 90, channel_cost_per_contact: {voice: 1.5, app: 0.1}}\n", encoding="utf-8")
    out = cost.channel_costs(home, t1)
    by = {r["channel"]: r for r in out["channels"]}
    assert by["voice"]["cost_per_contact"] == pytest.approx(600 / 3600 * 90 + 1.5)  # one call, 10 min of talk
    assert by["app"]["cost_per_contact"] == pytest.approx(0.1)
    assert out["e_channel_share"] == pytest.approx(3 / 4)
    assert out["cost_per_contact"] == pytest.approx((15 + 1.5 + 0.3) / 4)
    weeks = cost.diversion(home, t1)
    assert [w["week"] for w in weeks] == ["2026-03-02"] and weeks[0]["contacts"] == 4
    # the catalog's cost metrics read the same parameters and give the same hand-checked figures
    table = query(home, "t1", ["contact_cost", "cost_per_contact", "cost_per_contact__voice",
                               "cost_per_contact__app"], grain="month").to_pylist()
    assert len(table) == 1
    assert table[0]["contact_cost"] == pytest.approx(15 + 1.5 + 0.3)
    assert table[0]["cost_per_contact"] == pytest.approx((15 + 1.5 + 0.3) / 4)
    assert table[0]["cost_per_contact__voice"] == pytest.approx(16.5)
    assert table[0]["cost_per_contact__app"] == pytest.approx(0.1)
    (folder / "metrics.yaml").write_text("parameters: {agent_cost_per_hour: -1}\n", encoding="utf-8")
    with pytest.raises(CallopsError, match="agent_cost_per_hour"):
        cost.channel_costs(home, t1)
    (folder / "metrics.yaml").write_text("parameters: {channel_cost_per_contact: {fax: 1}}\n", encoding="utf-8")
    with pytest.raises(CallopsError, match=r"unknown channel.*fax"):
        cost.channel_costs(home, t1)
    (folder / "metrics.yaml").unlink()
    (folder / "journeys.yaml").write_text("costs: {agent_cost_per_hour: 90}\n", encoding="utf-8")
    with pytest.raises(CallopsError, match="costs are metric parameters now"):
        cost.channel_costs(home, t1)


def test_dissatisfied_customers_paths_and_reasons(home: Warehouse, t1: Tenant) -> None:
    d = perception.dissatisfied(home, t1)
    assert d["customers_sample"] == ["C1"]  # CSAT 2 on K2
    assert d["sessions"] == 2  # S1 and S2
    reason = {r["item"]: r for r in d["reasons"]}["identity_verification_failed"]
    assert (reason["sessions"], reason["share"], reason["share_others"], reason["lift"]) == (1, 0.5, 0.5, 1.0)
