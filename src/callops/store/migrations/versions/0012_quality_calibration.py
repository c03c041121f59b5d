"""Quality: calibration sessions and their blind ratings (issue 14).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

Written by hand; it does not import the models, so it keeps describing this revision when the models move on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("qa_calibration_sessions", "qa_calibration_ratings")


def _id_type() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


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
    """Create the calibration tables."""
    sessions, ratings = TABLES
    op.create_table(
        sessions,
        sa.Column("id", _id_type(), autoincrement=True, nullable=False),
        _str("name", 200),
        _str("form", 120),
        sa.Column("contacts", sa.Text(), nullable=False),
        sa.Column("evaluators", sa.Text(), nullable=False),
        _str("status", 16),
        _str("created_by", 200),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *_tenant(sessions),
    )
    op.create_table(
        ratings,
        sa.Column("id", _id_type(), autoincrement=True, nullable=False),
        sa.Column("session_id", _id_type(), nullable=False),
        _str("contact_id", 200),
        _str("evaluator", 200),
        sa.Column("answers", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *_tenant(ratings),
        sa.ForeignKeyConstraint(
            ["session_id"], [f"{sessions}.id"], name=f"fk_{ratings}_session_id_{sessions}", ondelete="CASCADE"
        ),
        sa.Index(f"ix_{ratings}_session_id", "session_id"),
        sa.UniqueConstraint(
            "session_id", "contact_id", "evaluator", name=f"uq_{ratings}_session_id_contact_id_evaluator"
        ),
    )


def downgrade() -> None:
    """Drop the calibration tables."""
    for table in reversed(TABLES):
        op.drop_table(table)
