"""``/api/kb/...``: the knowledge base — search, articles and their life cycle, suggestions, usage, hot topics.

Permissions: ``kb:read`` searches, reads published articles, asks for suggestions and records usage;
``kb:author`` writes drafts, submits, imports, exports and sees every state (expired articles flagged);
``kb:review`` publishes, archives, sets synonyms and trains the tenant's re-ranker (it changes what every
agent's search puts first, as synonyms do).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from callops.api.deps import StoreDep, WarehouseDep, require
from callops.api.encode import clean
from callops.api.errors import check_dates
from callops.errors import CallopsError
from callops.knowledge import articles, assist, evaluate, hot, service, training
from callops.store.roles import Permission, allows
from callops.store.users import Principal

router = APIRouter(prefix="/kb", tags=["knowledge"])
Reader = Annotated[Principal, Depends(require(Permission.kb_read))]
Author = Annotated[Principal, Depends(require(Permission.kb_author))]
Reviewer = Annotated[Principal, Depends(require(Permission.kb_review))]
ArticleKey = Annotated[str, Path(max_length=100, description="Article id.")]
MAX_BODY = 20_000_000


def _is_author(who: Principal) -> bool:
    return allows(who.role, Permission.kb_author)


def _can_review(who: Principal) -> bool:
    return allows(who.role, Permission.kb_review)


def article_dict(row: Any, today: Any) -> dict[str, Any]:
    """An article with its life-cycle facts (expired, verification due) for the reader."""
    due = articles.verify_due(row)
    return {**articles.content_of(row), "version": row.version, "reviewed_by": row.reviewed_by,
            "verified_at": row.verified_at, "verify_due": due, "updated_at": row.updated_at,
            "expired": articles.is_expired(row, today)}


@router.get("/search", summary="Search the knowledge base (zh and en)")
def search(
    who: Reader,
    st: StoreDep,
    q: Annotated[str, Query(max_length=10_000, description="The question, in Chinese or English.")],
    audience: Annotated[str | None, Query(max_length=40)] = None,
    tag: Annotated[list[str] | None, Query(max_length=20)] = None,
    language: Annotated[str | None, Query(max_length=10)] = None,
    state: Annotated[list[str] | None, Query(max_length=4)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    contact_id: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """Ranked articles with highlights. Readers see published, unexpired articles; authors may ask for other
    states and see expired ones flagged (except when searching for the customer audience)."""
    res = service.search(st, who.tenant_id, q, audience=audience, tags=tag, language=language, states=state,
                         k=limit, author_view=_is_author(who), actor=who.user_name, contact_id=contact_id)
    return res.as_dict()


@router.get("/articles", summary="List articles")
def list_articles(who: Reader, st: StoreDep,
                  state: Annotated[str | None, Query(max_length=20)] = None) -> list[dict[str, Any]]:
    """Readers get the published articles; authors any state."""
    if not _is_author(who):
        if state not in (None, "published"):
            raise CallopsError("only authors (permission kb:author) can list drafts, reviews or archived articles")
        state = "published"
    with st.session() as s:
        today = service.tenant_today(s, who.tenant_id)
        return clean([article_dict(r, today) for r in articles.list_articles(s, who.tenant_id, state=state)])


@router.get("/articles/{key}", summary="One article")
def get_article(key: ArticleKey, who: Reader, st: StoreDep) -> dict[str, Any]:
    """The article (readers: only when published and not expired)."""
    with st.session() as s:
        today = service.tenant_today(s, who.tenant_id)
        row = articles.get_article(s, who.tenant_id, key)
        if not _is_author(who) and (row.state != "published" or articles.is_expired(row, today)):
            raise CallopsError(f"article {key!r} is not published") from None
        return clean(article_dict(row, today))


@router.get("/articles/{key}/versions", summary="Versions of an article")
def get_versions(key: ArticleKey, who: Author, st: StoreDep) -> list[dict[str, Any]]:
    """Every saved version, oldest first."""
    with st.session() as s:
        return clean([{"version": v.version, "state": v.state, "actor": v.actor, "note": v.note,
                       "created_at": v.created_at, "content": v.content}
                      for v in articles.versions(s, who.tenant_id, key)])


@router.put("/articles/{key}", summary="Create or update an article")
def put_article(key: ArticleKey, body: dict[str, Any], who: Author, st: StoreDep) -> dict[str, Any]:
    """Save a new version (the body is the documented JSON record; its ``id`` must be the path's)."""
    art = articles.parse_article({**body, "id": body.get("id", key)})
    if art.id != key:
        raise CallopsError(f"the body's id {art.id!r} differs from the path's {key!r}")
    with st.session() as s:
        row, status = articles.save_article(s, who.tenant_id, art, who.user_name, can_review=_can_review(who))
        today = service.tenant_today(s, who.tenant_id)
        return clean({"status": status, **article_dict(row, today)})


class StateIn(BaseModel):
    """A life-cycle move."""

    state: str = Field(max_length=20, description="draft, in_review, published or archived")
    note: str | None = Field(default=None, max_length=2000)


@router.post("/articles/{key}/state", summary="Submit, send back or restore an article")
def set_state(key: ArticleKey, body: StateIn, who: Author, st: StoreDep) -> dict[str, Any]:
    """Move the article; publishing and archiving need ``kb:review`` (refused with 400 otherwise)."""
    with st.session() as s:
        row = articles.transition(s, who.tenant_id, key, body.state, who.user_name, can_review=_can_review(who),
                                  note=body.note)
        return clean(article_dict(row, service.tenant_today(s, who.tenant_id)))


@router.post("/articles/{key}/publish", summary="Publish an article (reviewer)")
def publish(key: ArticleKey, who: Reviewer, st: StoreDep, body: StateIn | None = None) -> dict[str, Any]:
    """Publish the article as a new version reviewed by the caller."""
    with st.session() as s:
        row = articles.transition(s, who.tenant_id, key, "published", who.user_name, can_review=True,
                                  note=body.note if body else None)
        return clean(article_dict(row, service.tenant_today(s, who.tenant_id)))


@router.post("/articles/{key}/verify", summary="Mark an article verified")
def verify(key: ArticleKey, who: Author, st: StoreDep) -> dict[str, Any]:
    """Restart the article's verify-by interval."""
    with st.session() as s:
        row = articles.verify(s, who.tenant_id, key, who.user_name)
        return clean(article_dict(row, service.tenant_today(s, who.tenant_id)))


IMPORT_BODY = {"requestBody": {"required": True, "description": "JSON lines, one article per line.",
                               "content": {"application/x-ndjson": {"schema": {"type": "string"}},
                                           "text/plain": {"schema": {"type": "string"}}}}}


@router.post("/import", summary="Import articles (JSON lines)", openapi_extra=IMPORT_BODY)
async def import_articles(request: Request, who: Author, st: StoreDep) -> dict[str, Any]:
    """Each line is saved or rejected with its line number and reason; published records need ``kb:review``."""
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise CallopsError(f"the body is larger than {MAX_BODY} bytes; split the file")
    text = raw.decode("utf-8-sig", errors="replace")

    def run() -> dict[str, Any]:
        with st.session() as s:
            return service.import_lines(s, who.tenant_id, iter(text.splitlines()), who.user_name,
                                        can_review=_can_review(who), source="body").as_dict()

    return await run_in_threadpool(run)


@router.get("/export", summary="Export articles (JSON records)")
def export(who: Author, st: StoreDep, state: Annotated[str | None, Query(max_length=20)] = None) -> list[dict]:
    """Every article as the documented record (the format of import)."""
    with st.session() as s:
        return service.export_records(s, who.tenant_id, state)


SYN_BODY = {"requestBody": {"required": True, "description": "YAML: synonyms: [[phrase, phrase], ...]",
                            "content": {"application/yaml": {"schema": {"type": "string"}},
                                        "text/plain": {"schema": {"type": "string"}}}}}


@router.put("/synonyms", summary="Set the tenant's synonyms (YAML)", openapi_extra=SYN_BODY)
async def put_synonyms(request: Request, who: Reviewer, st: StoreDep) -> dict[str, Any]:
    """Replace the synonym groups; a bad file is refused naming the line."""
    text = (await request.body()).decode("utf-8", errors="replace")
    if len(text) > 1_000_000:
        raise CallopsError("the synonym file is larger than 1 MB")
    with st.session() as s:
        return {"groups": service.set_synonyms(s, who.tenant_id, text, "body")}


RERANK_BODY = {"requestBody": {"required": False, "description": "JSON lines {query, expected}, as kb evaluate "
                                                                 "reads (may be empty with from_events).",
                               "content": {"application/x-ndjson": {"schema": {"type": "string"}},
                                           "text/plain": {"schema": {"type": "string"}}}}}


@router.get("/reranker", summary="The tenant's learned re-ranker: its training report")
def get_reranker(who: Author, st: StoreDep) -> dict[str, Any]:
    """The stored re-ranker's report (held-out figures, questions, whether searches use it), or null."""
    return {"reranker": clean(training.status(st, who.tenant_id))}


@router.post("/reranker", summary="Train the tenant's re-ranker (reviewer)", openapi_extra=RERANK_BODY)
async def train_reranker(request: Request, who: Reviewer, st: StoreDep, from_events: bool = False,
                         dry_run: bool = False) -> dict[str, Any]:
    """Learn from the labelled questions in the body and/or the agents' events (``callops kb train``)."""
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise CallopsError(f"the body is larger than {MAX_BODY} bytes; split the file")
    text = raw.decode("utf-8-sig", errors="replace")
    items = evaluate.parse_lines(text.split("\n"), "body") if text.strip() else []
    if not items and not from_events:
        raise CallopsError("send labelled questions (JSON lines) in the body, from_events=true, or both")
    return await run_in_threadpool(training.train, st, who.tenant_id, items, use_events=from_events,
                                   actor=who.user_name, dry_run=dry_run)


@router.delete("/reranker", summary="Remove the tenant's re-ranker (reviewer)")
def delete_reranker(who: Reviewer, st: StoreDep) -> dict[str, Any]:
    """Searches go back to the index's own order."""
    return {"cleared": training.clear(st, who.tenant_id)}


class SuggestIn(BaseModel):
    """What is known about the contact."""

    words: str | None = Field(default=None, max_length=10_000, description="A transcript line or chat message.")
    reason: str | None = Field(default=None, max_length=500)
    business_type: str | None = Field(default=None, max_length=200)
    decision: dict[str, Any] | None = Field(default=None, description="The decision at contact time (/api/decide).")
    contact_id: str | None = Field(default=None, max_length=200)
    queue: str | None = Field(default=None, max_length=200)
    limit: int = Field(default=5, ge=1, le=20)


@router.post("/suggest", summary="Suggested articles for a contact")
def suggest(body: SuggestIn, who: Reader, st: StoreDep) -> dict[str, Any]:
    """The top agent articles from the customer's words, the reason/business and the decision."""
    hits = assist.suggest(st, who.tenant_id, words=body.words, reason=body.reason, business_type=body.business_type,
                          decision=body.decision, contact_id=body.contact_id, queue=body.queue, actor=who.user_name,
                          k=body.limit)
    return {"count": len(hits), "hits": [h.as_dict() for h in hits]}


class EventIn(BaseModel):
    """An agent's action on an article."""

    kind: str = Field(max_length=16, description="opened, used, linked or sent")
    article: str = Field(max_length=100)
    contact_id: str | None = Field(default=None, max_length=200)
    queue: str | None = Field(default=None, max_length=200)


@router.post("/events", summary="Record an opened / used / linked / sent article")
def post_event(body: EventIn, who: Reader, st: StoreDep) -> dict[str, Any]:
    """Recorded for link rate and reuse."""
    assist.record_event(st, who.tenant_id, body.kind, body.article, contact_id=body.contact_id, queue=body.queue,
                        actor=who.user_name)
    return {"recorded": body.kind}


@router.get("/usage", summary="Link rate, reuse, never-found articles, unanswered questions")
def usage(who: Reader, st: StoreDep, since: datetime | None = None) -> dict[str, Any]:
    """Computed from the recorded events (``since`` an instant, default all)."""
    if since is not None and since.tzinfo is None:
        raise CallopsError("since: give a time with its offset, e.g. 2026-12-01T00:00:00+08:00")
    check_dates(since=since.date() if since is not None else None)
    return assist.usage(st, who.tenant_id, since=since)


@router.get("/hot", summary="Hot topics feed")
def hot_topics(who: Reader, st: StoreDep, wh: WarehouseDep,
               alpha: Annotated[float, Query(gt=0, lt=0.5)] = 0.01) -> dict[str, Any]:
    """Business types (from contacts), search terms and articles significantly above their own baseline, each with
    its covering article (a topic no article covers names its owner; ``callops kb hot --notify`` opens the gap
    task and sends the notification)."""
    topics = hot.detect_for_tenant(st, who.tenant_id, wh=wh, alpha=alpha)
    return {"alpha": alpha, "topics": clean([t.as_dict() for t in topics])}


@router.get("/tasks", summary="Open knowledge-gap tasks")
def tasks(who: Author, st: StoreDep) -> list[dict[str, Any]]:
    """Hot topics no article covers, for their owners to write."""
    with st.session() as s:
        return clean([{"id": t.id, "topic": t.topic_key, "title": t.title, "owner": t.owner, "status": t.status,
                       "created_at": t.created_at, "details": t.details} for t in hot.open_tasks(s, who.tenant_id)])
