"""Customer-base models: BG/NBD for repeat transactions, Gamma-Gamma for spend (maximum likelihood).

Fader, Hardie & Lee (2005), "Counting your customers the easy way", Marketing Science 24(2), and
Fader & Hardie's note "The Gamma-Gamma model of monetary value" (2013). Both are fitted on the log
of their parameters (so they stay positive) with Nelder-Mead, then polished with BFGS.

Conventions (those of the literature, see ``../shared/data/cdnow/SOURCE.txt``): purchases of one
customer on one day are one transaction; a customer's clock starts at the first purchase, which is
not a repeat; time is in periods of ``period_days`` (7: weeks); ``T`` runs from the first purchase
to the calibration end (inclusive date); the monetary value is the mean of the *repeat* transactions
in calibration, unrounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from scipy import optimize, special

from callops.errors import CallopsError


@dataclass(frozen=True)
class Rfm:
    """Recency-frequency-monetary summary of each customer at the calibration end."""

    customer_id: np.ndarray
    frequency: np.ndarray  # repeat transactions in calibration
    recency: np.ndarray  # t_x: first to last transaction, periods
    T: np.ndarray
    monetary: np.ndarray  # mean value of the repeat transactions (NaN when there are none or no amounts)
    holdout: np.ndarray  # transactions after the calibration end, within the horizon (0 if not asked)


@dataclass(frozen=True)
class BgNbd:
    """Fitted BG/NBD parameters."""

    r: float
    alpha: float
    a: float
    b: float
    loglik: float

    def p_alive(self, x: np.ndarray, tx: np.ndarray, t_cal: np.ndarray) -> np.ndarray:
        """Probability that each customer is still active at the calibration end."""
        x, tx, t_cal = (np.asarray(v, dtype=float) for v in (x, tx, t_cal))
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        with np.errstate(divide="ignore", invalid="ignore"):
            odds = (a / (b + x - 1.0)) * np.exp((r + x) * (np.log(alpha + t_cal) - np.log(alpha + tx)))
        return np.where(x > 0, 1.0 / (1.0 + odds), 1.0)

    def expected_purchases(self, t: float, x: np.ndarray, tx: np.ndarray, t_cal: np.ndarray) -> np.ndarray:
        """Expected transactions in the next ``t`` periods given each customer's history (FHL 2005, eq. 10)."""
        x, tx, t_cal = (np.asarray(v, dtype=float) for v in (x, tx, t_cal))
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z = t / (alpha + t_cal + t)
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1.0, z)
        first = (a + b + x - 1.0) / (a - 1.0)
        second = 1.0 - np.exp((r + x) * (np.log(alpha + t_cal) - np.log(alpha + t_cal + t))) * hyp
        with np.errstate(divide="ignore", invalid="ignore"):
            odds = np.where(x > 0, (a / (b + x - 1.0)) * np.exp((r + x) * (np.log(alpha + t_cal) - np.log(alpha + tx))),
                            0.0)  # fmt: skip
        return first * second / (1.0 + odds)


@dataclass(frozen=True)
class GammaGamma:
    """Fitted Gamma-Gamma spend parameters."""

    p: float
    q: float
    gamma: float
    loglik: float

    def expected_spend(self, x: np.ndarray, m: np.ndarray, population_mean: bool = True) -> np.ndarray:
        """Expected value of a transaction given ``x`` repeats with mean ``m`` (the prior mean when x = 0)."""
        x = np.asarray(x, dtype=float)
        m = np.nan_to_num(np.asarray(m, dtype=float))
        p, q, g = self.p, self.q, self.gamma
        posterior = (g + m * x) * p / (p * x + q - 1.0)
        return np.where(x > 0, posterior, p * g / (q - 1.0)) if population_mean else posterior


def bgnbd_loglik(params: np.ndarray, x: np.ndarray, tx: np.ndarray, t_cal: np.ndarray) -> float:
    """Sum of the BG/NBD log-likelihood (FHL 2005, eq. 6) at ``(r, alpha, a, b)``."""
    r, alpha, a, b = params
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b) - special.gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + t_cal)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1.0, 1e-300)) - (r + x) * np.log(alpha + tx),
                      -np.inf)  # fmt: skip
    return float(np.sum(a1 + a2 + np.logaddexp(a3, a4)))


def gamma_gamma_loglik(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> float:
    """Sum of the Gamma-Gamma log-likelihood of customers with ``x`` > 0 repeats of mean value ``m``."""
    p, q, g = params
    px = p * x
    return float(np.sum(special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q) + q * np.log(g)
                        + (px - 1.0) * np.log(m) + px * np.log(x) - (px + q) * np.log(g + m * x)))  # fmt: skip


