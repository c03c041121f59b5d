"""Survivors of `make mutate` on wfm/queueing.py (docs/testing.md): the closed forms the staffing search uses,
Erlang C of an overloaded or empty queue, and the JSON-safe figures."""

from __future__ import annotations

import json
import warnings

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_queueing import brute_chain

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


def test_erlang_c_names_the_bad_argument() -> None:
    with pytest.raises(CallopsError, match="agents"):
        q.erlang_c(-1, 5)
    with pytest.raises(CallopsError, match="traffic"):
        q.erlang_c(5, -1)


def test_figures_as_plain_json() -> None:
    """``to_dict``: the model and definition under their names, floats stay floats (10 agents is 10.0), an
    infinite wait is null, and the whole is strict JSON."""
    d = q.erlang_c_metrics(360, 1800, 240, np.array([3.0, 10.0])).to_dict()
    assert (d["model"], d["sl_definition"]) == ("erlang-c", "offered")
    assert d["asa_s"] == [None, None] and d["agents"] == [3.0, 10.0]
    one = q.erlang_c_metrics(360, 1800, 240, 10.0).to_dict()
    assert type(one["agents"]) is float and type(one["stable"]) is bool
    json.dumps(one, allow_nan=False)
