"""Wald's SPRT for acceptance rates, checked against independent forms of the same test:

* the boundaries and steps against Wald's published formulas written out again here, and the decision of
  :meth:`Sprt.run` against the textbook acceptance-number form (accept H0 when the successes fall to
  ``s·n − h0``, H1 when they reach ``s·n + h1``; Wald 1947 §5.3), on random sequences (hypothesis);
* the error rates and average sample numbers against an exact dynamic programme over (presentations,
  acceptances), and the dynamic programme against a brute-force simulation;
* the CLI's JSON.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callops.errors import CallopsError
from callops.marketing.sprt import Sprt


def exact(p0: float, p1: float, alpha: float, beta: float, p: float, n_max: int = 20000) -> tuple[float, float,
                                                                                                    float]:
    """(P(accept H1), P(accept H0), E[N]) at true rate ``p`` by propagating the undecided mass over the lattice of
    (presentations n, acceptances k); the test's log-likelihood ratio is written from the likelihoods directly."""
    upper = math.log((1 - beta) / alpha)
    lower = math.log(beta / (1 - alpha))
    mass = np.array([1.0])  # P(undecided, k acceptances) after n presentations
    h1 = h0 = asn = 0.0
    for n in range(1, n_max + 1):
        new = np.zeros(n + 1)
        new[:-1] += mass * (1 - p)
        new[1:] += mass * p
        k = np.arange(n + 1)
        llr = k * math.log(p1 / p0) + (n - k) * math.log((1 - p1) / (1 - p0))
        up, down = llr >= upper, llr <= lower
        h1 += new[up].sum()
        h0 += new[down].sum()
        asn += n * (new[up].sum() + new[down].sum())
        new[up | down] = 0.0
        mass = new
        if mass.sum() < 1e-12:
            break
    return h1, h0, asn


def test_boundaries_and_steps_are_walds() -> None:
    """log A = log((1-β)/α), log B = log(β/(1-α)); steps log(p1/p0) and log((1-p1)/(1-p0))."""
    s = Sprt(0.05, 0.10, 0.05, 0.10)
    assert s.log_a == pytest.approx(math.log(0.9 / 0.05))  # 2.8904
    assert s.log_b == pytest.approx(math.log(0.1 / 0.95))  # -2.2513
    assert s.step_success == pytest.approx(math.log(2.0))
    assert s.step_failure == pytest.approx(math.log(0.9 / 0.95))
    assert s.log_a == pytest.approx(2.890372, abs=1e-6) and s.log_b == pytest.approx(-2.251292, abs=1e-6)


def test_asn_is_walds_approximation() -> None:
    """ASN(p0) = ((1-α) log B + α log A) / E_p0[z] and ASN(p1) = (β log B + (1-β) log A) / E_p1[z], by hand."""
    p0, p1, a, b = 0.05, 0.10, 0.05, 0.10
    s = Sprt(p0, p1, a, b).summary()
    la, lb = math.log((1 - b) / a), math.log(b / (1 - a))
    z = (math.log(p1 / p0), math.log((1 - p1) / (1 - p0)))
    assert s["asn_p0"] == pytest.approx(((1 - a) * lb + a * la) / (p0 * z[0] + (1 - p0) * z[1]))
    assert s["asn_p1"] == pytest.approx((b * lb + (1 - b) * la) / (p1 * z[0] + (1 - p1) * z[1]))
    # where the drift vanishes: -log A log B / E[z^2]
    pz = s["p_zero_drift"]
    assert pz * z[0] + (1 - pz) * z[1] == pytest.approx(0.0, abs=1e-12)
    assert s["asn_max"] == pytest.approx(-la * lb / (pz * z[0] ** 2 + (1 - pz) * z[1] ** 2))
    assert s["asn_p0"] == pytest.approx(119.37, abs=0.01) and s["asn_p1"] == pytest.approx(115.05, abs=0.01)


@settings(max_examples=60, deadline=None)
@given(p0=st.floats(0.01, 0.6), gap=st.floats(0.05, 0.6), alpha=st.floats(0.01, 0.2), beta=st.floats(0.01, 0.2),
       seed=st.integers(0, 2**32 - 1))
