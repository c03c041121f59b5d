"""Campaigns (issue 12): benefit evaluation, one campaign's trend, pause and resume.

``GET /api/campaigns`` evaluates every campaign of the caller's tenant (cost, return, score, the SPRT's
decision and its evidence); ``GET /api/campaigns/{id}`` adds the trend, the test's path and the pause history.
Pause and resume are audited, a pause is notified, and the decision path drops a paused campaign's offers
within a minute. A campaign of another tenant answers 404 like a missing one.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from callops import tenancy
from callops.api.deps import StoreDep, WarehouseDep, require
from callops.api.encode import clean
from callops.api.errors import check_engine_dates
from callops.store.roles import Permission
from callops.store.users import Principal

router = APIRouter(tags=["campaigns"])
Reader = Annotated[Principal, Depends(require(Permission.campaigns_read))]
Manager = Annotated[Principal, Depends(require(Permission.campaigns_manage))]
From = Annotated[date | None, Query(alias="from", description="First local date (default: the data's first).")]
To = Annotated[date | None, Query(alias="to", description="Last local date (default: the data's last).")]


class Grain(StrEnum):
    """Trend buckets."""

    day = "day"
    week = "week"


class ReasonIn(BaseModel):
    """Why a manager pauses or resumes a campaign (kept in the audit log)."""

    reason: str = Field(min_length=1, max_length=2000)


@router.get("/campaigns", summary="Campaign benefit evaluation")
def list_campaigns(who: Reader, wh: WarehouseDep, store: StoreDep, start: From = None,
                   end: To = None) -> dict[str, Any]:
    """Per campaign: presented, accepted, cost, return, cost/return, score with its parts, decision and evidence."""
    from callops.marketing.campaigns import evaluate_tenant

    check_engine_dates(**{"from": start, "to": end})
    return clean(evaluate_tenant(wh, store, tenancy.get_tenant(wh, who.tenant_id), start, end))


@router.get("/campaigns/service-vs-marketing", summary="Service against marketing per agent hour")
def service_marketing(who: Reader, wh: WarehouseDep, start: From = None, end: To = None) -> dict[str, Any]:
    """The V3 balance model fed with the measured pop-up, recommendation and handle figures of the period."""
    from callops.marketing.campaigns import service_vs_marketing

    check_engine_dates(**{"from": start, "to": end})
    return clean(service_vs_marketing(wh, tenancy.get_tenant(wh, who.tenant_id), start, end))


@router.get("/campaigns/{campaign_id}", summary="One campaign: evaluation, trend, test path, pauses")
def campaign(campaign_id: str, who: Reader, wh: WarehouseDep, store: StoreDep, start: From = None,
             end: To = None, grain: Grain = Grain.week) -> dict[str, Any]:
    """The campaign's evaluation with its trend per day or week (404 when not this tenant's)."""
    from callops.marketing.campaigns import trend

    check_engine_dates(**{"from": start, "to": end})
    return clean(trend(wh, store, tenancy.get_tenant(wh, who.tenant_id), campaign_id, start, end,
                       grain=grain.value))


@router.post("/campaigns/{campaign_id}/pause", summary="Pause a campaign (audited, notified)")
def pause(campaign_id: str, body: ReasonIn, who: Manager, wh: WarehouseDep, store: StoreDep) -> dict[str, Any]:
    """Take the campaign's offers out of decisions (within a minute); 404 when not this tenant's."""
    from callops.marketing.campaigns import set_state

    return clean(set_state(wh, store, who.tenant_id, campaign_id, "pause", actor=who.user_name,
                           reason=body.reason))


@router.post("/campaigns/{campaign_id}/resume", summary="Resume a paused campaign, with a reason (audited)")
def resume(campaign_id: str, body: ReasonIn, who: Manager, wh: WarehouseDep, store: StoreDep) -> dict[str, Any]:
    """Make the campaign's offers again; its test restarts on presentations after now. 404 when not this
    tenant's."""
    from callops.marketing.campaigns import set_state

    return clean(set_state(wh, store, who.tenant_id, campaign_id, "resume", actor=who.user_name,
                           reason=body.reason))
