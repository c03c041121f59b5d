"""Staffing: required agents and staff per queue × interval from a forecast and a queueing model.

Pipeline (``callops staffing``): the forecast (:func:`callops.wfm.forecast_io.forecast_tenant`: offered contacts
and AHT per queue × interval) → agents per interval with :func:`callops.wfm.queueing.required_agents` (one
vectorised call over every queue × interval cell) → a floor of ``min_agents`` in every open interval → staff =
agents / (1 − shrinkage), rounded up → the figures (SL, ASA, abandon rate, occupancy) recomputed at the final
agent counts. Intervals absent from the forecast (closed hours) need nobody.

**Model.** Erlang A (M/M/c+M) by default, with each queue's mean patience estimated from its own
abandonment (:func:`estimate_patience`); Erlang C (nobody hangs up) on request. Erlang A needs fewer agents
for the same SL because impatient callers leave the queue; Erlang C is the conservative choice.

**Patience estimate.** If patience is exponential with mean ``τ`` and a queued contact's wait is cut short by
its answer (or transfer, or callback) independently of its patience, each queued contact contributes either an
observed patience (abandoned after waiting ``w``) or a right-censored one (left the queue otherwise after
``w``). The censored-exponential likelihood ``Π (1/τ)^{d_i} e^{−w_i/τ}`` is maximised by
``τ̂ = Σ w_i / Σ d_i`` = (total wait of all queued contacts, answered and abandoned) / (number abandoned) — the
standard MLE (e.g. Lawless, *Statistical Models and Methods for Lifetime Data*, §2.1; Mandelbaum & Zeltyn use
it for call-centre patience). ``2 Σw / τ`` is approximately χ² with ``2d`` degrees of freedom, which gives the
reported 95% interval. A queue with no abandonment has no finite estimate: its patience is infinite and Erlang A
reduces to Erlang C there (said in the notes).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import ibis
import numpy as np
import pandas as pd
from scipy import stats

from callops import tenancy
from callops.errors import CallopsError
from callops.warehouse import Warehouse
from callops.wfm import queueing
from callops.wfm.balance import (  # re-exported: the V3 balance model belongs to staffing (DESIGN.md)
    BalanceInputs,
    carry_workload,
    compare,
    make_inputs,
    required_headcount,
)

__all__ = [
    "BalanceInputs",
    "PatienceEstimate",
    "StaffingPlan",
    "StaffingTargets",
    "carry_workload",
    "compare",
    "estimate_patience",
    "make_inputs",
    "patience_mle",
    "plan_for_tenant",
    "required_headcount",
    "staffing_requirements",
]

MODELS = ("erlang-a", "erlang-c")
FORECAST_COLUMNS = ("queue", "interval_start", "forecast", "aht_s")


# ------------------------------------------------------------------------------------------------- patience
@dataclass(frozen=True)
class PatienceEstimate:
    """Mean patience of one queue: the censored-exponential MLE with its 95% interval (seconds)."""

    queue: str
    queued: int  # contacts that entered the queue (answered, abandoned, transferred, called back)
    abandoned: int
    total_wait_s: float
    patience_s: float  # inf when nobody abandoned
    ci_low_s: float
    ci_high_s: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe dict (``None`` for infinite values)."""
        d = dict(self.__dict__)
        for k in ("patience_s", "ci_low_s", "ci_high_s"):
            d[k] = d[k] if math.isfinite(d[k]) else None
        return d


def patience_mle(wait_s: Any, abandoned: Any) -> tuple[float, float, float]:
    """(mean patience, 95% low, 95% high) from the waits of queued contacts and whether each abandoned.

    ``Σ wait / #abandoned`` (the censored-exponential MLE); the interval uses ``2Σw/τ ~ χ²(2d)``. With no
    abandonment the mean is ``inf`` (low bound still finite: ``2Σw / χ²_{0.975}(2)``).
    """
    w = np.asarray(wait_s, dtype=float)
    d = np.asarray(abandoned, dtype=bool)
    if w.shape != d.shape:
        raise CallopsError("patience estimate: waits and abandon flags differ in length")
    if (w < 0).any() or not np.isfinite(w).all():
        raise CallopsError("patience estimate: waits must be finite and >= 0")
    return _mle(float(w.sum()), int(d.sum()))


