"""Survivors of `make mutate` on wfm/queueing.py (docs/testing.md): the closed forms the staffing search uses,
Erlang C of an overloaded or empty queue, and the JSON-safe figures."""

from __future__ import annotations

import contextlib
import json
import math
import signal
import warnings
from collections.abc import Iterator
from fractions import Fraction

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_queueing import brute_chain, frac_erlang_b, frac_erlang_c

from callops.errors import CallopsError
from callops.wfm import queueing as q


@settings(max_examples=8, deadline=None)
@given(c=st.integers(1, 10), load=st.floats(0.55, 1.3), aht=st.floats(60, 600), patience_ratio=st.floats(0.5, 3.0),
       t=st.floats(1, 60))  # fmt: skip
def test_closed_forms_of_the_staffing_search_match_mpmath(
    c: int, load: float, aht: float, patience_ratio: float, t: float
) -> None:
    """Without the ASA (``_need_wait=False``, what ``required_agents`` asks for) Erlang A switches to closed forms
    in incomplete gammas where the load is at least half the agents; they must give the same service level and
    abandon rate as the 40-digit birth-death chain."""
    a = load * c
    patience = patience_ratio * aht
    ref = brute_chain(c, a, aht, patience, t)
    m = q.erlang_a_metrics(a, aht, aht, c, patience, t, _need_wait=False)
    for key in ("service_level", "abandon_rate", "p_wait"):
        assert float(getattr(m, key)) == pytest.approx(ref[key], rel=1e-9, abs=1e-12), key


def brute_short_abandons(c: int, a: float, aht: float, patience: float, t: float) -> float:
    """P(a caller abandons within ``t``) in M/M/c+M, 40 digits: a caller queued behind k others waits for a
    hypoexponential S (departure rates cμ + iθ, i ≤ k) and abandons at patience P ~ Exp(θ) if P < S, so
    P(P ≤ t, P < S) = Σ_i c_i θ/(r_i + θ) (1 − e^{−(r_i+θ)t}) with S's partial-fraction weights c_i."""
    mp.mp.dps = 40
    lam, mu, th = mp.mpf(a) / aht, mp.mpf(1) / aht, mp.mpf(1) / patience
    n_max = c + 400
    w = [mp.mpf(1)]
    for n in range(1, n_max):
        w.append(w[-1] * lam / (min(n, c) * mu + max(n - c, 0) * th))
    z = mp.fsum(w)
    total = mp.mpf(0)
    for k in range(n_max - c):
        pk = w[c + k] / z
        if pk < mp.mpf(10) ** -22 and k > lam / th:
            break
        rates = [c * mu + i * th for i in range(k + 1)]
        for i, ri in enumerate(rates):
            ci = mp.fprod(rj / (rj - ri) for j, rj in enumerate(rates) if j != i)
            total += pk * ci * th / (ri + th) * (1 - mp.exp(-(ri + th) * t))
    return float(total)


@settings(max_examples=6, deadline=None)
@given(c=st.integers(1, 8), load=st.floats(0.55, 1.3), aht=st.floats(60, 600), patience_ratio=st.floats(0.5, 3.0),
       t=st.floats(1, 60), need_wait=st.booleans())  # fmt: skip
def test_short_abandons_excluded_matches_mpmath(
    c: int, load: float, aht: float, patience_ratio: float, t: float, need_wait: bool
) -> None:
    """Service level with short abandons excluded = answered within T / (1 − P(abandon within T)), both the
    windowed sums and the closed forms, against the birth-death chain."""
    a, patience = load * c, patience_ratio * aht
    short = brute_short_abandons(c, a, aht, patience, t)
    want = brute_chain(c, a, aht, patience, t)["service_level"] / (1 - short)
    m = q.erlang_a_metrics(a, aht, aht, c, patience, t, "short-abandons-excluded", _need_wait=need_wait)
    assert float(m.service_level) == pytest.approx(want, rel=1e-9, abs=1e-12)


