"""Platform: saved views shared with a team, users' teams and home boards (issue 16).

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-06

Written by hand; it does not import the models, so it keeps describing this revision when the models move on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add view visibility and team, the users' team, and the home-board table."""
    with op.batch_alter_table("saved_views") as batch:
        batch.add_column(sa.Column("visibility", sa.String(16), nullable=True))
        batch.add_column(sa.Column("team", sa.String(100), nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("team", sa.String(100), nullable=True))
    big = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        "home_boards",
        sa.Column("id", big, autoincrement=True, nullable=False),
        sa.Column("user_id", big, nullable=False),
        sa.Column("spec", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name="fk_home_boards_tenant_id_tenants",
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_home_boards_user_id_users", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_home_boards"),
        sa.UniqueConstraint("tenant_id", "user_id", name="uq_home_boards_tenant_id_user_id"),
    )
    op.create_index("ix_home_boards_tenant_id", "home_boards", ["tenant_id"])


def downgrade() -> None:
    """Drop the home-board table and the added columns."""
    op.drop_index("ix_home_boards_tenant_id", table_name="home_boards")
    op.drop_table("home_boards")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("team")
    with op.batch_alter_table("saved_views") as batch:
        batch.drop_column("team")
        batch.drop_column("visibility")
