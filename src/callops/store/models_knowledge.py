"""Store tables of the knowledge base (issue 15): articles, their versions, usage events, tasks, synonyms,
the learned re-ranker.

The head row (``kb_articles``) carries the current content so search can index it without joins; every
change of content writes a new ``kb_article_versions`` row as well, so history is never lost.
Created by migrations 0006 and 0014 (written by hand; ``tests/store/test_migrations.py`` checks the two agree).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from callops.store.models import Base, Id, JSONType, TenantOwned, _in, utcnow


class ArticleState(StrEnum):
    """Life cycle of an article: draft → in_review → published → archived (and back to draft to rework)."""

    draft = "draft"
    in_review = "in_review"
    published = "published"
    archived = "archived"


class Confidence(StrEnum):
    """KCS confidence of an article's content."""

    wip = "wip"  # work in progress
    not_validated = "not_validated"
    validated = "validated"


class Audience(StrEnum):
    """Who an article is written for."""

    customer = "customer"
    agent = "agent"
    account_manager = "account_manager"
    monitor = "monitor"
    manager = "manager"


class EventKind(StrEnum):
    """What happened to an article around a contact (and searches, whose result is recorded too)."""

    searched = "searched"
    suggested = "suggested"
    opened = "opened"
    used = "used"
    linked = "linked"
    sent = "sent"


class TaskStatus(StrEnum):
    """A knowledge-gap task's state."""

    open = "open"
    done = "done"


class KbArticle(TenantOwned, Base):
    """An article: its current content, state and verification dates (the history is in the versions)."""

    __tablename__ = "kb_articles"
    __table_args__ = (
        UniqueConstraint("tenant_id", "key"),
        CheckConstraint(_in("state", ArticleState), name="state"),
        CheckConstraint(_in("confidence", Confidence), name="confidence"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    phrasings: Mapped[list[str]] = mapped_column(JSONType)
    tags: Mapped[list[str]] = mapped_column(JSONType)
    audiences: Mapped[list[str]] = mapped_column(JSONType)
    language: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str] = mapped_column(String(200))
    verify_every_days: Mapped[int] = mapped_column(Integer)
    verified_at: Mapped[datetime]
    valid_to: Mapped[date | None] = mapped_column(Date)
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class KbArticleVersion(TenantOwned, Base):
    """One saved version of an article's content and state."""

    __tablename__ = "kb_article_versions"
    __table_args__ = (UniqueConstraint("article_id", "version"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KbEvent(TenantOwned, Base):
    """A search, or an article suggested / opened / used / linked / sent around a contact."""

    __tablename__ = "kb_events"
    __table_args__ = (CheckConstraint(_in("kind", EventKind), name="kind"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    article_key: Mapped[str | None] = mapped_column(String(100), index=True)
    contact_id: Mapped[str | None] = mapped_column(String(200))
    query: Mapped[str | None] = mapped_column(Text)
    hits: Mapped[int | None] = mapped_column(Integer)
    queue: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class KbTask(TenantOwned, Base):
    """A knowledge-gap task: a hot topic that no published article covers, for its owner to write."""

    __tablename__ = "kb_tasks"
    __table_args__ = (
        UniqueConstraint("tenant_id", "topic_key"),
        CheckConstraint(_in("status", TaskStatus), name="status"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    topic_key: Mapped[str] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(300))
    owner: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.open.value)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KbSynonyms(TenantOwned, Base):
    """A tenant's synonym groups (the YAML text as written and its parsed groups)."""

    __tablename__ = "kb_synonyms"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    yaml_text: Mapped[str] = mapped_column(Text)
    groups: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class KbReranker(TenantOwned, Base):
    """A tenant's re-ranker learned from its labelled questions (plain weights, see ``callops.knowledge.rerank``).

    ``active`` is off when the held-out check at training found it worse than the index alone (kept for the
    record; searches then ignore it). ``report`` holds what ``callops kb train`` printed.
    """

    __tablename__ = "kb_rerankers"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    model: Mapped[dict[str, Any]]
    report: Mapped[dict[str, Any]]
    active: Mapped[bool] = mapped_column(Boolean)
    trained_at: Mapped[datetime] = mapped_column(default=utcnow)
