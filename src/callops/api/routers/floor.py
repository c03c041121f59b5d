"""``/api/floor/…``: the team lead's floor (issue 19, parts 3-5) - real-time adherence and its exceptions,
attendance with daily adherence and conformance, HR cases, overtime and VTO offers.

The tenant is always the caller's; another tenant's exception, case or offer answers 404. A team lead whose user
has a team (``users.team``) sees and acts on that team only. An agent (``floor:accept``) may accept or decline
only their own offers: another agent's offer answers 404, as if it did not exist.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from callops.api.deps import StoreDep, WarehouseDep, require
from callops.api.encode import clean
from callops.api.errors import check_dates
from callops.errors import CallopsError, NotFound
from callops.people import adherence, attendance, hr_cases, overtime
from callops.people.floor_settings import load_settings
from callops.realtime.hub import LiveHub
from callops.store.roles import Permission, Role
from callops.store.users import Principal

router = APIRouter(prefix="/floor", tags=["floor"])
Reader = Annotated[Principal, Depends(require(Permission.floor_read))]
Manager = Annotated[Principal, Depends(require(Permission.floor_manage))]
Acceptor = Annotated[Principal, Depends(require(Permission.floor_accept))]
ItemId = Annotated[int, Path(ge=1, le=2**62)]
Team = Annotated[str | None, Query(max_length=200)]
MAX_DAYS = 92


def _hub(request: Request, who: Principal, st: Any) -> LiveHub:
    from callops.api.routers.live import tenant_hub

    return tenant_hub(request, who, st)


def _team(st: Any, who: Principal, asked: str | None) -> str | None:
    """The team the caller may see: a team lead's own (when their user has one), else what they asked for."""
    if who.role != Role.team_lead:
        return asked
    from callops.store.users import get_user

    with st.session() as s:
        own = get_user(s, who.tenant_id, who.user_id).team
    if own and asked and asked != own:
        raise NotFound(f"no team {asked!r} among yours")
    return own or asked


def _agent_team(hub: LiveHub, agent_id: str) -> str | None:
    info = hub.engine.state.roster.get(agent_id)
    return info.team if info is not None else None


def _zone(hub: LiveHub) -> ZoneInfo:
    return hub.engine.state.zone  # type: ignore[return-value]


# ------------------------------------------------------------------------------------------------ adherence
@router.get("/adherence", summary="Real-time adherence of every scheduled agent")
def adherence_now(request: Request, who: Reader, st: StoreDep, team: Team = None) -> dict[str, Any]:
    """Each agent's state, scheduled activity, stretch out of adherence, exception, alert level, today's share."""
    hub = _hub(request, who, st)
    return clean(adherence.adherence_now(hub, st, _team(st, who, team)))


class ExceptionIn(BaseModel):
    """An adherence exception: the agent is excused from adherence in [start_at, end_at)."""

    agent_id: str = Field(min_length=1, max_length=200)
    kind: str = Field(pattern="^(meeting|coaching|training|system|other)$")
    start_at: datetime
    end_at: datetime
    note: str | None = Field(default=None, max_length=2000)


@router.get("/exceptions", summary="Recorded adherence exceptions")
def exceptions(request: Request, who: Reader, st: StoreDep, day: date | None = None,
               agent_id: Annotated[str | None, Query(max_length=200)] = None) -> dict[str, Any]:  # fmt: skip
    """The tenant's exceptions (of one local day, one agent), newest first."""
    check_dates(day=day)
    hub = _hub(request, who, st)
    rows = adherence.list_exceptions(st, who.tenant_id, day, agent_id, _zone(hub))
    team = _team(st, who, None)
    if team is not None:
        rows = [r for r in rows if _agent_team(hub, r["agent_id"]) == team]
    return {"exceptions": rows}


@router.post("/exceptions", summary="Record an adherence exception (meeting, coaching, system trouble)")
def add_exception(body: ExceptionIn, request: Request, who: Manager, st: StoreDep) -> dict[str, Any]:
    """Stored and audited; the live room stops (or never starts) counting the agent out of adherence then."""
    hub = _hub(request, who, st)
    team = _team(st, who, None)
    if team is not None and _agent_team(hub, body.agent_id) != team:
        raise NotFound(f"no agent {body.agent_id!r} in team {team!r}")
    adherence.ensure_watch(hub, st)
    zone = _zone(hub)  # a time without an offset is the tenant's wall clock
    start, end = (ts if ts.tzinfo is not None else ts.replace(tzinfo=zone) for ts in (body.start_at, body.end_at))
    return adherence.record_exception(st, who.tenant_id, body.agent_id, body.kind, start, end, who.user_name,
                                      body.note)  # fmt: skip


@router.delete("/exceptions/{exception_id}", summary="Remove an adherence exception")
def remove_exception(exception_id: ItemId, who: Manager, st: StoreDep) -> dict[str, Any]:
    """Audited; 404 for another tenant's exception."""
    adherence.delete_exception(st, who.tenant_id, exception_id, who.user_name)
    return {"deleted": exception_id}


# ------------------------------------------------------------------------------------------------ attendance
def _period(wh: Any, tenant: str, start: date | None, end: date | None) -> tuple[date, date]:
    from callops import tenancy

    check_dates(start=start, end=end)
    zone = ZoneInfo(tenancy.get_tenant(wh, tenant).timezone)
    end = end or datetime.now(zone).date() - timedelta(days=1)
    start = start or end.replace(day=1)
    if end < start:
        raise CallopsError("end is before start")
    if (end - start).days >= MAX_DAYS:
        raise CallopsError(f"a period of at most {MAX_DAYS} days, please")
    return start, end


