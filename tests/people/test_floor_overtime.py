"""Overtime and VTO (issue 19, part 5): service levels against an independent Erlang C, the proposal rules, and
accepting an offer (a new schedule version; the live room and its adherence watch follow)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import mpmath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as stg

from callops.errors import CallopsError, NotFound
from callops.people.adherence import attach_watch
from callops.people.overtime import (
    Candidate,
    Interval,
    accept_offer,
    block_level,
    decline_offer,
    list_offers,
    open_offers_for_agent,
    plan_block,
    propose,
    schedule_versions,
    service_levels,
)
from callops.realtime.config import load_schedule
from callops.realtime.hub import LiveHub, live_dir
from callops.realtime.state import LiveConfig, QueueConfig, RosterAgent, ScheduleRow
from callops.store.db import Store
from callops.store.tenants import create_tenant


def erlang_c_sl(calls: float, aht: float, n: int, t: float, interval: float = 900.0) -> float:
    """Textbook Erlang C service level with mpmath at 50 digits: 1 - C(n, a) exp(-(n - a) t / aht)."""
    mpmath.mp.dps = 50
    a = mpmath.mpf(calls) * aht / interval
    if n <= a:
        return 0.0
    top = a**n / mpmath.factorial(n) * n / (n - a)
    c = top / (mpmath.fsum(a**k / mpmath.factorial(k) for k in range(n)) + top)
    return float(1 - c * mpmath.e ** (-(n - a) * t / aht))


@settings(max_examples=60, deadline=None)
@given(stg.floats(1, 400), stg.floats(60, 600), stg.integers(1, 60), stg.sampled_from([10.0, 20.0, 30.0]))
def test_service_level_is_erlang_c(calls: float, aht: float, n: int, t: float) -> None:
    got = service_levels([Interval(0.0, calls, aht, n)], 0, t)[0]
    assert got == pytest.approx(erlang_c_sl(calls, aht, n, t), abs=1e-9)


def test_plan_block_overtime_until_target_with_erlang_figures() -> None:
    """40 contacts of 300 s per 15 min (13.3 erlangs) on 12 agents: below 80 %; each overtime offer is one more
    agent, the level before/after each is Erlang C, and offers stop once the target is reached."""
    block = [Interval(0.0, 40, 300, 12), Interval(900.0, 40, 300, 12)]
    cands = [Candidate(f"x{i}", i == 3, 4.0 + i) for i in range(6)]
    offers = plan_block(block, cands, [], 0.8, 20.0, None, 0.05, 10)
    assert offers[0]["agent_id"] == "x3"  # the volunteer first, then fewest hours today
    assert [o["agent_id"] for o in offers[1:]] == ["x0", "x1", "x2", "x4", "x5"][:len(offers) - 1]
    for k, o in enumerate(offers, 1):
        assert o["sl_before"] == pytest.approx(erlang_c_sl(40, 300, 12 + k - 1, 20), abs=1e-9)
        assert o["sl_after"] == pytest.approx(erlang_c_sl(40, 300, 12 + k, 20), abs=1e-9)
    assert offers[-1]["sl_after"] >= 0.8 > offers[-1]["sl_before"]


def test_plan_block_vto_only_while_the_margin_holds() -> None:
    block = [Interval(0.0, 10, 300, 12)]
    cands = [Candidate(f"v{i}", False, 8.0 - i) for i in range(10)]
    offers = plan_block(block, [], cands, 0.8, 20.0, None, 0.05, 10)
    assert offers and all(o["kind"] == "vto" for o in offers)
    assert [o["agent_id"] for o in offers] == [f"v{i}" for i in range(len(offers))]  # most hours first
    k = len(offers)
    assert block_level(block, -k) >= 0.85 > block_level(block, -(k + 1))
    assert offers[-1]["sl_after"] == pytest.approx(erlang_c_sl(10, 300, 12 - k, 20), abs=1e-9)
    assert plan_block([Interval(0.0, 0, 300, 0)], [], [], 0.8) == []  # nothing offered: balanced, nothing to do


# ------------------------------------------------------------------------------------------------ live room
NOW = datetime.fromisoformat("2026-11-02T10:40:00+08:00")


@pytest.fixture
def room(home, tmp_path):
    """Tenant ``t``'s live room at 10:40: 8 contacts on queue q in the last 30 min (AHT 300 s), one agent (w1)
    working 09:00-17:00, e1..e4 worked 06:00-10:00 (free for overtime)."""
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    create_tenant(store, home, "t", "Asia/Shanghai")
    day = NOW.replace(hour=0, minute=0)
    sched = [ScheduleRow("w1", "work", (day + timedelta(hours=9)).timestamp(), (day + timedelta(hours=17)).timestamp())]
    sched += [ScheduleRow(f"e{i}", "work", (day + timedelta(hours=6)).timestamp(),
                          (day + timedelta(hours=10)).timestamp()) for i in range(1, 5)]  # fmt: skip
    roster = [RosterAgent(a, team="red", skills={"q": 1}) for a in ("w1", "e1", "e2", "e3", "e4")]
    cfg = LiveConfig(tenant="t", timezone="Asia/Shanghai", queues={"q": QueueConfig(aht_s=300.0)})
    hub = LiveHub(cfg, rules=[], roster=roster, schedule=sched, log=False)
    for i in range(8):
        ts = (NOW - timedelta(minutes=28) + timedelta(minutes=3 * i)).isoformat()
        assert hub.engine.submit({"type": "contact.offered", "ts": ts, "tenant": "t", "contact_id": f"c{i}",
                                  "queue": "q", "channel": "voice"})  # fmt: skip
    assert hub.engine.submit({"type": "agent.state", "ts": NOW.isoformat(), "tenant": "t", "agent_id": "w1",
                              "state": "ready"})  # fmt: skip
    attach_watch(hub.engine, 300)
    yield store, hub
    store.close()


def test_propose_accept_changes_the_schedule_and_the_live_room(room, home) -> None:
    store, hub = room
    doc = propose(store, hub, "lead", horizon_h=1.0)
    assert doc["source"] == "live-rate"
    block = doc["blocks"][0]
    a = 8 / 1800 * 900 * 300 / 900  # 4 contacts per 15 min of 300 s: 1.33 erlangs
    assert block["state"] == "deficit" and block["agents"] == 1
    assert block["service_level"] == pytest.approx(erlang_c_sl(4, 300, 1, 20), abs=1e-9)
    offers = doc["offers"]
    assert offers and {o["kind"] for o in offers} == {"overtime"} and a > 1
    assert [o["agent_id"] for o in offers] == ["e1", "e2", "e3", "e4"][:len(offers)]
    assert offers[-1]["sl_after"] >= 0.8
    assert offers[0]["sl_after"] == pytest.approx(erlang_c_sl(4, 300, 2, 20), abs=1e-9)
    assert [o["id"] for o in open_offers_for_agent(store, "t", "e1")] == [offers[0]["id"]]
    # proposing again does not offer the same block to the same agents twice
    again = propose(store, hub, "lead", horizon_h=1.0)
    assert not {o["agent_id"] for o in again["offers"]} & {o["agent_id"] for o in offers}
    # e2 may not accept e1's offer (404: not theirs); e1 may
    with pytest.raises(NotFound):
        accept_offer(store, home, hub, offers[0]["id"], "e2-user", "e2")
    done = accept_offer(store, home, hub, offers[0]["id"], "e1-user", "e1")
    assert (done["status"], done["schedule_version"]) == ("accepted", 1)
    with pytest.raises(CallopsError, match="accepted"):
        accept_offer(store, home, hub, offers[0]["id"], "e1-user", "e1")
    lo = datetime.fromisoformat(offers[0]["start_at"]).timestamp()
    rows = hub.engine.state.schedule["e1"]
    assert any(r.activity == "work" and r.start == lo for r in rows)
    live = [r for r in load_schedule(live_dir("t") / "schedules.csv") if r.agent_id == "e1"]
    assert sorted((r.activity, r.start, r.end) for r in live) == sorted((r.activity, r.start, r.end) for r in rows)
    versions = schedule_versions(store, "t")
    assert versions[0]["version"] == 1 and versions[0]["added"][0]["agent_id"] == "e1"
    assert versions[0]["source"] == "floor" and versions[0]["day"] == "2026-11-02"
    # the one schedule history holds it, and the warehouse's schedules (what planners and metrics read) have it
    from callops import tenancy

    t = tenancy.scoped(home, "t", "schedules")
    stored = t.filter(t.agent_id == "e1").to_pyarrow().to_pylist()
    assert [(r["activity"], r["start_at"].timestamp(), r["end_at"].timestamp()) for r in stored] == [
        ("work", lo, datetime.fromisoformat(offers[0]["end_at"]).timestamp())]
    # the watch now expects e1 to work then: offline at that time is out of adherence
    hub.engine.advance(lo + 1)
    assert hub.engine.adherence.agent_now("e1")["scheduled_now"] == "work"
    assert not hub.engine.adherence.agent_now("e1")["in_adherence"]
    # decline / withdraw: only open offers, only one's own
    other = offers[1]["id"]
    with pytest.raises(NotFound):
        decline_offer(store, "t", other, "e1-user", "e1")
    assert decline_offer(store, "t", other, "e2-user", "e2")["status"] == "declined"
    assert {o["status"] for o in list_offers(store, "t") if o["id"] in (offers[0]["id"], other)} == {
        "accepted", "declined"}


def test_vto_cuts_the_work_block(room, home) -> None:
    store, hub = room
    day = NOW.replace(hour=0, minute=0)
    extra = [ScheduleRow(f"s{i}", "work", (day + timedelta(hours=9)).timestamp(),
                         (day + timedelta(hours=17)).timestamp()) for i in range(8)]  # fmt: skip
    for r in extra:
        hub.engine.state.schedule[r.agent_id] = [r]
    doc = propose(store, hub, "lead", horizon_h=1.0)
    vto = [o for o in doc["offers"] if o["kind"] == "vto"]
    assert vto and doc["blocks"][0]["state"] == "surplus"
    o = vto[0]
    accept_offer(store, home, hub, o["id"], "x", None)  # a manager on the agent's behalf
    lo, hi = (datetime.fromisoformat(o[k]).timestamp() for k in ("start_at", "end_at"))
    rows = [(r.activity, r.start, r.end) for r in hub.engine.state.schedule[o["agent_id"]]]
    assert ("off", lo, hi) in rows
    assert sum(e - s for a, s, e in rows if a == "work") == 8 * 3600 - (hi - lo)
    assert math.isclose(hi - lo, 3600)
