"""Life cycle, versions, reviewer rule, self-links, import/export with rejects, reminders, tenant isolation."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from callops.errors import CallopsError, NotFound
from callops.knowledge import articles, service
from callops.store.models import OutboxMessage

NOW = datetime(2026, 12, 6, 9, 0).astimezone()


def _art(key: str = "bill-1", **kw: object) -> articles.ArticleIn:
    return articles.parse_article({"id": key, "title": "话费查询", "body": "发送 CXHF 到 10086", **kw})


def test_life_cycle_keeps_versions_and_needs_a_reviewer(world: dict) -> None:
    store = world["store"]
    with store.session() as s:
        row, status = articles.save_article(s, "t1", _art(), "alice", can_review=False, now=NOW)
        assert (status, row.state, row.version) == ("created", "draft", 1)
        with pytest.raises(CallopsError, match="kb:review"):
            articles.transition(s, "t1", "bill-1", "published", "alice", can_review=False)
        articles.transition(s, "t1", "bill-1", "in_review", "alice", can_review=False)
        articles.transition(s, "t1", "bill-1", "published", "rita", can_review=True)
        with pytest.raises(CallopsError, match="kb:review"):  # an author cannot change a published article
            articles.save_article(s, "t1", _art(body="新内容", state="published"), "alice", can_review=False)
        _, status = articles.save_article(s, "t1", _art(body="新内容"), "alice", can_review=False)  # back to draft
        assert status == "updated"
        with pytest.raises(CallopsError, match="unknown state"):
            articles.transition(s, "t1", "bill-1", "nonsense", "alice", can_review=True)
    with store.session() as s:
        vs = articles.versions(s, "t1", "bill-1")
        assert [v.state for v in vs] == ["draft", "in_review", "published", "draft"]
        assert vs[2].actor == "rita" and vs[0].content["body"] == "发送 CXHF 到 10086"
        assert articles.get_article(s, "t1", "bill-1").body == "新内容"


def test_self_link_is_refused_other_links_are_fine() -> None:
    with pytest.raises(CallopsError, match="links to itself"):
        _art(body="见 [本文](kb:bill-1)")
    assert _art(body="见 [另一篇](kb:bill-2)").id == "bill-1"


def test_import_rejects_bad_lines_and_loads_the_rest(world: dict, tmp_path: Path) -> None:
    good = {"id": "a1", "title": "停机", "body": "b", "phrasings": ["怎么停机", "how to suspend"],
            "tags": ["suspension"],
            "audiences": ["agent", "customer"], "language": "mixed", "state": "published"}
    lines = [
        json.dumps(good, ensure_ascii=False),
        "{not json",
        json.dumps({**good, "id": "a2", "audiences": ["martians"]}),
        json.dumps({**good, "id": "a3", "body": "[x](kb:a3)"}),
        "",
        json.dumps({**good, "id": "a4", "extra": 1}),
        json.dumps({**good, "id": "a5", "title": "复机"}, ensure_ascii=False),
        json.dumps({**good, "title": "dup"}),
    ]
    f = tmp_path / "kb.jsonl"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = service.import_file(world["store"], "t1", f, "cli")
    assert (res.created, res.updated) == (2, 0)
    assert [(r["line"], r["reason"].split(":")[0]) for r in res.rejected] == [
        (2, "not JSON (Expecting property name enclosed in double quotes at column 2)"),
        (3, "audiences.0"), (4, "article 'a3' links to itself (kb"), (6, "extra"),
        (8, "id 'a1' already given on line 1"),
    ]
    with world["store"].session() as s:
        exported = service.export_records(s, "t1")
    assert [r["id"] for r in exported] == ["a1", "a5"]
    assert {k for k in exported[0]} >= {"id", "title", "body", "phrasings", "tags", "audiences", "language", "state"}
    # round trip into the tenant whose name extends t1's: same content, and t1 keeps its own
    f2 = tmp_path / "export.jsonl"
    f2.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in exported), encoding="utf-8")
    assert service.import_file(world["store"], "t10", f2, "cli").created == 2
    assert service.import_file(world["store"], "t10", f2, "cli").unchanged == 2
    with world["store"].session() as s:
        assert service.export_records(s, "t10") == exported
        articles.transition(s, "t10", "a1", "archived", "rita", can_review=True)
    with world["store"].session() as s:
        assert articles.get_article(s, "t1", "a1").state == "published"
        with pytest.raises(NotFound):
            articles.get_article(s, "t1", "zz")


def test_expired_articles_leave_customer_search_but_authors_see_them(world: dict) -> None:
    store = world["store"]
    with store.session() as s:
        today = service.tenant_today(s, "t1")
        for key, valid_to in (("old", today - timedelta(days=1)), ("new", None)):
            art = _art(key, title=f"4G 套餐 {key}", audiences=["customer", "agent"], state="published",
                       valid_to=valid_to.isoformat() if valid_to else None)
            articles.save_article(s, "t1", art, "rita", can_review=True)
    keys = lambda **kw: {h.key: h.expired for h in service.search(store, "t1", "4G套餐", **kw).hits}  # noqa: E731
    assert keys(audience="customer") == {"new": False}
    assert keys(audience="customer", author_view=True) == {"new": False}
    assert keys(author_view=True) == {"new": False, "old": True}
    assert keys() == {"new": False}
    assert service.search(store, "t10", "4G套餐").hits == []  # the other tenant has nothing


def test_reminders_before_verification_is_due_once(world: dict) -> None:
    store = world["store"]
    with store.session() as s:
        for key, days_ago in (("due", 85), ("fresh", 10)):
            art = _art(key, state="published", verify_every_days=90)
            articles.save_article(s, "t1", art, "rita", can_review=True, now=NOW - timedelta(days=days_ago))
    with store.session() as s:
        sent = articles.remind_due(s, "t1", now=NOW)
        assert [r.article for r in sent] == ["due"]
        assert sent[0].due.date() == (NOW - timedelta(days=85) + timedelta(days=90)).date()
    with store.session() as s:
        assert articles.remind_due(s, "t1", now=NOW) == []  # once per due date
        msgs = list(s.scalars(select(OutboxMessage)))
        assert [(m.tenant_id, m.payload["article"], m.payload["owner"]) for m in msgs] == [("t1", "due", "rita")]


def test_bad_article_fields_are_named() -> None:
    with pytest.raises(CallopsError, match=r"^id: String should match"):
        articles.parse_article({"id": "a b", "title": "x"})
    with pytest.raises(CallopsError, match="language"):
        articles.parse_article({"id": "a", "title": "x", "language": "fr"})
    with pytest.raises(CallopsError, match="valid_to"):
        articles.parse_article({"id": "a", "title": "x", "valid_to": "tomorrow"})
    assert articles.parse_article({"id": "a", "title": "x", "valid_to": "2027-01-01"}).valid_to == date(2027, 1, 1)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(
    st.text(max_size=80),
    st.fixed_dictionaries({"id": st.text(max_size=12), "title": st.text(max_size=20)}).map(json.dumps),
    st.builds(lambda k, b: json.dumps({"id": k, "title": "t", "body": b}),
              st.from_regex(r"[a-z]{1,6}", fullmatch=True), st.text(max_size=30)),
), max_size=8))
def test_import_never_fails_every_line_is_accounted(world: dict, lines: list[str]) -> None:
    with world["store"].session() as s:
        res = service.import_lines(s, "t1", iter(lines), "fuzz", can_review=True)
        s.rollback()
    counted = res.created + res.updated + res.unchanged + len(res.rejected)
    assert counted == sum(1 for line in lines if line.strip())
    assert all(r["line"] >= 1 and r["reason"] for r in res.rejected)
