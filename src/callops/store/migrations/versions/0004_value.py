"""Value: customer value, tags, strategies, care tasks, offers and campaigns (issues 11, 12).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

Written by hand; it does not import the models, so it keeps describing this revision when the models move on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the care-task table of customer value (issue 11)."""
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "value_care_tasks",
        sa.Column("id", big, autoincrement=True, nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("customer_id", sa.String(200), nullable=False),
        sa.Column("team", sa.String(100), nullable=False),
        sa.Column("owner", sa.String(200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_value_care_tasks_tenant_id_tenants",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_value_care_tasks"),
    )
    op.create_index("ix_value_care_tasks_tenant_id", "value_care_tasks", ["tenant_id"])
    op.create_index("ix_value_care_tasks_tenant_id_rule_customer_id", "value_care_tasks",
                    ["tenant_id", "rule", "customer_id"])


def downgrade() -> None:
    """Drop the care-task table."""
    op.drop_table("value_care_tasks")