def test_erlang_c_of_an_overloaded_or_empty_queue() -> None:
    """As many agents as Erlangs or fewer: everyone waits (1); no traffic: nobody waits (0), whatever the
    agents; and no numpy warning on the way (0/0 and x/0 happen inside)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = q.erlang_c(np.array([5.0, 4.0, 0.5, 0.0, 3.0, 0.0]), np.array([5.0, 9.0, 1.0, 0.0, 0.0, 2.0]))
    assert got.tolist() == [1.0, 1.0, 1.0, 0.0, 0.0, 1.0]


def test_erlang_b_and_c_name_the_bad_argument() -> None:
    for fn in (q.erlang_b, q.erlang_c):
        with pytest.raises(CallopsError, match=r"^agents must be >= 0 \(got -1\)$"):
            fn(-1, 5)
        with pytest.raises(CallopsError, match=r"^traffic must be >= 0 \(got -1\)$"):
            fn(5, -1)


def test_erlang_c_metrics_threshold_defaults_to_20_seconds() -> None:
    """The Westbay example (55 agents, 48 Erlangs) without a threshold: SL at 20 s, from exact rationals."""
    pw = float(frac_erlang_c(55, Fraction(48)))
    m = q.erlang_c_metrics(360, 1800, 240, 55)
    assert float(m.threshold_s) == 20.0
    assert float(m.service_level) == pytest.approx(1 - pw * math.exp(-7 * 20 / 240), rel=1e-12)


def test_erlang_b_of_a_heavily_overloaded_grid() -> None:
    """A grid (scipy's path, above the cell threshold) where Q(c+1, a) underflows: the continued fraction gives B,
    equal to mpmath's incomplete gamma, with no numpy warning from the log of the underflowed Q."""
    c = np.tile([10.0, 50.5, 0.3], 100)
    a = np.tile([2000.0, 5000.0, 900.0], 100)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = q.erlang_b(c, a)
    for ci, ai, bi in zip(c[:3], a[:3], got[:3], strict=True):
        ref = mp.power(ai, ci) * mp.exp(-ai) / mp.gammainc(ci + 1, ai)
        assert bi == pytest.approx(float(ref), rel=1e-10)
    np.testing.assert_array_equal(got, np.tile(got[:3], 100))


def test_figures_as_plain_json() -> None:
    """``to_dict``: the model and definition under their names, floats stay floats (10 agents is 10.0), an
    infinite wait is null, and the whole is strict JSON."""
    d = q.erlang_c_metrics(360, 1800, 240, np.array([3.0, 10.0])).to_dict()
    assert (d["model"], d["sl_definition"]) == ("erlang-c", "offered")
    assert d["asa_s"] == [None, None] and d["agents"] == [3.0, 10.0]
    one = q.erlang_c_metrics(360, 1800, 240, 10.0).to_dict()
    assert type(one["agents"]) is float and type(one["stable"]) is bool
    json.dumps(one, allow_nan=False)


@pytest.mark.parametrize(("c", "calls"), [(1, 5), (3, 15), (7, 24), (12, 40), (2, 100)])
def test_erlang_b_metrics_against_exact_rationals(c: int, calls: int) -> None:
    """``erlang_b_metrics`` (the CLI's and API's ``erlang-b``): load = calls·AHT/interval, blocking from the
    definition in exact rationals, occupancy = carried load / agents, SL = 1 − B (offered) or 1 (answered: every
    answered call is answered at once); nobody waits, nobody abandons, the queue never grows."""
    a = Fraction(calls * 180, 600)
    b = float(frac_erlang_b(c, a))
    m = q.erlang_b_metrics(calls, 600, 180, c, 15)
    assert (m.model, m.sl_definition) == ("erlang-b", "offered")
    assert float(m.traffic_erlangs) == pytest.approx(float(a), rel=1e-15)
    assert float(m.p_block) == pytest.approx(b, rel=1e-12)
    assert float(m.occupancy) == pytest.approx(float(a) * (1 - b) / c, rel=1e-12)
    assert float(m.service_level) == pytest.approx(1 - b, rel=1e-12)
    assert (float(m.agents), float(m.staff), float(m.threshold_s)) == (c, c, 15.0)
    assert (float(m.p_wait), float(m.asa_s), float(m.mean_wait_s), float(m.abandon_rate)) == (0, 0, 0, 0)
    assert m.stable.dtype == bool and bool(m.stable)
    answered = q.erlang_b_metrics(calls, 600, 180, c, 15, "answered")
    assert (answered.sl_definition, float(answered.service_level)) == ("answered", 1.0)
    assert float(answered.p_block) == pytest.approx(b, rel=1e-12)
    for definition in ("answered+abandoned", "short-abandons-excluded"):
        assert float(q.erlang_b_metrics(calls, 600, 180, c, 15, definition).service_level) == pytest.approx(1 - b)


def test_erlang_b_metrics_without_agents_broadcast_and_defaults() -> None:
    """No agents: every call is blocked (B = 1), occupancy 0 (not 0/0) with no numpy warning, and the answered SL
    is 0 (nobody is answered); arrays broadcast (agents × calls); the threshold defaults to 20 s."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = q.erlang_b_metrics(np.array([[60.0], [0.0]]), 3600, 180, np.array([0.0, 2.0, 5.0]))
        ans = q.erlang_b_metrics(60, 3600, 180, np.array([0.0, 2.0]), sl_definition="answered")
    for name in q.QueueMetrics._FIGURES:
        assert getattr(m, name).shape == (2, 3), name
    b = [float(frac_erlang_b(c, Fraction(3))) for c in (0, 2, 5)]
    np.testing.assert_allclose(m.p_block[0], b, rtol=1e-12)
    np.testing.assert_allclose(m.service_level[0], [1 - x for x in b], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(m.occupancy[0], [0.0, 3 * (1 - b[1]) / 2, 3 * (1 - b[2]) / 5], rtol=1e-12)
    assert m.p_block[1].tolist() == [1.0, 0.0, 0.0] and m.occupancy[1].tolist() == [0.0, 0.0, 0.0]
    assert ans.service_level.tolist() == [0.0, 1.0]
    assert m.threshold_s.tolist() == [[20.0] * 3] * 2 and m.stable.all()


def test_erlang_b_metrics_refuses_bad_input() -> None:
    """Each argument is checked under its own name, and the service-level definition against the list."""
    for args, message in [((-1, 600, 180, 2), "calls must be >= 0 (got -1)"),
                          ((5, 0, 180, 2), "interval must be > 0 (got 0)"), ((5, 600, 0, 2), "aht must be > 0 (got 0)"),
                          ((5, 600, 180, -1), "agents must be >= 0 (got -1)"),
                          ((5, 600, 180, 2, -1), "threshold must be >= 0 (got -1)")]:  # fmt: skip
        with pytest.raises(CallopsError) as err:
            q.erlang_b_metrics(*args)
        assert str(err.value) == message
    with pytest.raises(CallopsError, match="unknown service-level definition 'bogus'"):
        q.erlang_b_metrics(5, 600, 180, 2, 20, "bogus")


_STAFF = {"calls": 100, "interval_s": 1800, "aht_s": 240, "target_sl": 0.8}


@contextlib.contextmanager
def _within(seconds: float) -> Iterator[None]:
    """Fail (TimeoutError) if the block runs longer than ``seconds``: a refusal is immediate, and an argument that
    slips through (an occupancy cap of 0) can send the staffing search on forever."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "bogus"}, "unknown staffing model 'bogus'; use erlang-c, erlang-a or chat"),
        ({"target_sl": None}, "give at least one target: service level, ASA or abandon rate"),
        ({"threshold_s": -1}, "threshold must be >= 0 (got -1)"),
        ({"target_sl": 0}, "target service level must be > 0 (got 0)"),
        ({"target_sl": 1}, "target service level must be < 1 (got 1)"),
        ({"target_asa_s": 0}, "target ASA must be > 0 (got 0)"),
        ({"model": "erlang-a", "patience_s": 60, "target_abandon": 0}, "target abandon rate must be > 0 (got 0)"),
        ({"model": "erlang-a", "patience_s": 60, "target_abandon": 1}, "target abandon rate must be < 1 (got 1)"),
        ({"model": "erlang-a", "patience_s": 60, "target_abandon": 1.5}, "target abandon rate must be < 1 (got 1.5)"),
        ({"max_occupancy": 0}, "max occupancy must be > 0 (got 0)"),
        ({"max_occupancy": 1.5}, "max occupancy must be <= 1 (got 1.5)"),
        ({"shrinkage": -0.1}, "shrinkage must be >= 0 (got -0.1)"),
        ({"shrinkage": 1}, "shrinkage must be < 1 (got 1)"),
        ({"shrinkage": 1.5}, "shrinkage must be < 1 (got 1.5)"),
        ({"model": "erlang-a"}, "erlang-a needs the mean patience (patience_s / --patience)"),
        ({"model": "erlang-a", "patience_s": 0}, "patience must be > 0 (got 0)"),
        ({"model": "erlang-a", "patience_s": np.nan}, "patience must be a finite number"),
        ({"patience_s": 0}, "patience must be > 0 (got 0)"),
        ({"model": "chat", "patience_s": -5}, "patience must be > 0 (got -5)"),
        ({"target_abandon": 0.05},
         "Erlang C has no abandonment; use erlang-a with a patience for an abandon-rate target"),
        ({"model": "chat", "fractional": True}, "fractional staffing is available for erlang-c and erlang-a, not chat"),
        ({"model": "chat", "concurrency": 0.5}, "concurrency must be >= 1 (got 0.5)"),
        ({"concurrency": 0.5}, "concurrency must be >= 1 (got 0.5)"),  # checked for every model
        ({"model": "chat", "slowdown": -1}, "slowdown must be >= 0 (got -1)"),
        ({"calls": 100_001, "interval_s": 1, "aht_s": 1},
         "offered load 100,001 erlangs (calls × AHT / interval) is beyond what callops sizes (100,000 erlangs per "
         "queue and interval); check the units of calls, AHT and interval"),
    ],
)  # fmt: skip
def test_required_agents_refuses_each_bad_argument(kwargs: dict, message: str) -> None:
    """Every staffing argument is checked under its own name with its own bounds (strict or not), and the whole
    message is the one users see (CLI and API)."""
    with _within(10), pytest.raises(CallopsError) as err:
        q.required_agents(**{**_STAFF, **kwargs})
    assert str(err.value) == message