def _mle(total_wait: float, abandoned: int) -> tuple[float, float, float]:
    if total_wait <= 0:
        return (math.inf, math.inf, math.inf) if abandoned == 0 else (0.0, 0.0, 0.0)
    lo = 2.0 * total_wait / float(stats.chi2.ppf(0.975, 2 * max(abandoned, 1)))
    if abandoned == 0:
        return math.inf, lo, math.inf
    return total_wait / abandoned, lo, 2.0 * total_wait / float(stats.chi2.ppf(0.025, 2 * abandoned))


def estimate_patience(
    wh: Warehouse, tenant: str, queue: str | None = None, since: datetime | None = None
) -> dict[str, PatienceEstimate]:
    """Mean patience per queue from a tenant's inbound ``contacts`` (see the module docstring for the MLE).

    Queued contacts are inbound ones with a wait recorded and an outcome of answered, abandoned, transferred or
    callback (self-served ones never queued); ``since`` keeps contacts offered at or after it.
    """
    from callops.wfm.forecast_io import NO_QUEUE

    t = tenancy.get_tenant(wh, tenant)
    c = tenancy.scoped(wh, t, "contacts")
    c = c.filter(
        (c.direction == "inbound")
        & c.outcome.isin(["answered", "abandoned", "transferred", "callback"])
        & c.wait_s.notnull()
    )
    if queue is not None:
        c = c.filter(c.queue == queue)
    if since is not None:
        c = c.filter(c.offered_at >= since)
    agg = (
        c.mutate(queue_key=c.queue.fill_null(NO_QUEUE), ab=(c.outcome == "abandoned").cast("int64"))
        .group_by("queue_key")
        .aggregate(queued=ibis._.count(), abandoned=ibis._.ab.sum(), total_wait=ibis._.wait_s.sum())
        .to_pandas()
    )
    out = {}
    for r in agg.itertuples(index=False):
        mean, lo, hi = _mle(float(r.total_wait), int(r.abandoned))
        out[str(r.queue_key)] = PatienceEstimate(
            str(r.queue_key), int(r.queued), int(r.abandoned), float(r.total_wait), mean, lo, hi
        )
    return out


# ------------------------------------------------------------------------------------------------- staffing
@dataclass(frozen=True)
class StaffingTargets:
    """What every interval must reach, and how agents become staff."""

    model: str = "erlang-a"
    target_sl: float | None = 0.8
    threshold_s: float = 20.0
    target_asa_s: float | None = None
    target_abandon: float | None = None
    max_occupancy: float = 1.0
    shrinkage: float = 0.0
    min_agents: int = 0
    sl_definition: str = "offered"

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise CallopsError(f"unknown staffing model {self.model!r}; use erlang-a or erlang-c")
        if self.min_agents < 0:
            raise CallopsError(f"minimum agents must be >= 0 (got {self.min_agents})")
        if self.target_abandon is not None and self.model == "erlang-c":
            raise CallopsError("an abandon-rate target needs --model erlang-a (Erlang C has no abandonment)")


