"""Knowledge: a tenant's learned re-ranker (issue 15).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

Written by hand; it does not import the models, so it keeps describing this revision when the models move on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "kb_rerankers"


def _json(name: str) -> sa.Column:
    return sa.Column(name, sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False)


def upgrade() -> None:
    """Create ``kb_rerankers``: one row per tenant."""
    op.create_table(
        TABLE,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        _json("model"),
        _json("report"),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=f"fk_{TABLE}_tenant_id_tenants",
                                ondelete="CASCADE"),
        sa.Index(f"ix_{TABLE}_tenant_id", "tenant_id"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{TABLE}"),
        sa.UniqueConstraint("tenant_id", name=f"uq_{TABLE}_tenant_id"),
    )


def downgrade() -> None:
    """Drop the re-ranker table."""
    op.drop_table(TABLE)
