"""Queueing maths checked against independent values: exact rationals, a published example, limiting identities,
a 40-digit mpmath brute force of the birth–death chain, and invariants (hypothesis)."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from callops.errors import CallopsError
from callops.wfm import queueing as q
from callops.wfm.cli import queue_app

# ----------------------------------------------------------------------------------------------- exact references


def frac_erlang_b(c: int, a: Fraction) -> Fraction:
    """Erlang B from its definition (a^c/c!) / Σ_{k<=c} a^k/k!, in exact rationals."""
    terms = [a**k / math.factorial(k) for k in range(c + 1)]
    return terms[-1] / sum(terms)


def frac_erlang_c(c: int, a: Fraction) -> Fraction:
    """Erlang C from its own definition (not via B): (a^c/c!·c/(c−a)) / (Σ_{k<c} a^k/k! + a^c/c!·c/(c−a))."""
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


@pytest.mark.parametrize("a", [Fraction(1, 2), Fraction(1), Fraction(3, 2), Fraction(5, 2), Fraction(7)])
@pytest.mark.parametrize("c", [1, 2, 3])
def test_erlang_b_small_cases_exact(c: int, a: Fraction) -> None:
    # hand-checkable: B(1, a) = a/(1+a), B(2, a) = (a²/2)/(1+a+a²/2), B(3, a) = (a³/6)/(1+a+a²/2+a³/6)
    assert q.erlang_b(c, float(a)) == pytest.approx(float(frac_erlang_b(c, a)), rel=1e-13)


def test_erlang_b_hand_values() -> None:
    assert q.erlang_b(1, 1.0) == pytest.approx(0.5, rel=1e-14)
    assert q.erlang_b(2, 2.0) == pytest.approx(0.4, rel=1e-14)  # 2 / (1 + 2 + 2)
    assert q.erlang_b(3, 3.0) == pytest.approx(9 / 26, rel=1e-14)  # 4.5 / (1 + 3 + 4.5 + 4.5)


@pytest.mark.parametrize(
    ("c", "a"),
    [(1, Fraction(1, 2)), (2, Fraction(3, 2)), (3, Fraction(5, 2)), (10, Fraction(8)), (30, Fraction(51, 2))],
)
def test_erlang_c_exact(c: int, a: Fraction) -> None:
    assert q.erlang_c(c, float(a)) == pytest.approx(float(frac_erlang_c(c, a)), rel=1e-12)


def test_published_example_westbay_360_calls() -> None:
    """The Westbay/erlang.com worked example: 360 calls per half hour, 4-minute calls, 55 agents, target 15 s.

    Reference values computed here in exact rationals from the textbook Erlang C definition (load 48 Erlangs,
    occupancy 48/55); SL = 1 − C·e^{−(c−A)·T/AHT}, ASA = C·AHT/(c − A).
    """
    c, a = 55, Fraction(48)
    pw = float(frac_erlang_c(c, a))
    m = q.erlang_c_metrics(360, 1800, 240, 55, 15)
    assert float(m.traffic_erlangs) == 48.0
    assert float(m.occupancy) == pytest.approx(48 / 55)
    assert float(m.p_wait) == pytest.approx(pw, rel=1e-12)
    assert float(m.p_wait) == pytest.approx(0.2387, abs=5e-5)  # 23.9 % of calls wait
    assert float(m.service_level) == pytest.approx(1 - pw * math.exp(-7 * 15 / 240), rel=1e-12)
    assert float(m.asa_s) == pytest.approx(pw * 240 / 7, rel=1e-12)  # ≈ 8.2 s


# ----------------------------------------------------------------------------------------------- mpmath brute force


def brute_chain(c: int, a: float, aht: float, patience: float, t: float) -> dict[str, float]:
    """M/M/c+M by brute force in 40-digit arithmetic: the truncated stationary distribution, P(ab) = θE[Q]/λ, and the
    tagged customer's served-within-T probability and served wait from the hypoexponential partial fractions."""
    mp.mp.dps = 40
    lam, mu, th = mp.mpf(a) / aht, mp.mpf(1) / aht, mp.mpf(1) / patience
    n_max = c + 400
    w = [mp.mpf(1)]
    for n in range(1, n_max):
        w.append(w[-1] * lam / (min(n, c) * mu + max(n - c, 0) * th))
    z = mp.fsum(w)
    pi = [x / z for x in w]
    p_wait = mp.fsum(pi[c:])
    p_ab = th * mp.fsum((n - c) * pi[n] for n in range(c, n_max)) / lam
    sl, ew = mp.fsum(pi[:c]), mp.mpf(0)
    for k in range(n_max - c):
        if pi[c + k] < mp.mpf(10) ** -22 and k > lam / th:  # past the mode and negligible: stop
            break
        rates = [c * mu + i * th for i in range(k + 1)]  # departures ahead of the tagged customer
        tot = tw = mp.mpf(0)
        for i, ri in enumerate(rates):
            ci = mp.fprod(rj / (rj - ri) for j, rj in enumerate(rates) if j != i)
            tot += ci * ri / (ri + th) * (1 - mp.exp(-(ri + th) * t))
            tw += ci * ri / (ri + th) ** 2
        sl += pi[c + k] * tot
        ew += pi[c + k] * tw
    return {
        "p_wait": float(p_wait),
        "abandon_rate": float(p_ab),
        "service_level": float(sl),
        "asa_s": float(ew / (1 - p_ab)),
    }


