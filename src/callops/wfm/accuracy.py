"""Forecast accuracy: interval-level WAPE and the Poisson noise floor.

WAPE (weighted absolute percentage error) is ``sum|actual - forecast| / sum(actual)`` over
every scored interval: volume-weighted, so quiet night intervals do not dominate it.

Even a forecast that knows the true arrival rate ``lam`` of every interval cannot beat
the randomness of Poisson arrivals: its expected WAPE is ``sum E|N - lam| / sum lam`` with
``N ~ Poisson(lam)``. We compute ``E|N - lam|`` *exactly* for every interval with the closed
form of the Poisson mean absolute deviation, ``2 * lam * P(N = floor(lam))``, so no
large-``lam`` approximation is involved; :func:`noise_floor_approx` gives the familiar
``sum sqrt(2 lam / pi) / sum lam`` (about ``sqrt(2 / (pi * lam))`` per interval) for comparison.
At very small rates (below ~1 per interval) a forecast of the median (often 0) beats the mean
in absolute error, so :func:`noise_floor_strict` (``E|N - median|``) is the true lower bound there.

The rates ``lam`` are not known: callers plug in a smooth estimate (the back-test forecasts of the
``weekly_profile`` model, an average over weeks), and say so.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import poisson


def _pair(actual: np.ndarray, forecast: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(actual, dtype=float).ravel()
    f = np.asarray(forecast, dtype=float).ravel()
    if a.shape != f.shape:
        raise ValueError(f"actual and forecast differ in length: {a.size} vs {f.size}")
    keep = ~(np.isnan(a) | np.isnan(f))  # missing actuals are not scored
    return a[keep], f[keep]


def absolute_error(actual: np.ndarray, forecast: np.ndarray) -> tuple[float, float]:
    """``(sum |actual - forecast|, sum actual)`` over intervals where both are known."""
    a, f = _pair(actual, forecast)
    return float(np.abs(a - f).sum()), float(a.sum())


def wape(actual: np.ndarray, forecast: np.ndarray) -> float:
    """Interval-level WAPE ``sum|a - f| / sum a`` (NaN actuals ignored; NaN if nothing was offered)."""
    err, total = absolute_error(actual, forecast)
    return err / total if total > 0 else float("nan")


def poisson_mad(lam: np.ndarray | float) -> np.ndarray:
    """Exact ``E|N - lam|`` for ``N ~ Poisson(lam)``: ``2 * lam * pmf(floor(lam); lam)`` (0 at lam = 0)."""
    lam = np.clip(np.asarray(lam, dtype=float), 0.0, None)
    return 2.0 * lam * poisson.pmf(np.floor(lam), lam)


def poisson_min_mad(lam: np.ndarray | float) -> np.ndarray:
    """Exact ``min_c E|N - c| = E|N - median|`` for ``N ~ Poisson(lam)``: the least any forecast can achieve.

    With ``m`` the median, ``E|N - m| = (lam - m) + 2 (m F(m - 1) - lam F(m - 2))`` (``F`` the Poisson CDF),
    from ``sum_{k<=j} k p_k = lam F(j - 1)``. Equals :func:`poisson_mad` to within a few per cent once lam > 5.
    """
    lam = np.clip(np.asarray(lam, dtype=float), 0.0, None)
    m = poisson.median(lam)
    m = np.where(lam > 0, m, 0.0)
    return (lam - m) + 2.0 * (m * poisson.cdf(m - 1, lam) - lam * poisson.cdf(m - 2, lam))


def noise_floor_strict(lam: np.ndarray) -> float:
    """Strict lower bound of expected WAPE: ``sum E|N - median| / sum lam`` (below :func:`noise_floor` at small lam)."""
    lam = np.asarray(lam, dtype=float).ravel()
    lam = np.clip(lam[~np.isnan(lam)], 0.0, None)
    total = lam.sum()
    return float(poisson_min_mad(lam).sum() / total) if total > 0 else float("nan")


def noise_floor(lam: np.ndarray) -> float:
    """Best expected WAPE for Poisson counts with rates ``lam`` (exact per interval; NaN rates ignored)."""
    lam = np.asarray(lam, dtype=float).ravel()
    lam = np.clip(lam[~np.isnan(lam)], 0.0, None)
    total = lam.sum()
    return float(poisson_mad(lam).sum() / total) if total > 0 else float("nan")


def noise_floor_approx(lam: np.ndarray) -> float:
    """Large-rate approximation ``sum sqrt(2 lam / pi) / sum lam`` of :func:`noise_floor`."""
    lam = np.asarray(lam, dtype=float).ravel()
    lam = np.clip(lam[~np.isnan(lam)], 0.0, None)
    total = lam.sum()
    return float(np.sqrt(2.0 * lam / np.pi).sum() / total) if total > 0 else float("nan")
