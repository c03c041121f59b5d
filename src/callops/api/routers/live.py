"""``/api/live/...``: the tenant's live engine — event intake, wallboard, alerts, plans and commands.

Each tenant has its own hub (:func:`callops.realtime.hub.hub_for`), so an alert or activation id of
another tenant is simply unknown here (404). Person actions (acknowledge, resolve, approve, reject)
are written to the store's audit log with the caller's name.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from callops.api.deps import StoreDep, require
from callops.api.encode import clean
from callops.errors import CallopsError, NotFound
from callops.realtime.hub import LiveHub, hub_for
from callops.store import audit
from callops.store.roles import Permission
from callops.store.tenants import get_tenant
from callops.store.users import Principal

router = APIRouter(prefix="/live", tags=["live"])
MAX_BATCH = 10_000
AlertId = Annotated[str, Path(max_length=200, description="Alert id, e.g. long-wait/queue:billing/1 ('/' allowed).")]
ActivationId = Annotated[str, Path(max_length=200, description="Plan activation id.")]
Step = Annotated[str, Path(max_length=100, description="Step kind, e.g. move_agents.")]


def tenant_hub(request: Request, who: Principal, st: Any) -> LiveHub:
    """The caller's tenant hub (built in the tenant's zone on first use; remembered for ``/metrics``)."""
    zones: dict[str, str] = request.app.state.live_tenants
    zone = zones.get(who.tenant_id)
    if zone is None:
        with st.session() as s:
            zone = get_tenant(s, who.tenant_id).timezone
        zones[who.tenant_id] = zone
    hub = hub_for(who.tenant_id, zone)
    if hub.follower:  # a cluster member's tenant: the member follows the saved rules and schedule changes
        return hub
    if hub.rules_source is None:  # the tenant's saved live rules, followed from now on (issue 16)
        from callops.rules.live import attach_saved_rules

        attach_saved_rules(hub, st)
    if hub.schedule_source is None:  # schedule changes approved in any process (issue 19)
        from callops.people.data import follow_schedule_changes

        follow_schedule_changes(hub, st)
    return hub


def _hub_with(permission: Permission) -> Callable[..., LiveHub]:
    checked = require(permission)

    # a default, not an Annotated[...] naming the closure: string annotations cannot see ``checked``
    def dep(request: Request, st: StoreDep, who: Principal = Depends(checked)) -> LiveHub:
        return tenant_hub(request, who, st)

    return dep


ReadHub = Annotated[LiveHub, Depends(_hub_with(Permission.live_read))]
EventsHub = Annotated[LiveHub, Depends(_hub_with(Permission.live_events))]
AlertsHub = Annotated[LiveHub, Depends(_hub_with(Permission.alerts_act))]
PlansHub = Annotated[LiveHub, Depends(_hub_with(Permission.plans_decide))]


def parse_batch(body: bytes) -> list[Any]:
    """A JSON array of events, one JSON object, or JSON lines (each line kept as text for its own verdict)."""
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        raise CallopsError("empty body: send a JSON array of events or JSON lines")
    if text.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CallopsError(f"body is not a valid JSON array: {exc.msg} at line {exc.lineno}") from None
    else:
        items = [line for line in (ln.strip() for ln in text.split("\n")) if line]  # JSON may hold U+2028
    if len(items) > MAX_BATCH:
        raise CallopsError(f"batch of {len(items)} events; send at most {MAX_BATCH} per request")
    return items


# The body is read raw (a JSON array or JSON lines, each item judged on its own), so it is declared for the docs only.
EVENTS_BODY = {"requestBody": {"required": True, "description": "A JSON array of events, or JSON lines.", "content": {
    "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
    "application/x-ndjson": {"schema": {"type": "string"}},
}}}  # fmt: skip


@router.post("/events", summary="Submit a batch of live events", openapi_extra=EVENTS_BODY)
async def events(request: Request, hub: EventsHub, st: StoreDep) -> dict[str, Any]:
    """Each item is accepted or rejected on its own: the answer counts them and gives each rejection's reason."""
    items = parse_batch(await request.body())
    answer = clean(await run_in_threadpool(hub.submit, items, "api"))
    who: Principal = request.state.principal
    counts = {k: answer.get(k) for k in ("received", "accepted", "rejected", "duplicates", "late")}
    await run_in_threadpool(_record, st, who, "live_events.post", "live_events", None, None, counts)  # issue 21
    return answer


@router.get("/tiles", summary="Wallboard tiles")
def tiles(hub: ReadHub) -> list[dict[str, Any]]:
    """Each queue, center and channel with its key measures and worst open alert level."""
    return clean(hub.tiles())


@router.get("/state", summary="Full live state")
def state(hub: ReadHub) -> dict[str, Any]:
    """Every measure of every scope and every agent, with the hub's version."""
    return clean(hub.snapshot())


