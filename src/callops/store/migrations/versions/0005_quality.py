"""Quality: sampling-plan draws and coaching tasks (issue 14).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

Written by hand; it does not import the models, so it keeps describing this revision when the models move on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("qa_draws", "qa_coaching_tasks")


def _id() -> sa.Column:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False)


def _str(name: str, length: int, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _tenant(table: str) -> list:
    return [
        _str("tenant_id", 63),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant_id_tenants", ondelete="CASCADE"
        ),
        sa.Index(f"ix_{table}_tenant_id", "tenant_id"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
    ]


def upgrade() -> None:
    """Create the quality tables."""
    op.create_table(
        "qa_draws",
        _id(),
        _str("period", 7),
        _str("contact_id", 200),
        _str("agent_id", 200),
        _str("stream", 16),
        _str("stratum", 300, nullable=True),
        sa.Column("inclusion_probability", sa.Float(), nullable=True),
        sa.Column("weight", sa.Float(), nullable=True),
        _str("reasons", 200, nullable=True),
        _str("form", 120),
        sa.Column("seed", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *_tenant("qa_draws"),
        sa.UniqueConstraint("tenant_id", "period", "contact_id", name="uq_qa_draws_tenant_id_period_contact_id"),
    )
    op.create_table(
        "qa_coaching_tasks",
        _id(),
        _str("agent_id", 200),
        _str("owner", 200),
        sa.Column("reason", sa.Text(), nullable=False),
        _str("period", 7),
        sa.Column("follow_up_on", sa.Date(), nullable=False),
        _str("status", 16),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        *_tenant("qa_coaching_tasks"),
    )


def downgrade() -> None:
    """Drop the quality tables."""
    for table in reversed(TABLES):
        op.drop_table(table)
