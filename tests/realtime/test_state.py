"""Live state against a brute-force recount of the same events, and independence from arrival order."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from callops.realtime.events import LiveEvent, parse_event
from callops.realtime.state import BUCKET_S, LiveConfig, QueueConfig, RosterAgent, ScheduleRow, TenantState

T0 = 1_709_514_000.0  # 2024-03-04 09:00 +08:00
QUEUES = ("billing", "tech")
CONFIG = LiveConfig("demo", queues={"billing": QueueConfig("north-1", "voice", sl_threshold_s=20),
                                    "tech": QueueConfig("north-1", "voice", sl_threshold_s=30)})


def ev(kind: str, t: float, **kw: object) -> LiveEvent:
    """An event at epoch ``t`` (whole microseconds, so the text round-trips exactly)."""
    ts = datetime.fromtimestamp(t, UTC).isoformat()
    return parse_event({"type": kind, "ts": ts, "tenant": "demo", **kw})


def us(t: float) -> float:
    """``t`` as the engine will read it back from ISO text."""
    return datetime.fromisoformat(datetime.fromtimestamp(t, UTC).isoformat()).timestamp()


def contact_stream(rng: random.Random, n: int) -> tuple[list[LiveEvent], list[dict]]:
    """Random contact legs as events (time-sorted) and the facts of each leg."""
    legs, events = [], []
    for i in range(n):
        q = rng.choice(QUEUES)
        off = us(T0 + rng.uniform(0, 3600))
        fate = rng.random()
        leg = {"id": f"c{i}", "queue": q, "offered": off, "answered": None, "end": None, "outcome": None}
        events.append((off, ev("contact.offered", off, contact_id=f"c{i}", queue=q, channel="voice")))
        if fate < 0.6:
            ans = us(off + rng.expovariate(1 / 30))
            end = us(ans + rng.expovariate(1 / 200))
            leg.update(answered=ans, end=end, outcome="ended")
            events.append((ans, ev("contact.answered", ans, contact_id=f"c{i}", queue=q, agent_id="a1")))
            events.append((end, ev("contact.ended", end, contact_id=f"c{i}", queue=q)))
        elif fate < 0.85:
            end = us(off + rng.expovariate(1 / 60))
            leg.update(end=end, outcome="abandoned")
            events.append((end, ev("contact.abandoned", end, contact_id=f"c{i}", queue=q)))
        legs.append(leg)  # else: still waiting
    events.sort(key=lambda e: e[0])
    return [e for _, e in events], legs


def brute(legs: list[dict], queue: str | None, now: float, width: float) -> dict:
    """Recount from the leg facts: waiting, longest wait and window counts (5-second buckets)."""
    b_now = math.floor(now / BUCKET_S)

    def inside(t: float | None) -> bool:
        return t is not None and t <= now and math.floor(t / BUCKET_S) > b_now - width / BUCKET_S

    sel = [g for g in legs if queue is None or g["queue"] == queue]
    seen = [g for g in sel if g["offered"] <= now]
    waiting = [g for g in seen if not (g["answered"] is not None and g["answered"] <= now)
               and not (g["end"] is not None and g["end"] <= now)]
    thr = {"billing": 20, "tech": 30}
    answered = [g for g in sel if inside(g["answered"])]
    abandoned = [g for g in sel if g["outcome"] == "abandoned" and inside(g["end"])]
    in_sl = [g for g in answered if g["answered"] - g["offered"] <= thr[g["queue"]]]
    return {
        "waiting": len(waiting),
        "longest": max((now - g["offered"] for g in waiting), default=0.0),
        "offered": sum(inside(g["offered"]) for g in sel),
        "answered": len(answered),
        "abandoned": len(abandoned),
        "sl": len(in_sl) / (len(answered) + len(abandoned)) if answered or abandoned else None,
    }


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 300), st.floats(0.1, 0.99))
def test_state_matches_brute_force(seed: int, n: int, cut: float) -> None:
    rng = random.Random(seed)
    events, legs = contact_stream(rng, n)
    k = max(1, int(len(events) * cut))
    state = TenantState(CONFIG)
    for e in events[:k]:
        state.apply(e, e.ts.timestamp())
    now = state.now
    for kind, name, queue in (("queue", "billing", "billing"), ("queue", "tech", "tech"), ("tenant", "*", None),
                              ("center", "north-1", None)):
        sc = state.scope(kind, name)
        m = state.scope_measures(sc)
        for wname, width in (("5m", 300), ("15m", 900), ("30m", 1800)):
            b = brute(legs, queue, now, width)
            assert m["waiting"] == b["waiting"]
            assert math.isclose(m["longest_wait_s"], b["longest"], abs_tol=1e-5)
            assert (m[f"offered_{wname}"], m[f"answered_{wname}"], m[f"abandoned_{wname}"]) == (
                b["offered"], b["answered"], b["abandoned"]), (kind, name, wname)
            if b["sl"] is None:
                assert m[f"service_level_{wname}"] is None
            else:
                assert math.isclose(m[f"service_level_{wname}"], b["sl"], abs_tol=1e-9)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.integers(5, 200))
def test_order_within_tolerance_does_not_matter(seed: int, n: int) -> None:
    rng = random.Random(seed)
    events, _ = contact_stream(rng, n)
    # move each event by up to 5 s of arrival delay: the arrival order changes, the facts do not
    shuffled = sorted(events, key=lambda e: e.ts.timestamp() + rng.uniform(0, 5))
    a, b = TenantState(CONFIG), TenantState(CONFIG)
    for e in events:
        a.apply(e, e.ts.timestamp())
    for e in shuffled:
        b.apply(e, e.ts.timestamp())
    assert a.now == b.now
    assert a.snapshot() == b.snapshot()


def test_agents_by_state_and_adherence() -> None:
    roster = [RosterAgent("a1", "Li Wei", "north-1", skills={"billing": 3, "tech": 1}),
              RosterAgent("a2", "Wang Fang", "north-1", skills={"tech": 2})]
    sched = [ScheduleRow("a1", "work", T0, T0 + 3600), ScheduleRow("a1", "break", T0 + 3600, T0 + 4500)]
    st_ = TenantState(CONFIG, roster, sched)
    for e in [ev("agent.state", T0 + 60, agent_id="a1", state="ready"),
              ev("agent.state", T0 + 100, agent_id="a2", state="ready"),
              ev("agent.state", T0 + 600, agent_id="a1", state="busy", queue="billing"),
              ev("agent.state", T0 + 900, agent_id="a1", state="acw", queue="billing"),
              ev("agent.state", T0 + 3000, agent_id="a1", state="aux", reason="break")]:
        st_.apply(e, e.ts.timestamp())
    tech = st_.scope_measures(st_.scope("queue", "tech"))
    assert (tech["agents_aux"], tech["agents_ready"], tech["agents_working"]) == (1, 1, 1)
    billing = st_.scope_measures(st_.scope("queue", "billing"))
    assert billing["agents_aux"] == 1 and billing["agents_offline"] == 0 and billing["occupancy"] is None
    # a late event older than the current state goes to history only
    late = ev("agent.state", T0 + 2000, agent_id="a1", state="ready")
    st_.apply(late, late.ts.timestamp())
    assert st_.agents["a1"].state == "aux"
    adh = st_.adherence("a1", T0 + 3600)
    # scheduled work 09:00-10:00; conforming: ready/busy/acw from 60 s to 3000 s = 2940 s
    assert adh["scheduled_s"] == 3600 and math.isclose(adh["conforming_s"], 2940.0)
    assert st_.time_in_state("a1", T0 + 3100) == 100.0
