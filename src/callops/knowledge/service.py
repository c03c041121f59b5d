"""The knowledge base as the CLI, the API and the console use it: per-tenant indexes, search, import/export, synonyms.

Each tenant's index is built from the store on first search and kept in this process until the tenant's articles
or synonyms change (checked by a cheap fingerprint query on every search).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy.orm import Session

from callops.errors import CallopsError
from callops.knowledge import articles
from callops.knowledge.search import Doc, Hit, Index, clean_query
from callops.store.db import Store
from callops.store.models import Tenant
from callops.store.models_knowledge import Audience, EventKind, KbArticle, KbEvent, KbSynonyms
from callops.store.scoping import scoped, tenant_key

MAX_IMPORT_LINE = 1_000_000
_lock = threading.Lock()
_cache: dict[tuple[str, str], tuple[Any, Index]] = {}


def tenant_today(session: Session, tenant: str) -> date:
    """Today in the tenant's zone."""
    row = session.get(Tenant, tenant_key(tenant))
    zone = row.timezone if row else "Asia/Shanghai"
    return datetime.now(ZoneInfo(zone)).date()


def doc_of(row: KbArticle) -> Doc:
    """The index's view of an article row."""
    return Doc(key=row.key, title=row.title, body=row.body, phrasings=tuple(row.phrasings), tags=tuple(row.tags),
               audiences=tuple(row.audiences), language=row.language, state=row.state, valid_to=row.valid_to,
               owner=row.owner, confidence=row.confidence)


def synonyms_of(session: Session, tenant: str) -> tuple[list[list[str]], Any]:
    """The tenant's synonym groups and when they last changed."""
    row = session.scalars(scoped(KbSynonyms, tenant)).one_or_none()
    return (row.groups.get("groups", []), row.updated_at) if row else ([], None)


def tenant_index(store: Store, tenant: str) -> Index:
    """The tenant's index, rebuilt when its articles or synonyms changed."""
    key = tenant_key(tenant)
    with store.session() as s:
        stamp = (articles.fingerprint(s, key), synonyms_of(s, key)[1])
        cached = _cache.get((store.url, key))
        if cached and cached[0] == stamp:
            return cached[1]
        docs = [doc_of(r) for r in articles.list_articles(s, key)]
        groups = synonyms_of(s, key)[0]
    index = Index(docs, synonyms=groups)
    with _lock:
        _cache[(store.url, key)] = (stamp, index)
    return index


@dataclass
class SearchResult:
    """Hits and what was searched."""

    query: str
    hits: list[Hit]
    filters: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"query": self.query, "filters": self.filters, "count": len(self.hits),
                "hits": [h.as_dict() for h in self.hits]}


def search(store: Store, tenant: str, query: str, *, audience: str | None = None, states: list[str] | None = None,
           tags: list[str] | None = None, language: str | None = None, k: int = 10, author_view: bool = False,
           actor: str | None = None, contact_id: str | None = None, queue: str | None = None,
           record: bool = True, rerank: bool = True) -> SearchResult:
    """Search the tenant's knowledge base.

    The tenant's learned re-ranker (``callops kb train``), when it has an active one, orders the first 30 hits
    unless ``rerank`` is off.

    Customer-facing searches (``audience="customer"``) and every non-author view leave expired articles out;
    authors (``author_view``) see them, flagged ``expired``, and may ask for any state. Non-authors see only
    published articles. The search is recorded (``searched`` event with the hit count) unless ``record`` is off.
    """
    from callops.knowledge import training  # it builds on this module

    query = clean_query(query)
    if audience is not None and audience not in {a.value for a in Audience}:
        raise CallopsError(f"unknown audience {audience!r}; use one of {', '.join(Audience)}")
    if language is not None and language not in articles.LANGUAGES:
        raise CallopsError(f"unknown language {language!r}; use one of {', '.join(articles.LANGUAGES)}")
    for state in states or ():
        articles.parse_state(state)
    if states and not author_view and set(states) - {"published"}:
        raise CallopsError("only authors (permission kb:author) can search drafts, reviews or archived articles")
    index = tenant_index(store, tenant)
    with store.session() as s:
        today = tenant_today(s, tenant)
        reranker = training.active_reranker(store, tenant, s) if rerank else None
    include_expired = author_view and audience != Audience.customer.value
    keep = index.mask(audience=audience, states=states or ["published"], tags=tags or [], language=language,
                      include_expired=include_expired, today=today)
    hits = index.search(query, k=k, keep=keep, today=today, reranker=reranker)
    if record:
        with store.session() as s:
            s.add(KbEvent(tenant_id=tenant_key(tenant), kind=EventKind.searched.value, query=query[:500],
                          hits=len(hits), actor=actor, contact_id=contact_id, queue=queue,
                          article_key=hits[0].key if hits else None))
    filters = {"audience": audience, "states": states or ["published"], "tags": tags or [], "language": language}
    return SearchResult(query, hits, filters)


