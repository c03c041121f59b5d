"""the floor: adherence exceptions, attendance, HR cases, overtime and VTO offers (issue 19).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

Written by hand; it does not import the models, so it keeps describing this revision when the models move on.
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the floor tables (none yet: the revision keeps the chain linear while the domain is built)."""


def downgrade() -> None:
    """Drop the floor tables."""
