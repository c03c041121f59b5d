"""Store table of customer value (issue 11): care tasks created by care rules.

One care rule creates one task per customer until that task is resolved (checked when tasks are
generated). Tasks move open → contacted → resolved; every move is audited. Created by migration 0004.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from callops.store.models import Base, Id, TenantOwned, utcnow


class CareTask(TenantOwned, Base):
    """A care or repair action for one customer: who owns it, why, by when, and how far it got."""

    __tablename__ = "value_care_tasks"
    __table_args__ = (Index(None, "tenant_id", "rule", "customer_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    rule: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[str] = mapped_column(String(200))
    team: Mapped[str] = mapped_column(String(100))
    owner: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="open")
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
