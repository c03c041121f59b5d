"""people loop: agent links, self-service requests and their checks (issue 19).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

Written by hand; it does not import the models, so it keeps describing this revision when the models move on.
Adds the role ``agent`` (a users.role foreign key points at the seeded ``roles`` table) and three tables.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("people_agent_links", "people_requests", "people_schedule_versions")
AGENT_ROLE = {"name": "agent", "description": "a roster agent: their own schedule, KPIs and requests"}


def _idtype() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _id() -> sa.Column:
    return sa.Column("id", _idtype(), autoincrement=True, nullable=False)


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
    """Seed the ``agent`` role and create the people tables."""
    roles = sa.table("roles", sa.column("name", sa.String), sa.column("description", sa.String))
    op.bulk_insert(roles, [AGENT_ROLE])
    op.create_table(
        "people_agent_links",
        _id(),
        sa.Column("user_id", _idtype(), nullable=False),
        _str("agent_id", 200),
        _ts("created_at"),
        *_tenant("people_agent_links"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_people_agent_links_user_id_users",
                                ondelete="CASCADE"),
        sa.UniqueConstraint("tenant_id", "user_id", name="uq_people_agent_links_tenant_id_user_id"),
        sa.UniqueConstraint("tenant_id", "agent_id", name="uq_people_agent_links_tenant_id_agent_id"),
    )
    op.create_table(
        "people_requests",
        _id(),
        _str("kind", 16),
        _str("agent_id", 200),
        _str("team", 100, nullable=True),
        _ts("start_at"),
        _ts("end_at"),
        sa.Column("reason", sa.Text(), nullable=True),
        _str("colleague_id", 200, nullable=True),
        _str("status", 24),
        _json("checks"),
        _str("decided_by", 200, nullable=True),
        _ts("decided_at", nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("schedule_version", sa.Integer(), nullable=True),
        _str("created_by", 200),
        _ts("created_at"),
        _ts("updated_at"),
        *_tenant("people_requests"),
        sa.Index("ix_people_requests_agent_id", "agent_id"),
        sa.Index("ix_people_requests_team", "team"),
        _check("people_requests", "kind", ("time_off", "swap", "trade")),
        _check("people_requests", "status",
               ("pending_colleague", "pending_lead", "approved", "refused", "cancelled")),
    )
    op.create_table(
        "people_schedule_versions",
        _id(),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("request_id", _idtype(), nullable=True),
        _json("agents"),
        _json("before"),
        _json("after"),
        _str("actor", 200),
        _ts("created_at"),
        *_tenant("people_schedule_versions"),
        sa.ForeignKeyConstraint(["request_id"], ["people_requests.id"],
                                name="fk_people_schedule_versions_request_id_people_requests", ondelete="SET NULL"),
        sa.UniqueConstraint("tenant_id", "version", name="uq_people_schedule_versions_tenant_id_version"),
    )


def downgrade() -> None:
    """Drop the people tables, children first, and the ``agent`` role (its users go first)."""
    for table in reversed(TABLES):
        op.drop_table(table)
    op.execute("DELETE FROM users WHERE role = 'agent'")
    op.execute("DELETE FROM roles WHERE name = 'agent'")