@dataclass
class StaffingPlan:
    """Requirements per queue × interval (``frame``) with the settings and patience they were made with.

    ``frame`` columns: queue, interval_start, forecast, aht_s, patience_s, traffic_erlangs, queue_agents (what
    the queueing model needs), agents (after the minimum), staff (after shrinkage), service_level, asa_s,
    abandon_rate, occupancy, p_wait — the last five computed at ``agents``.
    """

    frame: pd.DataFrame
    targets: StaffingTargets
    interval_min: int
    patience: dict[str, PatienceEstimate | float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """Per queue: contacts, peak and mean agents and staff, agent and staff hours, volume-weighted SL."""
        f = self.frame
        h = self.interval_min / 60.0
        rows = []
        for q, part in f.groupby("queue", sort=True):
            calls = part["forecast"].to_numpy()
            w = calls.sum()
            rows.append(
                {
                    "queue": q,
                    "intervals": len(part),
                    "contacts": float(w),
                    "peak_agents": int(part["agents"].max()),
                    "peak_staff": int(part["staff"].max()),
                    "agent_hours": float(part["agents"].sum() * h),
                    "staff_hours": float(part["staff"].sum() * h),
                    "service_level": float((part["service_level"] * calls).sum() / w) if w > 0 else None,
                    "abandon_rate": float((part["abandon_rate"] * calls).sum() / w) if w > 0 else None,
                    "patience_s": _finite(part["patience_s"].iloc[0]),
                }
            )
        return pd.DataFrame(rows)

    def grid(self, column: str = "staff") -> pd.DataFrame:
        """``column`` as an interval × queue table (0 where a queue is closed)."""
        g = self.frame.pivot_table(index="interval_start", columns="queue", values=column, aggfunc="sum")
        return g.fillna(0)

    def requirements_rows(self) -> list[dict[str, Any]]:
        """Rows ``interval_start, required, skill`` (required = staff) — the CSV `callops schedule` reads."""
        f = self.frame
        return [
            {"interval_start": ts.strftime("%Y-%m-%dT%H:%M:%S"), "required": int(s), "skill": q}
            for q, ts, s in zip(f["queue"], f["interval_start"], f["staff"], strict=True)
        ]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plan: settings, patience per queue, per-queue summary and every interval."""
        rows = self.frame.assign(interval_start=self.frame["interval_start"].dt.strftime("%Y-%m-%dT%H:%M:%S"))
        intervals = [{k: _json(v) for k, v in r.items()} for r in rows.to_dict(orient="records")]
        summary = [{k: _json(v) for k, v in r.items()} for r in self.summary().to_dict(orient="records")]
        return {
            **self.meta,
            "interval_min": self.interval_min,
            "targets": dict(self.targets.__dict__),
            "patience": {
                q: (p.as_dict() if isinstance(p, PatienceEstimate) else {"patience_s": _finite(p), "source": "given"})
                for q, p in self.patience.items()
            },
            "summary": summary,
            "intervals": intervals,
            "notes": self.notes,
        }


def _finite(v: Any) -> float | None:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _json(v: Any) -> Any:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return _finite(v)
    return v


def _patience_for(queues: list[str], patience: Mapping[str, Any] | float | None) -> dict[str, float]:
    """Mean patience (seconds; inf = nobody abandons) per queue from a mapping, one number or estimates."""
    out: dict[str, float] = {}
    for q in queues:
        if patience is None:
            raise CallopsError("erlang-a needs a mean patience per queue (estimated from the warehouse or given)")
        if isinstance(patience, Mapping):
            if q not in patience:
                raise CallopsError(f"no patience for queue {q!r}; give one or use --model erlang-c")
            p = patience[q]
        else:
            p = patience
        val = p.patience_s if isinstance(p, PatienceEstimate) else float(p)
        if not val > 0:
            raise CallopsError(f"patience for queue {q!r} must be > 0 seconds (got {val})")
        out[q] = val
    return out


def staffing_requirements(
    forecast: pd.DataFrame,
    *,
    interval_min: int,
    targets: StaffingTargets | None = None,
    patience: Mapping[str, Any] | float | None = None,
) -> StaffingPlan:
    """Agents and staff per queue × interval for a forecast frame (columns queue, interval_start, forecast, aht_s).

    ``patience``: mean patience in seconds per queue (a mapping of numbers or :class:`PatienceEstimate`), or one
    number for all queues; needed for Erlang A. Every cell is solved in one vectorised call.
    """
    targets = targets or StaffingTargets()
    missing = [c for c in FORECAST_COLUMNS if c not in forecast.columns]
    if missing:
        raise CallopsError(f"forecast lacks column(s) {', '.join(missing)}")
    if interval_min <= 0 or 1440 % interval_min:
        raise CallopsError(f"interval must divide a day evenly (got {interval_min} min)")
    f = forecast[list(FORECAST_COLUMNS)].copy()
    f["queue"] = f["queue"].astype(str)
    f = f.sort_values(["queue", "interval_start"]).reset_index(drop=True)
    calls = f["forecast"].to_numpy(float)
    aht = f["aht_s"].to_numpy(float)
    if not np.isfinite(calls).all() or (calls < 0).any():
        raise CallopsError("forecast volumes must be finite and >= 0")
    bad = (calls > 0) & ~(np.isfinite(aht) & (aht > 0))
    if bad.any():
        qs = sorted(set(f.loc[bad, "queue"]))
        raise CallopsError(f"no usable AHT for queue(s) {', '.join(qs)} (nothing answered yet?); give --aht SECONDS")
    aht = np.where(np.isfinite(aht) & (aht > 0), aht, 1.0)  # closed cells: any AHT, no calls
    queues = sorted(f["queue"].unique())
    notes: list[str] = []
    if targets.model == "erlang-a":
        pat_q = _patience_for(queues, patience)
        for q in queues:
            if math.isinf(pat_q[q]):
                notes.append(f"{q}: no abandonment observed, infinite patience (Erlang A = Erlang C here)")
    else:
        pat_q = {q: math.inf for q in queues}
    pat = f["queue"].map(pat_q).to_numpy(float)
    interval_s = interval_min * 60.0
    req = queueing.required_agents(
        targets.model,
        calls=calls,
        interval_s=interval_s,
        aht_s=aht,
        threshold_s=targets.threshold_s,
        target_sl=targets.target_sl,
        target_asa_s=targets.target_asa_s,
        target_abandon=targets.target_abandon,
        patience_s=pat if targets.model == "erlang-a" else None,
        max_occupancy=targets.max_occupancy,
        shrinkage=targets.shrinkage,
        sl_definition=targets.sl_definition,
    )
    need = np.asarray(req.agents, dtype=float)
    agents = np.maximum(need, float(targets.min_agents))
    staff = np.ceil(agents / (1.0 - targets.shrinkage) * (1.0 - 1e-12))
    # the search already returns the figures at its agents; recompute only cells the minimum raised
    figures = {k: np.array(getattr(req, k), dtype=float) for k in ("service_level", "asa_s", "abandon_rate",
                                                                    "occupancy", "p_wait")}  # fmt: skip
    raised = agents != need
    if raised.any():
        m = queueing.erlang_a_metrics(
            calls[raised], interval_s, aht[raised], agents[raised], pat[raised], targets.threshold_s,
            targets.sl_definition, model=targets.model,
        )  # fmt: skip
        for k, v in figures.items():
            v[raised] = getattr(m, k)
    no_calls = calls <= 0
    f["patience_s"] = pat
    f["traffic_erlangs"] = calls * aht / interval_s
    f["queue_agents"] = need.astype(int)
    f["agents"] = agents.astype(int)
    f["staff"] = staff.astype(int)
    f["service_level"] = np.where(no_calls, 1.0, figures["service_level"])
    f["asa_s"] = np.where(no_calls, 0.0, figures["asa_s"])
    f["abandon_rate"] = np.where(no_calls, 0.0, figures["abandon_rate"])
    f["occupancy"] = np.where(no_calls, 0.0, figures["occupancy"])
    f["p_wait"] = np.where(no_calls, 0.0, figures["p_wait"])
    if targets.min_agents and (need < targets.min_agents).any():
        n = int((need < targets.min_agents).sum())
        notes.append(f"minimum of {targets.min_agents} agent(s) raised {n} interval(s)")
    return StaffingPlan(f, targets, interval_min, dict(pat_q), notes)


def plan_for_tenant(
    wh: Warehouse,
    tenant: str,
    *,
    horizon_days: int,
    interval_min: int,
    targets: StaffingTargets,
    queue: str | None = None,
    patience_s: float | None = None,
    aht_s: float | None = None,
    folds: int = 3,
    country: str | None = "CN",
    save_forecast: bool = True,
) -> StaffingPlan:
    """Forecast a tenant (storing a snapshot), estimate patience per queue, and staff every interval.

    ``patience_s`` overrides the estimate for every queue; ``aht_s`` overrides the forecast AHT.
    """
    from callops.wfm.forecast_io import forecast_tenant

    frame, meta = forecast_tenant(
        wh, tenant, horizon_days=horizon_days, interval_min=interval_min, queue=queue, folds=folds,
        country=country, save=save_forecast,
    )  # fmt: skip
    if aht_s is not None:
        if not aht_s > 0:
            raise CallopsError("--aht must be > 0 seconds")
        frame["aht_s"] = float(aht_s)
    patience: dict[str, Any] = {}
    if targets.model == "erlang-a":
        if patience_s is not None:
            patience = {q: float(patience_s) for q in frame["queue"].unique()}
        else:
            est = estimate_patience(wh, tenant, queue)
            patience = {q: est.get(q, math.inf) for q in frame["queue"].unique()}
    plan = staffing_requirements(frame, interval_min=interval_min, targets=targets, patience=patience or None)
    if targets.model == "erlang-a" and patience_s is None:
        plan.patience = {q: patience[q] for q in plan.patience}  # keep the estimates with their intervals
    plan.meta = {
        "tenant": tenant,
        "timezone": meta.get("timezone"),
        "horizon_days": horizon_days,
        "forecast_snapshot": meta.get("snapshot_id"),
        "forecast_models": {q["queue"]: q["model"] for q in meta.get("queues", [])},
    }
    return plan
