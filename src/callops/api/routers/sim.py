"""``/api/sim/single-queue``: the fast what-if of one queue (M/M/c or M/M/c+M) by simulation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, model_validator

from callops.api.deps import require
from callops.api.encode import clean
from callops.sim.single_queue import simulate_single_queue
from callops.store.roles import Permission
from callops.store.users import Principal

router = APIRouter(prefix="/sim", tags=["sim"])
MAX_LOAD_ERLANG = 2000


class SingleQueueIn(BaseModel):
    """One queue: Poisson arrivals, exponential handle time and (optionally) patience."""

    calls: float = Field(ge=0.01, le=100_000, allow_inf_nan=False, description="Contacts offered per interval.")
    interval: float = Field(default=1800.0, ge=1, le=604_800, allow_inf_nan=False, description="Seconds.")
    aht: float = Field(ge=0.1, le=86_400, allow_inf_nan=False, description="Mean handle time, seconds.")
    agents: int = Field(ge=1, le=5000)
    patience: float | None = Field(default=None, ge=0.1, le=86_400, allow_inf_nan=False,
                                   description="Mean patience, seconds; null for no abandonment.")  # fmt: skip
    threshold: float = Field(default=20.0, ge=0, le=86_400, allow_inf_nan=False)
    replications: int = Field(default=10, ge=2, le=20)
    seed: int = Field(default=0, ge=0, le=2**63 - 1)

    @model_validator(mode="after")
    def _bounded_work(self) -> SingleQueueIn:
        # the run simulates ~20 x load arrivals of warm-up per replication: keep one request to seconds
        load = self.calls / self.interval * self.aht
        if load > MAX_LOAD_ERLANG:
            raise ValueError(f"offered load {load:.4g} Erlang is above the {MAX_LOAD_ERLANG} this what-if simulates")
        return self


@router.post("/single-queue", summary="What-if: simulate one queue")
def single_queue(
    body: SingleQueueIn, _who: Annotated[Principal, Depends(require(Permission.sim_run))]
) -> dict[str, Any]:
    """Steady-state service level, waiting probability, ASA, abandon rate and occupancy with 95% CIs
    (the keys of ``callops simulate --json``)."""
    result = simulate_single_queue(body.calls, body.interval, body.aht, body.agents, body.patience, body.threshold,
                                   body.replications, body.seed)  # fmt: skip
    return clean(result.as_dict())
