"""Store tables of the people loop's self-service part (issue 19): who a user is on the roster, requests, versions.

``people_agent_links`` ties a user (role ``agent``) to one roster agent; a team lead's team is the ``users.team``
column (migration 0003). ``people_requests`` are time-off, swap and trade requests with the checks they got and
their decision. ``people_schedule_versions`` is the tenant's one schedule history: each change an approved
request (``source`` request) or an accepted overtime/VTO offer (``source`` floor, migration 0013) made, with the
rows before and after, numbered per tenant. Created by migration 0008 (written by hand;
``tests/store/test_migrations.py`` checks the two agree).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from callops.store.models import Base, Id, TenantOwned, utcnow

REQUEST_KINDS = ("time_off", "swap", "trade")
# pending_colleague: a swap waits for its colleague (a trade for a taker from the pool); pending_lead: for the team
# lead; approved / refused / cancelled are final.
REQUEST_STATUSES = ("pending_colleague", "pending_lead", "approved", "refused", "cancelled")


class AgentLink(TenantOwned, Base):
    """A user who is a roster agent (one agent per user, one user per agent)."""

    __tablename__ = "people_agent_links"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id"), UniqueConstraint("tenant_id", "agent_id"))

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(Id, ForeignKey("users.id", ondelete="CASCADE"))
    agent_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PeopleRequest(TenantOwned, Base):
    """A time-off, swap or trade request, its automatic checks and its decision."""

    __tablename__ = "people_requests"
    __table_args__ = (
        Index("ix_people_requests_agent_id", "agent_id"),
        Index("ix_people_requests_team", "team"),
        CheckConstraint(f"kind IN ({', '.join(repr(k) for k in REQUEST_KINDS)})", name="kind"),
        CheckConstraint(f"status IN ({', '.join(repr(k) for k in REQUEST_STATUSES)})", name="status"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[str] = mapped_column(String(200))
    team: Mapped[str | None] = mapped_column(String(100))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    reason: Mapped[str | None] = mapped_column(Text)
    colleague_id: Mapped[str | None] = mapped_column(String(200))  # swap: named; trade: whoever took it
    status: Mapped[str] = mapped_column(String(24))
    checks: Mapped[dict[str, Any]]
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)
    schedule_version: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RequestScheduleVersion(TenantOwned, Base):
    """One change to the tenant's schedule (an approved request or an accepted floor offer): the affected rows
    before and after, why, and by whom."""

    __tablename__ = "people_schedule_versions"
    __table_args__ = (UniqueConstraint("tenant_id", "version"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    version: Mapped[int] = mapped_column(Integer)
    request_id: Mapped[int | None] = mapped_column(Id, ForeignKey("people_requests.id", ondelete="SET NULL"))
    agents: Mapped[dict[str, Any]]  # {"agent_ids": [...]}
    before: Mapped[dict[str, Any]]  # {"rows": [...]} schedule rows of those agents in the window, before
    after: Mapped[dict[str, Any]]  # {"rows": [...]} and after
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16), server_default="request", default="request")  # or "floor"