@router.get("/intake", summary="Event intake counts")
def intake(hub: ReadHub) -> dict[str, Any]:
    """Accepted, rejected, duplicate and late events, with sample rejections."""
    return clean(hub.intake())


@router.get("/alerts", summary="Live alerts")
def alerts(hub: ReadHub, active_only: bool = True) -> list[dict[str, Any]]:
    """Open and acknowledged alerts worst first (``active_only=false``: every alert, newest first)."""
    return clean(hub.alerts(active_only))


def _alert(hub: LiveHub, alert_id: str) -> dict[str, Any]:
    try:
        return hub.alert(alert_id)
    except CallopsError as exc:
        raise NotFound(str(exc)) from None


@router.get("/alerts/{alert_id:path}", summary="One alert with its history")
def alert(alert_id: AlertId, hub: ReadHub) -> dict[str, Any]:
    """The alert and its level history."""
    return clean(_alert(hub, alert_id))


class ResolveIn(BaseModel):
    """Closing note of a resolution."""

    note: str | None = Field(default=None, max_length=2000)


def _record(st: Any, who: Principal, action: str, object_type: str, object_id: str,
            before: dict[str, Any] | None, after: dict[str, Any]) -> None:  # fmt: skip
    with st.session() as s:
        audit.record(s, who.tenant_id, who.user_name, action, object_type, object_id, clean(before), clean(after))


def _status(a: dict[str, Any]) -> dict[str, Any]:
    return {k: a.get(k) for k in ("status", "level", "acknowledged_by", "resolved_by")}


@router.post("/alerts/{alert_id:path}/acknowledge", summary="Acknowledge an alert")
def acknowledge(alert_id: AlertId, hub: AlertsHub, st: StoreDep,
                who: Annotated[Principal, Depends(require(Permission.alerts_act))]) -> dict[str, Any]:  # fmt: skip
    """Take ownership of an open alert (recorded in the audit log)."""
    before = _alert(hub, alert_id)
    after = hub.acknowledge(alert_id, who.user_name)
    _record(st, who, "live_alert.acknowledge", "live_alert", alert_id, _status(before), _status(after))
    return clean(after)


@router.post("/alerts/{alert_id:path}/resolve", summary="Resolve an alert")
def resolve(alert_id: AlertId, hub: AlertsHub, st: StoreDep,
            who: Annotated[Principal, Depends(require(Permission.alerts_act))],
            body: ResolveIn | None = None) -> dict[str, Any]:  # fmt: skip
    """Close an alert with an optional note (recorded in the audit log)."""
    note = body.note if body else None
    before = _alert(hub, alert_id)
    after = hub.resolve(alert_id, who.user_name, note)
    _record(st, who, "live_alert.resolve", "live_alert", alert_id, _status(before), {**_status(after), "note": note})
    return clean(after)


@router.get("/plans", summary="Contingency plan activations")
def plans(hub: ReadHub, active_only: bool = True) -> list[dict[str, Any]]:
    """Activations with their steps, recommended agents and expected effect, newest first."""
    return clean(hub.activations(active_only))


def _decide(hub: LiveHub, st: Any, who: Principal, activation_id: str, step: str, approve: bool) -> dict[str, Any]:
    known = {a["activation_id"] for a in hub.activations(active_only=False)}
    if activation_id not in known:
        raise NotFound(f"no plan activation {activation_id!r}")
    after = hub.decide(activation_id, step, approve, who.user_name)
    verb = "approve" if approve else "reject"
    _record(st, who, f"plan_step.{verb}", "plan_activation", activation_id, None, {"step": step, "decision": verb})
    return clean(after)


@router.post("/plans/{activation_id:path}/steps/{step}/approve", summary="Approve a plan step")
def approve(activation_id: ActivationId, step: Step, hub: PlansHub, st: StoreDep,
            who: Annotated[Principal, Depends(require(Permission.plans_decide))]) -> dict[str, Any]:  # fmt: skip
    """The step's routing commands go out (recorded in the audit log)."""
    return _decide(hub, st, who, activation_id, step, True)


@router.post("/plans/{activation_id:path}/steps/{step}/reject", summary="Reject a plan step")
def reject(activation_id: ActivationId, step: Step, hub: PlansHub, st: StoreDep,
           who: Annotated[Principal, Depends(require(Permission.plans_decide))]) -> dict[str, Any]:  # fmt: skip
    """Nothing is sent; the decision is kept (and recorded in the audit log)."""
    return _decide(hub, st, who, activation_id, step, False)


@router.get("/commands", summary="Routing commands sent to the ACD")
def commands(hub: ReadHub, limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[dict[str, Any]]:
    """The latest commands, newest last."""
    return clean(hub.commands(limit))
