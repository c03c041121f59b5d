"""The answer for the agent: suggested articles for a contact, usage events, and what they tell.

A suggestion ranks the agent-facing, published, unexpired articles by

    score = BM25(customer's words) + 0.5 × BM25(reason, business, decision context) + 1.0 if tagged with the business

so what the customer just said leads, the contact's reason and the decision at contact time (its strategy, tags
and guidance, as ``POST /api/decide`` returns it) break ties and fill in when the words say little.

Events: ``suggested`` (written here), ``opened``, ``used``, ``linked`` (to the contact), ``sent`` (to the customer).
From them: link rate (contacts with a linked article / contacts that got suggestions), reuse (contacts per article,
and the share of links to an article already linked before), published articles never found (never suggested,
opened or the first hit of a search) and questions that found nothing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

import numpy as np

from callops.errors import CallopsError
from callops.knowledge import service
from callops.knowledge.search import MAX_QUERY_CHARS, Hit, clean_query
from callops.store.db import Store
from callops.store.models_knowledge import EventKind, KbEvent
from callops.store.scoping import scoped, tenant_key

CONTEXT_WEIGHT = 0.5
TAG_BONUS = 1.0
ACTIONS = (EventKind.opened.value, EventKind.used.value, EventKind.linked.value, EventKind.sent.value)


def decision_text(decision: dict[str, Any] | None) -> str:
    """The words of a decision that say what the contact is about (strategy, tags, guidance texts)."""
    if not decision:
        return ""
    parts: list[str] = []
    for name in ("strategy", "reason", "value_class"):
        if isinstance(decision.get(name), str):
            parts.append(decision[name].replace("_", " "))
    tags = decision.get("tags")
    if isinstance(tags, list):
        parts.extend(str(t).replace("_", " ") for t in tags[:20])
    guidance = decision.get("guidance")
    if isinstance(guidance, dict):
        parts.extend(str(v) for v in list(guidance.values())[:10])
    return " ".join(parts)[:MAX_QUERY_CHARS]


def suggest(store: Store, tenant: str, *, words: str | None = None, reason: str | None = None,
            business_type: str | None = None, decision: dict[str, Any] | None = None, contact_id: str | None = None,
            queue: str | None = None, actor: str | None = None, k: int = 5, record: bool = True) -> list[Hit]:
    """The top ``k`` articles for a contact (see the module docstring); records a ``suggested`` event for each."""
    words_q = clean_query(words) if words and words.strip() else ""
    context = " ".join(x for x in (reason, business_type, decision_text(decision)) if x)[:MAX_QUERY_CHARS]
    context_q = " ".join(context.split())
    if not words_q and not context_q:
        raise CallopsError("nothing to suggest from: give the customer's words, the reason or the business")
    index = service.tenant_index(store, tenant)
    with store.session() as s:
        today = service.tenant_today(s, tenant)
    keep = index.mask(audience="agent", today=today)
    scores = np.zeros(index.size)
    if words_q:
        scores += index.scores(words_q)
    if context_q:
        scores += CONTEXT_WEIGHT * index.scores(context_q)
    if business_type and business_type in index._tag:
        scores[index._tag[business_type]] += TAG_BONUS
    scores = np.where(keep, scores, 0.0)
    order = [int(i) for i in np.argsort(-scores, kind="stable")[: max(1, min(k, 20))] if scores[i] > 0]
    hits = []
    for i in order:
        d = index.docs[i]
        hit = Hit(d.key, float(scores[i]), d.title, d.state, d.language, False)
        hit.highlights = index._highlights(d, words_q or context_q)
        hits.append(hit)
    if record and hits:
        now = datetime.now().astimezone()
        with store.session() as s:
            for h in hits:
                s.add(KbEvent(tenant_id=tenant_key(tenant), kind=EventKind.suggested.value, article_key=h.key,
                              contact_id=contact_id, query=(words_q or context_q)[:500], queue=queue, actor=actor,
                              at=now))
    return hits


def record_event(store: Store, tenant: str, kind: str, article: str, *, contact_id: str | None = None,
                 queue: str | None = None, actor: str | None = None, at: datetime | None = None) -> None:
    """Record that an agent opened / used / linked / sent an article (the article must exist in the tenant)."""
    from callops.knowledge import articles

    if kind not in ACTIONS:
        raise CallopsError(f"unknown event {kind!r}; use one of {', '.join(ACTIONS)}")
    if kind in (EventKind.linked.value, EventKind.sent.value) and not contact_id:
        raise CallopsError(f"a {kind} event needs the contact id")
    with store.session() as s:
        articles.get_article(s, tenant, article)
        s.add(KbEvent(tenant_id=tenant_key(tenant), kind=kind, article_key=article, contact_id=contact_id,
                      queue=queue, actor=actor, at=at or datetime.now().astimezone()))


def usage(store: Store, tenant: str, *, since: datetime | None = None, top: int = 20) -> dict[str, Any]:
    """Link rate, reuse, never-found articles and questions that found nothing."""
    from callops.knowledge import articles

    with store.session() as s:
        q = scoped(KbEvent, tenant).order_by(KbEvent.at, KbEvent.id)
        if since is not None:
            q = q.where(KbEvent.at >= since)
        events = list(s.scalars(q))
        published = [r.key for r in articles.list_articles(s, tenant, state="published")]
    suggested_contacts = {e.contact_id for e in events if e.kind == "suggested" and e.contact_id}
    linked_contacts = {e.contact_id for e in events if e.kind == "linked" and e.contact_id}
    per_article: dict[str, set[str]] = defaultdict(set)
    linked_before: set[str] = set()
    reused = links = 0
    for e in events:
        if e.kind in ("linked", "used") and e.article_key and e.contact_id:
            per_article[e.article_key].add(e.contact_id)
        if e.kind == "linked" and e.article_key:
            links += 1
            reused += e.article_key in linked_before
            linked_before.add(e.article_key)
    found = {e.article_key for e in events if e.article_key and e.kind in ("suggested", "opened", "searched")}
    nothing = Counter(e.query for e in events if e.kind == "searched" and e.hits == 0 and e.query)
    searches = sum(1 for e in events if e.kind == "searched")
    return {
        "contacts_with_suggestions": len(suggested_contacts),
        "contacts_linked": len(linked_contacts & suggested_contacts) if suggested_contacts else len(linked_contacts),
        "link_rate": round(len(linked_contacts & suggested_contacts) / len(suggested_contacts), 4)
        if suggested_contacts else None,
        "reuse_rate": round(reused / links, 4) if links else None,
        "reuse": [{"id": a, "contacts": len(c)} for a, c in
                  sorted(per_article.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:top]],
        "never_found": sorted(set(published) - found),
        "searches": searches,
        "no_result_rate": round(sum(nothing.values()) / searches, 4) if searches else None,
        "questions_without_answer": [{"query": q, "count": n} for q, n in nothing.most_common(top)],
    }


def last_contact(wh: Any, tenant: str, customer_id: str) -> dict[str, Any] | None:
    """The customer's latest contact (id, reason = business type, channel, queue, time), read through
    ``tenancy.scoped``; None when the customer has none."""
    from callops import tenancy

    t = tenancy.scoped(wh, tenant, "contacts")
    rows = (t.filter(t.customer_id == customer_id)
            .order_by([t.offered_at.desc(), t.contact_id.desc()])
            .select("contact_id", "business_type", "channel", "queue", "offered_at").limit(1)
            .to_pyarrow().to_pylist())  # fmt: skip
    if not rows:
        return None
    r = rows[0]
    return {**r, "offered_at": None if r["offered_at"] is None else r["offered_at"].isoformat()}


def for_customer(wh: Any, store: Store, tenant: str, customer_id: str, *, decision: dict[str, Any] | None = None,
                 actor: str | None = None, k: int = 3) -> dict[str, Any]:  # fmt: skip
    """What the customer view shows: the customer's last contact and the suggested articles for its reason
    (business type) and the decision at contact time, recorded as ``suggested`` for that contact. ``hits`` is
    empty when the customer has no contact or the contact says nothing to search with."""
    last = last_contact(wh, tenant, customer_id)
    if last is None or not (last.get("business_type") or decision):
        return {"customer_id": customer_id, "contact": last, "hits": []}
    try:
        hits = suggest(store, tenant, reason=last.get("business_type"), business_type=last.get("business_type"),
                       decision=decision, contact_id=last["contact_id"], queue=last.get("queue"), actor=actor, k=k)
    except CallopsError:
        hits = []
    return {"customer_id": customer_id, "contact": last, "hits": hits}
