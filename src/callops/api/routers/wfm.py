"""``/api/wfm/...``: Erlang calculators, forecasts, staffing plans and saved schedules.

The calculators answer with the same JSON keys as ``callops queue ... --json`` (``p_wait``,
``service_level``, ``asa_s``, ``abandon_rate``, ``occupancy``, ``agents``, ...): both call
:mod:`callops.wfm.queueing` and its ``QueueMetrics.to_dict``.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from callops import tenancy
from callops.api.deps import HistoryDep, WarehouseDep, require
from callops.api.encode import clean
from callops.api.errors import check_dates
from callops.metrics.grains import local_bounds
from callops.store.roles import Permission
from callops.store.users import Principal
from callops.wfm import queueing

router = APIRouter(prefix="/wfm", tags=["wfm"])
Reader = Annotated[Principal, Depends(require(Permission.wfm_read))]
Planner = Annotated[Principal, Depends(require(Permission.wfm_plan))]
UNSTABLE = "unstable: agents do not exceed the offered load, the queue grows without bound"

# Bounds keep a request's work small and its numbers in range (a sub-normal AHT overflows 1/AHT); the queueing
# module checks the meaning (positive, below 1, ...). Durations are at least 0.1 s, intervals at least 1 s.
Calls = Annotated[float, Query(ge=0, le=1e6, allow_inf_nan=False, description="Offered contacts in the interval.")]
IntervalS = Annotated[float, Query(ge=1, le=604_800, allow_inf_nan=False, description="Interval length, seconds.")]
Aht = Annotated[float, Query(ge=0.1, le=86_400, allow_inf_nan=False, description="Average handle time, seconds.")]
Agents = Annotated[float, Query(ge=0, le=100_000, allow_inf_nan=False, description="Agents; fractional allowed.")]
Threshold = Annotated[float, Query(ge=0, le=86_400, allow_inf_nan=False, description="SL threshold, seconds.")]
Patience = Annotated[float, Query(ge=0.1, le=86_400, allow_inf_nan=False, description="Mean patience, seconds.")]
Share = Annotated[float | None, Query(gt=0, lt=1, allow_inf_nan=False)]


class StaffModel(StrEnum):
    """Queueing models that can size a team."""

    erlang_c = "erlang-c"
    erlang_a = "erlang-a"


def answer(m: queueing.QueueMetrics) -> dict[str, Any]:
    """``QueueMetrics.to_dict`` plus the CLI's note when the queue is unstable."""
    d = m.to_dict()
    if not d.get("stable", True):
        d["note"] = UNSTABLE
    return clean(d)


@router.get("/erlang-b", summary="Erlang B: blocked calls are lost")
def erlang_b(_who: Reader, calls: Calls, interval: IntervalS, aht: Aht, agents: Agents,
             threshold: Threshold = 20.0) -> dict[str, Any]:  # fmt: skip
    """Probability of blocking, occupancy and the other figures for ``agents`` lines."""
    return answer(queueing.erlang_b_metrics(calls, interval, aht, agents, threshold))


@router.get("/erlang-c", summary="Erlang C: callers wait as long as it takes")
def erlang_c(_who: Reader, calls: Calls, interval: IntervalS, aht: Aht, agents: Agents,
             threshold: Threshold = 20.0) -> dict[str, Any]:  # fmt: skip
    """Probability of waiting, service level, ASA and occupancy."""
    return answer(queueing.erlang_c_metrics(calls, interval, aht, agents, threshold))


@router.get("/erlang-a", summary="Erlang A: callers hang up after an exponential patience")
def erlang_a(_who: Reader, calls: Calls, interval: IntervalS, aht: Aht, agents: Agents, patience: Patience,
             threshold: Threshold = 20.0, sl_definition: str = "offered") -> dict[str, Any]:  # fmt: skip
    """M/M/c+M figures, abandon rate included."""
    return answer(queueing.erlang_a_metrics(calls, interval, aht, agents, patience, threshold, sl_definition))


@router.get("/staff", summary="Agents needed to meet targets")
def staff(
    _who: Reader,
    calls: Calls,
    interval: IntervalS,
    aht: Aht,
    model: StaffModel = StaffModel.erlang_c,
    target_sl: Share = None,
    threshold: Threshold = 20.0,
    target_asa: Annotated[float | None, Query(ge=0.1, le=86_400, allow_inf_nan=False)] = None,
    target_abandon: Share = None,
    patience: Annotated[float | None, Query(ge=0.1, le=86_400, allow_inf_nan=False)] = None,
    max_occupancy: Annotated[float, Query(gt=0, le=1, allow_inf_nan=False)] = 1.0,
    shrinkage: Annotated[float, Query(ge=0, lt=1, allow_inf_nan=False)] = 0.0,
    sl_definition: str = "offered",
    fractional: bool = False,
) -> dict[str, Any]:
    """Smallest number of agents meeting every target given, and the staff after shrinkage."""
    if model is StaffModel.erlang_a and patience is None:
        from callops.errors import CallopsError

        raise CallopsError("model erlang-a needs patience (mean seconds callers wait before hanging up)")
    return answer(queueing.required_agents(
        model.value, calls=calls, interval_s=interval, aht_s=aht, threshold_s=threshold, target_sl=target_sl,
        target_asa_s=target_asa, target_abandon=target_abandon, patience_s=patience, max_occupancy=max_occupancy,
        shrinkage=shrinkage, sl_definition=sl_definition, fractional=fractional,
    ))  # fmt: skip


