"""Tenant-isolation cases of the knowledge-base routes (``/api/kb/...``), registered in the shared registry.

``beta`` gets a small knowledge base of its own (published, in-review and draft articles, synonyms, searches,
suggestions, usage events, a hot search term and its gap task), every name and title containing "beta"; ``acme``
gets one published article on the same subject, so its searches and suggestions have something of their own to
find. Article keys live in each tenant's own namespace: the writes aimed at a key of beta's must answer 404 or act
on acme's namespace only, and beta's article is shown unchanged afterwards.
"""

from __future__ import annotations

import json
import weakref
from typing import Any

from apitest import World
from isolation_registry import acme, beta, case

from callops.knowledge import hot
from callops.store.roles import Role

PUBLISHED = "beta-roaming"  # published, agent and customer audiences
REVIEW = "beta-roaming-review"  # waiting for a reviewer
DRAFT = "beta-draft-notice"
UNANSWERED = "betasat 卫星电话"  # a question beta asked that found nothing
HOT_TERM = "beta esim 开通"  # searched often today by beta: a hot term no article covers (a gap task)
BETA_ARTICLES = [
    {"id": PUBLISHED, "title": "beta 国际漫游资费说明", "body": "beta 国际漫游按天计费，beta 客户出境前开通。",
     "phrasings": ["国际漫游怎么收费", "beta roaming charges"], "tags": ["beta_roaming_business"],
     "audiences": ["agent", "customer"], "language": "mixed", "state": "published", "owner": "beta-kb-owner"},
    {"id": REVIEW, "title": "beta 数据套餐说明", "body": "beta 数据套餐每月十元。", "phrasings": ["beta 套餐"],
     "tags": ["beta-plan"], "audiences": ["agent"], "state": "in_review", "owner": "beta-kb-owner"},
    {"id": DRAFT, "title": "beta 停机通知草稿", "body": "beta 草稿", "tags": ["beta-draft"],
     "audiences": ["agent"], "state": "draft", "owner": "beta-kb-owner"},
]
SYNONYM = "wanderlust"  # found in no article: only beta's synonyms make it find beta's roaming article
BETA_SYNONYMS = f"synonyms:\n  - [{SYNONYM}, 国际漫游]\n"
ACME_ARTICLE = {"title": "acme 国际漫游资费", "body": "acme 国际漫游按流量计费。", "phrasings": ["国际漫游怎么收费"],
                "tags": ["roaming"], "audiences": ["agent", "customer"], "language": "zh", "state": "published"}
_seeded: dict[int, weakref.ref] = {}  # id(world) -> the world (a new world may reuse a dead one's id)


def seed_kb(w: World) -> None:
    """beta's knowledge base and acme's one article, once per world, through the API as each tenant's users."""
    ref = _seeded.get(id(w))
    if ref is not None and ref() is w:
        return
    lines = "\n".join(json.dumps(a, ensure_ascii=False) for a in BETA_ARTICLES)
    got = beta(w, "POST", "/api/kb/import", content=lines.encode()).json()
    assert (got["created"], got["rejected"]) == (3, 0), got
    assert beta(w, "PUT", "/api/kb/synonyms", Role.director, content=BETA_SYNONYMS.encode()).json()["groups"] == 1
    for _ in range(6):  # six searches today against none in the week before: hot
        beta(w, "GET", "/api/kb/search", Role.analyst, params={"q": HOT_TERM})
    beta(w, "GET", "/api/kb/search", Role.analyst, params={"q": UNANSWERED})  # a question without answer
    hits = beta(w, "POST", "/api/kb/suggest", Role.analyst,
                json={"words": "国际漫游怎么收费", "contact_id": "BETA-1", "queue": "beta-q"}).json()["hits"]
    assert hits and hits[0]["id"] == PUBLISHED, hits
    beta(w, "POST", "/api/kb/events", Role.analyst,
         json={"kind": "linked", "article": PUBLISHED, "contact_id": "BETA-1", "queue": "beta-q"})
    topics = hot.detect_for_tenant(w.client.app.state.resources.store, "beta", notify=True)  # opens the gap task
    assert any(t.subject == HOT_TERM and t.task_id for t in topics), [t.as_dict() for t in topics]
    acme(w, "PUT", "/api/kb/articles/acme-roaming", json=ACME_ARTICLE)
    _seeded[id(w)] = weakref.ref(w)


