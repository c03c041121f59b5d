"""The /api/kb routes: permissions, life cycle, bad input answered 4xx (never 500), isolation, suggestions."""

from __future__ import annotations

import json

import pytest

ART = {"title": "停机保号怎么办理", "body": "携带身份证到营业厅办理，或拨打 10086。",
       "phrasings": ["我要停机", "how to suspend my line"],
       "tags": ["suspension"], "audiences": ["agent", "customer"], "language": "mixed"}


def _publish(client, auth, tenant: str = "t1", key: str = "suspend", **extra) -> None:
    r = client.put(f"/api/kb/articles/{key}", json={**ART, **extra}, headers=auth(tenant, "team_lead"))
    assert r.status_code == 200, r.text
    r = client.post(f"/api/kb/articles/{key}/publish", headers=auth(tenant, "director"))
    assert r.status_code == 200, r.text


def test_author_writes_reviewer_publishes_reader_searches(client, auth) -> None:
    r = client.put("/api/kb/articles/suspend", json=ART, headers=auth("t1", "analyst"))
    assert r.status_code == 403 and "kb:author" in r.json()["detail"]
    r = client.put("/api/kb/articles/suspend", json=ART, headers=auth("t1", "team_lead"))
    assert r.json()["state"] == "draft" and r.json()["version"] == 1
    r = client.post("/api/kb/articles/suspend/state", json={"state": "published"}, headers=auth("t1", "team_lead"))
    assert r.status_code == 400 and "reviewer" in r.json()["detail"]
    assert client.post("/api/kb/articles/suspend/publish", headers=auth("t1", "team_lead")).status_code == 403
    assert client.get("/api/kb/search", params={"q": "停机"}, headers=auth("t1", "analyst")).json()["count"] == 0
    r = client.post("/api/kb/articles/suspend/publish", headers=auth("t1", "director"))
    assert r.json()["state"] == "published" and r.json()["reviewed_by"] == "director-t1"
    r = client.get("/api/kb/search", params={"q": "我想停机", "audience": "customer"}, headers=auth("t1", "analyst"))
    hit = r.json()["hits"][0]
    assert hit["id"] == "suspend" and "<mark>停机</mark>" in hit["highlights"]["title"]
    versions = client.get("/api/kb/articles/suspend/versions", headers=auth("t1", "team_lead")).json()
    assert [v["state"] for v in versions] == ["draft", "published"]


@pytest.mark.parametrize(("q", "code", "needle"), [
    ("x" * 10_000, 400, "at most 2000"),
    ("x" * 10_001, 422, "q"),
    ("", 400, "empty query"),
    ("\x00\x01\x02", 400, "empty query"),
    ("停机\x00\x1b[31m", 200, None),
])
def test_bad_queries_get_clear_answers(client, auth, q: str, code: int, needle: str | None) -> None:
    r = client.get("/api/kb/search", params={"q": q}, headers=auth("t1", "analyst"))
    assert r.status_code == code, r.text
    if needle:
        assert needle in r.json()["detail"]


def test_self_link_and_bad_bodies_are_400(client, auth) -> None:
    r = client.put("/api/kb/articles/loop", json={**ART, "body": "见 [此文](kb:loop)"}, headers=auth("t1", "team_lead"))
    assert r.status_code == 400 and "links to itself" in r.json()["detail"]
    r = client.put("/api/kb/articles/a", json={**ART, "id": "b"}, headers=auth("t1", "team_lead"))
    assert r.status_code == 400 and "differs" in r.json()["detail"]
    r = client.put("/api/kb/articles/a", json={**ART, "audiences": ["x"]}, headers=auth("t1", "team_lead"))
    assert r.status_code == 400 and r.json()["detail"].startswith("audiences.0")
    r = client.get("/api/kb/search", params={"q": "a", "audience": "martian"}, headers=auth("t1", "analyst"))
    assert r.status_code == 400 and "unknown audience" in r.json()["detail"]
    r = client.put("/api/kb/synonyms", content="synonyms:\n  - [流量包, 数据包]\n  - [only-one]\n",
                   headers=auth("t1", "director"))
    assert r.status_code == 400 and r.json()["detail"].startswith("body:3:")


def test_import_endpoint_reports_rejected_lines(client, auth) -> None:
    body = "\n".join([json.dumps({"id": "a1", **ART}, ensure_ascii=False), "oops",
                      json.dumps({"id": "a2", **ART, "state": "published"}, ensure_ascii=False)])
    r = client.post("/api/kb/import", content=body.encode(), headers=auth("t1", "team_lead"))
    res = r.json()
    assert (res["created"], res["rejected"]) == (1, 2)
    assert [x["line"] for x in res["rejects"]] == [2, 3] and "reviewer" in res["rejects"][1]["reason"]


def test_tenants_never_see_each_other(client, auth) -> None:
    _publish(client, auth, "t1")
    assert client.get("/api/kb/articles/suspend", headers=auth("t10", "admin")).status_code == 404
    assert client.get("/api/kb/search", params={"q": "停机"}, headers=auth("t10", "analyst")).json()["count"] == 0
    r = client.post("/api/kb/events", json={"kind": "opened", "article": "suspend"}, headers=auth("t10", "analyst"))
    assert r.status_code == 404
    assert client.get("/api/kb/export", headers=auth("t10", "admin")).json() == []


