"""Hot topics: the conditional binomial test against brute force, Holm, the false-alarm rate under no change,
and detection end to end (search events → hot term, gap task, notification; a covered term names its article)."""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from callops.knowledge import articles, hot
from callops.store.models import OutboxMessage
from callops.store.models_knowledge import KbEvent, KbTask

NOW = datetime(2026, 12, 6, 12, 0).astimezone()


def _brute(c: int, b: int, share: float) -> float:
    n = c + b
    return sum(math.comb(n, k) * share**k * (1 - share) ** (n - k) for k in range(c, n + 1))


@given(st.integers(0, 60), st.integers(0, 200), st.floats(0.01, 0.99))
def test_p_value_equals_the_binomial_tail_summed_by_hand(c: int, b: int, share: float) -> None:
    assert hot.p_upper(c, b, share) == pytest.approx(_brute(c, b, share) if c > 0 else 1.0, rel=1e-9, abs=1e-300)


def test_holm_by_hand() -> None:
    # m = 4, α = 0.05: thresholds 0.0125, 0.0167, 0.025, 0.05 → the two smallest pass, 0.03 > 0.025 stops
    assert hot.holm([0.01, 0.04, 0.03, 0.005], 0.05) == [True, False, False, True]


def test_rise_is_hot_and_ordinary_day_is_not() -> None:
    share = 1 / 8  # one day against seven
    base = Counter({"4g": 70, "bill": 70})
    found = hot.detect(Counter({"4g": 30, "bill": 12}), base, share)
    assert [(s, c, b) for s, c, b, _, _ in found] == [("4g", 30, 70)]
    assert found[0][3] == pytest.approx(10.0)
    assert hot.detect(Counter({"new": 4}), Counter(), share) == []  # below the minimum count


def test_false_alarm_rate_under_no_change_stays_below_alpha() -> None:
    rng = np.random.default_rng(7)
    alpha, runs, alarms = 0.05, 2000, 0
    for _ in range(runs):
        rates = {f"s{i}": r for i, r in enumerate(rng.uniform(1, 30, size=10))}
        cur = Counter({s: int(rng.poisson(r)) for s, r in rates.items()})
        base = Counter({s: int(rng.poisson(7 * r)) for s, r in rates.items()})
        alarms += bool(hot.detect(cur, base, 1 / 8, alpha=alpha))
    assert alarms / runs <= alpha  # family-wise (Holm), so at most α of runs raise any alarm


def test_events_give_a_hot_term_a_gap_task_and_a_notification(world: dict) -> None:
    store = world["store"]
    with store.session() as s:
        art = articles.parse_article({"id": "suspend", "title": "停机保号办理", "tags": ["suspension"],
                                      "phrasings": ["怎么停机保号"], "state": "published", "owner": "li"})
        articles.save_article(s, "t1", art, "rita", can_review=True)
        rows = []
        for day in range(1, 8):  # baseline: 2 searches a day for each term
            for q in ("停机保号", "5g消息"):
                at = NOW - timedelta(days=day, hours=3)
                rows += [KbEvent(tenant_id="t1", kind="searched", query=q, hits=1, at=at) for _ in range(2)]
        rows += [KbEvent(tenant_id="t1", kind="searched", query="停机保号", hits=1, queue="q-suspend",
                         at=NOW - timedelta(hours=2)) for _ in range(20)]
        rows += [KbEvent(tenant_id="t1", kind="searched", query="5g消息", hits=0, queue="q-5g",
                         at=NOW - timedelta(hours=1)) for _ in range(15)]
        rows += [KbEvent(tenant_id="t10", kind="searched", query="t10-only", hits=0, at=NOW - timedelta(hours=1))
                 for _ in range(50)]
        s.add_all(rows)
    topics = hot.detect_for_tenant(store, "t1", now=NOW, notify=True)
    by = {t.subject: t for t in topics}
    assert set(by) == {"停机保号", "5g消息"}
    assert by["停机保号"].article == "suspend" and by["停机保号"].task_id is None
    assert by["停机保号"].queues == ["q-suspend"]
    assert by["5g消息"].article is None and by["5g消息"].task_id is not None
    with store.session() as s:
        tasks = list(s.scalars(select(KbTask)))
        assert [(t.tenant_id, t.topic_key, t.status) for t in tasks] == [("t1", "search_term:5g消息", "open")]
        notes = [m.payload["subject"] for m in s.scalars(select(OutboxMessage))]
        assert sorted(notes) == ["5g消息", "停机保号"]
    again = hot.detect_for_tenant(store, "t1", now=NOW, notify=True)  # idempotent: same task, no new messages
    assert {t.task_id for t in again if t.task_id} == {by["5g消息"].task_id}
    with store.session() as s:
        assert len(list(s.scalars(select(OutboxMessage)))) == 2
    assert hot.detect_for_tenant(store, "t10", now=NOW)[0].subject == "t10-only"


