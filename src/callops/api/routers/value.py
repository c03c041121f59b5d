"""Customer value (issue 11): ``/api/customers/{id}``, ``/api/decide`` and ``/api/value/...``.

``POST /api/decide`` answers from the in-memory snapshot of precomputed scores and tags (no warehouse
read), so it stays fast at a million customers. Rules (value model, tag and strategy libraries) are
listed, validated, previewed and saved per tenant; every save is audited.
"""

from __future__ import annotations

import threading
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from callops import tenancy
from callops.api.deps import HistoryDep, StoreDep, require, resources
from callops.api.encode import clean
from callops.api.errors import check_engine_dates
from callops.errors import CallopsError
from callops.store.db import Store
from callops.store.roles import Permission
from callops.store.users import Principal

router = APIRouter(tags=["value"])
Reader = Annotated[Principal, Depends(require(Permission.value_read))]
Manager = Annotated[Principal, Depends(require(Permission.value_manage))]

_TENANTS: dict[str, tenancy.Tenant] = {}
_TENANTS_LOCK = threading.Lock()


def _tenant_of(request: Request, who: Principal) -> tenancy.Tenant:
    """The caller's tenant (zone included), read from the warehouse once per process."""
    held = _TENANTS.get(who.tenant_id)
    if held is not None:
        return held
    res = resources(request)
    with _TENANTS_LOCK, res.warehouse_lock:
        t = tenancy.get_tenant(res.open_warehouse(), who.tenant_id)
        _TENANTS[who.tenant_id] = t
    return t


class DecideIn(BaseModel):
    """A contact to decide on."""

    customer_id: str = Field(min_length=1, max_length=200)
    channel: str = Field(min_length=1, max_length=20)
    reason: str | None = Field(default=None, max_length=100)
    queue: str | None = Field(default=None, max_length=100)
    ivr_path: str | None = Field(default=None, max_length=500)
    wait_s: float | None = Field(default=None, ge=0, le=86400, description="how long the customer waited so far")
    complaint: bool = Field(default=False, description="the contact is a complaint (no offer is made)")
    contact_id: str | None = Field(default=None, max_length=200, description="the contact (one offer per contact)")


@router.post("/decide", summary="The decision at contact time")
async def decide(body: DecideIn, who: Reader, store: StoreDep, request: Request) -> dict[str, Any]:
    """Value class, score, tags, strategy, route, guidance and the rules that fired (404: another tenant's).

    Async: once the tenant and its snapshot are in memory, the decision runs on the event loop. It is a few
    dictionary lookups and one indexed store read of the customer's recent offers, cheaper than the hop to a
    worker thread, which (with the GIL shared by the other threads) was most of the decision's latency over
    HTTP. The first decision of a tenant, and the first after a new snapshot, run in a worker thread: they
    read the warehouse and load the snapshot (seconds at a million customers).
    """
    from callops.value.snapshot import index_is_current

    tenant = _TENANTS.get(who.tenant_id)
    if tenant is not None and index_is_current(who.tenant_id):
        return _decide(tenant, body, store)
    return await run_in_threadpool(lambda: _decide(_tenant_of(request, who), body, store))


def _decide(tenant: tenancy.Tenant, body: DecideIn, store: Store) -> dict[str, Any]:
    from callops.value.decide import CustomerElsewhere
    from callops.value.decide import decide as run

    try:
        return clean(run(tenant, body.customer_id, body.channel, body.reason, body.queue, body.ivr_path,
                         wait_s=body.wait_s, complaint=body.complaint, contact_id=body.contact_id, store=store))
    except CustomerElsewhere:
        raise HTTPException(404, f"no customer {body.customer_id!r}") from None


@router.get("/customers/{customer_id}", summary="One view of a customer")
def customer(customer_id: str, who: Reader, wh: HistoryDep, as_of: date | None = None) -> dict[str, Any]:
    """Profile features as of a date, tags, value explanation and timeline (404 when not this tenant's); from the
    tenant's lake when its ``lake.yaml`` names one, as every value read of history."""
    from callops.value.decide import customer_profile

    check_engine_dates(as_of=as_of)
    return clean(customer_profile(wh, tenancy.get_tenant(wh, who.tenant_id), customer_id, as_of))


@router.get("/value/customers/{customer_id}/explain", summary="Why a customer has its score")
def explain(customer_id: str, who: Reader, request: Request) -> dict[str, Any]:
    """Each dimension's and indicator's contribution; they add up to the score."""
    from callops.value.decide import explain as run

    return clean(run(_tenant_of(request, who), customer_id))


@router.get("/value/summary", summary="The latest value snapshot")
def summary(who: Reader) -> dict[str, Any]:
    """Counts per class and tag, the model and libraries used, the as-of date."""
    from callops.value.snapshot import snapshot_meta

    return clean(snapshot_meta(who.tenant_id))


class ScoreIn(BaseModel):
    """A batch scoring run."""

    as_of: date | None = None


