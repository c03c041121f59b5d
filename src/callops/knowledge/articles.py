"""Articles and their life cycle in the store: save (a new version each time), submit, publish, archive, verify.

Rules (issue 15):

* every change of content or state writes a ``kb_article_versions`` row: history is never overwritten;
* only a caller with ``kb:review`` may publish (``can_review``); authors move drafts to review;
* an article whose ``valid_to`` is past is *expired*: out of customer-facing search, shown to authors with a banner;
* owners are reminded through the outbox ``REMIND_DAYS`` before ``verified_at + verify_every_days``;
* a body may link to other articles as ``[text](kb:ID)``; a link to the article itself is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import func
from sqlalchemy.orm import Session

from callops.errors import CallopsError, NotFound
from callops.store import audit, outbox
from callops.store.models_knowledge import ArticleState, Audience, Confidence, KbArticle, KbArticleVersion
from callops.store.scoping import scoped, tenant_key

KEY = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
LINK = re.compile(r"\]\(kb:([^)\s]+)\)")
REMIND_DAYS = 7
LANGUAGES = ("zh", "en", "mixed")

# (from, to) → who may do it: "author" (kb:author) or "review" (kb:review)
TRANSITIONS: dict[tuple[str, str], str] = {
    ("draft", "in_review"): "author",
    ("in_review", "draft"): "author",
    ("in_review", "published"): "review",
    ("draft", "published"): "review",
    ("published", "draft"): "author",
    ("published", "archived"): "review",
    ("draft", "archived"): "author",
    ("archived", "draft"): "author",
}


class ArticleIn(BaseModel):
    """An article as written by an author or read from a JSON-lines record (the documented import fields)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(pattern=KEY, description="Stable article id (letters, digits, . _ -).")
    title: str = Field(min_length=1, max_length=300)
    body: str = Field(default="", max_length=100_000, description="Markdown; link other articles as [text](kb:ID).")
    phrasings: list[str] = Field(default_factory=list, max_length=500, description="How customers ask (zh/en).")
    tags: list[str] = Field(default_factory=list, max_length=50)
    audiences: list[Audience] = Field(default_factory=lambda: [Audience.agent], min_length=1)
    language: str = "zh"
    state: ArticleState = ArticleState.draft
    confidence: Confidence = Confidence.wip
    owner: str | None = Field(default=None, max_length=200)
    verify_every_days: int = Field(default=90, ge=1, le=3650)
    valid_to: date | None = None

    @field_validator("language")
    @classmethod
    def _language(cls, v: str) -> str:
        if v not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
        return v

    @field_validator("phrasings", "tags")
    @classmethod
    def _texts(cls, v: list[str]) -> list[str]:
        out = [s.strip() for s in v if s.strip()]
        if any(len(s) > 1000 for s in out):
            raise ValueError("each entry is at most 1000 characters")
        return list(dict.fromkeys(out))

    def check_links(self) -> None:
        """Refuse a body that links to the article itself."""
        if self.id in LINK.findall(self.body):
            raise CallopsError(f"article {self.id!r} links to itself (kb:{self.id}); link another article")


def parse_article(data: Any) -> ArticleIn:
    """Validate one article record; the error is one line naming the field and the reason."""
    if not isinstance(data, dict):
        raise CallopsError("an article must be a JSON object")
    try:
        art = ArticleIn.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ())) or "record"
        raise CallopsError(f"{where}: {first.get('msg', 'invalid')}") from None
    art.check_links()
    return art


def parse_state(state: str) -> ArticleState:
    """``state`` as an :class:`ArticleState`; a clear error naming the states otherwise."""
    try:
        return ArticleState(state)
    except ValueError:
        raise CallopsError(f"unknown state {state!r}; use one of {', '.join(ArticleState)}") from None


def content_of(row: KbArticle) -> dict[str, Any]:
    """An article row as the documented JSON record (what export writes and import reads)."""
    return {
        "id": row.key, "title": row.title, "body": row.body, "phrasings": list(row.phrasings), "tags": list(row.tags),
        "audiences": list(row.audiences), "language": row.language, "state": row.state,
        "confidence": row.confidence, "owner": row.owner, "verify_every_days": row.verify_every_days,
        "valid_to": row.valid_to.isoformat() if row.valid_to else None,
    }


def get_article(session: Session, tenant: str, key: str) -> KbArticle:
    """The article ``key`` of ``tenant`` (another tenant's answers NotFound like a missing one)."""
    row = session.scalars(scoped(KbArticle, tenant).where(KbArticle.key == key)).one_or_none()
    if row is None:
        raise NotFound(f"no article {key!r} in tenant {tenant_key(tenant)!r}")
    return row


def list_articles(session: Session, tenant: str, *, state: str | None = None) -> list[KbArticle]:
    """The tenant's articles (optionally in one state), by id."""
    q = scoped(KbArticle, tenant).order_by(KbArticle.key)
    if state:
        q = q.where(KbArticle.state == parse_state(state).value)
    return list(session.scalars(q))


def _write_version(session: Session, row: KbArticle, actor: str, note: str | None) -> None:
    session.add(KbArticleVersion(tenant_id=row.tenant_id, article_id=row.id, version=row.version,
                                 content=content_of(row), state=row.state, actor=actor, note=note,
                                 created_at=row.updated_at))


def _check_may(frm: str, to: str, can_review: bool) -> None:
    if frm == to:
        return
    who = TRANSITIONS.get((frm, to))
    if who is None:
        raise CallopsError(f"an article cannot go from {frm} to {to}")
    if who == "review" and not can_review:
        raise CallopsError(f"moving an article from {frm} to {to} needs a reviewer (permission kb:review)")


