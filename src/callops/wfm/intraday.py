"""Intraday re-forecast: the rest of today from what has arrived so far (issue 18, part 4).

**Model.** The day-ahead forecast ``f`` of today's intervals is right in shape but the day's level is not known
in advance. After the first intervals, ``A`` contacts arrived against ``F`` forecast for the same (known)
intervals. The rest of the day is re-forecast as ``f_rest · r`` with

    r = 1 + ρ · F / (F + k) · (A / F − 1)

* ``F / (F + k)`` is the Poisson credibility of the observed ratio: with a Gamma(k, k) prior on the day's level
  (``k`` = ``prior_calls``, method of moments on back-test days, :func:`callops.wfm.forecast.estimate_prior_calls`)
  and ``ρ = 1`` this is exactly the Gamma–Poisson posterior mean ``(A + k) / (F + k)``;
* ``ρ`` in [0, 1] is the within-day correlation: how much of the morning's deviation persists in the afternoon
  (calls do not keep one level all day). It is fitted per re-forecast time by least squares on calibration days
  (back-test days *before* the scored ones, so nothing is fitted on the days it is scored on), or
  :data:`DEFAULT_RHO` when there are none.

Elapsed intervals with no data (NaN) count neither in ``A`` nor in ``F``. A perfect day-ahead forecast
(``A = F``) is left unchanged; scaling the observations, the forecast and ``k`` together scales the re-forecast.

**Back-test** (:func:`backtest_intraday`): for each time ``T`` (e.g. 10:00), the intervals that end by ``T`` are
observed and the remaining ones of the day are scored; the WAPE of the re-forecast is reported next to the
day-ahead WAPE on the same intervals and next to the Poisson floor ``Σ E|N − λ| / Σ λ`` with ``λ`` the
re-forecast rates (what even a forecast with the true rates would still score).

**Live room** (:class:`LiveReforecast`): the day-ahead forecast of today comes from the tenant's latest forecast
snapshot; the live room's offered-today counter is ``A``; the playbook sizes its steps on the re-forecast rate of
the next 30 minutes instead of the last 15 minutes' arrivals.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np

from callops.errors import CallopsError

if TYPE_CHECKING:
    from callops.wfm.forecast import IntervalGrid

DEFAULT_RHO = 0.65  # the bank series' 24 calibration weeks give 0.59, 0.71, 0.73 at 10:00, 12:00, 14:00
DEFAULT_PRIOR_CALLS = 200.0  # Gamma(k, k) prior: day levels vary by about 1/sqrt(200) ≈ 7 % (bank series: 184)
# Back-test folds before the scored ones on which ρ and k are fitted (fewer when the history is shorter):
# on the bank series 4 weeks give ρ ≈ 0.8 and a WAPE 0.5 points worse than 16 weeks (ρ ≈ 0.65).
CALIBRATION_FOLDS = 16


@dataclass(frozen=True)
class Reforecast:
    """The rest of a day re-forecast from its first intervals."""

    ratio: float  # multiplier applied to the remaining day-ahead intervals
    raw_ratio: float  # A / F, before shrinkage (NaN when nothing was forecast so far)
    weight: float  # ρ · F / (F + k): the share of the observed deviation carried into the rest of the day
    rest: np.ndarray  # re-forecast of the remaining intervals


def shrink_weight(forecast_so_far: float, rho: float = DEFAULT_RHO, prior_calls: float = DEFAULT_PRIOR_CALLS) -> float:
    """``ρ · F / (F + k)``: how much of the observed deviation from the forecast to keep (0 when F = 0)."""
    if not 0.0 <= rho <= 1.0:
        raise CallopsError(f"rho must be in [0, 1], not {rho}")
    if prior_calls < 0:
        raise CallopsError(f"prior_calls must be >= 0, not {prior_calls}")
    f = float(forecast_so_far)
    return rho * f / (f + prior_calls) if f > 0 else 0.0


def observed_so_far(day_ahead_elapsed: np.ndarray, observed: np.ndarray) -> tuple[float, float]:
    """``(A, F)``: contacts observed and forecast over the elapsed intervals where an observation exists."""
    fc = np.asarray(day_ahead_elapsed, dtype=float)
    obs = np.asarray(observed, dtype=float)
    if fc.shape != obs.shape:
        raise CallopsError(f"{obs.size} observed intervals but {fc.size} forecast ones")
    known = ~np.isnan(obs)
    return float(obs[known].sum()), float(fc[known].sum())


def reforecast(
    day_ahead: np.ndarray,
    observed: np.ndarray,
    *,
    rho: float = DEFAULT_RHO,
    prior_calls: float = DEFAULT_PRIOR_CALLS,
) -> Reforecast:
    """Re-forecast the rest of a day: ``day_ahead`` covers the whole day, ``observed`` its first intervals."""
    fc = np.asarray(day_ahead, dtype=float)
    obs = np.asarray(observed, dtype=float)
    if obs.size > fc.size:
        raise CallopsError(f"{obs.size} observed intervals but the day has only {fc.size}")
    a, f = observed_so_far(fc[: obs.size], obs)
    w = shrink_weight(f, rho, prior_calls)
    raw = a / f if f > 0 else float("nan")
    ratio = 1.0 + rho * (a - f) / (f + prior_calls) if f > 0 else 1.0  # = 1 + w·(A/F − 1), without the A/F
    return Reforecast(ratio, raw, w, fc[obs.size :] * ratio)


def fit_rho(
    day_ahead: np.ndarray, actual: np.ndarray, cut: int, prior_calls: float = DEFAULT_PRIOR_CALLS
) -> float | None:
    """Least-squares ``ρ`` for re-forecasting after ``cut`` intervals, from whole past days (days × slots).

    With ``x = A/F − 1`` before the cut, ``g = F/(F+k)`` and ``y = A'/F' − 1`` after it, minimises
    ``Σ F' (y − ρ g x)²`` (weighted by the volume to come); clipped to [0, 1]. None with fewer than 3 usable days.
    """
    fc, act = np.asarray(day_ahead, dtype=float), np.asarray(actual, dtype=float)
    xs, ys, ws = [], [], []
    for f_day, a_day in zip(fc, act, strict=True):
        a, f = observed_so_far(f_day[:cut], a_day[:cut])
        a2, f2 = observed_so_far(f_day[cut:], a_day[cut:])
        if f <= 0 or f2 <= 0 or np.isnan(a_day[:cut]).all() or np.isnan(a_day[cut:]).all():
            continue
        xs.append((a / f - 1.0) * f / (f + prior_calls))
        ys.append(a2 / f2 - 1.0)
        ws.append(f2)
    if len(xs) < 3:
        return None
    x, y, w = np.array(xs), np.array(ys), np.array(ws)
    den = float((w * x * x).sum())
    return float(np.clip((w * x * y).sum() / den, 0.0, 1.0)) if den > 0 else None


# ------------------------------------------------------------------------------------------------ back-test
_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


def parse_times(text: str) -> list[tuple[str, int]]:
    """``"10:00,12:00,14:00"`` -> ``[("10:00", 600), ...]`` (label, minutes after midnight), sorted, distinct."""
    out: dict[int, str] = {}
    for part in str(text).split(","):
        if not part.strip():
            continue
        m = _TIME.match(part)
        if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
            raise CallopsError(f"--intraday {part.strip()!r}: expected times of day as HH:MM, e.g. 10:00,12:00")
        minutes = int(m.group(1)) * 60 + int(m.group(2))
        out[minutes] = f"{minutes // 60:02d}:{minutes % 60:02d}"
    if not out:
        raise CallopsError("--intraday: give at least one time of day, e.g. 10:00,12:00,14:00")
    return [(out[k], k) for k in sorted(out)]


def cut_index(slot_minutes: np.ndarray, interval_min: int, minutes: int) -> int:
    """Number of a day's slots that have ended by ``minutes`` after midnight."""
    return int(np.sum(np.asarray(slot_minutes) + interval_min <= minutes))


