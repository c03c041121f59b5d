"""one platform: alert rule hysteresis and recipients, user teams (issue 16).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

Written by hand; it does not import the models, so it keeps describing this revision when the models move on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create ``rule_epochs``: one row per tenant, bumped with every saved alert rule (live hubs poll it)."""
    op.create_table(
        "rule_epochs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_rule_epochs_tenant_id_tenants",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_rule_epochs"),
        sa.UniqueConstraint("tenant_id", name="uq_rule_epochs_tenant_id"),
    )
    op.create_index("ix_rule_epochs_tenant_id", "rule_epochs", ["tenant_id"])


def downgrade() -> None:
    """Drop ``rule_epochs``."""
    op.drop_index("ix_rule_epochs_tenant_id", table_name="rule_epochs")
    op.drop_table("rule_epochs")