def _smallest_erlang_c(a: Fraction, aht: float, t: float, target: float) -> tuple[int, float]:
    """The smallest c whose Erlang C service level (exact rationals for C) meets ``target``, and that level."""
    c = int(a) + 1
    while True:
        sl = 1 - float(frac_erlang_c(c, a)) * math.exp(-(c - float(a)) * t / aht)
        if sl >= target:
            return c, sl
        c += 1


def test_required_agents_defaults_and_bounds_that_are_allowed() -> None:
    """Without a model, threshold or concurrency: Erlang C at 20 s (brute force over c); an occupancy cap of
    exactly 1, an infinite patience for Erlang A (= Erlang C) and a load of exactly 100,000 Erlangs are allowed."""
    a = Fraction(360 * 240, 1800)
    c, sl = _smallest_erlang_c(a, 240, 20, 0.8)
    for r in (q.required_agents(calls=360, interval_s=1800, aht_s=240, target_sl=0.8),
              q.required_agents("chat", calls=360, interval_s=1800, aht_s=240, target_sl=0.8),
              q.required_agents("erlang-a", calls=360, interval_s=1800, aht_s=240, target_sl=0.8, patience_s=np.inf,
                                max_occupancy=1.0)):  # fmt: skip
        assert (float(r.agents), float(r.threshold_s)) == (c, 20.0)
        assert float(r.service_level) == pytest.approx(sl, rel=1e-9)
    big = q.required_agents(calls=100_000, interval_s=1, aht_s=1, target_sl=0.5)
    assert 100_000 < float(big.agents) < 100_000 + 100 and float(big.service_level) >= 0.5


def _mp_chat_sl(lam: mp.mpf, aht1: float, c: int, k: int, g: float, t: float) -> float:
    """Chat without patience, 40 digits: the sessions chain with balanced routing (⌊n/c⌋ or ⌈n/c⌉ sessions per
    agent), then FCFS behind the c·k full slots; SL = 1 − P(wait)·e^{−(ν−λ)T} with ν the full-slot rate."""
    mp.mp.dps = 40

    def one(j: int) -> mp.mpf:
        return mp.mpf(j) / (aht1 * (1 + g * (j - 1))) if j > 0 else mp.mpf(0)

    def rate(n: int) -> mp.mpf:
        qq, r = divmod(min(n, c * k), c)
        return r * one(qq + 1) + (c - r) * one(qq)

    nu = rate(c * k)
    if lam >= nu:
        return 0.0
    w = [mp.mpf(1)]
    for n in range(1, c * k + 1):
        w.append(w[-1] * lam / rate(n))
    z = mp.fsum(w[:-1]) + w[-1] / (1 - lam / nu)  # the geometric tail beyond c·k in closed form
    p_wait = w[-1] / (1 - lam / nu) / z
    return float(1 - p_wait * mp.exp(-(nu - lam) * t))