def beta_article(w: World, key: str = PUBLISHED) -> dict[str, Any]:
    """beta's article as its author sees it (the control read)."""
    return beta(w, "GET", f"/api/kb/articles/{key}", Role.team_lead).json()


# ----------------------------------------------------------------------------------------------- reading routes
@case("GET", "/api/kb/search")
def _kb_search(w: World) -> None:
    seed_kb(w)
    got = acme(w, "GET", "/api/kb/search", Role.analyst, params={"q": "国际漫游怎么收费"}).json()
    assert [h["id"] for h in got["hits"]] == ["acme-roaming"]
    states = ["published", "in_review", "draft", "archived"]
    got = acme(w, "GET", "/api/kb/search", params={"q": "数据套餐 停机通知", "state": states}).json()
    assert all(h["id"].startswith("acme") for h in got["hits"])
    assert acme(w, "GET", "/api/kb/search", params={"q": SYNONYM}).json()["count"] == 0  # beta's synonym
    assert PUBLISHED in [h["id"] for h in beta(w, "GET", "/api/kb/search", params={"q": SYNONYM}).json()["hits"]]
    got = beta(w, "GET", "/api/kb/search", params={"q": "数据套餐 停机通知", "state": states}).json()
    assert {REVIEW, DRAFT} <= {h["id"] for h in got["hits"]}


@case("GET", "/api/kb/articles")
def _kb_list(w: World) -> None:
    seed_kb(w)
    assert "acme-roaming" in [a["id"] for a in acme(w, "GET", "/api/kb/articles").json()]
    assert {a["id"] for a in beta(w, "GET", "/api/kb/articles").json()} == {PUBLISHED, REVIEW, DRAFT}


@case("GET", "/api/kb/articles/{key}")
def _kb_get(w: World) -> None:
    seed_kb(w)
    for key in (PUBLISHED, REVIEW, DRAFT):
        acme(w, "GET", f"/api/kb/articles/{key}", expect=404, sent=key)
        acme(w, "GET", f"/api/kb/articles/{key}", Role.analyst, expect=404, sent=key)
    assert beta(w, "GET", f"/api/kb/articles/{PUBLISHED}", Role.analyst).json()["title"].startswith("beta")


@case("GET", "/api/kb/articles/{key}/versions")
def _kb_versions(w: World) -> None:
    seed_kb(w)
    acme(w, "GET", f"/api/kb/articles/{PUBLISHED}/versions", expect=404, sent=PUBLISHED)
    versions = beta(w, "GET", f"/api/kb/articles/{PUBLISHED}/versions").json()
    assert versions and versions[0]["content"]["id"] == PUBLISHED


@case("GET", "/api/kb/export")
def _kb_export(w: World) -> None:
    seed_kb(w)
    assert "acme-roaming" in [a["id"] for a in acme(w, "GET", "/api/kb/export").json()]
    assert {a["id"] for a in beta(w, "GET", "/api/kb/export").json()} == {PUBLISHED, REVIEW, DRAFT}


@case("GET", "/api/kb/usage")
def _kb_usage(w: World) -> None:
    seed_kb(w)
    acme(w, "GET", "/api/kb/usage")
    got = beta(w, "GET", "/api/kb/usage").json()
    assert got["contacts_linked"] >= 1 and {"id": PUBLISHED, "contacts": 1} in got["reuse"]
    assert UNANSWERED in [q["query"] for q in got["questions_without_answer"]]


