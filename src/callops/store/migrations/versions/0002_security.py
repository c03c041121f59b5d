"""Security: security and sessions (issue 21).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06

Written by hand; it does not import the models, so it keeps describing this revision when the models move on.
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet: reserved for security and sessions (issue 21)."""


def downgrade() -> None:
    """Nothing yet: reserved for security and sessions (issue 21)."""
