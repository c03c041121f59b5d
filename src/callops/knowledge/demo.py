"""Demo step of the knowledge base: the hotline's bilingual articles, synonyms, two weeks of simulated agent
searches and suggestions, hot topics with a knowledge-gap task, and verification reminders.

How the simulated usage is generated (seeded; the detectors never read these rules):

* **Searches.** Each search term has a steady Poisson rate per day (``TERM_RATES``) over the 8 days before now.
  In the last 24 hours two things change: the operator's 2G/3G shutdown notice (sent to one city the evening
  before) multiplies the migration questions by ``SHUTDOWN_LIFT``, and a new eSIM offer — which no article covers
  yet — brings ``ESIM_TODAY`` searches a day against ``ESIM_BEFORE`` before. Every other term keeps its rate.
* **Suggestions.** For up to 400 of the last day's contacts with a business type, the customer's words are a
  phrasing of one of that business's articles with a word dropped (:func:`customer_words`); with probability
  0.7 the agent opens the suggestion that is the article the customer meant (the first suggestion when it is
  not among them) and links it to the contact with probability 0.6 when it is the meant article, 0.1 otherwise
  (a wrong link: labels are noisy, as on a real floor); 20 % of linked articles are also sent to the customer.
* **Re-ranker.** The questions of the linked contacts then train the tenant's re-ranker (``callops kb train
  --from-events``); its held-out check decides whether searches use it. With twenty articles whose phrasings
  are the questions asked, the index alone is already near its ceiling here: the demo shows the loop, not a
  gain (the gain is measured on ATEC, docs/benchmarks.md).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from rich.console import Console

from callops.errors import CallopsError
from callops.knowledge import articles, assist, demo_articles, hot, service, training
from callops.store.db import Store
from callops.store.models_knowledge import KbArticle, KbEvent
from callops.store.scoping import scoped

TENANT = "demo"
TERM_RATES = {"话费余额查询": 30, "流量包怎么退订": 18, "停机保号": 10, "宽带报修": 14, "怎么升级5G": 12,
              "收到退网短信怎么办": 4, "国际漫游": 6, "roaming charges": 2, "how do I check my balance": 3}
SHUTDOWN_LIFT = 6.0
ESIM_TODAY, ESIM_BEFORE = 14, 0.3


def customer_words(phrasing: str, rng: random.Random) -> str:
    """How a customer says a phrasing: one word left out (an English word, or two Han characters), when it is
    long enough to stay a question (three words, five characters)."""
    words = phrasing.split()
    if len(words) >= 3:
        del words[rng.randrange(len(words))]
        return " ".join(words)
    if len(phrasing) >= 5 and " " not in phrasing:
        i = rng.randrange(len(phrasing) - 1)
        return phrasing[:i] + phrasing[i + 2:]
    return phrasing


def _events(now: datetime, rng: random.Random) -> list[dict[str, Any]]:
    """The simulated searches (see the module docstring)."""
    import numpy as np

    gen = np.random.default_rng(rng.randrange(2**32))
    out = []
    for day in range(8, -1, -1):
        start = now - timedelta(days=day + 1)
        today = day == 0
        rates = dict(TERM_RATES)
        rates["eSIM怎么开通"] = ESIM_TODAY if today else ESIM_BEFORE
        if today:
            rates["收到退网短信怎么办"] *= SHUTDOWN_LIFT
        for term, rate in rates.items():
            queue = "upgrade_5g" if "退网" in term or "5G" in term or "eSIM" in term else None
            for _ in range(int(gen.poisson(rate))):
                out.append({"query": term, "at": start + timedelta(seconds=rng.uniform(0, 86_399)), "queue": queue})
    return out


def _contacts(wh: Any, limit: int) -> list[dict[str, Any]]:
    from callops import tenancy

    t = tenancy.scoped(wh, TENANT, "contacts")
    t = t.filter(t.business_type.notnull())
    last = t.offered_at.max().to_pyarrow().as_py()
    if last is None:
        return []
    day = t.filter(t.offered_at >= last - timedelta(days=1)).select("contact_id", "business_type", "queue")
    return day.limit(limit).to_pyarrow().to_pylist()


def run(wh: Any, console: Console) -> dict[str, Any]:
    """Load the demo knowledge base and its simulated usage into tenant ``demo``; print what it shows."""
    from callops.store.tenants import sync_tenants

    rng = random.Random(15)
    now = datetime.now().astimezone()
    with Store() as store:
        sync_tenants(store, wh)
        records = demo_articles.build()
        with store.session() as s:
            import json

            res = service.import_lines(s, TENANT, iter(json.dumps(r, ensure_ascii=False) for r in records), "demo",
                                       can_review=True, source="demo knowledge base")
            service.set_synonyms(s, TENANT, demo_articles.SYNONYMS_YAML, "demo synonyms")
            # history: billing articles were last verified 26 days ago (30-day interval → reminders are due)
            for row in s.scalars(scoped(KbArticle, TENANT)):
                if "billing" in row.tags[:1]:
                    row.verified_at = now - timedelta(days=26)
            first_run = not s.scalars(scoped(KbEvent, TENANT).limit(1)).first()
            if first_run:
                s.add_all(KbEvent(tenant_id=TENANT, kind="searched", query=e["query"], hits=1, queue=e["queue"],
                                  at=e["at"], actor="agent-sim") for e in _events(now, rng))
        linked = 0
        if first_run:
            by_tag: dict[str, list[dict[str, Any]]] = {}
            for r in records:
                if r["state"] == "published" and not r["valid_to"]:
                    by_tag.setdefault(r["tags"][0], []).append(r)
            for c in _contacts(wh, 400):
                pool = by_tag.get(c["business_type"])
                if not pool:
                    continue
                meant = rng.choice(pool)
                words = customer_words(rng.choice(meant["phrasings"]), rng)
                hits = assist.suggest(store, TENANT, words=words, business_type=c["business_type"],
                                      contact_id=c["contact_id"], queue=c["queue"], actor="agent-sim")
                if not hits or rng.random() > 0.7:
                    continue
                pick = next((h.key for h in hits if h.key == meant["id"]), hits[0].key)
                assist.record_event(store, TENANT, "opened", pick, contact_id=c["contact_id"])
                if rng.random() < (0.6 if pick == meant["id"] else 0.1):
                    linked += 1
                    assist.record_event(store, TENANT, "linked", pick, contact_id=c["contact_id"])
                    if rng.random() < 0.2:
                        assist.record_event(store, TENANT, "sent", pick, contact_id=c["contact_id"])
        try:
            learned = training.train(store, TENANT, [], use_events=True, actor="demo")
        except CallopsError as exc:  # too few linked questions (a store emptied by hand)
            learned = {"error": str(exc)}
        topics = hot.detect_for_tenant(store, TENANT, wh=wh, now=now, notify=True)
        with store.session() as s:
            reminders = articles.remind_due(s, TENANT, now=now)
        use = assist.usage(store, TENANT)
        customer = _customer_view(wh, store)
    console.print(f"knowledge: {res.created + res.updated + res.unchanged} articles "
                  f"({res.created} new), {len(reminders)} verification reminders, link rate "
                  f"{use['link_rate'] if use['link_rate'] is not None else '-'}")
    if "error" in learned:
        console.print(f"  re-ranker: not trained ({learned['error']})", highlight=False)
    else:
        before, after = learned["holdout_index_only"] or {}, learned["holdout_reranked"] or {}
        console.print(f"  re-ranker learned from {learned['from_events']} questions the agents linked "
                      f"(kb train --from-events): held-out MRR@10 {before.get('mrr_at_10', '-')} index alone, "
                      f"{after.get('mrr_at_10', '-')} re-ranked → "
                      f"{'searches use it' if learned['active'] else 'kept off (not better on the held-out fifth)'}",
                      highlight=False)
    for t in topics:
        cover = t.article or f"knowledge gap → task #{t.task_id} for {t.owner}"
        console.print(f"  hot {t.kind} [bold]{t.subject}[/]: {t.current} vs {t.expected:.1f} expected "
                      f"(p={t.p_value:.1g}) → {cover}", highlight=False)
    from callops.knowledge.push import interval_s

    console.print(f"  the server pushes hot topics every {interval_s():g} s (CALLOPS_KB_HOT_INTERVAL_S): banner, "
                  f"/api/kb/hot, in-app notification, gap task", highlight=False)  # fmt: skip
    if customer and customer["hits"]:
        c = customer["contact"]
        console.print(f"  customer view {customer['customer_id']}: last contact {c['contact_id']} "
                      f"({c['business_type']}) → {', '.join(h.title for h in customer['hits'])}", highlight=False)
    return {"import": res.as_dict(), "topics": [t.as_dict() for t in topics], "reminders": len(reminders),
            "linked": linked, "usage": use, "reranker": learned,
            "customer": None if not customer else {"customer_id": customer["customer_id"],
                                                   "hits": [h.key for h in customer["hits"]]}}  # fmt: skip


def _customer_view(wh: Any, store: Store) -> dict[str, Any] | None:
    """What the customer view suggests for one customer of the last day's contacts (the first with a business)."""
    from callops import tenancy

    t = tenancy.scoped(wh, TENANT, "contacts")
    t = t.filter(t.customer_id.notnull() & t.business_type.notnull())
    rows = t.order_by(t.offered_at.desc()).select("customer_id").limit(1).to_pyarrow().to_pylist()
    if not rows:
        return None
    return assist.for_customer(wh, store, TENANT, rows[0]["customer_id"], actor="demo")