def save_article(session: Session, tenant: str, art: ArticleIn, actor: str, *, can_review: bool,
                 now: datetime | None = None, note: str | None = None) -> tuple[KbArticle, str]:
    """Create or update an article (a new version either way); returns the row and ``created``/``updated``/
    ``unchanged``. Publishing (directly, or by keeping a published article published) needs ``can_review``."""
    art.check_links()
    now = now or datetime.now().astimezone()
    key = tenant_key(tenant)
    row = session.scalars(scoped(KbArticle, key).where(KbArticle.key == art.id)).one_or_none()
    values = art.model_dump(exclude={"id"}, mode="json")
    values["valid_to"] = art.valid_to
    values["owner"] = art.owner or (row.owner if row else actor)
    if row is None:
        _check_may("draft", art.state.value, can_review)
        row = KbArticle(tenant_id=key, key=art.id, version=1, verified_at=now, created_at=now, updated_at=now,
                        reviewed_by=actor if art.state == ArticleState.published else None, **values)
        session.add(row)
        session.flush()
        _write_version(session, row, actor, note or "created")
        audit.record(session, key, actor, "kb.create", "kb_article", art.id, after={"state": row.state})
        return row, "created"
    before = content_of(row)
    if art.state.value == ArticleState.published.value and row.state == ArticleState.published.value and not can_review:
        raise CallopsError("changing a published article needs a reviewer (permission kb:review); save it as draft")
    _check_may(row.state, art.state.value, can_review)
    for name, value in values.items():
        setattr(row, name, value)
    if content_of(row) == before:
        return row, "unchanged"
    if art.state == ArticleState.published:
        row.reviewed_by = actor
    row.version += 1
    row.updated_at = now
    session.flush()
    _write_version(session, row, actor, note or "updated")
    audit.record(session, key, actor, "kb.update", "kb_article", art.id, before={"state": before["state"]},
                 after={"state": row.state, "version": row.version})
    return row, "updated"


def transition(session: Session, tenant: str, key: str, to: str, actor: str, *, can_review: bool,
               note: str | None = None, now: datetime | None = None) -> KbArticle:
    """Move an article to state ``to`` (submit, publish, send back, archive, restore) as a new version."""
    target = parse_state(to)
    row = get_article(session, tenant, key)
    _check_may(row.state, target.value, can_review)
    if row.state == target.value:
        return row
    before = row.state
    row.state = target.value
    row.version += 1
    row.updated_at = now or datetime.now().astimezone()
    if target == ArticleState.published:
        row.reviewed_by = actor
        row.verified_at = row.updated_at
    session.flush()
    _write_version(session, row, actor, note or f"{before} → {target.value}")
    audit.record(session, tenant_key(tenant), actor, f"kb.{target.value}", "kb_article", key,
                 before={"state": before}, after={"state": target.value, "version": row.version})
    return row


def verify(session: Session, tenant: str, key: str, actor: str, now: datetime | None = None) -> KbArticle:
    """Record that the owner checked the article is still right (restarts its verify-by interval)."""
    row = get_article(session, tenant, key)
    row.verified_at = now or datetime.now().astimezone()
    audit.record(session, tenant_key(tenant), actor, "kb.verify", "kb_article", key)
    return row


def versions(session: Session, tenant: str, key: str) -> list[KbArticleVersion]:
    """Every saved version of an article, oldest first."""
    row = get_article(session, tenant, key)
    q = scoped(KbArticleVersion, tenant).where(KbArticleVersion.article_id == row.id)
    return list(session.scalars(q.order_by(KbArticleVersion.version)))


def verify_due(row: KbArticle) -> datetime:
    """When the article must be verified again."""
    return row.verified_at + timedelta(days=row.verify_every_days)


def is_expired(row: KbArticle, today: date) -> bool:
    """Whether the article's ``valid_to`` is past."""
    return row.valid_to is not None and row.valid_to < today


@dataclass(frozen=True)
class Reminder:
    """A verification reminder put in the outbox."""

    article: str
    owner: str
    due: datetime


def remind_due(session: Session, tenant: str, *, now: datetime | None = None,
               lead_days: int = REMIND_DAYS) -> list[Reminder]:
    """Enqueue an in-app reminder to the owner of every published article due for verification within
    ``lead_days`` (once per article, version and due date: the outbox's dedup key)."""
    now = now or datetime.now().astimezone()
    out: list[Reminder] = []
    for row in list_articles(session, tenant, state=ArticleState.published.value):
        due = verify_due(row)
        if due - timedelta(days=lead_days) <= now:
            payload = {"kind": "kb_verify_due", "article": row.key, "title": row.title, "owner": row.owner,
                       "due": due.isoformat(), "overdue": due <= now}
            if outbox.enqueue(session, tenant, "inapp", f"kb-verify:{row.key}:{due.date().isoformat()}", payload,
                              now=now):
                out.append(Reminder(row.key, row.owner, due))
    return out


def fingerprint(session: Session, tenant: str) -> tuple[int, Any]:
    """(count, last change) of the tenant's articles: the search index is rebuilt when it changes."""
    q = scoped(KbArticle, tenant).with_only_columns(
        func.count(KbArticle.id), func.max(KbArticle.updated_at), func.sum(KbArticle.version))
    n, last, total = session.execute(q).one()
    return int(n or 0), (last, int(total or 0))