@settings(max_examples=8, deadline=None)
@given(
    c=st.integers(1, 10),
    load=st.floats(0.2, 1.2),
    aht=st.floats(60, 600),
    patience_ratio=st.floats(0.5, 3.0),
    t=st.floats(0, 60),
)
def test_erlang_a_matches_mpmath_brute_force(c: int, load: float, aht: float, patience_ratio: float, t: float) -> None:
    a = load * c
    patience = patience_ratio * aht
    ref = brute_chain(c, a, aht, patience, t)
    m = q.erlang_a_metrics(a, aht, aht, c, patience, t)  # calls = a over an interval of one AHT
    for key, value in ref.items():
        assert float(getattr(m, key)) == pytest.approx(value, rel=1e-9, abs=1e-12), key


def test_erlang_a_poisson_identity() -> None:
    """θ = μ makes M/M/c+M an M/M/∞: the number in system is Poisson(a), so P(wait) = P(N >= c) and
    P(abandon) = E[(N − c)^+]/a, with the Poisson tail summed in mpmath."""
    mp.mp.dps = 30
    for c, a in [(5, 4.0), (20, 25.0), (100, 90.0), (300, 320.0)]:
        m = q.erlang_a_metrics(a, 200.0, 200.0, c, 200.0, 20.0)
        pmf = [mp.exp(-a + n * mp.log(a) - mp.loggamma(n + 1)) for n in range(c + 2000)]
        tail = mp.fsum(pmf[c:])
        excess = mp.fsum((n - c) * pmf[n] for n in range(c, len(pmf)))
        assert float(m.p_wait) == pytest.approx(float(tail), rel=1e-10)
        assert float(m.abandon_rate) == pytest.approx(float(excess) / a, rel=1e-9)


@pytest.mark.parametrize(("c", "calls"), [(55, 360), (12, 40), (120, 800)])
def test_erlang_a_tends_to_erlang_c(c: int, calls: int) -> None:
    """Patience → ∞: Erlang A figures approach the exact Erlang C ones (rational reference)."""
    a = Fraction(calls * 240, 1800)
    pw = float(frac_erlang_c(c, a))
    m = q.erlang_a_metrics(calls, 1800, 240, c, 1e9, 20)
    assert float(m.p_wait) == pytest.approx(pw, rel=1e-5)
    assert float(m.abandon_rate) < 1e-6
    assert float(m.service_level) == pytest.approx(1 - pw * math.exp(-(c - float(a)) * 20 / 240), rel=1e-5)
    assert float(m.asa_s) == pytest.approx(pw * 240 / (c - float(a)), rel=1e-4)