@case("GET", "/api/kb/hot")
def _kb_hot(w: World) -> None:
    seed_kb(w)
    acme(w, "GET", "/api/kb/hot")
    assert HOT_TERM in [t["subject"] for t in beta(w, "GET", "/api/kb/hot").json()["topics"]]


@case("GET", "/api/kb/tasks")
def _kb_tasks(w: World) -> None:
    seed_kb(w)
    acme(w, "GET", "/api/kb/tasks")
    assert any(HOT_TERM in t["title"] for t in beta(w, "GET", "/api/kb/tasks").json())


@case("POST", "/api/kb/suggest")
def _kb_suggest(w: World) -> None:
    seed_kb(w)
    body = {"words": "国际漫游怎么收费 数据套餐", "business_type": "beta_roaming_business", "contact_id": "ACME-ISO-KB"}
    assert [h["id"] for h in acme(w, "POST", "/api/kb/suggest", Role.analyst, json=body,
                                     sent="beta_roaming_business")
            .json()["hits"]] == ["acme-roaming"]  # fmt: skip
    assert PUBLISHED in [h["id"] for h in beta(w, "POST", "/api/kb/suggest", json=body).json()["hits"]]


# ------------------------------------------------------------------------------------------------ writing routes
@case("PUT", "/api/kb/articles/{key}")
def _kb_put(w: World) -> None:
    """A key of beta's is unknown in acme: an author's save is judged as a new article of acme's (a published one
    needs a reviewer *to publish*, not *to change*), and beta's article is untouched."""
    seed_kb(w)
    before = beta_article(w)
    body = {**ACME_ARTICLE, "title": "acme 覆盖尝试"}
    r = acme(w, "PUT", f"/api/kb/articles/{PUBLISHED}", Role.team_lead, expect=400, sent=PUBLISHED, json=body)
    assert "from draft to published" in r.json()["detail"]  # beta's published row would say "changing a published"
    got = acme(w, "PUT", "/api/kb/articles/acme-iso-put", Role.team_lead, json={**body, "state": "draft"}).json()
    assert got["status"] == "created" and got["version"] == 1
    assert beta_article(w) == before
    assert "acme-iso-put" not in {a["id"] for a in beta(w, "GET", "/api/kb/articles").json()}


@case("POST", "/api/kb/articles/{key}/state")
def _kb_state(w: World) -> None:
    seed_kb(w)
    before = {k: beta_article(w, k) for k in (PUBLISHED, REVIEW)}
    acme(w, "POST", f"/api/kb/articles/{PUBLISHED}/state", Role.team_lead, expect=404, sent=PUBLISHED,
         json={"state": "draft"})
    acme(w, "POST", f"/api/kb/articles/{REVIEW}/state", expect=404, sent=REVIEW, json={"state": "published"})
    assert {k: beta_article(w, k) for k in before} == before


@case("POST", "/api/kb/articles/{key}/publish")
def _kb_publish(w: World) -> None:
    seed_kb(w)
    before = beta_article(w, REVIEW)
    acme(w, "POST", f"/api/kb/articles/{REVIEW}/publish", Role.director, expect=404, sent=REVIEW)
    acme(w, "POST", f"/api/kb/articles/{DRAFT}/publish", Role.director, expect=404, sent=DRAFT)
    after = beta_article(w, REVIEW)
    assert after == before and after["state"] == "in_review"
    assert beta_article(w, DRAFT)["state"] == "draft"


@case("POST", "/api/kb/articles/{key}/verify")
def _kb_verify(w: World) -> None:
    seed_kb(w)
    before = beta_article(w)
    acme(w, "POST", f"/api/kb/articles/{PUBLISHED}/verify", Role.team_lead, expect=404, sent=PUBLISHED)
    assert beta_article(w) == before  # verify_due unchanged


