"""campaigns: campaign states, pause and resume history (issue 12).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

Written by hand; it does not import the models, so it keeps describing this revision when the models move on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("campaign_states", "campaign_state_events")


def _id() -> sa.Column:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False)


def _str(name: str, length: int, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _tenant(table: str) -> list:
    return [
        _str("tenant_id", 63),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant_id_tenants",
                                ondelete="CASCADE"),
        sa.Index(f"ix_{table}_tenant_id", "tenant_id"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
    ]


def _check(table: str, column: str, values: Sequence[str]) -> sa.CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=f"ck_{table}_{column}")


def upgrade() -> None:
    """Create the campaigns tables."""
    op.create_table(
        "campaign_states",
        _id(),
        _str("campaign_id", 200),
        _str("state", 16),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _str("changed_by", 200),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        *_tenant("campaign_states"),
        sa.UniqueConstraint("tenant_id", "campaign_id", name="uq_campaign_states_tenant_id_campaign_id"),
        _check("campaign_states", "state", ("active", "paused")),
        sa.Index("ix_campaign_states_tenant_id_state", "tenant_id", "state"),
    )
    op.create_table(
        "campaign_state_events",
        _id(),
        _str("campaign_id", 200),
        _str("kind", 16),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        _str("actor", 200),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        *_tenant("campaign_state_events"),
        _check("campaign_state_events", "kind", ("paused", "resumed")),
        sa.Index("ix_campaign_state_events_tenant_id_campaign_id", "tenant_id", "campaign_id"),
    )


def downgrade() -> None:
    """Drop the campaigns tables."""
    for table in reversed(TABLES):
        op.drop_table(table)
