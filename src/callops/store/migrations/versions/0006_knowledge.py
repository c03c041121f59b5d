"""Knowledge: knowledge articles, versions, events (issue 15).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

Written by hand; it does not import the models, so it keeps describing this revision when the models move on.
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet: reserved for knowledge articles, versions, events (issue 15)."""


def downgrade() -> None:
    """Nothing yet: reserved for knowledge articles, versions, events (issue 15)."""
