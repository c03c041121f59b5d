"""marketing offers: decision log with offer probabilities, offer outcomes (issue 12).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06

Written by hand; it does not import the models, so it keeps describing this revision when the models move on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the marketing decision log (issue 12)."""
    op.create_table(
        "marketing_decisions",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("customer_id", sa.String(200), nullable=False),
        sa.Column("contact_id", sa.String(200), nullable=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(100), nullable=True),
        sa.Column("offer_id", sa.String(100), nullable=True),
        sa.Column("campaign_id", sa.String(200), nullable=True),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("propensity", sa.Float(), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("weight", sa.Float(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("policy", sa.String(32), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=True),
        sa.Column("eligible", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("why", sa.String(200), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.CheckConstraint("outcome IS NULL OR outcome IN ('accepted', 'declined')",
                           name="ck_marketing_decisions_outcome"),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_marketing_decisions_tenant_id_tenants",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_marketing_decisions"),
    )
    op.create_index("ix_marketing_decisions_tenant_id", "marketing_decisions", ["tenant_id"])
    op.create_index("ix_marketing_decisions_tenant_id_customer_id_decided_at", "marketing_decisions",
                    ["tenant_id", "customer_id", "decided_at"])
    op.create_index("ix_marketing_decisions_tenant_id_offer_id_decided_at", "marketing_decisions",
                    ["tenant_id", "offer_id", "decided_at"])


def downgrade() -> None:
    """Drop the marketing decision log."""
    op.drop_table("marketing_decisions")