def test_chat_staffing_against_the_session_chain() -> None:
    """Chat staffing with three sessions per agent: the smallest c whose chain SL meets the target, with the
    slowdown left at its default (none) and with g = 0.3; with one session and a patience, the smallest c of the
    M/M/c+M brute force (the patience is not dropped for chat)."""
    calls, interval, aht1, t = 900.0, 1800.0, 300.0, 30.0
    lam = mp.mpf(calls) / interval
    for g, kwargs in ((0.0, {}), (0.3, {"slowdown": 0.3})):
        c = 1
        while _mp_chat_sl(lam, aht1, c, 3, g, t) < 0.8:
            c += 1
        r = q.required_agents("chat", calls=calls, interval_s=interval, aht_s=aht1, threshold_s=t, target_sl=0.8,
                              concurrency=3, **kwargs)  # fmt: skip
        assert float(r.agents) == c, g
        assert float(r.service_level) == pytest.approx(_mp_chat_sl(lam, aht1, c, 3, g, t), rel=1e-9)
    a, patience = 40 * 240 / 1800, 120.0
    c = 1
    while brute_chain(c, a, 240.0, patience, 20.0)["service_level"] < 0.8:
        c += 1
    r = q.required_agents("chat", calls=40, interval_s=1800, aht_s=240, target_sl=0.8, patience_s=patience)
    assert float(r.agents) == c
    assert float(r.abandon_rate) == pytest.approx(brute_chain(c, a, 240.0, patience, 20.0)["abandon_rate"], rel=1e-9)


def test_chat_staffing_with_patience_for_an_asa_target_and_the_answered_definition() -> None:
    """Chat with one session and a patience is M/M/c+M: for an ASA target (the search must compute waits) and for
    an SL over answered calls (the definition reaches the evaluator), the smallest c of the 40-digit brute force."""
    a, aht, patience, t = 40 * 240 / 1800, 240.0, 120.0, 20.0
    chains = {c: brute_chain(c, a, aht, patience, t) for c in range(1, 16)}
    asa_c = min(c for c, m in chains.items() if m["asa_s"] <= 10.0)
    with _within(60):  # ~0.1 s; without the waits the ASA target is never met and the search never ends
        r = q.required_agents("chat", calls=40, interval_s=1800, aht_s=aht, threshold_s=t, target_asa_s=10.0,
                              patience_s=patience)  # fmt: skip
    assert float(r.agents) == asa_c
    assert float(r.asa_s) == pytest.approx(chains[asa_c]["asa_s"], rel=1e-9)

    def answered_sl(m: dict[str, float]) -> float:
        return m["service_level"] / (1 - m["abandon_rate"])

    sl_c = min(c for c, m in chains.items() if answered_sl(m) >= 0.9)
    r = q.required_agents("chat", calls=40, interval_s=1800, aht_s=aht, threshold_s=t, target_sl=0.9,
                          patience_s=patience, sl_definition="answered")  # fmt: skip
    assert float(r.agents) == sl_c and r.sl_definition == "answered"
    assert float(r.service_level) == pytest.approx(answered_sl(chains[sl_c]), rel=1e-9)
    offered_c = min(c for c, m in chains.items() if m["service_level"] >= 0.9)
    assert offered_c != sl_c  # the definition matters here


def test_staffing_where_the_occupancy_cap_binds() -> None:
    """8 Erlangs with an occupancy cap of 0.8: 9 agents meet each target, so the cap decides (10 agents, occupancy
    exactly 0.8, accepted at equality). Erlang A with infinite patience is Erlang C (exact rationals); an abandon
    target alone is met by any count there (nobody abandons), so only stability and the cap decide."""
    a = Fraction(60 * 240, 1800)

    def sl(c: int) -> float:
        return 1 - float(frac_erlang_c(c, a)) * math.exp(-(c - 8) * 20 / 240)

    def asa(c: int) -> float:
        return float(frac_erlang_c(c, a)) * 240 / (c - 8)

    assert sl(9) >= 0.35 and asa(9) <= 160.0  # the targets alone would take 9 agents
    for target in ({"target_sl": 0.35}, {"target_asa_s": 160.0}, {"target_abandon": 0.5}):
        r = q.required_agents("erlang-a", calls=60, interval_s=1800, aht_s=240, patience_s=np.inf, max_occupancy=0.8,
                              **target)  # fmt: skip
        assert (float(r.agents), float(r.occupancy)) == (10.0, 0.8), target
        assert float(r.service_level) == pytest.approx(sl(10), rel=1e-12)
        assert float(r.asa_s) == pytest.approx(asa(10), rel=1e-12)


def test_staffing_keeps_the_definition_and_zero_traffic_cells() -> None:
    """Integer Erlang C staffing reports the definition it was asked for (all coincide for Erlang C); fractional
    staffing of a grid with an empty cell gives that cell 0 agents and the other the continuous requirement."""
    a = Fraction(360 * 240, 1800)
    c, sl = _smallest_erlang_c(a, 240, 20, 0.8)
    r = q.required_agents(calls=360, interval_s=1800, aht_s=240, target_sl=0.8, sl_definition="answered")
    assert (r.sl_definition, float(r.agents)) == ("answered", c)
    assert float(r.service_level) == pytest.approx(sl, rel=1e-12)
    f = q.required_agents(calls=[0, 360], interval_s=1800, aht_s=240, target_sl=0.8, fractional=True, shrinkage=0.3)
    assert f.agents[0] == 0.0 and c - 1 < f.agents[1] <= c
    assert f.staff.tolist() == pytest.approx([0.0, f.agents[1] / 0.7], rel=1e-12)  # not rounded up
    assert not float(f.staff[1]).is_integer()
    assert f.service_level.tolist()[0] == 1.0 and f.service_level[1] == pytest.approx(0.8, abs=1e-5)