def _fit(neg: object, start: np.ndarray, precise: bool = True) -> tuple[np.ndarray, float]:
    """Minimise ``neg`` over log-parameters: Nelder-Mead, then BFGS from where it stopped.

    ``precise=False`` loosens Nelder-Mead's tolerances (parameters to ~1e-4 on the log scale), which
    is plenty for scoring and several times faster on tens of thousands of customers.
    """

    def f(logp: np.ndarray) -> float:
        value = neg(np.exp(logp))  # type: ignore[operator]
        return value if np.isfinite(value) else 1e300

    tol = {"xatol": 1e-8, "fatol": 1e-10} if precise else {"xatol": 1e-4, "fatol": 1e-4}
    first = optimize.minimize(f, np.log(start), method="Nelder-Mead", options={"maxiter": 20_000, **tol})
    if not precise:
        return np.exp(first.x), -float(first.fun)
    second = optimize.minimize(f, first.x, method="BFGS")
    best = second if second.fun <= first.fun else first
    return np.exp(best.x), -float(best.fun)


def fit_bgnbd(x: np.ndarray, tx: np.ndarray, t_cal: np.ndarray, precise: bool = True) -> BgNbd:
    """BG/NBD parameters by maximum likelihood."""
    x, tx, t_cal = (np.asarray(v, dtype=float) for v in (x, tx, t_cal))
    if len(x) < 2:
        raise CallopsError("BG/NBD needs at least two customers in the calibration period")
    params, ll = _fit(lambda p: -bgnbd_loglik(p, x, tx, t_cal), np.array([1.0, max(float(np.mean(t_cal)), 1.0),
                                                                        1.0, 1.0]), precise)  # fmt: skip
    return BgNbd(*map(float, params), loglik=ll)


def fit_gamma_gamma(x: np.ndarray, m: np.ndarray, precise: bool = True) -> GammaGamma:
    """Gamma-Gamma parameters by maximum likelihood on the customers with repeats and a positive mean."""
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    keep = (x > 0) & np.isfinite(m) & (m > 0)
    if keep.sum() < 2:
        raise CallopsError("Gamma-Gamma needs at least two customers with repeat purchases and amounts")
    xs, ms = x[keep], m[keep]
    params, ll = _fit(lambda p: -gamma_gamma_loglik(p, xs, ms), np.array([1.0, 1.0, float(np.mean(ms))]), precise)
    return GammaGamma(*map(float, params), loglik=ll)


def rfm_summary(tx: pd.DataFrame, calibration_end: date, *, period_days: float = 7.0,
                horizon: float = 0.0, amount: bool = True) -> Rfm:
    """RFM per customer from transactions ``customer_id``, ``date`` (and ``amount``) at the calibration end.

    Customers whose first purchase is after ``calibration_end`` are left out. ``holdout`` counts the
    (day-level) transactions in the ``horizon`` periods after the calibration end.
    """
    if tx.empty:
        raise CallopsError("no transactions")
    frame = pd.DataFrame({"customer_id": tx["customer_id"].astype(str),
                          "day": pd.to_datetime(tx["date"]).dt.normalize()})  # fmt: skip
    frame["amount"] = pd.to_numeric(tx["amount"], errors="coerce") if amount else 0.0
    days = frame.groupby(["customer_id", "day"], sort=True, as_index=False)["amount"].sum()
    end = pd.Timestamp(calibration_end)
    cal = days[days["day"] <= end]
    if cal.empty:
        raise CallopsError(f"no transaction on or before the calibration end {calibration_end}")
    first = cal.groupby("customer_id")["day"].transform("min")
    cal = cal.assign(first=first, is_repeat=cal["day"] > first)
    g = cal.groupby("customer_id", sort=True)
    first_day = g["day"].min()
    last_day = g["day"].max()
    freq = g["is_repeat"].sum().astype(float)
    rep = cal[cal["is_repeat"]].groupby("customer_id")["amount"].mean()
    monetary = rep.reindex(first_day.index).to_numpy(dtype=float) if amount else np.full(len(first_day), np.nan)
    hold = np.zeros(len(first_day))
    if horizon > 0:
        stop = end + pd.Timedelta(days=horizon * period_days)
        later = days[(days["day"] > end) & (days["day"] <= stop)].groupby("customer_id").size()
        hold = later.reindex(first_day.index).fillna(0).to_numpy(dtype=float)
    return Rfm(
        customer_id=first_day.index.to_numpy(),
        frequency=freq.to_numpy(),
        recency=((last_day - first_day).dt.days / period_days).to_numpy(dtype=float),
        T=((end - first_day).dt.days / period_days).to_numpy(dtype=float),
        monetary=monetary,
        holdout=hold,
    )


