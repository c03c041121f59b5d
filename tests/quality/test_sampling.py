"""Sample sizes against hand-computed values and brute force, allocations, reproducible draws, risk stream."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callops.errors import CallopsError
from callops.quality.sampling import allocate, plan_agent, sample_size, weighted_mean


def test_sample_size_textbook() -> None:
    # z = 1.959964; n0 = (1.959964 * 12 / 3)^2 = 61.46 -> 62; with N = 400: 61.46 / (1 + 60.46/400) = 53.39 -> 54
    res = sample_size(12, 3, 0.95, 400)
    assert (res["n"], res["n_without_fpc"]) == (54, 62)
    assert sample_size(10, 2, 0.99)["n"] == math.ceil((2.5758293035489 * 10 / 2) ** 2)  # 165.9 -> 166


@settings(max_examples=100, deadline=None)
@given(st.floats(0.5, 40), st.floats(0.5, 20), st.sampled_from([0.8, 0.9, 0.95, 0.99]), st.integers(1, 5000))
def test_sample_size_is_the_smallest_n_meeting_the_margin(sd: float, margin: float, conf: float, pop: int) -> None:
    """Brute force: the smallest n whose half-width z*S/sqrt(n)*sqrt((N-n)/(N-1)) is within the margin (n0 >= 1)."""
    from scipy.stats import norm

    z = norm.ppf(1 - (1 - conf) / 2)
    n0 = (z * sd / margin) ** 2
    res = sample_size(sd, margin, conf, pop)
    assert res["n"] <= pop and res["n"] <= res["n_without_fpc"]
    if n0 < 1 or pop < 2:
        return
    # Cochran's n = n0 / (1 + (n0-1)/N) solves n0 * (N - n) / (N - 1) = n exactly: the FPC half-width equation.
    def half(n: int) -> float:
        return z * sd / math.sqrt(n) * math.sqrt((pop - n) / (pop - 1))

    n = res["n"]
    assert half(n) <= margin * (1 + 1e-9)
    if n > 1:
        assert half(n - 1) > margin * (1 - 1e-9)


def test_bad_parameters_are_clear_errors() -> None:
    for kw in ({"sd": 1, "margin": 0}, {"sd": -1, "margin": 1}, {"sd": 1, "margin": 1, "confidence": 1.5}):
        with pytest.raises(CallopsError):
            sample_size(**kw)


def test_allocations() -> None:
    assert allocate([100, 300, 600], 20, "proportional") == [2, 6, 12]
    # Neyman: n_h ∝ N_h S_h = 100*30, 300*10, 600*5 -> 3000:3000:3000
    assert allocate([100, 300, 600], 21, "neyman", [30, 10, 5]) == [7, 7, 7]
    # a stratum smaller than its share is taken whole and the rest goes elsewhere
    assert allocate([2, 100], 30, "neyman", [100, 1]) == [2, 28]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 50), min_size=1, max_size=6), st.integers(0, 200))
def test_allocation_sums_and_caps(sizes: list[int], n: int) -> None:
    alloc = allocate(sizes, n)
    assert sum(alloc) == min(n, sum(sizes))
    assert all(0 <= a <= s for a, s in zip(alloc, sizes, strict=True))


def _contacts(k: int) -> list[dict]:
    return [{"contact_id": f"c{i:03d}", "channel": "voice" if i % 3 else "chat",
             "business_type": "complaint" if i % 10 == 0 else "billing", "csat": None, "talk_s": 100.0 + i}
            for i in range(k)]  # fmt: skip


def test_draw_is_reproducible_and_weighted() -> None:
    a = plan_agent("A1", _contacts(90), sd=10, margin=4, seed=7, period="2026-11")
    b = plan_agent("A1", list(reversed(_contacts(90))), sd=10, margin=4, seed=7, period="2026-11")
    c = plan_agent("A1", _contacts(90), sd=10, margin=4, seed=8, period="2026-11")
    assert a.draw == b.draw  # input order does not matter
    assert a.draw != c.draw
    assert a.n == len(a.draw) == sample_size(10, 4, 0.95, 90)["n"]
    for s in a.strata:
        assert s.weight == pytest.approx(s.population / s.n)
    # the design weights add up to the population: the Horvitz–Thompson total of 1 is N
    assert sum(d["weight"] for d in a.draw) == pytest.approx(90)


def test_risk_stream_is_separate() -> None:
    plan = plan_agent("A1", _contacts(90), sd=10, margin=4, risk_per_agent=3)
    routine = {d["contact_id"] for d in plan.draw}
    assert len(plan.risk) == 3
    assert all(r["stream"] == "risk" and r["weight"] is None and "complaint" in r["reasons"] for r in plan.risk)
    assert not routine & {r["contact_id"] for r in plan.risk}


def test_weighted_mean_is_hajek() -> None:
    assert weighted_mean([80, 90], [1, 3]) == pytest.approx(87.5)
    assert weighted_mean([80, 90], None) == pytest.approx(85)
