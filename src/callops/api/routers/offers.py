"""Offers (issue 12): the offer library in force, re-training the propensity model, recording an offer's outcome.

The offer itself comes with the decision (``POST /api/decide``, value router). The outcome an agent reports
(accepted / declined) counts for the contact-policy limits; a decision of another tenant answers 404.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from callops import tenancy
from callops.api.deps import StoreDep, WarehouseDep, require
from callops.api.encode import clean
from callops.store.roles import Permission
from callops.store.users import Principal

router = APIRouter(tags=["offers"])
Reader = Annotated[Principal, Depends(require(Permission.campaigns_read))]
Manager = Annotated[Principal, Depends(require(Permission.campaigns_manage))]
Decider = Annotated[Principal, Depends(require(Permission.value_read))]  # whoever asks for decisions


class Outcome(StrEnum):
    """What the customer said."""

    accepted = "accepted"
    declined = "declined"


class OutcomeIn(BaseModel):
    """The outcome of a decision's offer."""

    outcome: Outcome


@router.get("/offers", summary="The offer library and propensity model")
def offers(who: Reader) -> dict[str, Any]:
    """Offers with value, prior and business weight; contact policy; levers; the current propensity model."""
    from callops.marketing.cli_offers import library_summary

    return clean(library_summary(who.tenant_id))


@router.post("/offers/train", summary="Re-train the propensity model")
def train(who: Manager, wh: WarehouseDep) -> dict[str, Any]:
    """Batch re-training on the tenant's presented/accepted offers of the last year (a new model version)."""
    from callops.marketing.propensity import train as run

    return clean(run(wh, tenancy.get_tenant(wh, who.tenant_id)))


@router.post("/offers/decisions/{decision_id}/outcome", summary="Record an offer's outcome")
def outcome(decision_id: str, body: OutcomeIn, who: Decider, store: StoreDep) -> dict[str, Any]:
    """Accepted or declined (a declined offer is not repeated to the customer within the cool-down); 404 when the
    decision is not this tenant's."""
    from callops.marketing.decisionlog import record_outcome

    return clean(record_outcome(store, who.tenant_id, decision_id, body.outcome.value, datetime.now(UTC)))
