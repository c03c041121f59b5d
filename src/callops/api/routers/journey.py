"""``/api/journeys/...`` and ``/api/customers/{id}/journey``: process views, funnels, failures, replays."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from callops import tenancy
from callops.api.deps import HistoryDep, require
from callops.api.errors import check_dates
from callops.journey import analysis, views
from callops.journey.events import Selection
from callops.journey.funnels import Funnel, evaluate
from callops.journey.replay import customer_journey
from callops.store.roles import Permission
from callops.store.users import Principal

router = APIRouter(tags=["journeys"])
Reader = Annotated[Principal, Depends(require(Permission.journeys_read))]
From = Annotated[date | None, Query(alias="from", description="First local date of session starts.")]
To = Annotated[date | None, Query(description="Last local date, inclusive.")]
Where = Annotated[str | None, Query(max_length=2000, description="Keep sessions with a matching event.")]


def _sel(from_: date | None, to: date | None, where: str | None) -> Selection:
    check_dates(**{"from": from_, "to": to})
    return Selection(from_, to, where)


@router.get("/journeys/summary", summary="Events, sessions, variants, edges, durations and rework")
def summary(who: Reader, wh: HistoryDep, from_: From = None, to: To = None, where: Where = None) -> dict[str, Any]:
    """The keys of ``callops journey summary --json``."""
    return views.summary(wh, tenancy.get_tenant(wh, who.tenant_id), _sel(from_, to, where))


@router.get("/journeys/variants", summary="Variants (distinct step sequences), most frequent first")
def variants(
    who: Reader, wh: HistoryDep, top: Annotated[int, Query(ge=1, le=10_000)] = 20,
    from_: From = None, to: To = None, where: Where = None,
) -> dict[str, Any]:
    """Sessions, share and durations of each variant."""
    return views.variants(wh, tenancy.get_tenant(wh, who.tenant_id), _sel(from_, to, where), top=top)


@router.get("/journeys/dfg", summary="Directly-follows graph with waits")
def dfg(who: Reader, wh: HistoryDep, from_: From = None, to: To = None, where: Where = None) -> dict[str, Any]:
    """Edges (from, to, count, mean/median/p90 wait), start and end steps."""
    return views.dfg(wh, tenancy.get_tenant(wh, who.tenant_id), _sel(from_, to, where))


@router.get("/journeys/failures", summary="Failure reasons ranked by the sessions they break")
def failures(
    who: Reader, wh: HistoryDep, within_hours: Annotated[float, Query(gt=0, le=24 * 90)] = 24,
    from_: From = None, to: To = None, where: Where = None,
) -> list[dict[str, Any]]:
    """Each reason with its step, channel, sessions and the voice calls that followed within the window."""
    t = tenancy.get_tenant(wh, who.tenant_id)
    return analysis.failure_reasons(wh, t, _sel(from_, to, where), within_h=within_hours)


@router.get("/journeys/channels", summary="Channel KPIs")
def channels(who: Reader, wh: HistoryDep, from_: From = None, to: To = None, where: Where = None) -> list[dict]:
    """Per entry channel: sessions, completion, failure, escalation, time to resolution."""
    return analysis.channel_kpis(wh, tenancy.get_tenant(wh, who.tenant_id), _sel(from_, to, where))


@router.get("/journeys/related", summary="Businesses and steps that go together")
def related(
    who: Reader, wh: HistoryDep, min_support: Annotated[float, Query(ge=0, le=1)] = 0.01,
    from_: From = None, to: To = None, where: Where = None,
) -> list[dict[str, Any]]:
    """Association rules with support, confidence and lift."""
    t = tenancy.get_tenant(wh, who.tenant_id)
    return analysis.related(wh, t, _sel(from_, to, where), min_support=min_support)


@router.get("/journeys/suggestions", summary="Optimisation suggestions with evidence")
def suggestions(who: Reader, wh: HistoryDep, from_: From = None, to: To = None, where: Where = None) -> list[dict]:
    """Ranked by the sessions at stake."""
    return analysis.suggestions(wh, tenancy.get_tenant(wh, who.tenant_id), _sel(from_, to, where))


class FunnelsIn(BaseModel):
    """Funnels to evaluate (the YAML file's structure, as JSON)."""

    funnels: list[Funnel] = Field(min_length=1, max_length=50)


@router.post("/journeys/funnels", summary="Fallout per step of declared funnels")
def funnels(
    body: FunnelsIn, who: Reader, wh: HistoryDep, from_: From = None, to: To = None, where: Where = None,
) -> list[dict[str, Any]]:
    """Units reaching each step, fallout and conversion."""
    t = tenancy.get_tenant(wh, who.tenant_id)
    return [evaluate(wh, t, f, _sel(from_, to, where)) for f in body.funnels]


@router.get("/customers/{customer_id}/journey", summary="One customer's journey across channels")
def customer(
    who: Reader, wh: HistoryDep,
    customer_id: Annotated[str, Path(min_length=1, max_length=200, description="Customer id.")],
) -> dict[str, Any]:
    """Every step and contact of the customer in time order (404 when the tenant does not know them)."""
    return customer_journey(wh, tenancy.get_tenant(wh, who.tenant_id), customer_id)


@router.get("/journeys/perception/{view}", summary="Churned vs retained, dissatisfied customers, high ARPU")
def perception_view(
    who: Reader, wh: HistoryDep,
    view: Annotated[str, Path(pattern="^(churn|dissatisfied|arpu)$", description="churn, dissatisfied or arpu.")],
    from_: From = None, to: To = None, where: Where = None,
) -> dict[str, Any]:
    """Effect sizes with confidence intervals, or the paths and reasons that set dissatisfied customers apart."""
    from callops.journey import perception

    funcs = {"churn": perception.churn_comparison, "dissatisfied": perception.dissatisfied,
             "arpu": perception.high_arpu}
    return funcs[view](wh, tenancy.get_tenant(wh, who.tenant_id), _sel(from_, to, where))


@router.get("/journeys/cost", summary="Cost per contact per channel, e-channel share, true containment, diversion")
def cost_view(who: Reader, wh: HistoryDep) -> dict[str, Any]:
    """From the tenant's journey parameters (agent cost per hour, channel costs, containment hours)."""
    from callops.journey import cost

    t = tenancy.get_tenant(wh, who.tenant_id)
    return {**cost.channel_costs(wh, t), "containment": cost.containment(wh, t), "weeks": cost.diversion(wh, t)}