@case("POST", "/api/kb/import")
def _kb_import(w: World) -> None:
    """Imported lines land in acme's namespace; a line naming beta's published key is judged a new article."""
    seed_kb(w)
    before = beta(w, "GET", "/api/kb/export").json()
    lines = [{**ACME_ARTICLE, "id": PUBLISHED, "title": "acme 覆盖尝试"},
             {**ACME_ARTICLE, "id": "acme-iso-import", "state": "draft"}]
    text = "\n".join(json.dumps(x, ensure_ascii=False) for x in lines)
    got = acme(w, "POST", "/api/kb/import", Role.team_lead, content=text.encode()).json()
    assert (got["created"], got["updated"], got["rejected"]) == (1, 0, 1), got
    assert "from draft to published" in got["rejects"][0]["reason"]
    assert beta(w, "GET", "/api/kb/export").json() == before


@case("PUT", "/api/kb/synonyms")
def _kb_synonyms(w: World) -> None:
    """acme replacing its synonyms leaves beta's in place (wanderlust still finds beta's roaming article)."""
    seed_kb(w)
    got = acme(w, "PUT", "/api/kb/synonyms", Role.director, content="synonyms:\n  - [wanderlust, 宽带]\n".encode())
    assert got.json() == {"groups": 1}
    hits = beta(w, "GET", "/api/kb/search", Role.analyst, params={"q": SYNONYM}).json()["hits"]
    assert PUBLISHED in [h["id"] for h in hits]


@case("POST", "/api/kb/events")
def _kb_events(w: World) -> None:
    seed_kb(w)
    before = beta(w, "GET", "/api/kb/usage").json()
    for kind in ("opened", "linked"):
        acme(w, "POST", "/api/kb/events", Role.analyst, expect=404, sent=PUBLISHED,
             json={"kind": kind, "article": PUBLISHED, "contact_id": "ACME-ISO-KB"})
    assert beta(w, "GET", "/api/kb/usage").json() == before


def seed_reranker(w: World) -> None:
    """beta's stored re-ranker (plain weights; its report names beta), once per world."""
    from callops.knowledge import rerank, training
    from callops.store.models_knowledge import KbReranker

    seed_kb(w)
    store = w.client.app.state.resources.store
    if training.status(store, "beta") is None:
        model = rerank.Reranker({"d:漫": -1.0, "score": 1.0}, 0.0, {"tenant": "beta"})
        with store.session() as s:
            s.add(KbReranker(tenant_id="beta", model=model.to_json(), active=True,
                             report={"tenant": "beta", "queries": 60, "actor": "beta-kb-reviewer"}))


@case("GET", "/api/kb/reranker")
def _kb_reranker_get(w: World) -> None:
    seed_reranker(w)
    assert acme(w, "GET", "/api/kb/reranker").json() == {"reranker": None}
    assert beta(w, "GET", "/api/kb/reranker").json()["reranker"]["actor"] == "beta-kb-reviewer"


@case("POST", "/api/kb/reranker")
def _kb_reranker_train(w: World) -> None:
    """acme learns from its own events only (beta's linked contact BETA-1 is not acme's), and beta's article ids
    name nothing in acme; beta's re-ranker stays as it was."""
    seed_reranker(w)
    before = beta(w, "GET", "/api/kb/reranker").json()
    acme(w, "POST", "/api/kb/reranker", params={"from_events": "true"}, expect=400)
    lines = "\n".join(json.dumps({"query": f"国际漫游怎么收费 {i}", "expected": PUBLISHED}, ensure_ascii=False)
                      for i in range(60))
    got = acme(w, "POST", "/api/kb/reranker", content=lines.encode(), expect=400, sent=PUBLISHED).json()
    assert "0 labelled questions name a published article" in got["detail"], got
    assert beta(w, "GET", "/api/kb/reranker").json() == before


@case("DELETE", "/api/kb/reranker")
def _kb_reranker_delete(w: World) -> None:
    seed_reranker(w)
    assert acme(w, "DELETE", "/api/kb/reranker").json() == {"cleared": False}
    assert beta(w, "GET", "/api/kb/reranker").json()["reranker"]["queries"] == 60