@dataclass(frozen=True)
class ClvResult:
    """Fitted models and per-customer predictions."""

    rfm: Rfm
    bgnbd: BgNbd
    gamma_gamma: GammaGamma | None
    horizon: float
    expected_purchases: np.ndarray
    p_alive: np.ndarray
    expected_spend: np.ndarray  # per transaction (NaN without amounts)

    def to_dict(self, customers: bool = True) -> dict:
        """The ``callops value clv --json`` document."""
        out: dict = {
            "bgnbd": {"r": self.bgnbd.r, "alpha": self.bgnbd.alpha, "a": self.bgnbd.a, "b": self.bgnbd.b,
                      "loglik": self.bgnbd.loglik},
            "horizon": self.horizon,
            "n_customers": len(self.rfm.customer_id),
        }  # fmt: skip
        if self.gamma_gamma is not None:
            gg = self.gamma_gamma
            out["gamma_gamma"] = {"p": gg.p, "q": gg.q, "gamma": gg.gamma, "loglik": gg.loglik}
        out["expected_total"] = float(self.expected_purchases.sum())
        out["actual_total"] = float(self.rfm.holdout.sum())
        if customers:
            r = self.rfm
            out["customers"] = [
                {"customer_id": str(c), "frequency": int(f), "recency": float(t), "T": float(tt),
                 "expected_purchases": float(e), "p_alive": float(pa), "actual_purchases": int(h),
                 "expected_spend": None if not np.isfinite(s) else float(s)}
                for c, f, t, tt, e, pa, h, s in zip(r.customer_id, r.frequency, r.recency, r.T,
                                                    self.expected_purchases, self.p_alive, r.holdout,
                                                    self.expected_spend, strict=True)
            ]  # fmt: skip
        return out


def fit_clv(tx: pd.DataFrame, calibration_end: date, *, horizon: float = 39.0, period_days: float = 7.0,
            amount: bool = True) -> ClvResult:
    """Fit BG/NBD (and Gamma-Gamma when ``amount``) on transactions up to ``calibration_end`` and predict."""
    rfm = rfm_summary(tx, calibration_end, period_days=period_days, horizon=horizon, amount=amount)
    bg = fit_bgnbd(rfm.frequency, rfm.recency, rfm.T)
    gg = fit_gamma_gamma(rfm.frequency, rfm.monetary) if amount else None
    spend = gg.expected_spend(rfm.frequency, rfm.monetary) if gg else np.full(len(rfm.frequency), np.nan)
    return ClvResult(rfm, bg, gg, horizon, bg.expected_purchases(horizon, rfm.frequency, rfm.recency, rfm.T),
                     bg.p_alive(rfm.frequency, rfm.recency, rfm.T), spend)  # fmt: skip


def read_transactions(path: str, customer_col: str, date_col: str, amount_col: str | None) -> pd.DataFrame:
    """Read a CSV or Parquet transaction file into ``customer_id``, ``date`` (and ``amount``) columns."""
    import duckdb

    from callops.expressions import quote_identifier, quote_literal

    cols = [customer_col, date_col] + ([amount_col] if amount_col else [])
    reader = "read_parquet" if path.lower().endswith((".parquet", ".pq")) else "read_csv_auto"
    con = duckdb.connect()
    try:
        rel = con.sql(f"SELECT * FROM {reader}({quote_literal(path)}) LIMIT 0")
        missing = [c for c in cols if c not in rel.columns]
        if missing:
            raise CallopsError(f"{path}: no column {', '.join(map(repr, missing))}; columns: {', '.join(rel.columns)}")
        select = [f"CAST({quote_identifier(customer_col)} AS VARCHAR) AS customer_id",
                  f"CAST({quote_identifier(date_col)} AS DATE) AS date"]  # fmt: skip
        if amount_col:
            select.append(f"CAST({quote_identifier(amount_col)} AS DOUBLE) AS amount")
        try:
            frame = con.sql(f"SELECT {', '.join(select)} FROM {reader}({quote_literal(path)})").df()
        except duckdb.Error as exc:
            raise CallopsError(f"{path}: {str(exc).splitlines()[0]}") from None
    except duckdb.IOException as exc:
        raise CallopsError(f"{path}: cannot read: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()
    if not amount_col:
        frame["amount"] = np.nan
    return frame
