"""Knowledge: knowledge articles, versions, events (issue 15).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

Written by hand; it does not import the models, so it keeps describing this revision when the models move on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("kb_articles", "kb_article_versions", "kb_events", "kb_tasks", "kb_synonyms")


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
    """Create the knowledge tables."""
    op.create_table(
        "kb_articles",
        _id(),
        _str("key", 100),
        sa.Column("version", sa.Integer(), nullable=False),
        _str("title", 300),
        sa.Column("body", sa.Text(), nullable=False),
        _json("phrasings"),
        _json("tags"),
        _json("audiences"),
        _str("language", 8),
        _str("state", 16),
        _str("confidence", 16),
        _str("owner", 200),
        sa.Column("verify_every_days", sa.Integer(), nullable=False),
        _ts("verified_at"),
        sa.Column("valid_to", sa.Date(), nullable=True),
        _str("reviewed_by", 200, nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        *_tenant("kb_articles"),
        sa.UniqueConstraint("tenant_id", "key", name="uq_kb_articles_tenant_id_key"),
        _check("kb_articles", "state", ("draft", "in_review", "published", "archived")),
        _check("kb_articles", "confidence", ("wip", "not_validated", "validated")),
    )
    op.create_table(
        "kb_article_versions",
        _id(),
        sa.Column("article_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _json("content"),
        _str("state", 16),
        _str("actor", 200),
        sa.Column("note", sa.Text(), nullable=True),
        _ts("created_at"),
        *_tenant("kb_article_versions"),
        sa.ForeignKeyConstraint(["article_id"], ["kb_articles.id"],
                                name="fk_kb_article_versions_article_id_kb_articles", ondelete="CASCADE"),
        sa.UniqueConstraint("article_id", "version", name="uq_kb_article_versions_article_id_version"),
        sa.Index("ix_kb_article_versions_article_id", "article_id"),
    )
    op.create_table(
        "kb_events",
        _id(),
        _str("kind", 16),
        _str("article_key", 100, nullable=True),
        _str("contact_id", 200, nullable=True),
        sa.Column("query", sa.Text(), nullable=True),
        sa.Column("hits", sa.Integer(), nullable=True),
        _str("queue", 200, nullable=True),
        _str("actor", 200, nullable=True),
        _ts("at"),
        *_tenant("kb_events"),
        _check("kb_events", "kind", ("searched", "suggested", "opened", "used", "linked", "sent")),
        sa.Index("ix_kb_events_article_key", "article_key"),
        sa.Index("ix_kb_events_at", "at"),
    )
    op.create_table(
        "kb_tasks",
        _id(),
        _str("topic_key", 300),
        _str("title", 300),
        _str("owner", 200),
        _str("status", 16),
        _json("details"),
        _ts("created_at"),
        *_tenant("kb_tasks"),
        sa.UniqueConstraint("tenant_id", "topic_key", name="uq_kb_tasks_tenant_id_topic_key"),
        _check("kb_tasks", "status", ("open", "done")),
    )
    op.create_table(
        "kb_synonyms",
        _id(),
        sa.Column("yaml_text", sa.Text(), nullable=False),
        _json("groups"),
        _ts("updated_at"),
        *_tenant("kb_synonyms"),
        sa.UniqueConstraint("tenant_id", name="uq_kb_synonyms_tenant_id"),
    )


def downgrade() -> None:
    """Drop the knowledge tables, children first."""
    for table in reversed(TABLES):
        op.drop_table(table)
