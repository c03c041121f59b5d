"""the floor: adherence exceptions, attendance, HR cases, overtime and VTO offers (issue 19).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

Written by hand; it does not import the models, so it keeps describing this revision when the models move on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TABLES = ("floor_exceptions", "floor_hr_cases", "floor_offers", "floor_schedule_versions")


def _id() -> sa.Column:
    return sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False)


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _json(name: str) -> sa.Column:
    return sa.Column(name, sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False)


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
    """Create the floor tables."""
    op.create_table(
        "floor_exceptions",
        _id(),
        _str("agent_id", 200),
        _str("kind", 16),
        _ts("start_at"),
        _ts("end_at"),
        sa.Column("note", sa.Text(), nullable=True),
        _str("created_by", 200),
        _ts("created_at"),
        *_tenant("floor_exceptions"),
        _check("floor_exceptions", "kind", ("meeting", "coaching", "training", "system", "other")),
        sa.Index("ix_floor_exceptions_agent_id", "agent_id"),
    )
    op.create_table(
        "floor_hr_cases",
        _id(),
        _str("agent_id", 200),
        _str("team", 200, nullable=True),
        _str("rule", 100),
        _str("period", 10),
        _str("owner", 200),
        _str("status", 16),
        sa.Column("summary", sa.Text(), nullable=False),
        _json("evidence"),
        sa.Column("note", sa.Text(), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        *_tenant("floor_hr_cases"),
        sa.UniqueConstraint("tenant_id", "agent_id", "rule", "period",
                            name="uq_floor_hr_cases_tenant_id_agent_id_rule_period"),
        _check("floor_hr_cases", "status", ("open", "in_progress", "closed", "dismissed")),
    )
    op.create_table(
        "floor_offers",
        _id(),
        _str("kind", 16),
        _str("agent_id", 200),
        _str("queue", 200, nullable=True),
        _ts("start_at"),
        _ts("end_at"),
        sa.Column("sl_before", sa.Float(), nullable=True),
        sa.Column("sl_after", sa.Float(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        _str("status", 16),
        _str("created_by", 200),
        _ts("created_at"),
        _str("decided_by", 200, nullable=True),
        _ts("decided_at", nullable=True),
        sa.Column("schedule_version", sa.Integer(), nullable=True),
        *_tenant("floor_offers"),
        _check("floor_offers", "kind", ("overtime", "vto")),
        _check("floor_offers", "status", ("open", "accepted", "declined", "withdrawn", "expired")),
        sa.Index("ix_floor_offers_agent_id", "agent_id"),
    )
    op.create_table(
        "floor_schedule_versions",
        _id(),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _json("added"),
        _json("removed"),
        sa.Column("reason", sa.Text(), nullable=False),
        _str("created_by", 200),
        _ts("created_at"),
        *_tenant("floor_schedule_versions"),
        sa.UniqueConstraint("tenant_id", "day", "version", name="uq_floor_schedule_versions_tenant_id_day_version"),
    )


def downgrade() -> None:
    """Drop the floor tables."""
    for table in reversed(TABLES):
        op.drop_table(table)
