"""one platform: alert rule hysteresis and recipients, user teams (issue 16).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

Written by hand; it does not import the models, so it keeps describing this revision when the models move on.
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the platform tables (none yet: the revision keeps the chain linear while the domain is built)."""


def downgrade() -> None:
    """Drop the platform tables."""
