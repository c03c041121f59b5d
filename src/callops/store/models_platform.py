"""Store tables of the platform (issue 16): each user's home board of saved views (migration 0003) and the
custom alert rules' epoch per tenant, which running live hubs poll to pick up saved rules (migration 0009)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from callops.store.models import Base, Id, TenantOwned, utcnow


class HomeBoard(TenantOwned, Base):
    """A user's home board: the saved views it shows, in order, each with its tile size."""

    __tablename__ = "home_boards"
    __table_args__ = (UniqueConstraint("tenant_id", "user_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    spec: Mapped[dict[str, Any]]  # {"tiles": [{"view_id": 3, "w": 6, "h": 1}, ...]}
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RuleEpoch(TenantOwned, Base):
    """A tenant's alert-rule epoch: bumped in the transaction of every saved rule version, so a running live hub
    polls one row (not every rule document) to learn that its rules changed."""

    __tablename__ = "rule_epochs"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    epoch: Mapped[int] = mapped_column(default=0)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
