"""Quality: quality forms, evaluations, plans, coaching (issue 14).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

Written by hand; it does not import the models, so it keeps describing this revision when the models move on.
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet: reserved for quality forms, evaluations, plans, coaching (issue 14)."""


def downgrade() -> None:
    """Nothing yet: reserved for quality forms, evaluations, plans, coaching (issue 14)."""