class ForecastIn(BaseModel):
    """A forecast run for the caller's tenant."""

    queue: str | None = Field(default=None, max_length=100, description="Only this queue (default: every queue).")
    horizon_days: int = Field(default=14, ge=1, le=366)
    interval_min: int = Field(default=30, ge=5, le=1440)
    folds: int = Field(default=3, ge=1, le=12)
    holidays: str | None = Field(default="CN", max_length=10, description="Holiday country code, or null.")


@router.post("/forecast", summary="Forecast volume and AHT per queue and interval")
def forecast(body: ForecastIn, who: Planner, wh: HistoryDep) -> dict[str, Any]:
    """Runs the forecast (and stores a snapshot) like ``callops forecast --json``."""
    from callops.wfm.forecast_io import forecast_tenant

    frame, meta = forecast_tenant(wh, who.tenant_id, horizon_days=body.horizon_days, interval_min=body.interval_min,
                                  queue=body.queue, folds=body.folds, country=body.holidays or None)  # fmt: skip
    rows = frame.assign(interval_start=frame["interval_start"].dt.strftime("%Y-%m-%dT%H:%M:%S"))
    return clean({**meta, "intervals": rows.to_dict(orient="records")})


class StaffingIn(BaseModel):
    """A staffing plan for the caller's tenant (forecast → agents per queue × interval)."""

    queue: str | None = Field(default=None, max_length=100)
    horizon_days: int = Field(default=7, ge=1, le=92)
    interval_min: int = Field(default=30, ge=5, le=1440)
    model: StaffModel = StaffModel.erlang_a
    target_sl: float | None = Field(default=0.8, gt=0, lt=1)
    threshold: float = Field(default=20.0, ge=0, le=86_400)
    target_asa: float | None = Field(default=None, ge=0.1, le=86_400)
    target_abandon: float | None = Field(default=None, gt=0, lt=1)
    max_occupancy: float = Field(default=1.0, gt=0, le=1)
    shrinkage: float = Field(default=0.0, ge=0, lt=1)
    min_agents: int = Field(default=0, ge=0, le=100_000)
    patience: float | None = Field(default=None, ge=0.1, le=86_400)
    aht: float | None = Field(default=None, ge=0.1, le=86_400)
    sl_definition: str = "offered"
    folds: int = Field(default=3, ge=1, le=12)
    holidays: str | None = Field(default="CN", max_length=10)


@router.post("/staffing", summary="Staffing plan: required agents per queue and interval")
def staffing(body: StaffingIn, who: Planner, wh: HistoryDep) -> dict[str, Any]:
    """Like ``callops staffing --json``: per-queue summary and interval requirements."""
    from callops.wfm.staffing import StaffingTargets, plan_for_tenant

    targets = StaffingTargets(model=body.model.value, target_sl=body.target_sl, threshold_s=body.threshold,
                              target_asa_s=body.target_asa, target_abandon=body.target_abandon,
                              max_occupancy=body.max_occupancy, shrinkage=body.shrinkage, min_agents=body.min_agents,
                              sl_definition=body.sl_definition)  # fmt: skip
    plan = plan_for_tenant(wh, who.tenant_id, horizon_days=body.horizon_days, interval_min=body.interval_min,
                           targets=targets, queue=body.queue, patience_s=body.patience, aht_s=body.aht,
                           folds=body.folds, country=body.holidays or None)  # fmt: skip
    return clean(plan.to_dict())


@router.get("/schedules", summary="Saved schedule of a week")
def schedules(
    who: Reader,
    wh: WarehouseDep,
    week: Annotated[date, Query(description="A date in the week (its Monday is used).")],
    agent_id: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    """Schedule blocks (``callops schedule`` saves them) starting in the tenant-local week of ``week``."""
    check_dates(week=week)
    monday = week - timedelta(days=week.weekday())
    t = tenancy.get_tenant(wh, who.tenant_id)
    lo, hi = local_bounds(monday, monday + timedelta(days=6), t.timezone)
    s = tenancy.scoped(wh, t, "schedules")
    s = s.filter((s.start_at >= lo) & (s.start_at < hi))
    if agent_id:
        s = s.filter(s.agent_id == agent_id)
    cols = [c for c in s.columns if c not in ("tenant_id", "load_id", "_row_hash")]
    rows = s.order_by([s.agent_id, s.start_at]).select(cols).to_pyarrow().to_pylist()
    return clean({"week": monday, "timezone": t.timezone, "blocks": rows})
