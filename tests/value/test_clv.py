"""BG/NBD and Gamma-Gamma: the published CDNOW parameters, and recovery of known parameters by simulation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callops.value.clv import BgNbd, fit_bgnbd, fit_clv, read_transactions

CDNOW = Path(__file__).resolve().parents[3] / "shared" / "data" / "cdnow" / "cdnow_sample_transactions.csv.gz"


def _cdnow() -> Path:
    if not CDNOW.exists():
        if os.environ.get("CALLOPS_REQUIRE_DATA") == "1":
            pytest.fail(f"CDNOW sample missing at {CDNOW}")
        pytest.skip(f"CDNOW sample not found at {CDNOW} (../shared/data/cdnow); set CALLOPS_REQUIRE_DATA=1 to fail")
    return CDNOW


def test_cdnow_reproduces_the_published_parameters() -> None:
    """Fader, Hardie & Lee (2005), 1/10 sample, 39 weeks: r=0.243, alpha=4.414, a=0.793, b=2.426, LL=-9582.4;
    Gamma-Gamma (Fader & Hardie 2013): p=6.25, q=3.74, gamma=15.44."""
    tx = read_transactions(str(_cdnow()), "customer_id", "date", "dollars")
    res = fit_clv(tx, date(1997, 9, 30), horizon=39)
    b, g = res.bgnbd, res.gamma_gamma
    assert len(res.rfm.customer_id) == 2357
    assert (round(b.r, 3), round(b.alpha, 3), round(b.a, 3), round(b.b, 3)) == (0.243, 4.414, 0.793, 2.426)
    assert b.loglik == pytest.approx(-9582.4, abs=0.1)
    assert g is not None and (round(g.p, 2), round(g.q, 2), round(g.gamma, 2)) == (6.25, 3.74, 15.44)
    assert int(res.rfm.frequency.sum()) == 2457  # repeat transactions in calibration (FHL 2005, table 1 totals)


def test_cdnow_cli_json_is_one_document() -> None:
    """`callops value clv ... --json` prints exactly one JSON document with the issue's keys."""
    path = _cdnow()
    cmd = [sys.executable, "-m", "callops.cli", "value", "clv", str(path), "--customer-col", "customer_id",
           "--date-col", "date", "--amount-col", "dollars", "--calibration-end", "1997-09-30", "--json"]
    run = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert set(doc["bgnbd"]) == {"r", "alpha", "a", "b", "loglik"}
    assert set(doc["gamma_gamma"]) == {"p", "q", "gamma", "loglik"}
    first = doc["customers"][0]
    assert {"customer_id", "frequency", "recency", "T", "expected_purchases", "p_alive", "expected_spend"} <= set(first)


def test_bad_column_is_a_clear_error(tmp_path: Path) -> None:
    """A missing column is named, with the columns there are (exit 2, one line)."""
    f = tmp_path / "tx.csv"
    f.write_text("cust,day\n1,2020-01-01\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "callops.cli", "value", "clv", str(f), "--customer-col", "customer",
                          "--date-col", "day", "--calibration-end", "2020-02-01"], capture_output=True, text=True,
                         check=False, timeout=60)  # fmt: skip
    assert run.returncode == 2
    assert "customer" in run.stderr and "cust, day" in run.stderr


def _simulate(r: float, alpha: float, a: float, b: float, n: int, weeks: float, seed: int) -> pd.DataFrame:
    """Transactions from the BG/NBD story itself (independent of the fitting code)."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    rows = []
    start = date(2020, 1, 1)
    for i in range(n):
        t = 0.0
        rows.append((i, start))
        while True:  # FHL 2005: the clock starts at the first purchase; drop-out may follow each *repeat*
            t += rng.exponential(1.0 / lam[i])
            if t >= weeks:
                break
            rows.append((i, start + timedelta(days=int(t * 7))))
            if rng.random() < p[i]:
                break
    return pd.DataFrame(rows, columns=["customer_id", "date"]).assign(amount=np.nan)


def test_fit_recovers_simulated_parameters() -> None:
    """On 4,000 simulated customers the maximum-likelihood estimates land near the true parameters."""
    tx = _simulate(0.5, 6.0, 0.7, 2.5, 4000, 52.0, seed=3)
    res = fit_clv(tx, date(2020, 1, 1) + timedelta(days=364), horizon=0.0, amount=False)
    b = res.bgnbd
    assert b.r == pytest.approx(0.5, rel=0.2)
    assert b.alpha == pytest.approx(6.0, rel=0.3)
    assert b.a / (b.a + b.b) == pytest.approx(0.7 / 3.2, rel=0.3)


@settings(max_examples=50, deadline=None)
@given(x=st.integers(0, 30), frac=st.floats(0, 1), t_cal=st.floats(1, 100), horizon=st.floats(0.1, 100))
def test_p_alive_and_expected_purchases_are_sane(x: int, frac: float, t_cal: float, horizon: float) -> None:
    """P(alive) is a probability, 1 without repeats; expected purchases are non-negative and grow with the horizon."""
    m = BgNbd(0.243, 4.414, 0.793, 2.426, 0.0)
    tx = frac * t_cal if x > 0 else 0.0
    pa = float(m.p_alive(np.array([x]), np.array([tx]), np.array([t_cal]))[0])
    assert 0.0 <= pa <= 1.0
    if x == 0:
        assert pa == 1.0
    e1 = float(m.expected_purchases(horizon, np.array([x]), np.array([tx]), np.array([t_cal]))[0])
    e2 = float(m.expected_purchases(horizon * 2, np.array([x]), np.array([tx]), np.array([t_cal]))[0])
    assert 0.0 <= e1 <= e2 + 1e-9


def test_too_little_data_is_refused() -> None:
    """One customer cannot be fitted: a clear error, not a crash."""
    from callops.errors import CallopsError

    with pytest.raises(CallopsError):
        fit_bgnbd(np.array([1.0]), np.array([1.0]), np.array([2.0]))
