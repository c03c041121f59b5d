"""``/api/me/…``: an agent's own schedule (and iCalendar), KPIs, today (adherence, coaching, offers) and requests;
``/api/me/team/…``: a team lead's decisions on their team's requests.

An agent reads only their own data; a team lead may pass ``agent_id`` of their own team. Another agent's data, or
another tenant's request, answers 404 exactly like an unknown id.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from callops.api.deps import StoreDep, WarehouseDep, require
from callops.api.encode import clean
from callops.people import me, requests
from callops.store.roles import Permission
from callops.store.users import Principal

router = APIRouter(prefix="/me", tags=["me"])
Reader = Annotated[Principal, Depends(require(Permission.me_read))]
Requester = Annotated[Principal, Depends(require(Permission.me_request))]
Lead = Annotated[Principal, Depends(require(Permission.requests_decide))]
AgentQ = Annotated[str | None, Query(max_length=200, description="A team lead: an agent of their team.")]


@router.get("/schedule", summary="My schedule this week and next")
def my_schedule(who: Reader, st: StoreDep, wh: WarehouseDep, agent_id: AgentQ = None,
                week: Annotated[date | None, Query(description="Any day of the first week.")] = None,
                weeks: Annotated[int, Query(ge=1, le=6)] = 2) -> dict[str, Any]:  # fmt: skip
    """Activities per local day, with scheduled hours (approved changes included)."""
    _, agent = me.subject(st, wh, who.tenant_id, who.user_id, agent_id)
    monday = me.week_start(week) if week else None
    return clean(me.schedule(st, wh, who.tenant_id, agent["agent_id"], monday, weeks))


@router.get("/schedule.ics", summary="My schedule as iCalendar", response_class=Response,
            responses={200: {"content": {"text/calendar": {"schema": {"type": "string"}}},
                             "description": "An iCalendar document (RFC 5545)"}})
def my_schedule_ics(who: Reader, st: StoreDep, wh: WarehouseDep, agent_id: AgentQ = None) -> Response:
    """This week's and next week's shifts, one VEVENT each (RFC 5545)."""
    _, agent = me.subject(st, wh, who.tenant_id, who.user_id, agent_id)
    text = me.ics(st, wh, who.tenant_id, agent["agent_id"])
    return Response(text, media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="schedule.ics"'})


@router.get("/kpis", summary="My KPIs against my team's")
def my_kpis(who: Reader, st: StoreDep, wh: WarehouseDep, agent_id: AgentQ = None) -> dict[str, Any]:
    """Handle time, adherence, satisfaction (this month) and the QA score with its interval."""
    _, agent = me.subject(st, wh, who.tenant_id, who.user_id, agent_id)
    return clean(me.kpis(st, wh, who.tenant_id, agent))


@router.get("/today", summary="My adherence today, coaching tasks and open offers")
def my_today(who: Reader, st: StoreDep, wh: WarehouseDep, agent_id: AgentQ = None) -> dict[str, Any]:
    """Adherence from the live room, coaching tasks, overtime/VTO offers."""
    _, agent = me.subject(st, wh, who.tenant_id, who.user_id, agent_id)
    aid = agent["agent_id"]
    return clean({"agent_id": aid, "adherence": me.adherence_today(st, who.tenant_id, aid),
                  "coaching": me.coaching(st, who.tenant_id, aid), "offers": me.offers(st, who.tenant_id, aid)})


@router.get("/requests", summary="My requests and those waiting for me")
def my_requests(who: Reader, st: StoreDep, wh: WarehouseDep) -> list[dict[str, Any]]:
    """Mine, swaps addressed to me, and my team's shifts in the open pool."""
    return clean(requests.list_requests(st, wh, who.tenant_id, who.user_id))


class RequestIn(BaseModel):
    """A time-off, swap or trade request (naive times are the tenant's local time)."""

    kind: Literal["time_off", "swap", "trade"]
    start: datetime
    end: datetime
    reason: str | None = Field(default=None, max_length=2000)
    colleague_id: str | None = Field(default=None, max_length=200, description="A swap: the colleague.")


@router.post("/requests", summary="File a request (checked at once)")
def file_request(body: RequestIn, who: Requester, st: StoreDep, wh: WarehouseDep) -> dict[str, Any]:
    """The request with its contract and coverage checks and its status."""
    return clean(requests.file_request(st, wh, who.tenant_id, who.user_id, body.kind, body.start, body.end,
                                       body.reason, body.colleague_id))  # fmt: skip


@router.post("/requests/{request_id}/accept", summary="Accept a swap, or take a shift from the open pool")
def accept_request(request_id: int, who: Requester, st: StoreDep, wh: WarehouseDep) -> dict[str, Any]:
    """The request after its checks ran again (approved, or waiting for the team lead)."""
    return clean(requests.accept(st, wh, who.tenant_id, who.user_id, request_id))


StatusQ = Annotated[str | None, Query(pattern="^(pending_colleague|pending_lead|approved|refused|cancelled)$")]


@router.get("/team/requests", summary="My team's requests (team leads)")
def team_requests(who: Lead, st: StoreDep, wh: WarehouseDep, status: StatusQ = None) -> list[dict[str, Any]]:
    """Every request of the lead's team (optionally of one status)."""
    return clean(requests.list_requests(st, wh, who.tenant_id, who.user_id, team=True, status=status))


class DecisionIn(BaseModel):
    """A team lead's decision."""

    approve: bool
    reason: str = Field(min_length=1, max_length=2000)


@router.post("/team/requests/{request_id}/decide", summary="Approve or refuse a request, with a reason")
def decide_request(request_id: int, body: DecisionIn, who: Lead, st: StoreDep, wh: WarehouseDep) -> dict[str, Any]:
    """An approval makes a new schedule version and updates the live room; both are audited and notified."""
    return clean(requests.decide(st, wh, who.tenant_id, who.user_id, request_id, body.approve, body.reason))