def _wape(actual: np.ndarray, forecast: np.ndarray) -> float:
    from callops.wfm import accuracy

    return accuracy.wape(actual, forecast)


def score_intraday(
    day_ahead: np.ndarray,
    actual: np.ndarray,
    cut: int,
    *,
    rho: float = DEFAULT_RHO,
    prior_calls: float = DEFAULT_PRIOR_CALLS,
) -> dict[str, Any]:
    """Re-forecast every day (rows of ``day_ahead``/``actual``) after ``cut`` slots; WAPEs of the remaining slots."""
    from callops.wfm import accuracy

    fc, act = np.asarray(day_ahead, dtype=float), np.asarray(actual, dtype=float)
    re_rest = np.array([reforecast(f, a[:cut], rho=rho, prior_calls=prior_calls).rest for f, a in zip(fc, act,
                                                                                                       strict=True)])
    rest_act = act[:, cut:]
    lam = np.where(np.isnan(rest_act), np.nan, re_rest)
    wape, day_ahead_wape = _wape(rest_act, re_rest), _wape(rest_act, fc[:, cut:])
    return {
        "wape": wape,
        "day_ahead_wape": day_ahead_wape,
        "improvement": 1.0 - wape / day_ahead_wape if day_ahead_wape > 0 else None,
        "noise_floor": accuracy.noise_floor(lam),
        "remaining_intervals": int(fc.shape[1] - cut),
        "days": int((~np.isnan(rest_act)).any(axis=1).sum()),
    }


