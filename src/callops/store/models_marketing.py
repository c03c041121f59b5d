"""Store table of marketing offers (issue 12): the decision log.

One row per decision at contact time that considered offers: the offer chosen (or none, and why), the parts of
its score (propensity × value × business weight), the **probability with which the policy chose it** (so another
policy can be evaluated offline by inverse propensity or doubly robust estimates), the model version, and the
outcome once the agent reports it (accepted / declined). The contact-policy limits (offers per contact and per
customer per month, no repeat of a declined offer within 30 days) are counted on these rows.

The id is made by the deciding process (a UUID), so a decision can be answered before its row is written (rows
are written in small batches off the request path, ``callops.marketing.decisionlog``). Created by migration 0007.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from callops.store.models import Base, JSONType, TenantOwned, _in, utcnow


class OfferOutcome(StrEnum):
    """What the customer said to an offer."""

    accepted = "accepted"
    declined = "declined"


class OfferDecision(TenantOwned, Base):
    """One decision at contact time about an offer, with its score parts and its choice probability."""

    __tablename__ = "marketing_decisions"
    __table_args__ = (
        CheckConstraint(f"outcome IS NULL OR {_in('outcome', OfferOutcome)}", name="outcome"),
        Index(None, "tenant_id", "customer_id", "decided_at"),
        Index(None, "tenant_id", "offer_id", "decided_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    customer_id: Mapped[str] = mapped_column(String(200))
    contact_id: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(100))
    offer_id: Mapped[str | None] = mapped_column(String(100))
    campaign_id: Mapped[str | None] = mapped_column(String(200))
    probability: Mapped[float | None] = mapped_column(Float)
    propensity: Mapped[float | None] = mapped_column(Float)
    value: Mapped[float | None] = mapped_column(Float)
    weight: Mapped[float | None] = mapped_column(Float)
    score: Mapped[float | None] = mapped_column(Float)
    policy: Mapped[str] = mapped_column(String(32))
    model_version: Mapped[int | None] = mapped_column(Integer)
    eligible: Mapped[list[Any]] = mapped_column(JSONType)
    why: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_at: Mapped[datetime | None] = mapped_column()
