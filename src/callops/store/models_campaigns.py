"""Store tables of campaign control (issue 12): a campaign's current state and the history of its pauses.

``campaign_states`` holds one row per campaign that was ever paused or resumed (a campaign without a row is
active); the decision path reads the paused ones (``callops.marketing.state``). ``campaign_state_events``
keeps every change with its actor, reason and the test's evidence, next to the audit log entry of the same
change. Created by migration 0010 (written by hand; ``tests/store/test_migrations.py`` checks the two agree).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from callops.store.models import Base, Id, JSONType, TenantOwned, _in, utcnow


class CampaignState(StrEnum):
    """Whether a campaign's offers may be made."""

    active = "active"
    paused = "paused"


class CampaignEventKind(StrEnum):
    """What happened to a campaign's state."""

    paused = "paused"
    resumed = "resumed"


class CampaignStateRow(TenantOwned, Base):
    """The current state of one campaign of a tenant (absent: active)."""

    __tablename__ = "campaign_states"
    __table_args__ = (
        UniqueConstraint("tenant_id", "campaign_id"),
        CheckConstraint(_in("state", CampaignState), name="state"),
        Index(None, "tenant_id", "state"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    campaign_id: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16))
    automatic: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class CampaignStateEvent(TenantOwned, Base):
    """One pause or resume of a campaign, with who did it, why, and the evidence at the time."""

    __tablename__ = "campaign_state_events"
    __table_args__ = (
        CheckConstraint(_in("kind", CampaignEventKind), name="kind"),
        Index(None, "tenant_id", "campaign_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    campaign_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    automatic: Mapped[bool] = mapped_column(Boolean)
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType)
    at: Mapped[datetime] = mapped_column(default=utcnow)
