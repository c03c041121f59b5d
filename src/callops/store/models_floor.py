"""Store tables of the floor (issue 19, parts 3-5): adherence exceptions, HR cases, overtime/VTO offers.

``floor_exceptions`` are the times an agent is excused from adherence (a meeting, coaching, system trouble);
``floor_hr_cases`` the cases the YAML attendance rules raise, with an owner and a status; ``floor_offers`` the
overtime and voluntary-time-off offers the intraday picture proposes. An accepted offer is a new, audited version
of the tenant's schedule in ``people_schedule_versions`` (migration 0013 moved the floor's own table there).
Created by migration 0011 (written by hand; ``tests/store/test_migrations.py`` checks the two agree).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from callops.store.models import Base, Id, JSONType, TenantOwned, _in, utcnow


class ExceptionKind(StrEnum):
    """Why an agent is excused from adherence."""

    meeting = "meeting"
    coaching = "coaching"
    training = "training"
    system = "system"
    other = "other"


class CaseStatus(StrEnum):
    """Where an HR case stands."""

    open = "open"
    in_progress = "in_progress"
    closed = "closed"
    dismissed = "dismissed"


class OfferKind(StrEnum):
    """Overtime (more hours) or voluntary time off (fewer)."""

    overtime = "overtime"
    vto = "vto"


class OfferStatus(StrEnum):
    """An offer's life: open until an agent accepts it, or it is withdrawn or expires."""

    open = "open"
    accepted = "accepted"
    declined = "declined"
    withdrawn = "withdrawn"
    expired = "expired"


class FloorException(TenantOwned, Base):
    """An agent excused from adherence between ``start_at`` and ``end_at``."""

    __tablename__ = "floor_exceptions"
    __table_args__ = (CheckConstraint(_in("kind", ExceptionKind), name="kind"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    start_at: Mapped[datetime] = mapped_column()
    end_at: Mapped[datetime] = mapped_column()
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class HrCase(TenantOwned, Base):
    """A case an attendance rule raised for one agent and period (one per agent, rule and period)."""

    __tablename__ = "floor_hr_cases"
    __table_args__ = (
        UniqueConstraint("tenant_id", "agent_id", "rule", "period"),
        CheckConstraint(_in("status", CaseStatus), name="status"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(String(200))
    team: Mapped[str | None] = mapped_column(String(200))
    rule: Mapped[str] = mapped_column(String(100))
    period: Mapped[str] = mapped_column(String(10))
    owner: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="open")
    summary: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class FloorOffer(TenantOwned, Base):
    """An overtime or VTO offer to one agent for one stretch of time, with the service level it buys or costs."""

    __tablename__ = "floor_offers"
    __table_args__ = (
        CheckConstraint(_in("kind", OfferKind), name="kind"),
        CheckConstraint(_in("status", OfferStatus), name="status"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[str] = mapped_column(String(200), index=True)
    queue: Mapped[str | None] = mapped_column(String(200))
    start_at: Mapped[datetime] = mapped_column()
    end_at: Mapped[datetime] = mapped_column()
    sl_before: Mapped[float | None] = mapped_column(Float)
    sl_after: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column()
    schedule_version: Mapped[int | None] = mapped_column(Integer)
