"""Erlang B without scipy (small inputs, so `callops queue erlang-c` starts fast) agrees with the scipy path
and with the exact integer recursion in rational arithmetic."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from callops.wfm import queueing as q


def _exact_b(c: int, a: Fraction) -> Fraction:
    """Erlang B by the classic recursion B(k) = a·B(k−1) / (k + a·B(k−1)), exactly."""
    b = Fraction(1)
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


@settings(max_examples=200, deadline=None)
@given(
    c=st.floats(min_value=0.0, max_value=3000.0, allow_nan=False),
    ratio=st.floats(min_value=0.05, max_value=3.0, allow_nan=False),
)
def test_numpy_path_matches_scipy_path(c: float, ratio: float) -> None:
    """Both evaluations of log B agree to the rounding of the inputs (relative 1e-11 up to c = 3000)."""
    a = max(c * ratio, 1e-3)
    cs, as_ = np.array([c]), np.array([a])
    mine = q._log_erlang_b_numpy(cs, as_)[0]
    ref = q._log_erlang_b_scipy(cs, as_)[0]
    assert abs(np.expm1(mine - ref)) < 1e-11 * max(1.0, c / 300)


@settings(max_examples=60, deadline=None)
@given(c=st.integers(min_value=0, max_value=400), num=st.integers(min_value=1, max_value=8000))
def test_numpy_path_matches_exact_recursion(c: int, num: int) -> None:
    """At integer c and a = num/16 Erlangs, the numpy path equals the exact recursion (relative 1e-12)."""
    a = Fraction(num, 16)
    log_b = float(q._log_erlang_b_numpy(np.array([float(c)]), np.array([float(a)]))[0])
    exact = _exact_b(c, a)
    log_exact = math.log(exact.numerator) - math.log(exact.denominator)  # no underflow for tiny B
    assert abs(math.expm1(log_b - log_exact)) < 1e-12


def test_gammaln_against_math_lgamma() -> None:
    """The Stirling-series log Γ equals math.lgamma over 1 … 1e6 (absolute 3e-14 near 1, a few ulps above)."""
    s = np.concatenate([np.linspace(1.0, 30.0, 2901), np.geomspace(30.0, 1e6, 500)])
    ref = np.array([math.lgamma(v) for v in s])
    got = q._gammaln(s)
    assert np.all(np.abs(got - ref) <= 4e-15 * np.abs(ref) + 3e-14)


def test_small_and_large_inputs_take_each_path() -> None:
    """A grid above the cell threshold (scipy) and its cells one by one (numpy) give the same Erlang C."""
    c = np.linspace(5, 400, 2 * q._NUMPY_B_MAX)
    a = c * 0.9
    grid = q.erlang_c(c, a)
    one_by_one = np.array([float(q.erlang_c(ci, ai)) for ci, ai in zip(c, a, strict=True)])
    np.testing.assert_allclose(one_by_one, grid, rtol=1e-11)