def backtest_intraday(
    grid: IntervalGrid,
    times: Sequence[tuple[str, int]],
    *,
    model: str,
    horizon_days: int,
    folds: int,
    country: str | None,
    calibration_folds: int = CALIBRATION_FOLDS,
) -> list[dict[str, Any]]:
    """Day-ahead vs intraday re-forecast on the back-test's scored days, one entry per re-forecast time.

    The day-ahead forecasts are ``model``'s rolling-origin back-test forecasts (the same folds as
    :func:`callops.wfm.forecast.backtest` scores); ``ρ`` and ``k`` are fitted on up to ``calibration_folds``
    earlier folds.
    """
    from callops.wfm.forecast import backtest, estimate_prior_calls, open_days

    possible = (len(grid.dates) - grid.days_per_week) // open_days(grid, horizon_days)
    cal = max(min(calibration_folds, possible - folds), 0)
    while True:  # the earliest calibration folds may leave the model too little history: then use fewer
        try:
            bt = backtest(grid, horizon_days=horizon_days, folds=folds + cal, models=[model], country=country)
        except CallopsError:
            if cal == 0:
                raise
            cal //= 2
            continue
        break
    slots = grid.slots_per_day
    fc_all = bt.forecasts[model].reshape(-1, slots)
    n, h = len(grid.dates), bt.horizon_days
    act_all = grid.values[n - bt.folds * h :].reshape(-1, slots)
    n_cal = (bt.folds - folds) * h
    cal_fc, cal_act, fc, act = fc_all[:n_cal], act_all[:n_cal], fc_all[n_cal:], act_all[n_cal:]
    prior = DEFAULT_PRIOR_CALLS
    if n_cal >= 2:
        known = ~np.isnan(cal_act)
        prior = estimate_prior_calls(np.where(known, cal_act, 0).sum(1), np.where(known, cal_fc, 0).sum(1))
    out = []
    for label, minutes in times:
        cut = cut_index(grid.slot_minutes, grid.interval_min, minutes)
        if cut <= 0 or cut >= slots:
            first = int(grid.slot_minutes[0])
            end = int(grid.slot_minutes[-1]) + grid.interval_min
            raise CallopsError(f"--intraday {label}: outside the open hours {first // 60:02d}:{first % 60:02d}–"
                               f"{end // 60:02d}:{end % 60:02d}, nothing observed or nothing left")  # fmt: skip
        fitted = fit_rho(cal_fc, cal_act, cut, prior) if n_cal else None
        rho = DEFAULT_RHO if fitted is None else fitted
        out.append({"time": label, **score_intraday(fc, act, cut, rho=rho, prior_calls=prior), "rho": rho,
                    "rho_fitted": fitted is not None, "prior_calls": prior, "calibration_days": n_cal})  # fmt: skip
    return out


# ------------------------------------------------------------------------------------------------ live room
@dataclass(frozen=True)
class QueueDay:
    """Today's day-ahead forecast of one queue: interval starts (epoch s) and contacts per interval."""

    starts: np.ndarray
    calls: np.ndarray
    interval_s: float