@pytest.mark.parametrize("model", ["erlang-a", "chat"])
def test_search_staffing_of_a_grid_with_an_empty_cell(model: str) -> None:
    """The bracket-and-search staffing (Erlang A; chat with one session and a patience, the same queue) on a grid
    with an empty cell: 0 agents there, and the 40-digit brute-force smallest count beside it."""
    a, patience = 40 * 240 / 1800, 120.0
    c = 1
    while brute_chain(c, a, 240.0, patience, 20.0)["service_level"] < 0.8:
        c += 1
    r = q.required_agents(model, calls=[0, 40], interval_s=1800, aht_s=240, target_sl=0.8, patience_s=patience)
    assert r.agents.tolist() == [0.0, c] and (r.model, r.sl_definition) == (model, "offered")
    assert r.service_level[0] == 1.0 and r.abandon_rate[0] == 0.0 and r.asa_s[0] == 0.0
    ref = brute_chain(c, a, 240.0, patience, 20.0)  # the figures at the answer, the ASA included
    for key in ("service_level", "abandon_rate", "asa_s"):
        assert getattr(r, key)[1] == pytest.approx(ref[key], rel=1e-9), key


def _poisson_smallest(a: np.ndarray, target: str, value: float) -> np.ndarray:
    """With patience = AHT, M/M/c+M is M/M/∞ (N ~ Poisson(a), scipy.stats): P(wait) = P(N >= c) and
    P(abandon) = E[(N − c)^+]/a = P(N >= c) − (c/a)·P(N >= c+1); the smallest c meeting the target, by trying
    every c."""
    from scipy import stats

    cs = np.arange(0, 600)[None, :]
    if target == "target_abandon":
        ok = stats.poisson.sf(cs - 1, a[:, None]) - cs / a[:, None] * stats.poisson.sf(cs, a[:, None]) <= value
    else:  # service level at T = 0: answered at once = nobody ahead of all agents busy
        ok = stats.poisson.cdf(cs - 1, a[:, None]) >= value
    return np.argmax(ok, axis=1).astype(float)


@pytest.mark.parametrize("cells", [7, 1200])
@pytest.mark.parametrize(("target", "value"),
                         [("target_abandon", 0.02), ("target_abandon", 0.3), ("target_sl", 0.9), ("target_sl", 0.999)])
def test_erlang_a_staffing_grid_against_the_poisson_identity(cells: int, target: str, value: float) -> None:
    """Erlang A staffing of a grid (7 cells: many points per search round; 1200 cells: bisection) equals the
    Poisson brute force in every cell. The targets make the first probe (a − 2√a) meet them in big cells
    (abandon 0.3) and the first bracket (a + √a) fail (SL 0.999), so every branch of the search runs. Fractional
    staffing lies in (c − 1, c] of the integer answer."""
    a = np.linspace(0.5, 300, cells)
    kwargs = {"calls": a * 1800 / 300, "interval_s": 1800, "aht_s": 300, "patience_s": 300, "threshold_s": 0.0,
              target: value}  # fmt: skip
    want = _poisson_smallest(a, target, value)
    with _within(60):  # ~0.2 s each; a search that never closes fails here, not at mutmut's timeout
        r = q.required_agents("erlang-a", **kwargs)
        f = q.required_agents("erlang-a", fractional=True, **kwargs) if cells == 7 else None
    np.testing.assert_array_equal(r.agents, want)
    if f is not None:
        assert (f.agents > want - 1).all() and (f.agents <= want).all()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1, 3), "agents must be >= 0 (got -1)"),
        ((4, 0.5), "concurrency must be >= 1 (got 0.5)"),
        ((4, 3, -0.1), "slowdown must be >= 0 (got -0.1)"),
        ((4, 3, 0.0, -1), "threshold must be >= 0 (got -1)"),
        ((4, 3, 0.0, 20, 0), "patience must be > 0 (got 0)"),
        ((4.5, 3), "chat needs whole numbers of agents and sessions per agent"),
        ((4, 2.5), "chat needs whole numbers of agents and sessions per agent"),
    ],
)
def test_chat_metrics_refuses_each_bad_argument(args: tuple, message: str) -> None:
    """``chat_metrics`` checks each argument under its own name; agents and sessions must each be whole."""
    with pytest.raises(CallopsError) as err:
        q.chat_metrics(100, 1800, 300, *args)
    assert str(err.value) == message


def test_chat_metrics_defaults_against_the_session_chain() -> None:
    """Left out: no slowdown and a 20 s threshold (the 40-digit sessions chain); with one session and a patience
    the ASA is computed by default (M/M/c+M brute force)."""
    lam = mp.mpf(900) / 1800
    m = q.chat_metrics(900, 1800, 300, 55, 3)
    assert float(m.threshold_s) == 20.0
    assert 0.5 < float(m.service_level) == pytest.approx(_mp_chat_sl(lam, 300.0, 55, 3, 0.0, 20.0), rel=1e-10)
    ma = q.chat_metrics(40, 1800, 240, 6, 1, patience_s=120)
    ref = brute_chain(6, 40 * 240 / 1800, 240.0, 120.0, 20.0)
    for key in ("service_level", "abandon_rate", "asa_s", "p_wait"):
        assert float(getattr(ma, key)) == pytest.approx(ref[key], rel=1e-9), key


def test_erlang_b_is_never_above_one() -> None:
    """No agents: every call is blocked, B = 1 (to rounding, and never above it: a blocking probability > 1 would
    give negative carried load), on both the scipy path (a grid) and the numpy path (one cell)."""
    a = np.linspace(0.01, 700, 2 * q._NUMPY_B_MAX)
    for c in (0.0, 1e-9):
        grid = q.erlang_b(np.full(a.shape, c), a)
        one = np.array([float(q.erlang_b(c, ai)) for ai in a[::25]])
        for b in (grid, one):
            assert (b <= 1.0).all()
            np.testing.assert_allclose(b, 1.0, rtol=1e-7)


