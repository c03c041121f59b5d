"""Store table of the platform (issue 16): each user's home board of saved views. Created by migration 0003."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, UniqueConstraint
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