# --- synonyms -------------------------------------------------------------------------------------------------

def parse_synonyms(text: str, source: str = "synonyms.yaml") -> list[list[str]]:
    """Validate a synonym file: ``synonyms:`` followed by a list of groups, each a list of two or more phrases.

    Errors name the source and line.
    """
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        raise CallopsError(f"{source}{line}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict) or set(data) != {"synonyms"} or not isinstance(data["synonyms"], list):
        raise CallopsError(f"{source}:1: expected one key 'synonyms' holding a list of groups")
    groups_node = next(v for k, v in node.value if k.value == "synonyms")
    groups: list[list[str]] = []
    for item, item_node in zip(data["synonyms"], groups_node.value, strict=True):
        line = item_node.start_mark.line + 1
        if not isinstance(item, list) or len(item) < 2 or not all(isinstance(p, str) and p.strip() for p in item):
            raise CallopsError(f"{source}:{line}: a synonym group is a list of two or more non-empty phrases")
        if any(len(p) > 100 for p in item):
            raise CallopsError(f"{source}:{line}: a synonym phrase is at most 100 characters")
        groups.append([p.strip() for p in item])
    return groups


def set_synonyms(session: Session, tenant: str, text: str, source: str = "synonyms.yaml") -> int:
    """Replace the tenant's synonyms with the groups of ``text``; returns the number of groups."""
    groups = parse_synonyms(text, source)
    row = session.scalars(scoped(KbSynonyms, tenant)).one_or_none()
    now = datetime.now().astimezone()
    if row is None:
        session.add(KbSynonyms(tenant_id=tenant_key(tenant), yaml_text=text, groups={"groups": groups}, updated_at=now))
    else:
        row.yaml_text, row.groups, row.updated_at = text, {"groups": groups}, now
    return len(groups)


# --- import / export ------------------------------------------------------------------------------------------

@dataclass
class ImportResult:
    """What an import did: counts and one entry per rejected line."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "rejected": len(self.rejected), "rejects": self.rejected}


def import_lines(session: Session, tenant: str, lines: Iterator[str], actor: str, *, can_review: bool,
                 source: str = "import") -> ImportResult:
    """Load JSON-lines articles: each valid line is saved (a new version when it changed); an invalid one is
    rejected with its line number and reason and the rest still load."""
    result = ImportResult()
    seen: dict[str, int] = {}
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            if len(line) > MAX_IMPORT_LINE:
                raise CallopsError(f"line is longer than {MAX_IMPORT_LINE} characters")
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CallopsError(f"not JSON ({exc.msg} at column {exc.colno})") from None
            art = articles.parse_article(data)
            if art.id in seen:
                raise CallopsError(f"id {art.id!r} already given on line {seen[art.id]}")
            with session.begin_nested():
                _, status = articles.save_article(session, tenant, art, actor, can_review=can_review,
                                                  note=f"imported from {source}")
            seen[art.id] = n
            setattr(result, status, getattr(result, status) + 1)
        except CallopsError as exc:
            result.rejected.append({"file": source, "line": n, "reason": str(exc)})
    return result


def import_file(store: Store, tenant: str, path: Path, actor: str, *, can_review: bool = True) -> ImportResult:
    """:func:`import_lines` over a file (UTF-8, a BOM tolerated)."""
    if not path.exists():
        raise CallopsError(f"{path}: no such file")
    with path.open(encoding="utf-8-sig", errors="strict") as fh, store.session() as s:
        try:
            return import_lines(s, tenant, iter(fh), actor, can_review=can_review, source=str(path))
        except UnicodeDecodeError as exc:
            raise CallopsError(f"{path}: not UTF-8 text ({exc.reason})") from None


def export_records(session: Session, tenant: str, state: str | None = None) -> list[dict[str, Any]]:
    """Every article of the tenant as the documented JSON record."""
    return [articles.content_of(r) for r in articles.list_articles(session, tenant, state=state)]
