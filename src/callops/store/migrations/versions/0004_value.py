"""Value: customer value, tags, strategies, care tasks, offers and campaigns (issues 11, 12).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

Written by hand; it does not import the models, so it keeps describing this revision when the models move on.
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet: reserved for customer value, tags, strategies, care tasks, offers and campaigns (issues 11, 12)."""


def downgrade() -> None:
    """Nothing yet: reserved for customer value, tags, strategies, care tasks, offers and campaigns (issues 11, 12)."""