def test_run_agrees_with_the_acceptance_number_form(p0: float, gap: float, alpha: float, beta: float,
                                                    seed: int) -> None:
    """The log-ratio walk and the textbook lines (successes against s·n ∓ h) stop at the same presentation
    with the same decision."""
    p1 = p0 + gap * (1 - p0)
    s = Sprt(p0, p1, alpha, beta)
    x = np.random.default_rng(seed).random(3000) < (p0 + p1) / 2
    g = math.log(p1 / p0) + math.log((1 - p0) / (1 - p1))
    h0, h1 = math.log((1 - alpha) / beta) / g, math.log((1 - beta) / alpha) / g
    slope = math.log((1 - p0) / (1 - p1)) / g
    k = np.cumsum(x)
    n = np.arange(1, len(x) + 1)
    eps = 1e-9  # the two forms differ by rounding only
    hi = k >= slope * n + h1 - eps
    lo = k <= slope * n - h0 + eps
    stop = np.flatnonzero(hi | lo)
    got = s.run(x)
    if stop.size == 0:
        assert got["decision"] == "undecided" and got["n"] == len(x)
        return
    i = int(stop[0])
    if abs((k[i] - slope * n[i]) - h1) < 1e-6 or abs((k[i] - slope * n[i]) + h0) < 1e-6:
        return  # exactly on a line: rounding decides, and either answer is the test's
    assert got["n"] == i + 1
    assert got["decision"] == ("continue" if hi[i] else "pause")
    assert got["successes"] == int(k[i])


@pytest.mark.parametrize(("p0", "p1", "alpha", "beta"), [(0.05, 0.10, 0.05, 0.10), (0.02, 0.04, 0.05, 0.05),
                                                         (0.2, 0.3, 0.1, 0.1)])
def test_error_rates_and_asn_against_the_exact_chain(p0: float, p1: float, alpha: float, beta: float) -> None:
    """Exact error rates stay within Wald's bounds α/(1-β) and β/(1-α); Wald's ASN is within 25 % of the exact
    one (it neglects the overshoot, so it is a little low)."""
    s = Sprt(p0, p1, alpha, beta).summary()
    h1_at_p0, h0_at_p0, asn0 = exact(p0, p1, alpha, beta, p0)
    _h1_at_p1, h0_at_p1, asn1 = exact(p0, p1, alpha, beta, p1)
    assert h1_at_p0 + h0_at_p0 == pytest.approx(1.0, abs=1e-9)  # the test ends
    assert h1_at_p0 <= alpha / (1 - beta) + 1e-9
    assert h0_at_p1 <= beta / (1 - alpha) + 1e-9
    assert h1_at_p0 < alpha * 1.05 and h0_at_p1 < beta * 1.05  # and in practice near the declared rates
    for wald, true in ((s["asn_p0"], asn0), (s["asn_p1"], asn1)):
        assert 0.75 * true <= wald <= 1.02 * true, (wald, true)


def test_simulation_agrees_with_the_exact_chain() -> None:
    """Brute force: 4,000 simulated campaigns at p0 and at p1 give the chain's error rates and mean lengths."""
    p0, p1, alpha, beta = 0.05, 0.10, 0.05, 0.10
    s = Sprt(p0, p1, alpha, beta)
    rng = np.random.default_rng(12)
    for p in (p0, p1):
        runs = [s.run(rng.random(4000) < p) for _ in range(4000)]
        cont = np.mean([r["decision"] == "continue" for r in runs])
        mean_n = np.mean([r["n"] for r in runs])
        h1, _h0, asn = exact(p0, p1, alpha, beta, p)
        se = math.sqrt(h1 * (1 - h1) / 4000)
        assert abs(cont - h1) < 4.5 * se + 1e-3, (p, cont, h1)
        assert mean_n == pytest.approx(asn, rel=0.06)


@pytest.mark.parametrize(("args", "message"), [
    ((0.1, 0.05, 0.05, 0.1), "must be above"),
    ((0.0, 0.05, 0.05, 0.1), "strictly between 0 and 1"),
    ((0.05, 0.1, 0.6, 0.1), "alpha must lie"),
    ((0.05, 0.1, 0.05, 0.0), "beta must lie"),
    ((0.05, float("nan"), 0.05, 0.1), "must be a number"),
])
def test_bad_parameters_are_refused(args: tuple[float, ...], message: str) -> None:
    """p1 not above p0, rates outside (0, 1), error rates outside (0, 0.5), NaN: a clear message."""
    with pytest.raises(CallopsError, match=message):
        Sprt(*args)


def test_cli_prints_one_json_document() -> None:
    """``callops campaign test --json`` prints the boundaries, steps and expected sample sizes, and a bad
    parameter is one line on stderr with exit code 2."""
    cmd = [sys.executable, "-m", "callops.cli", "campaign", "test", "--p0", "0.05", "--p1", "0.1", "--alpha", "0.05",
           "--beta", "0.1", "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True, check=True)
    doc = json.loads(r.stdout)
    for key in ("log_a", "log_b", "step_success", "step_failure", "asn_p0", "asn_p1"):
        assert key in doc
    assert doc["log_a"] == pytest.approx(math.log(18))
    bad = subprocess.run([*cmd[:6], "0.2", *cmd[7:]], capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "above" in bad.stderr
