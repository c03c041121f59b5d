"""The demo step: the bundled bilingual knowledge base loads, the simulated surge and the new eSIM question come out
as hot topics (one covered, one a knowledge gap), reminders are queued, and a second run adds nothing."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from callops.knowledge import demo, demo_articles


@pytest.fixture
def demo_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CALLOPS_HOME", str(tmp_path))
    monkeypatch.delenv("CALLOPS_WAREHOUSE", raising=False)
    monkeypatch.delenv("CALLOPS_STORE_URL", raising=False)
    return tmp_path


def test_demo_step(demo_home: Path) -> None:
    from callops.demo import CAPABILITY_STEPS, ensure_demo_tenant
    from callops.warehouse import Warehouse

    assert "callops.knowledge.demo:run" in CAPABILITY_STEPS
    out = io.StringIO()
    with Warehouse() as wh:
        ensure_demo_tenant(wh)
        res = demo.run(wh, Console(file=out, width=200))
        assert res["import"]["created"] == len(demo_articles.build()) and res["import"]["rejected"] == 0
        topics = {t["subject"]: t for t in res["topics"]}
        assert topics["收到退网短信怎么办"]["article"] == "network-migration"
        assert topics["esim怎么开通"]["article"] is None and topics["esim怎么开通"]["gap_task"] is not None
        assert "话费余额查询" not in topics  # steady terms are not hot
        assert res["reminders"] == sum(1 for r in demo_articles.build() if r["tags"][0] == "billing"
                                       and r["state"] == "published")
        again = demo.run(wh, Console(file=io.StringIO()))
        assert again["import"]["unchanged"] == len(demo_articles.build()) and again["reminders"] == 0
    assert "knowledge gap" in out.getvalue()
    assert "the server pushes hot topics every" in out.getvalue()


def test_demo_articles_are_bilingual_and_valid() -> None:
    from callops.knowledge.articles import parse_article
    from callops.knowledge.tokenize import has_han

    for rec in demo_articles.build():
        art = parse_article(rec)
        assert any(has_han(p) for p in art.phrasings) and any(not has_han(p) for p in art.phrasings)
        assert "**English.**" in art.body


def test_demo_trains_the_re_ranker_from_the_simulated_links(demo_home: Path) -> None:
    """Two simulated days give the knowledge step contacts; the questions of the linked ones train the re-ranker.

    The count is checked by plain SQL over the events table: distinct questions asked on a contact that has a
    used / linked / sent event.
    """
    import sqlalchemy as sa

    from callops.demo import ensure_demo_tenant, generate_hotline
    from callops.knowledge import training
    from callops.store.db import Store
    from callops.warehouse import Warehouse

    out = io.StringIO()
    with Warehouse() as wh:
        ensure_demo_tenant(wh)
        generate_hotline(wh, Console(file=io.StringIO()), days=2)
        res = demo.run(wh, Console(file=out, width=200))
    learned = res["reranker"]
    with Store() as store:
        with store.session() as s:
            expected = s.execute(sa.text(
                "SELECT COUNT(DISTINCT q.query) FROM kb_events q WHERE q.tenant_id = 'demo' AND q.kind IN "
                "('searched', 'suggested') AND q.query <> '' AND q.contact_id IN (SELECT a.contact_id "
                "FROM kb_events a WHERE a.tenant_id = 'demo' AND a.kind IN ('used', 'linked', 'sent'))")).scalar_one()
        assert learned["from_events"] == learned["queries"] == expected >= 50
        assert learned["stored"] and (training.active_reranker(store, "demo") is not None) == learned["active"]
    assert f"re-ranker learned from {expected} questions the agents linked" in out.getvalue()