class LiveReforecast:
    """Re-forecasts of the rest of today for the live room, from the tenant's latest forecast snapshot.

    The snapshot is read once per local day and again when a new one is stored; a tenant without one gets None
    everywhere (and pays no pandas import), and the live room keeps its live arrival rates.
    """

    def __init__(self, tenant: str, zone: str | ZoneInfo, rho: float = DEFAULT_RHO,
                 prior_calls: float = DEFAULT_PRIOR_CALLS) -> None:  # fmt: skip
        self.tenant = tenant
        self.zone = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
        self.rho, self.prior_calls = rho, prior_calls
        self._key: tuple[float, int] | None = None
        self._queues: dict[str, QueueDay] = {}

    def _folder_stamp(self) -> int:
        """Modification time of the tenant's snapshot folder (forecast_io.snapshot_dir), -1 when there is none."""
        from callops.settings import callops_home

        try:
            return (callops_home() / "forecasts" / self.tenant).stat().st_mtime_ns
        except OSError:
            return -1

    def _load(self, day_start: float, stamp: int) -> None:
        """Today's rows of the latest snapshot that covers today, per queue."""
        self._key, self._queues = (day_start, stamp), {}
        if stamp < 0:
            return
        try:
            from callops.wfm.forecast_io import list_snapshots, load_snapshot

            metas = list_snapshots(self.tenant)
        except (CallopsError, OSError, ValueError):
            return
        local = datetime.fromtimestamp(day_start, self.zone).replace(tzinfo=None)
        lo, hi = local, local + timedelta(days=1)
        for meta in reversed(metas):
            try:
                frame, _ = load_snapshot(self.tenant, meta["snapshot_id"])
            except (CallopsError, OSError, ValueError):
                continue
            if frame.empty or not {"queue", "interval_start", "forecast"} <= set(frame.columns):
                continue
            sel = frame[(frame["interval_start"] >= lo) & (frame["interval_start"] < hi)]
            if sel.empty:
                continue
            interval_s = float(meta.get("interval_min", 30)) * 60.0
            for q, part in sel.groupby("queue"):
                part = part.sort_values("interval_start")
                starts = np.array([ts.to_pydatetime().replace(tzinfo=self.zone).timestamp()
                                   for ts in part["interval_start"]])  # fmt: skip
                self._queues[str(q)] = QueueDay(starts, part["forecast"].to_numpy(float), interval_s)
            return

    def day(self, queue: str, day_start: float) -> QueueDay | None:
        """Today's day-ahead forecast of ``queue`` (None without a snapshot covering today)."""
        stamp = self._folder_stamp()
        if self._key != (day_start, stamp):
            self._load(day_start, stamp)
        return self._queues.get(queue)

    def update(self, queue: str, day_start: float, now: float, offered_today: float) -> dict[str, Any] | None:
        """The re-forecast of ``queue`` at ``now`` given ``offered_today`` contacts since ``day_start``.

        The interval in progress counts pro rata in the forecast so far. Returns the ratio, weight, the
        day-ahead and re-forecast totals of the rest of the day, and the re-forecast intervals ahead.
        """
        qd = self.day(queue, day_start)
        if qd is None:
            return None
        elapsed = np.clip((now - qd.starts) / qd.interval_s, 0.0, 1.0)  # share of each interval gone by
        f_so_far = float((qd.calls * elapsed).sum())
        w = shrink_weight(f_so_far, self.rho, self.prior_calls)
        raw = offered_today / f_so_far if f_so_far > 0 else float("nan")
        ratio = 1.0 + self.rho * (offered_today - f_so_far) / (f_so_far + self.prior_calls) if f_so_far > 0 else 1.0
        rest = qd.calls * (1.0 - elapsed)
        return {
            "queue": queue, "ratio": ratio, "raw_ratio": None if math.isnan(raw) else raw, "weight": w,
            "forecast_so_far": f_so_far, "offered_so_far": float(offered_today),
            "day_ahead_rest": float(rest.sum()), "reforecast_rest": float(rest.sum() * ratio),
            "intervals": [{"start": float(s), "day_ahead": float(c), "reforecast": float(c * ratio)}
                          for s, c, e in zip(qd.starts, qd.calls, elapsed, strict=True) if e < 1.0],
        }  # fmt: skip

    def rate_per_s(self, queue: str, day_start: float, now: float, offered_today: float,
                   horizon_s: float = 1800.0) -> float | None:  # fmt: skip
        """Re-forecast arrivals per second over ``[now, now + horizon_s)`` (None without today's forecast)."""
        qd = self.day(queue, day_start)
        if qd is None:
            return None
        info = self.update(queue, day_start, now, offered_today)
        assert info is not None
        lo, hi = now, now + horizon_s
        overlap = np.clip(np.minimum(qd.starts + qd.interval_s, hi) - np.maximum(qd.starts, lo), 0.0, None)
        covered = float(overlap.sum())
        if covered < horizon_s / 2:  # the forecast ends (closing time, or the day's last interval): no opinion
            return None
        return float((qd.calls * overlap / qd.interval_s).sum()) * info["ratio"] / covered


def queue_reforecasts(state: Any, rf: LiveReforecast | None) -> dict[str, dict[str, Any]]:
    """Re-forecast of every inbound queue of a live :class:`~callops.realtime.state.TenantState` that has a
    forecast for today (call under the hub's lock)."""
    from callops.realtime.state import OFFERED

    if rf is None or state.now == -math.inf:
        return {}
    out = {}
    for (kind, name), sc in state.scopes.items():
        if kind != "queue" or state.config.queue(name).direction == "outbound":
            continue
        info = rf.update(name, state.day, state.now, sc.window(3, state.day)[OFFERED])
        if info is not None:
            out[name] = info
    return out