@router.get("/attendance", summary="Lateness, early leaving, absence, attendance rate, adherence, conformance")
def attendance_view(who: Reader, st: StoreDep, wh: WarehouseDep, start: date | None = None,
                    end: date | None = None, team: Team = None) -> dict[str, Any]:  # fmt: skip
    """Per agent, team and tenant over [start, end] (local days; default: this month up to yesterday)."""
    lo, hi = _period(wh, who.tenant_id, start, end)
    cfg = load_settings(who.tenant_id).attendance
    return clean(attendance.attendance_report(wh, who.tenant_id, lo, hi, cfg.late_grace_s, cfg.early_grace_s,
                                              _team(st, who, team)))  # fmt: skip


# ------------------------------------------------------------------------------------------------ HR cases
@router.get("/hr-cases", summary="HR cases raised by the attendance rules")
def cases(who: Reader, st: StoreDep, status: Annotated[str | None, Query(max_length=20)] = None,
          team: Team = None) -> dict[str, Any]:  # fmt: skip
    """Newest first; a team lead sees their team's."""
    return {"cases": hr_cases.list_cases(st, who.tenant_id, status, _team(st, who, team))}


class RunIn(BaseModel):
    """The local days whose attendance the rules judge (default: this month up to yesterday)."""

    start: date | None = None
    end: date | None = None


@router.post("/hr-cases/run", summary="Evaluate the HR rules and open the cases they raise")
def run_rules(body: RunIn, who: Manager, st: StoreDep, wh: WarehouseDep) -> dict[str, Any]:
    """How many cases the rules found and which were new (re-running never duplicates a case)."""
    lo, hi = _period(wh, who.tenant_id, body.start, body.end)
    return hr_cases.fire_rules(st, wh, who.tenant_id, lo, hi, who.user_name)


class CaseIn(BaseModel):
    """A change of a case."""

    status: str | None = Field(default=None, pattern="^(open|in_progress|closed|dismissed)$")
    owner: str | None = Field(default=None, min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=4000)


@router.post("/hr-cases/{case_id}", summary="Update an HR case (status, owner, note)")
def update_case(case_id: ItemId, body: CaseIn, who: Manager, st: StoreDep) -> dict[str, Any]:
    """Audited; 404 for another tenant's (or, for a team lead, another team's) case."""
    team = _team(st, who, None)
    if team is not None and not any(c["id"] == case_id for c in hr_cases.list_cases(st, who.tenant_id, team=team)):
        raise NotFound(f"no floor hr case {case_id!r} in team {team!r}")
    return hr_cases.update_case(st, who.tenant_id, case_id, who.user_name, body.status, body.owner, body.note)


# ------------------------------------------------------------------------------------------------ offers
@router.get("/offers", summary="Overtime and VTO offers")
def offers(request: Request, who: Reader, st: StoreDep, status: Annotated[str | None, Query(max_length=20)] = None,
           team: Team = None) -> dict[str, Any]:  # fmt: skip
    """Newest first, times in the tenant's zone."""
    hub = _hub(request, who, st)
    rows = overtime.list_offers(st, who.tenant_id, status, zone=_zone(hub))
    t = _team(st, who, team)
    if t is not None:
        rows = [r for r in rows if _agent_team(hub, r["agent_id"]) == t]
    return clean({"offers": rows})


class ProposeIn(BaseModel):
    """What to look at: the coming hours of the live room, one queue or all."""

    horizon_h: float = Field(default=4.0, gt=0, le=24)
    queue: str | None = Field(default=None, max_length=200)
    save: bool = True


@router.post("/offers/propose", summary="Propose overtime/VTO from the intraday picture")
def propose(body: ProposeIn, request: Request, who: Manager, st: StoreDep) -> dict[str, Any]:
    """The blocks (service level, deficit/surplus) and the offers: to whom, how long, the level before/after."""
    hub = _hub(request, who, st)
    return clean(overtime.propose(st, hub, who.user_name, body.horizon_h, body.queue, body.save))


def _own_agent(st: Any, who: Principal) -> str | None:
    """The caller's roster agent when they are an agent (None for others: they act on an agent's behalf)."""
    if who.role != Role.agent:
        return None
    from callops.people.links import agent_of

    with st.session() as s:
        agent = agent_of(s, who.tenant_id, who.user_id)
    if agent is None:
        raise NotFound(f"user {who.user_name!r} is not linked to a roster agent")
    return agent


@router.post("/offers/{offer_id}/accept", summary="Accept one's overtime/VTO offer")
def accept(offer_id: ItemId, request: Request, who: Acceptor, st: StoreDep, wh: WarehouseDep) -> dict[str, Any]:
    """A new version of the tenant's schedule (warehouse included); the live room follows. 404 for someone
    else's offer."""
    agent = _own_agent(st, who)
    hub = _hub(request, who, st)
    return overtime.accept_offer(st, wh, hub, offer_id, who.user_name, agent)


@router.post("/offers/{offer_id}/decline", summary="Decline one's overtime/VTO offer")
def decline(offer_id: ItemId, who: Acceptor, st: StoreDep) -> dict[str, Any]:
    """Audited; 404 for someone else's offer."""
    return overtime.decline_offer(st, who.tenant_id, offer_id, who.user_name, _own_agent(st, who))


@router.post("/offers/{offer_id}/withdraw", summary="Withdraw an open offer")
def withdraw(offer_id: ItemId, who: Manager, st: StoreDep) -> dict[str, Any]:
    """Audited; 404 for another tenant's offer."""
    return overtime.decline_offer(st, who.tenant_id, offer_id, who.user_name, None, withdraw=True)