# ----------------------------------------------------------------------------------------------- stability, continuity


def test_stable_for_thousands_of_agents() -> None:
    c = np.array([5000, 5000, 5200, 4000])
    a = np.array([4900.0, 4999.0, 5000.0, 4900.0])
    b = q.erlang_b(c, a)
    assert np.isfinite(b).all() and (b >= 0).all() and (b <= 1).all()
    mp.mp.dps = 50
    for ci, ai, bi in zip(c[:2], a[:2], b[:2], strict=True):
        # reference via the same definition in 50-digit arithmetic: 1/B = Σ_{k<=c} c!/(k! a^{c−k})
        inv = mp.fsum(mp.exp(mp.loggamma(ci + 1) - mp.loggamma(k + 1) - (ci - k) * mp.log(ai)) for k in range(ci + 1))
        assert bi == pytest.approx(float(1 / inv), rel=1e-9)
    m = q.erlang_c_metrics(a * 300 / 1800, 300, 1800, c, 20)  # calls·interval chosen so load = a
    assert np.isfinite(m.p_wait).all()
    ma = q.erlang_a_metrics(a * 300 / 1800, 300, 1800, c, 600, 20)
    for f in ("p_wait", "service_level", "asa_s", "abandon_rate", "occupancy"):
        assert np.isfinite(getattr(ma, f)).all(), f


def test_heavy_overload_uses_continued_fraction() -> None:
    # a far above c: Q(c+1, a) underflows; B must still be right (reference: mpmath incomplete gamma)
    for c, a in [(10, 2000.0), (50.5, 5000.0), (0.3, 900.0)]:
        ref = mp.power(a, c) * mp.exp(-a) / mp.gammainc(c + 1, a)
        assert q.erlang_b(c, a) == pytest.approx(float(ref), rel=1e-10)