def test_suggest_events_usage(client, auth) -> None:
    _publish(client, auth, "t1")
    _publish(client, auth, "t1", key="bill", title="话费查询", body="发送 CXHF 到 10086", phrasings=["查话费"],
             tags=["billing"])
    r = client.post("/api/kb/suggest", json={"words": "我这个月不想用了，想先停一段时间", "business_type": "suspension",
                                             "contact_id": "C1", "decision": {"strategy": "retain", "tags": ["vip"]}},
                    headers=auth("t1", "analyst"))
    assert r.json()["hits"][0]["id"] == "suspend"
    client.post("/api/kb/suggest", json={"reason": "billing", "contact_id": "C2", "business_type": "billing"},
                headers=auth("t1", "analyst"))
    for kind in ("opened", "linked", "sent"):
        r = client.post("/api/kb/events", json={"kind": kind, "article": "suspend", "contact_id": "C1"},
                        headers=auth("t1", "analyst"))
        assert r.status_code == 200
    r = client.post("/api/kb/events", json={"kind": "linked", "article": "suspend"}, headers=auth("t1", "analyst"))
    assert r.status_code == 400 and "contact id" in r.json()["detail"]
    client.get("/api/kb/search", params={"q": "国际漫游资费"}, headers=auth("t1", "analyst"))
    u = client.get("/api/kb/usage", headers=auth("t1", "analyst")).json()
    assert u["contacts_with_suggestions"] == 2 and u["link_rate"] == 0.5
    assert u["questions_without_answer"] == [{"query": "国际漫游资费", "count": 1}]
    assert u["never_found"] == []
    r = client.post("/api/kb/suggest", json={}, headers=auth("t1", "analyst"))
    assert r.status_code == 400 and "nothing to suggest" in r.json()["detail"]


def test_hot_feed_and_tasks(client, auth) -> None:
    r = client.get("/api/kb/hot", headers=auth("t1", "analyst"))
    assert r.status_code == 200 and r.json()["topics"] == []
    assert client.get("/api/kb/tasks", headers=auth("t1", "team_lead")).json() == []


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+08:00", "3000-01-01T00:00:00+08:00"])
def test_usage_since_out_of_range_is_400(client, auth, since: str) -> None:
    """A ``since`` no instant arithmetic can hold (year 1 shifted to UTC underflowed: a 500) is a clear 400."""
    r = client.get("/api/kb/usage", params={"since": since}, headers=auth("t1", "analyst"))
    assert r.status_code == 400 and "expected a date between 1900-01-01 and 2999-12-31" in r.json()["detail"]
    assert client.get("/api/kb/usage", params={"since": "2026-01-01T00:00:00+08:00"},
                      headers=auth("t1", "analyst")).status_code == 200  # fmt: skip


def test_reranker_routes(client, auth) -> None:
    """A reviewer trains t1's re-ranker from a body of labelled questions; t1's search order changes, t10's not.

    The learning set is test_rerank's: BM25 puts each service's paused notice first; the guide is the answer.
    """
    from test_rerank import SEEN, articles, questions

    lines = "\n".join(json.dumps(a, ensure_ascii=False) for a in articles()).encode()
    for t in ("t1", "t10"):
        assert client.post("/api/kb/import", content=lines, headers=auth(t, "admin")).json()["created"] == 40
    body = "\n".join(json.dumps({"query": q.query, "expected": sorted(q.expected)}, ensure_ascii=False)
                     for q in questions(SEEN)).encode()
    assert client.post("/api/kb/reranker", content=body, headers=auth("t1", "team_lead")).status_code == 403
    assert client.get("/api/kb/reranker", headers=auth("t1", "analyst")).status_code == 403
    r = client.post("/api/kb/reranker", content=body, headers=auth("t1", "director"))
    assert r.status_code == 200 and r.json()["active"] and r.json()["queries"] == 60, r.text
    shown = client.get("/api/kb/reranker", headers=auth("t1", "team_lead")).json()["reranker"]
    assert shown["tenant"] == "t1" and shown["actor"] == "director-t1" and shown["active"]
    assert client.get("/api/kb/reranker", headers=auth("t10", "team_lead")).json() == {"reranker": None}

    def first(tenant: str) -> str:
        r = client.get("/api/kb/search", params={"q": "网盘怎么办理业务"}, headers=auth(tenant, "analyst"))
        return r.json()["hits"][0]["id"]

    assert (first("t1"), first("t10")) == ("guide-19", "paused-19")
    assert client.delete("/api/kb/reranker", headers=auth("t10", "director")).json() == {"cleared": False}
    assert first("t1") == "guide-19"
    assert client.delete("/api/kb/reranker", headers=auth("t1", "director")).json() == {"cleared": True}
    assert first("t1") == "paused-19"


@pytest.mark.parametrize(("body", "params", "needle"), [
    (b"", {}, "from_events=true"),
    (b'{"query": "a"}\n{"query": 1}', {}, "body:1: 'expected'"),
    (b'{"query": "ok", "expected": "x"}\nnot json', {}, "body:2: not JSON"),
    (json.dumps({"query": "y" * 3000, "expected": "x"}).encode(), {}, "body:1: query is 3000 characters long"),
    ('{"query": "完\u2028整", "expected": "x"}'.encode(), {}, "at least 50"),  # a raw U+2028 is no line break
    (b"", {"from_events": "true"}, "at least 50"),
    (b"", {"from_events": "maybe"}, "from_events"),
])
def test_reranker_bad_requests_are_400(client, auth, body: bytes, params: dict, needle: str) -> None:
    r = client.post("/api/kb/reranker", content=body, params=params, headers=auth("t1", "director"))
    assert r.status_code in (400, 422) and needle in r.text, r.text