def test_chat_with_a_single_agent_against_the_session_chain() -> None:
    """One agent holding up to three sessions (slowdown 0.25): the 40-digit sessions chain."""
    m = q.chat_metrics(10, 1800, 300, 1, 3, 0.25, 60)
    assert 0.05 < float(m.service_level) == pytest.approx(_mp_chat_sl(mp.mpf(10) / 1800, 300.0, 1, 3, 0.25, 60.0),
                                                          rel=1e-10)  # fmt: skip


def test_chat_grid_with_patience_unstable_and_empty_cells() -> None:
    """A grid of chat cells with one session each and a patience (M/M/c+M, 40-digit brute force per cell): each
    cell's own figures (occupancy = served load / agents), the SL with short abandons excluded, and no agents at
    all (everyone abandons, SL 0); without patience, too few agents or none are unstable: everyone waits, all slots
    busy, no numpy warning."""
    a, agents = 40 * 240 / 1800, np.array([6.0, 2.0, 5.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = q.chat_metrics(40, 1800, 240, agents, 1, 0.0, 20, 120, "short-abandons-excluded")
        none = q.chat_metrics(40, 1800, 240, 0, 1, 0.0, 20, 120)
        unstable = q.chat_metrics(100, 1800, 300, np.array([4.0, 0.0]), 3)
    for i, c in enumerate(agents.astype(int)):
        ref = brute_chain(c, a, 240.0, 120.0, 20.0)
        assert m.abandon_rate[i] == pytest.approx(ref["abandon_rate"], rel=1e-9)
        assert m.occupancy[i] == pytest.approx(a * (1 - ref["abandon_rate"]) / c, rel=1e-9)
        short = brute_short_abandons(c, a, 240.0, 120.0, 20.0)
        assert m.service_level[i] == pytest.approx(ref["service_level"] / (1 - short), rel=1e-9)
    assert (m.model, m.sl_definition) == ("chat", "short-abandons-excluded")
    np.testing.assert_allclose(m.traffic_erlangs, a, rtol=1e-15)  # single-session Erlangs
    assert (float(none.p_wait), float(none.abandon_rate), float(none.service_level)) == (1.0, 1.0, 0.0)
    assert unstable.p_wait.tolist() == [1.0, 1.0] and unstable.service_level.tolist() == [0.0, 0.0]
    assert unstable.stable.tolist() == [False, False] and unstable.occupancy.tolist() == [1.0, 1.0]


def test_erlang_a_metrics_defaults() -> None:
    """Left out: a 20 s threshold (40-digit brute force) and the model's name."""
    m = q.erlang_a_metrics(40, 1800, 240, 6, 120)
    assert (m.model, float(m.threshold_s)) == ("erlang-a", 20.0)
    ref = brute_chain(6, 40 * 240 / 1800, 240.0, 120.0, 20.0)
    assert float(m.service_level) == pytest.approx(ref["service_level"], rel=1e-9)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-1, 120), "agents must be >= 0 (got -1)"),
        ((6, 0), "patience must be > 0 (got 0)"),
        ((6, np.nan), "patience must be a finite number"),
        ((6, 120, -1), "threshold must be >= 0 (got -1)"),
    ],
)
def test_erlang_a_metrics_refuses_each_bad_argument(args: tuple, message: str) -> None:
    """``erlang_a_metrics`` names each argument; the patience must be positive (infinity allowed: Erlang C)."""
    with pytest.raises(CallopsError) as err:
        q.erlang_a_metrics(40, 1800, 240, *args)
    assert str(err.value) == message


def _brute_occupancy(c: int, a: float, aht: float, patience: float) -> float:
    """E[min(N, c)] / c of the M/M/c+M birth-death chain in 40-digit arithmetic: the share of agent time busy."""
    mp.mp.dps = 40
    lam, mu, th = mp.mpf(a) / aht, mp.mpf(1) / aht, mp.mpf(1) / patience
    w = [mp.mpf(1)]
    for n in range(1, c + 400):
        w.append(w[-1] * lam / (min(n, c) * mu + max(n - c, 0) * th))
    z = mp.fsum(w)
    return float(mp.fsum(min(n, c) * x for n, x in enumerate(w)) / z / c)


@settings(max_examples=8, deadline=None)
@given(c=st.integers(1, 8), load=st.floats(0.3, 1.5), aht=st.floats(60, 600), patience_ratio=st.floats(0.5, 3.0))
def test_erlang_a_occupancy_matches_the_chain(c: int, load: float, aht: float, patience_ratio: float) -> None:
    """Occupancy under Erlang A is the served load over the agents (callers who abandon take no agent time):
    checked against E[min(N, c)]/c of the chain, one agent included; no agents with traffic count as fully busy."""
    a, patience = load * c, patience_ratio * aht
    m = q.erlang_a_metrics(a, aht, aht, c, patience, 20.0)
    assert float(m.occupancy) == pytest.approx(_brute_occupancy(c, a, aht, patience), rel=1e-9)
    assert float(q.erlang_a_metrics(a, aht, aht, 0, patience, 20.0).occupancy) == 1.0