@given(c=st.integers(1, 400), a=st.floats(0.01, 500))
@settings(max_examples=40, deadline=None)
def test_fractional_b_matches_integer_recursion(c: int, a: float) -> None:
    """The gamma-function continuation agrees with the classic recursion B_k = aB_{k−1}/(k + aB_{k−1}) at integers."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    assert q.erlang_b(float(c), a) == pytest.approx(b, rel=1e-10)
    assert q.erlang_b(c + 1e-9, a) == pytest.approx(b, rel=1e-6)  # continuous through the integer


@given(a=st.floats(1, 300), extra=st.floats(0.05, 30), t=st.floats(0, 120), aht=st.floats(30, 900))
@settings(max_examples=40, deadline=None)
def test_erlang_c_monotone_in_agents(a: float, extra: float, t: float, aht: float) -> None:
    cs = np.array([a + extra, a + extra + 0.5, a + extra + 1, a + extra + 3])
    m = q.erlang_c_metrics(a, aht, aht, cs, t)
    assert (np.diff(m.p_wait) <= 1e-12).all()
    assert (np.diff(m.service_level) >= -1e-12).all()
    assert (np.diff(m.asa_s) <= 1e-9).all()


@given(a=st.floats(1, 200), c0=st.integers(1, 200), patience=st.floats(10, 2000), t=st.floats(0, 60))
@settings(max_examples=30, deadline=None)
def test_erlang_a_monotone_in_agents(a: float, c0: int, patience: float, t: float) -> None:
    cs = np.arange(c0, c0 + 4)
    m = q.erlang_a_metrics(a, 300, 300, cs, patience, t)
    assert (np.diff(m.abandon_rate) <= 1e-12).all()
    assert (np.diff(m.service_level) >= -1e-10).all()
    assert (np.diff(m.p_wait) <= 1e-12).all()
    assert (m.service_level <= 1).all() and (m.service_level >= 0).all()


def test_broadcasting_intervals_by_queues() -> None:
    calls = np.linspace(10, 500, 96)[:, None] * np.linspace(0.5, 2, 5)[None, :]
    m = q.erlang_a_metrics(calls, 1800, np.array([180, 240, 300, 360, 420.0]), 40, 120, 20)
    assert m.p_wait.shape == (96, 5)
    one = q.erlang_a_metrics(calls[17, 3], 1800, 360, 40, 120, 20)
    assert float(one.service_level) == pytest.approx(m.service_level[17, 3], rel=1e-12)


def test_sl_definitions() -> None:
    base = dict(calls=400, interval_s=1800, aht_s=240, agents=50, patience_s=90, threshold_s=20)
    offered = q.erlang_a_metrics(**base, sl_definition="offered")
    both = q.erlang_a_metrics(**base, sl_definition="answered+abandoned")
    answered = q.erlang_a_metrics(**base, sl_definition="answered")
    short = q.erlang_a_metrics(**base, sl_definition="short-abandons-excluded")
    assert float(both.service_level) == float(offered.service_level)  # every call is answered or abandoned
    answered_share = 1 - float(offered.abandon_rate)
    assert float(answered.service_level) == pytest.approx(float(offered.service_level) / answered_share)
    assert float(offered.service_level) < float(short.service_level) < float(answered.service_level)
    c = q.erlang_c_metrics(400, 1800, 240, 55, 20, "answered")
    assert float(c.service_level) == pytest.approx(float(q.erlang_c_metrics(400, 1800, 240, 55, 20).service_level))


# ----------------------------------------------------------------------------------------------- staffing


def test_required_agents_is_smallest() -> None:
    rng = np.random.default_rng(7)
    calls = rng.uniform(20, 900, (6, 4))
    r = q.required_agents(
        "erlang-c",
        calls=calls,
        interval_s=1800,
        aht_s=240,
        threshold_s=20,
        target_sl=0.8,
        max_occupancy=0.9,
        shrinkage=0.3,
    )
    a = calls * 240 / 1800
    for c_req, ai in zip(r.agents.ravel(), a.ravel(), strict=True):
        for c, should in ((c_req, True), (c_req - 1, False)):
            ok = c > ai and float(frac_erlang_c(int(c), Fraction(ai))) * math.exp(-(c - ai) * 20 / 240) <= 0.2
            ok = ok and ai / c <= 0.9
            assert bool(ok) is should
    assert (r.staff == np.ceil(r.agents / 0.7 - 1e-9)).all()


def test_staff_rounding_is_exact() -> None:
    r = q.required_agents("erlang-c", calls=0.0001, interval_s=1800, aht_s=10, target_sl=0.5, shrinkage=0.3)
    assert float(r.agents) == 1.0
    assert float(r.staff) == 2.0  # 1 / 0.7 = 1.43 → 2
    r7 = q._staff(np.array([7.0, 14.0]), np.array([0.3, 0.3]), False)
    assert r7.tolist() == [10.0, 20.0]  # not 11 and 21 from 7/0.7 = 10.000000000000002


def test_required_agents_erlang_a_targets() -> None:
    for kwargs in ({"target_sl": 0.8}, {"target_asa_s": 15.0}, {"target_abandon": 0.03}):
        r = q.required_agents(
            "erlang-a", calls=1200, interval_s=1800, aht_s=150, threshold_s=20, patience_s=120, **kwargs
        )
        c = float(r.agents)
        m = q.erlang_a_metrics(1200, 1800, 150, np.array([c - 1, c]), 120, 20)
        figure, target = next(iter(kwargs.items()))
        values = {"target_sl": m.service_level, "target_asa_s": m.asa_s, "target_abandon": m.abandon_rate}[figure]
        if figure == "target_sl":
            assert values[1] >= target > values[0]
        else:
            assert values[1] <= target < values[0]


def test_fractional_staffing_hits_target() -> None:
    r = q.required_agents("erlang-c", calls=[360, 1000], interval_s=1800, aht_s=240, target_sl=0.8, fractional=True)
    assert r.service_level == pytest.approx([0.8, 0.8], abs=1e-5)
    integer = q.required_agents("erlang-c", calls=[360, 1000], interval_s=1800, aht_s=240, target_sl=0.8)
    assert (np.ceil(r.agents - 1e-6) == integer.agents).all()


def test_no_traffic_needs_no_agents() -> None:
    r = q.required_agents("erlang-c", calls=[0, 100], interval_s=1800, aht_s=240, target_sl=0.8)
    assert r.agents[0] == 0 and r.agents[1] > 0


def test_bad_inputs_raise_callops_error() -> None:
    with pytest.raises(CallopsError, match="interval"):
        q.erlang_c_metrics(100, 0, 240, 10)
    with pytest.raises(CallopsError, match="calls"):
        q.erlang_c_metrics(-1, 1800, 240, 10)
    with pytest.raises(CallopsError, match="target service level"):
        q.required_agents("erlang-c", calls=100, interval_s=1800, aht_s=240, target_sl=1.0)
    with pytest.raises(CallopsError, match="patience"):
        q.required_agents("erlang-a", calls=100, interval_s=1800, aht_s=240, target_sl=0.8)
    with pytest.raises(CallopsError, match="definition"):
        q.erlang_c_metrics(100, 1800, 240, 10, sl_definition="bogus")


def test_unstable_erlang_c_is_reported_not_crashing() -> None:
    m = q.erlang_c_metrics(360, 1800, 240, 40)
    assert not bool(m.stable) and float(m.p_wait) == 1.0 and math.isinf(float(m.asa_s))
    assert m.to_dict()["asa_s"] is None


# ----------------------------------------------------------------------------------------------- chat


def test_chat_with_one_session_is_erlang_c_and_erlang_a() -> None:
    m = q.chat_metrics(360, 1800, 240, 55, 1, 0.0, 20)
    ref = float(frac_erlang_c(55, Fraction(48)))
    assert float(m.p_wait) == pytest.approx(ref, rel=1e-11)
    ma = q.chat_metrics(360, 1800, 240, 45, 1, 0.0, 20, patience_s=120)
    ref_a = brute_chain(45, 48.0, 240.0, 120.0, 20.0)
    assert float(ma.abandon_rate) == pytest.approx(ref_a["abandon_rate"], rel=1e-9)


def test_chat_concurrency_matches_brute_force_chain() -> None:
    """Sessions chain with balanced routing, solved directly in mpmath (no patience)."""
    calls, interval, aht1, c, k, g, t = 500.0, 1800.0, 120.0, 20, 3, 0.25, 30.0
    m = q.chat_metrics(calls, interval, aht1, c, k, g, t)
    mp.mp.dps = 40
    lam = mp.mpf(calls) / interval

    def rate(n: int) -> mp.mpf:
        n = min(n, c * k)
        qq, r = divmod(n, c)

        def one(j: int) -> mp.mpf:
            return mp.mpf(j) / (aht1 * (1 + g * (j - 1))) if j > 0 else mp.mpf(0)

        return r * one(qq + 1) + (c - r) * one(qq)

    w = [mp.mpf(1)]
    for n in range(1, c * k + 3000):
        w.append(w[-1] * lam / rate(n))
    z = mp.fsum(w)
    p_wait = mp.fsum(w[c * k :]) / z
    nu = rate(c * k)
    sl = 1 - p_wait * mp.exp(-(nu - lam) * t)  # M/M/1-like FCFS queue behind the full slots
    assert float(m.p_wait) == pytest.approx(float(p_wait), rel=1e-10)
    assert float(m.service_level) == pytest.approx(float(sl), rel=1e-10)
    busy = mp.fsum(min(n, c * k) * w[n] for n in range(len(w))) / z / (c * k)
    assert float(m.occupancy) == pytest.approx(float(busy), rel=1e-10)


def test_chat_staffing_needs_fewer_agents_with_concurrency() -> None:
    one = q.required_agents("chat", calls=500, interval_s=1800, aht_s=600, target_sl=0.8, concurrency=1)
    three = q.required_agents(
        "chat", calls=500, interval_s=1800, aht_s=600, target_sl=0.8, concurrency=3, slowdown=0.25
    )
    assert float(three.agents) < float(one.agents)


# ----------------------------------------------------------------------------------------------- CLI


def test_cli_json_keys_and_errors() -> None:
    runner = CliRunner()
    res = runner.invoke(
        queue_app,
        [
            "erlang-c",
            "--calls",
            "360",
            "--interval",
            "1800",
            "--aht",
            "240",
            "--agents",
            "55",
            "--threshold",
            "15",
            "--json",
        ],
    )
    assert res.exit_code == 0
    d = json.loads(res.stdout)
    assert {"p_wait", "service_level", "asa_s", "abandon_rate", "occupancy", "agents"} <= d.keys()
    assert d["p_wait"] == pytest.approx(float(frac_erlang_c(55, Fraction(48))), rel=1e-12)
    res = runner.invoke(
        queue_app,
        [
            "staff",
            "--model",
            "erlang-a",
            "--calls",
            "360",
            "--interval",
            "1800",
            "--aht",
            "240",
            "--target-sl",
            "0.8",
            "--threshold",
            "20",
            "--patience",
            "120",
            "--shrinkage",
            "0.3",
            "--json",
        ],
    )
    d = json.loads(res.stdout)
    assert d["staff"] == math.ceil(d["agents"] / 0.7)
    res = runner.invoke(
        queue_app, ["erlang-a", "--calls", "360", "--interval", "1800", "--aht", "240", "--agents", "50"]
    )
    assert isinstance(res.exception, CallopsError)
    res = runner.invoke(
        queue_app, ["erlang-c", "--calls", "360", "--interval", "1800", "--aht", "240", "--agents", "40", "--json"]
    )
    d = json.loads(res.stdout)
    assert d["stable"] is False and d["asa_s"] is None


def _mp_erlang_c_asa(c: int, a: mp.mpf, aht: mp.mpf) -> mp.mpf:
    """ASA of M/M/c from the textbook Erlang C sum, in 40-digit arithmetic (independent of the module)."""
    with mp.workdps(40):
        top = a**c / mp.factorial(c) * c / (c - a)
        p_wait = top / (mp.fsum(a**k / mp.factorial(k) for k in range(c)) + top)
        return p_wait * aht / (c - a)


@pytest.mark.parametrize(
    ("calls", "interval_s", "aht_s", "target_asa_s"),
    [(1200, 1800, 150, 15.0), (360, 1800, 240, 20.0), (40, 900, 300, 5.0), (5000, 3600, 180, 10.0), (3, 1800, 600, 60)],
)
def test_required_agents_for_an_asa_target_is_the_smallest_count_meeting_it(
    calls: float, interval_s: float, aht_s: float, target_asa_s: float
) -> None:
    """Erlang C staffing for an ASA target: the brute-force smallest c with ASA(c) <= target (mpmath), and the
    reported ASA is the independent one at that c (regression: a wrong formula gave 49 agents and 200 s ASA)."""
    a = mp.mpf(calls) * aht_s / interval_s
    c = int(mp.floor(a)) + 1
    while _mp_erlang_c_asa(c, a, mp.mpf(aht_s)) > target_asa_s:
        c += 1
    r = q.required_agents("erlang-c", calls=calls, interval_s=interval_s, aht_s=aht_s, target_asa_s=target_asa_s)
    assert float(r.agents) == c
    assert float(r.asa_s) == pytest.approx(float(_mp_erlang_c_asa(c, a, mp.mpf(aht_s))), rel=1e-9)
    assert float(r.asa_s) <= target_asa_s
    if c - 1 > a:
        assert _mp_erlang_c_asa(c - 1, a, mp.mpf(aht_s)) > target_asa_s