@router.post("/value/score", summary="Score and tag every customer (new snapshot)")
def score(body: ScoreIn, who: Manager, wh: HistoryDep, store: StoreDep) -> dict[str, Any]:
    """Run the batch and keep a new snapshot version; audited."""
    from callops.store import audit
    from callops.value.decide import libraries
    from callops.value.snapshot import score_tenant

    check_engine_dates(as_of=body.as_of)
    t = tenancy.get_tenant(wh, who.tenant_id)
    model, tags, _ = libraries(t.tenant_id)
    result = score_tenant(wh, t, body.as_of, model=model, tags=tags)
    with store.session() as s:
        audit.record(s, who.tenant_id, who.user_name, "value.score", "value_snapshot", result.get("version"),
                     after={"as_of": result["as_of"], "customers": result["customers"]})  # fmt: skip
    return clean(result)


class RuleKind(StrEnum):
    """The definition files a tenant can manage."""

    model = "model"
    tags = "tags"
    strategies = "strategies"


class RulesIn(BaseModel):
    """A new version of a definition file."""

    text: str = Field(min_length=1, max_length=500_000)
    comment: str = Field(default="", max_length=500)


@router.get("/value/rules/{kind}", summary="A tenant's value model, tag or strategy library")
def rules(kind: RuleKind, who: Reader) -> dict[str, Any]:
    """The YAML in force and its parsed items."""
    from callops.value.manage import current_rules

    return clean(current_rules(who.tenant_id, kind.value))


@router.post("/value/rules/{kind}/preview", summary="Validate a definition and preview its effect")
def preview(kind: RuleKind, body: RulesIn, who: Manager, wh: HistoryDep) -> dict[str, Any]:
    """400 naming the line when invalid; else how many customers each tag (or class) would hold today."""
    from callops.value.manage import preview_rules

    return clean(preview_rules(wh, tenancy.get_tenant(wh, who.tenant_id), kind.value, body.text))


@router.put("/value/rules/{kind}", summary="Save a new version of a definition (audited)")
def save(kind: RuleKind, body: RulesIn, who: Manager, store: StoreDep) -> dict[str, Any]:
    """Validate, save as the tenant's version and record the change in the audit log."""
    from callops.value.manage import save_rules

    with store.session() as s:
        return clean(save_rules(s, who.tenant_id, who.user_name, kind.value, body.text, body.comment))


@router.get("/value/care-tasks", summary="Care tasks, per team")
def care_tasks(who: Reader, store: StoreDep, team: str | None = None, status: str | None = None) -> dict[str, Any]:
    """Open, contacted and resolved care tasks of the tenant (optionally of one team or status)."""
    from callops.value.care import list_tasks

    with store.session() as s:
        return clean({"tasks": list_tasks(s, who.tenant_id, team, status)})


class TaskUpdate(BaseModel):
    """A care task moving on (open → contacted → resolved)."""

    status: str = Field(min_length=1, max_length=20)
    note: str = Field(default="", max_length=1000)


@router.post("/value/care-tasks/{task_id}/status", summary="Move a care task on (audited)")
def update_task(task_id: int, body: TaskUpdate, who: Manager, store: StoreDep) -> dict[str, Any]:
    """Change the status of one of the tenant's tasks (404 for another tenant's)."""
    from callops.value.care import update_task as run

    with store.session() as s:
        return clean(run(s, who.tenant_id, who.user_name, task_id, body.status, body.note))


@router.post("/value/care-tasks/generate", summary="Run the care rules (audited)")
def generate_tasks(who: Manager, store: StoreDep, request: Request) -> dict[str, Any]:
    """Create care tasks from the latest snapshot: one per rule and customer until resolved."""
    from callops.value.care import generate_tasks as run

    with store.session() as s:
        return clean(run(s, _tenant_of(request, who), who.user_name))


__all__ = ["CallopsError", "router"]


@router.get("/value/diversions", summary="Today's decisions per route, and how many were diverted from agents")
def diversions(who: Reader, request: Request) -> dict[str, Any]:
    """Counts of this server's decisions today (tenant zone): per route and channel; diverted = self-service first
    or payment in the IVR."""
    from callops.value.decide import diversion_counts

    return clean(diversion_counts(_tenant_of(request, who)))


@router.get("/value/balance", summary="Diversion what-if: service level per diversion share")
def balance(who: Reader, calls: float, aht: float, agents: int, interval: float = 1800.0,
            patience: float | None = None, take_up: float = 0.5) -> dict[str, Any]:  # fmt: skip
    """The tenant's diversion share (latest snapshot × take-up) and a simulated queue at 0, 10, 20, 30 % and it."""
    from callops.value.balance import diversion_whatif, tenant_diversion_share

    if not (0 < calls <= 1e5 and 0.1 <= aht <= 86_400 and 1 <= agents <= 5_000 and 60 <= interval <= 86_400
            and (patience is None or 0.1 <= patience <= 86_400) and 0 <= take_up <= 1):  # fmt: skip
        raise CallopsError("calls, aht, agents, interval, patience or take_up out of range")
    own = tenant_diversion_share(who.tenant_id, take_up)
    shares = sorted({0.0, 0.1, 0.2, 0.3, round(own["diversion_share"], 4)})
    return clean({"tenant_share": own, "whatif": diversion_whatif(calls, interval, aht, agents, patience, shares,
                                                                  replications=3)})  # fmt: skip