def test_erlang_a_figures_of_a_wide_grid_against_the_poisson_identity() -> None:
    """θ = μ (patience = AHT) makes M/M/c+M an M/M/∞, so N ~ Poisson(a) (scipy.stats, independent of the sums):
    P(wait) = P(N ≥ c), P(abandon) = E[(N − c)^+]/a = (a·P(N ≥ c − 1) − c·P(N ≥ c))/a and the mean wait of all
    callers E[(N − c)^+]/λ (Little), on 540 cells from a
    fraction of an Erlang to 5,000 (agents below, at and above the load). A window of queue states cut too short
    (as a wrong mode of the summand would) shows here as errors of 1e-5."""
    from scipy import stats

    rng = np.random.default_rng(39)
    a = np.concatenate([rng.uniform(0.2, 30, 180), rng.uniform(30, 600, 180), rng.uniform(600, 5000, 180)])
    c = np.maximum(1, np.floor(a * rng.choice([0.7, 0.9, 1.0, 1.1, 1.3], a.size)) + rng.integers(-2, 3, a.size))
    aht = rng.uniform(30, 900, a.size)
    m = q.erlang_a_metrics(a * 1800 / aht, 1800, aht, c, aht, 20.0)
    p_wait = stats.poisson.sf(c - 1, a)
    abandon = (a * stats.poisson.sf(c - 2, a) - c * p_wait) / a
    np.testing.assert_allclose(m.p_wait, p_wait, rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(m.abandon_rate, abandon, rtol=1e-7, atol=1e-13)
    # Little's law on the queue: the mean wait of all callers is E[(N − c)^+] / λ
    np.testing.assert_allclose(m.mean_wait_s, abandon * a / (a / aht), rtol=1e-7, atol=1e-13)


def test_occupancy_of_a_fractional_agent_count_below_one() -> None:
    """Flow balance: occupancy × agents = the carried load a(1 − abandon rate), also for the fractional counts
    below one agent that fractional staffing gives tiny loads (0.2 calls per half hour); Erlang C carries all: a/c."""
    c = np.array([0.2, 0.5, 0.9, 1.0, 1.7, 3.0])
    calls = np.full(c.size, 0.2)
    a = calls * 300 / 1800
    m = q.erlang_a_metrics(calls, 1800, 300, c, 120, 20)
    np.testing.assert_allclose(m.occupancy * c, a * (1 - m.abandon_rate), rtol=1e-12)
    np.testing.assert_allclose(q.erlang_c_metrics(calls, 1800, 300, c, 20).occupancy, a / c, rtol=1e-12)


def test_staffing_reports_the_figures_at_the_agents_it_recommends() -> None:
    """Every figure of a staffing answer is the queue's at the recommended agents: the load a = calls·AHT/interval,
    P(wait) of Erlang C from its own definition in exact rationals, stable = agents > a, Erlang C's mean wait of all
    callers P(wait)·AHT/(c − a) and no blocking; for Erlang A the same figures as erlang_a_metrics at those agents."""
    calls, aht = [40, 360, 800], [240, 240, 240]
    r = q.required_agents(calls=calls, interval_s=1800, aht_s=aht, target_sl=0.8)
    for i, (n, h) in enumerate(zip(calls, aht, strict=True)):
        c, a = int(r.agents[i]), Fraction(n * h, 1800)
        assert float(r.traffic_erlangs[i]) == pytest.approx(float(a), rel=1e-15)
        pw = float(frac_erlang_c(c, a))
        assert float(r.p_wait[i]) == pytest.approx(pw, rel=1e-10)
        assert bool(r.stable[i]) is (c > a)
        assert float(r.mean_wait_s[i]) == pytest.approx(pw * h / (c - float(a)), rel=1e-10)
        assert float(r.p_block[i]) == 0.0
    ra = q.required_agents("erlang-a", calls=calls, interval_s=1800, aht_s=aht, target_sl=0.8, patience_s=90.0)
    m = q.erlang_a_metrics(calls, 1800, aht, ra.agents, 90.0, 20.0)
    for name in ("traffic_erlangs", "p_wait", "mean_wait_s", "p_block", "stable", "service_level", "abandon_rate"):
        np.testing.assert_allclose(np.asarray(getattr(ra, name), float), np.asarray(getattr(m, name), float),
                                   rtol=1e-12, err_msg=name)  # fmt: skip


def _asa_by_stages(c: int, a: float, aht: float, patience: float) -> float:
    """M/M/c+M's ASA in 30-digit arithmetic from the chain itself: π_n by the birth-death weights; a caller who
    finds k waiting passes k + 1 stages, stage i ending at rate r_i = cμ + iθ, and leaves at rate θ, so it is
    served with probability Π r_i/(r_i + θ) and E[W·1{served}] = P(served)·Σ 1/(r_i + θ)."""
    mp.mp.dps = 30
    lam, mu, th = mp.mpf(a) / aht, mp.mpf(1) / aht, mp.mpf(1) / patience
    n_max = c + int(4 * a * patience / aht) + 400
    w = [mp.mpf(1)]
    for n in range(1, n_max):
        w.append(w[-1] * lam / (min(n, c) * mu + max(n - c, 0) * th))
    z = mp.fsum(w)
    served = wait_served = mp.mpf(0)
    p_served, stage_sum = mp.mpf(1), mp.mpf(0)
    for k in range(n_max - c):
        r = c * mu + k * th  # the stage a caller with k ahead starts in
        p_served *= r / (r + th)
        stage_sum += 1 / (r + th)
        served += w[c + k] / z * p_served
        wait_served += w[c + k] / z * p_served * stage_sum
    served += mp.fsum(w[:c]) / z
    return float(wait_served / served)


@pytest.mark.parametrize(("c", "a", "ratio"), [(50, 200.0, 2.0), (20, 60.0, 5.0), (8, 6.0, 1.0)])
def test_erlang_a_asa_of_an_overloaded_queue_against_the_stages(c: int, a: float, ratio: float) -> None:
    """ASA far into overload (the queue's likeliest length in the hundreds, so the sums start well above zero)
    against the stage-by-stage expectation over the chain."""
    aht = 300.0
    m = q.erlang_a_metrics(a * 1800 / aht, 1800, aht, c, ratio * aht, 20)
    assert float(m.asa_s) == pytest.approx(_asa_by_stages(c, a, aht, ratio * aht), rel=1e-9)


def test_a_grid_gives_each_cell_its_own_figures() -> None:
    """Vectorised figures equal the one-cell answers for a grid whose cells differ by orders of magnitude (sums over
    queue states of very different lengths and scales), for Erlang A and chat."""
    calls = np.array([0.4, 3.0, 40.0, 900.0, 6000.0, 30000.0, 12.0, 250.0])
    aht = np.array([200.0, 300.0, 240.0, 420.0, 180.0, 300.0, 600.0, 90.0])
    agents = np.floor(calls * aht / 1800 * np.array([1.3, 0.8, 1.1, 0.95, 1.02, 1.0, 2.0, 0.6])) + 1
    patience = np.array([60.0, 120.0, 30.0, 600.0, 90.0, 240.0, 45.0, 300.0])
    for name, run in (
        ("erlang-a", lambda i: q.erlang_a_metrics(calls[i], 1800, aht[i], agents[i], patience[i], 20.0)),
        ("chat", lambda i: q.chat_metrics(calls[i], 1800, aht[i], np.ceil(agents[i] / 2), 3, 0.2, 20.0,
                                          patience[i])),
    ):  # fmt: skip
        grid = run(slice(None)).to_dict()
        for i in range(calls.size):
            one = run(i).to_dict()
            for key, value in one.items():
                if isinstance(value, float):
                    assert grid[key][i] == pytest.approx(value, rel=1e-12, abs=1e-15), (name, i, key)


def test_short_abandons_excluded_without_agents() -> None:
    """No agents: nobody is answered, so the service level is 0 under every definition, everyone abandons and
    there is no answer speed."""
    for d in ("offered", "answered", "short-abandons-excluded"):
        m = q.erlang_a_metrics([0.3, 3.0, 50.0], 1800, 300, 0, 180, 20, d)
        np.testing.assert_allclose(m.service_level, [0.0, 0.0, 0.0], atol=1e-15)
        np.testing.assert_allclose(m.abandon_rate, [1.0, 1.0, 1.0], rtol=1e-12)
        assert np.isnan(m.asa_s).all()  # nobody is answered: no answer speed to report


def test_a_heavily_overloaded_chat_queue() -> None:
    """3,200 Erlangs of chats offered to 960 agents of 3 sessions (and a slowdown): every chat waits, the agents
    are fully busy, and at least 1 − (2,880 sessions / 480 s) / (12,000 / 1,800 s) = 10 % abandon, since no session
    finishes faster than one AHT (large log-weights: the sums must be shifted before they are exponentiated)."""
    m = q.chat_metrics(12000, 1800, 480, 960, 3, 0.2, 0.0, 158.3)
    assert float(m.p_wait) > 0.999 and float(m.occupancy) > 0.999
    assert float(m.abandon_rate) >= 1 - (2880 / 480) / (12000 / 1800)
    assert float(m.service_level) < 0.001


def test_input_errors_name_the_argument_the_value_and_the_choices() -> None:
    """What a user or an API client reads when an input is wrong; a number given as text is read as the number."""
    with pytest.raises(CallopsError) as e:
        q.erlang_c_metrics("forty", 1800, 240, 10)
    assert str(e.value) == "calls must be a number (got 'forty')"
    with pytest.raises(CallopsError, match=r"^calls must be a finite number$"):
        q.erlang_c_metrics(np.inf, 1800, 240, 10)
    with pytest.raises(CallopsError) as e:
        q.erlang_c_metrics(40, 1800, 240, 10, 20, "answerd")
    assert str(e.value) == ("unknown service-level definition 'answerd'; use one of offered, answered+abandoned, "
                            "answered, short-abandons-excluded")  # fmt: skip
    assert q.erlang_c_metrics("40", "1800", "240", "10").to_dict() == q.erlang_c_metrics(40, 1800, 240, 10).to_dict()


def test_figures_of_idle_overloaded_and_unstaffed_intervals() -> None:
    """No traffic: nobody waits or abandons, the agents are idle and every target is met, in each model. Erlang C:
    an overloaded queue keeps its agents exactly fully busy, nobody abandons even without agents (infinite
    patience), the mean wait of all callers is P(wait)·AHT/(c − a) (exact rationals), and staff is the agents."""
    for m in (q.erlang_c_metrics([0.0, 0.0], 1800, 240, [0, 5]),
              q.erlang_a_metrics([0.0, 0.0], 1800, 240, [0, 5], 90),
              q.chat_metrics([0.0, 0.0], 1800, 240, [0, 5], 2)):  # fmt: skip
        for name, want in (("p_wait", 0.0), ("mean_wait_s", 0.0), ("asa_s", 0.0), ("abandon_rate", 0.0),
                           ("occupancy", 0.0), ("service_level", 1.0)):  # fmt: skip
            assert np.asarray(getattr(m, name), float).tolist() == [want, want], (m.model, name)
    over = q.erlang_c_metrics(400, 1800, 240, [10, 50])  # 53.3 Erlangs
    assert np.asarray(over.occupancy, float).tolist() == [1.0, 1.0]
    assert np.asarray(over.p_wait, float).tolist() == [1.0, 1.0]
    none = q.erlang_c_metrics(30, 1800, 240, 0)
    assert float(none.abandon_rate) == 0.0 and float(none.service_level) == 0.0
    m = q.erlang_c_metrics([40, 360], 1800, 240, [9, 55])
    np.testing.assert_array_equal(m.staff, [9.0, 55.0])
    for i, (n, c) in enumerate(((40, 9), (360, 55))):
        a = Fraction(n * 240, 1800)
        pw = float(frac_erlang_c(c, a))
        assert float(m.mean_wait_s[i]) == pytest.approx(pw * 240 / (c - float(a)), rel=1e-10)
