"""Hot topics pushed by the serving process's worker: every tenant, notifications and gap tasks, idempotent over
rounds, a tenant without warehouse data still checked, the interval setting validated."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from callops.api.deps import Resources
from callops.errors import CallopsError
from callops.knowledge import push
from callops.store.models import OutboxMessage
from callops.store.models_knowledge import KbEvent, KbTask

NOW = datetime(2026, 12, 6, 12, 0).astimezone()


def _seed(store: object) -> None:
    with store.session() as s:  # type: ignore[attr-defined]
        rows = []
        for tenant, term in (("t1", "5g消息"), ("t10", "t10携号转网")):
            for day in range(1, 8):  # baseline: 2 searches a day
                rows += [KbEvent(tenant_id=tenant, kind="searched", query=term, hits=0,
                                 at=NOW - timedelta(days=day, hours=3)) for _ in range(2)]  # fmt: skip
            rows += [KbEvent(tenant_id=tenant, kind="searched", query=term, hits=0, queue=f"{tenant}-q",
                             at=NOW - timedelta(hours=1)) for _ in range(15)]  # fmt: skip
        s.add_all(rows)


def _messages(store: object) -> list[tuple[str, str]]:
    with store.session() as s:  # type: ignore[attr-defined]
        return sorted((m.tenant_id, m.payload["subject"]) for m in s.scalars(select(OutboxMessage)))


def test_worker_pushes_every_tenant_once(world: dict) -> None:
    store = world["store"]
    _seed(store)
    res = Resources(world["store_url"], world["wh_url"])
    try:
        got = push.push_round(res, now=NOW)
        assert {t: [x["subject"] for x in v] for t, v in got.items()} == {"t1": ["5g消息"], "t10": ["t10携号转网"]}
        assert got["t1"][0]["queues"] == ["t1-q"]
        stop = push.push_hot_topics(res, every_s=0.05, clock=lambda: NOW)  # the server's worker, fast
        time.sleep(0.5)  # several rounds
        stop()
    finally:
        res.close()
    assert _messages(store) == [("t1", "5g消息"), ("t10", "t10携号转网")]  # one notification each, not one per round
    with store.session() as s:
        assert sorted((t.tenant_id, t.topic_key) for t in s.scalars(select(KbTask))) == [
            ("t1", "search_term:5g消息"), ("t10", "search_term:t10携号转网")]


def test_interval_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CALLOPS_KB_HOT_INTERVAL_S", raising=False)
    assert push.interval_s() == push.DEFAULT_INTERVAL_S
    monkeypatch.setenv("CALLOPS_KB_HOT_INTERVAL_S", "0")
    assert push.interval_s() == 0 and push.push_hot_topics(object())() is None  # off: nothing started
    for bad in ("soon", "-5", "nan"):
        monkeypatch.setenv("CALLOPS_KB_HOT_INTERVAL_S", bad)
        with pytest.raises(CallopsError, match="CALLOPS_KB_HOT_INTERVAL_S"):
            push.interval_s()
