"""The knowledge store on a real PostgreSQL server: import with rejects (savepoints), life cycle, search, events,
hot topics and isolation of t1/t10. Skips when the server is unreachable unless CALLOPS_REQUIRE_SERVICES=1."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from callops import tenancy
from callops.knowledge import articles, assist, hot, service
from callops.store import tenants
from callops.store.db import Store
from callops.store.models_knowledge import KbEvent

PG = os.environ.get("CALLOPS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def pg_store() -> Iterator[Store]:
    admin = sa.create_engine(PG, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        admin.dispose()
        if os.environ.get("CALLOPS_REQUIRE_SERVICES") == "1":
            pytest.fail(f"PostgreSQL not reachable: {exc.__class__.__name__}")
        pytest.skip(f"PostgreSQL not reachable: {exc.__class__.__name__}")
    name = f"kb_{secrets.token_hex(6)}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(PG).set(database=name).render_as_string(hide_password=False)
    store = Store(url)
    with store.session() as s:
        for t in ("t1", "t10"):
            tenants.upsert_tenant(s, tenancy.Tenant(t, "Asia/Shanghai", datetime(2026, 1, 1).astimezone()))
    try:
        yield store
    finally:
        store.close()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def test_knowledge_on_postgresql(pg_store: Store) -> None:
    lines = [json.dumps({"id": "suspend", "title": "停机保号", "phrasings": ["我要停机"], "state": "published",
                         "audiences": ["agent", "customer"]}, ensure_ascii=False),
             "{broken", json.dumps({"id": "loop", "title": "x", "body": "[x](kb:loop)"})]
    with pg_store.session() as s:
        res = service.import_lines(s, "t1", iter(lines), "test", can_review=True)
    assert (res.created, [r["line"] for r in res.rejected]) == (1, [2, 3])
    with pg_store.session() as s:
        articles.transition(s, "t1", "suspend", "draft", "alice", can_review=False)
        articles.transition(s, "t1", "suspend", "published", "rita", can_review=True)
        assert [v.state for v in articles.versions(s, "t1", "suspend")] == ["published", "draft", "published"]
    assert [h.key for h in service.search(pg_store, "t1", "我想停机").hits] == ["suspend"]
    assert service.search(pg_store, "t10", "我想停机").hits == []
    assist.suggest(pg_store, "t1", words="我想停机", contact_id="C1")
    assist.record_event(pg_store, "t1", "linked", "suspend", contact_id="C1")
    assert assist.usage(pg_store, "t1")["link_rate"] == 1.0
    now = datetime.now().astimezone()
    with pg_store.session() as s:
        s.add_all(KbEvent(tenant_id="t1", kind="searched", query="esim", hits=0, at=now - timedelta(hours=1))
                  for _ in range(12))
    topics = hot.detect_for_tenant(pg_store, "t1", now=now, notify=True)
    assert [(t.subject, t.article) for t in topics] == [("esim", None)] and topics[0].task_id


def test_reranker_on_postgresql(pg_store: Store) -> None:
    """The re-ranker trained from t1's events is stored (JSONB weights, boolean flag) and used by t1's search only."""
    from test_rerank import SEEN, questions
    from test_rerank import articles as learning_set

    from callops.knowledge import training

    text = [json.dumps(a, ensure_ascii=False) for a in learning_set()]
    for t in ("t1", "t10"):
        with pg_store.session() as s:
            service.import_lines(s, t, iter(text), "test", can_review=True)
    for n, q in enumerate(questions(SEEN)):
        service.search(pg_store, "t1", q.query, contact_id=f"PG{n}")
        assist.record_event(pg_store, "t1", "used", next(iter(q.expected)), contact_id=f"PG{n}")
    report = training.train(pg_store, "t1", [], use_events=True)
    assert report["from_events"] == 60 and report["active"]
    assert training.status(pg_store, "t1")["queries"] == 60 and training.status(pg_store, "t10") is None
    assert service.search(pg_store, "t1", "网盘怎么办理业务", record=False).hits[0].key == "guide-19"
    assert service.search(pg_store, "t10", "网盘怎么办理业务", record=False).hits[0].key == "paused-19"