def test_business_type_surge_from_contacts_names_queues_and_article(world: dict, tmp_path) -> None:
    from callops.ingest.loader import load_files
    from callops.ingest.mapping import load_mapping
    from callops.warehouse import Warehouse

    last = datetime(2026, 3, 9, 12, 0).astimezone()
    lines = ["contact_id,center,queue,channel,direction,offered_at,outcome,business_type"]
    n = 0
    for day in range(1, 8):  # baseline: 10 billing and 6 roaming contacts a day
        for bt, count in (("billing", 10), ("roaming", 6)):
            for i in range(count):
                n += 1
                at = last - timedelta(days=day, minutes=i * 7 + 1)
                lines.append(f"c{n},hq,{bt}-q,voice,inbound,{at.isoformat()},abandoned,{bt}")
    for bt, queue, count in (("billing", "billing-q", 11), ("roaming", "roaming-q", 25), ("roaming", "vip-q", 5)):
        for i in range(count):  # the last day: roaming jumps, billing as usual
            n += 1
            at = (last - timedelta(minutes=i * 20)).isoformat()
            lines.append(f"c{n},hq,{queue},voice,inbound,{at},abandoned,{bt}")
    f = tmp_path / "contacts.csv"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    store = world["store"]
    with store.session() as s:
        art = articles.parse_article({"id": "roam", "title": "国际漫游", "tags": ["roaming"], "state": "published"})
        articles.save_article(s, "t1", art, "rita", can_review=True)
    with Warehouse(world["wh_url"]) as wh:
        from callops import tenancy

        load_files(wh, tenancy.get_tenant(wh, "t1"), "contacts", [f], load_mapping("canonical", "contacts"))
        topics = hot.detect_for_tenant(store, "t1", wh=wh, now=NOW)
        assert [(t.kind, t.subject, t.current, t.baseline) for t in topics] == [("business_type", "roaming", 30, 42)]
        assert topics[0].queues == ["roaming-q", "vip-q"] and topics[0].article == "roam"
        assert hot.detect_for_tenant(store, "t10", wh=wh, now=NOW) == []


def test_coverage_needs_the_distinctive_words() -> None:
    from callops.knowledge.search import Doc, Index

    roam = Doc("roam", "开通国际漫游", phrasings=("出国怎么用手机",))
    other = Doc("bill", "怎么查话费", phrasings=("话费怎么开通提醒",))
    assert hot.coverage("怎么开通", roam) == 1.0  # unweighted, every character present
    index = Index([roam, other])
    # 'esim' is in no article (highest idf): not covered, whatever else is shared
    assert hot.coverage("eSIM怎么开通", roam, index) == 0.0
    assert hot.coverage("国际漫游怎么开通", roam, index) == 1.0
    assert hot.coverage("副卡怎么开通", roam, index) < hot.COVERAGE  # 副卡 is in no article
