"""Training a tenant's re-ranker (``callops kb train``): labelled questions in, a checked model stored.

Labelled questions come from a file (the ``kb evaluate`` format) and from the tenant's own agents: on a contact
where an article was *used*, *linked* or *sent*, each question searched or suggested from on that contact is
labelled with those articles. A fifth of the questions (chosen by a hash of the question, so a re-run picks the
same) is held out: the model fitted on the rest must not lower MRR@10 there against the index alone, or it is
stored inactive and searches ignore it. The stored model is then fitted on every question.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

from sqlalchemy.orm import Session

from callops.errors import CallopsError
from callops.knowledge import rerank, service
from callops.knowledge.evaluate import Labelled, evaluate
from callops.store.db import Store
from callops.store.models import utcnow
from callops.store.models_knowledge import EventKind, KbEvent, KbReranker
from callops.store.scoping import scoped, tenant_key

HOLDOUT_SHARE = 0.2
MIN_QUERIES = 50  # fewer labelled questions teach little and leave about ten to check on
LABELLING = (EventKind.used.value, EventKind.linked.value, EventKind.sent.value)
ASKING = (EventKind.searched.value, EventKind.suggested.value)
_lock = threading.Lock()
_cache: dict[tuple[str, str], tuple[Any, rerank.Reranker | None]] = {}


def from_events(store: Store, tenant: str) -> list[Labelled]:
    """Questions asked on a contact, labelled with the articles used, linked or sent on that contact."""
    query = (scoped(KbEvent, tenant)
             .with_only_columns(KbEvent.kind, KbEvent.contact_id, KbEvent.query, KbEvent.article_key)
             .where(KbEvent.contact_id.is_not(None), KbEvent.kind.in_(LABELLING + ASKING)))
    with store.session() as s:
        rows = s.execute(query).all()
    asked: dict[str, set[str]] = {}
    answers: dict[str, set[str]] = {}
    for kind, contact, query, article in rows:
        if kind in ASKING and query and query.strip():
            asked.setdefault(contact, set()).add(query)
        elif kind in LABELLING and article:
            answers.setdefault(contact, set()).add(article)
    merged: dict[str, set[str]] = {}
    for contact, queries in asked.items():
        for q in queries:
            if contact in answers:
                merged.setdefault(q, set()).update(answers[contact])
    return [Labelled(q, frozenset(a)) for q, a in sorted(merged.items())]


def merge(*sources: list[Labelled]) -> list[Labelled]:
    """One item per question: the union of its expected articles across sources."""
    out: dict[str, set[str]] = {}
    for items in sources:
        for item in items:
            out.setdefault(item.query, set()).update(item.expected)
    return [Labelled(q, frozenset(a)) for q, a in out.items()]


def _held_out(query: str) -> bool:
    return int(hashlib.sha1(query.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < HOLDOUT_SHARE


def train(store: Store, tenant: str, items: list[Labelled], *, use_events: bool = False, actor: str = "cli",
          dry_run: bool = False) -> dict[str, Any]:
    """Fit, check on the held-out fifth, fit on all and store (unless ``dry_run``); returns the report."""
    t0 = time.perf_counter()
    events = from_events(store, tenant) if use_events else []
    everything = merge(items, events)
    index = service.tenant_index(store, tenant)
    with store.session() as s:
        today = service.tenant_today(s, tenant)
    keep = index.mask(today=today)  # what agents search: published, in date
    published = {d.key for d, kept in zip(index.docs, keep, strict=True) if kept}
    known = [x for x in everything if not published.isdisjoint(x.expected)]
    if len(known) < MIN_QUERIES:
        raise CallopsError(f"{len(known)} labelled questions name a published article of tenant {tenant!r} "
                           f"({len(everything) - len(known)} name none): at least {MIN_QUERIES} are needed")
    table = rerank.question_rows(index, known, keep)  # searched once, for the trial and the stored model
    is_held = [_held_out(x.query) for x in known]
    held = [x for x, h in zip(known, is_held, strict=True) if h]
    trial = rerank.fit_table([t for t, h in zip(table, is_held, strict=True) if not h])

    def ranked(model: rerank.Reranker | None):
        return lambda q: [h.key for h in index.search(q, k=10, keep=keep, highlights=False, reranker=model)]

    if held:  # (with 50 questions, none held out happens once in 70,000 draws)
        plain, checked = _metrics(evaluate(ranked(None), held)), _metrics(evaluate(ranked(trial), held))
        active = checked["mrr_at_10"] >= plain["mrr_at_10"]
    else:
        plain = checked = None
        active = True
    model = rerank.fit_table(table)
    report = {
        "tenant": tenant_key(tenant), "queries": len(known), "from_file": len(items), "from_events": len(events),
        "unknown_articles": len(everything) - len(known), "holdout_queries": len(held),
        "holdout_index_only": plain, "holdout_reranked": checked, "active": active,
        "answer_in_candidates": model.trained["answer_in_candidates"], "rows": model.trained["rows"],
        "features": len(model.weights), "stored": not dry_run, "train_s": round(time.perf_counter() - t0, 1),
    }
    model.trained.update(report)
    if not dry_run:
        with store.session() as s:
            row = s.scalars(scoped(KbReranker, tenant)).one_or_none()
            if row is None:
                row = KbReranker(tenant_id=tenant_key(tenant))
                s.add(row)
            row.model, row.report, row.active = model.to_json(), {**report, "actor": actor}, active
            row.trained_at = utcnow()
    return report


def _metrics(res: dict[str, float | int]) -> dict[str, float | int]:
    """The recall and MRR figures of an evaluation (without its speed, which varies run to run)."""
    return {k: res[k] for k in ("recall_at_1", "recall_at_3", "recall_at_5", "mrr_at_10")}


def clear(store: Store, tenant: str) -> bool:
    """Remove the tenant's re-ranker; True when there was one."""
    with store.session() as s:
        row = s.scalars(scoped(KbReranker, tenant)).one_or_none()
        if row is None:
            return False
        s.delete(row)
    return True


def status(store: Store, tenant: str) -> dict[str, Any] | None:
    """The stored re-ranker's report, whether it is active and when it was trained; None without one."""
    with store.session() as s:
        row = s.scalars(scoped(KbReranker, tenant)).one_or_none()
        if row is None:
            return None
        return {**row.report, "active": row.active, "trained_at": row.trained_at.isoformat()}


def active_reranker(store: Store, tenant: str, session: Session | None = None) -> rerank.Reranker | None:
    """The tenant's active re-ranker (cached until it is retrained or cleared), or None.

    Searches pass their open ``session``: the cache check is one small query, not a session of its own.
    """
    if session is None:
        with store.session() as s:
            return active_reranker(store, tenant, s)
    key = tenant_key(tenant)
    row = session.execute(scoped(KbReranker, tenant).with_only_columns(KbReranker.trained_at, KbReranker.active)
                          ).one_or_none()
    stamp = (row.trained_at, row.active) if row else None
    cached = _cache.get((store.url, key))
    if cached and cached[0] == stamp:
        return cached[1]
    model = None
    if row is not None and row.active:
        model = rerank.Reranker.from_json(session.scalars(scoped(KbReranker, tenant)).one().model)
    with _lock:
        _cache[(store.url, key)] = (stamp, model)
    return model
