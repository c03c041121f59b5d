"""Platform: saved views, alert rules and the live→warehouse cursor (issue 16).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

Written by hand; it does not import the models, so it keeps describing this revision when the models move on.
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet: reserved for saved views, alert rules and the live→warehouse cursor (issue 16)."""


def downgrade() -> None:
    """Nothing yet: reserved for saved views, alert rules and the live→warehouse cursor (issue 16)."""
