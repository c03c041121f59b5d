"""campaigns: campaign states, pause and resume history (issue 12).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

Written by hand; it does not import the models, so it keeps describing this revision when the models move on.
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the campaigns tables (none yet: the revision keeps the chain linear while the domain is built)."""


def downgrade() -> None:
    """Drop the campaigns tables."""
