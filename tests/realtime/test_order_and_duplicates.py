"""Documented intake promises (docs/live-events.md): reordering within the 30-minute window gives the same state,
duplicates are remembered for one hour of event time, events behind the clock by more than ``tolerance_s`` count
as ``late``."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_state import CONFIG, T0, contact_stream, ev, us

from callops.realtime.engine import LiveEngine
from callops.realtime.events import Deduper
from callops.realtime.state import LiveConfig, TenantState


def _same_state_after_delays(seed: int, n: int, delay: float) -> None:
    """Each event delayed by up to ``delay`` seconds: the same state once every event is in as in time order."""
    rng = random.Random(seed)
    events, _ = contact_stream(rng, n)
    shuffled = sorted(events, key=lambda e: e.ts.timestamp() + rng.uniform(0, delay))
    assert delay < 60 or n < 20 or shuffled != events  # the order really changes
    a, b = TenantState(CONFIG), TenantState(CONFIG)
    for e in events:
        a.apply(e, e.ts.timestamp())
    for e in shuffled:
        b.apply(e, e.ts.timestamp())
    assert a.now == b.now
    assert a.snapshot() == b.snapshot()


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.integers(20, 200), st.sampled_from([60.0, 180.0, 290.0]))
def test_reorderings_within_five_minutes_give_the_same_state(seed: int, n: int, delay: float) -> None:
    """Delays up to the shortest window (5 minutes), far beyond the 5 s shuffles of test_state."""
    _same_state_after_delays(seed, n, delay)


@pytest.mark.xfail(strict=True, reason="known bug: an event more than 5 minutes late puts the 5-minute window "
                   "figures off (even negative counts); docs/live-events.md says so")  # fmt: skip
@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.integers(60, 200), st.sampled_from([600.0, 1500.0]))
def test_reorderings_within_the_30_minute_window_give_the_same_state(seed: int, n: int, delay: float) -> None:
    """The documented promise (up to the 30-minute retention): fails today for the 5-minute figures."""
    _same_state_after_delays(seed, n, delay)


def test_reversed_order_within_the_window_gives_the_same_state() -> None:
    """The extreme shuffle within the shortest window: the last 4 minutes of events delivered newest first."""
    rng = random.Random(7)
    events, _ = contact_stream(rng, 400)
    mid = events[len(events) // 2].ts.timestamp()
    older = [e for e in events if e.ts.timestamp() < mid]
    block = [e for e in events if mid <= e.ts.timestamp() < mid + 240]
    newer = [e for e in events if e.ts.timestamp() >= mid + 240]
    a, b = TenantState(CONFIG), TenantState(CONFIG)
    for e in events:
        a.apply(e, e.ts.timestamp())
    for e in older + block[::-1] + newer:
        b.apply(e, e.ts.timestamp())
    assert len(block) > 20 and a.snapshot() == b.snapshot()


def _offered(i: int, t: float, tenant: str = "demo") -> dict:
    return {"type": "contact.offered", "ts": datetime.fromtimestamp(us(t), UTC).isoformat(), "tenant": tenant,
            "contact_id": f"c{i}", "queue": "billing", "channel": "voice"}  # fmt: skip


def test_duplicates_are_remembered_for_one_hour_of_event_time() -> None:
    """The same event again 59 minutes (and a thousand other events) later is dropped; after more than an hour
    it is no longer recognised."""
    eng = LiveEngine(LiveConfig("demo"))
    assert eng.submit(_offered(0, T0))
    for i in range(1, 1001):
        assert eng.submit(_offered(i, T0 + i * 3.54))  # up to T0 + 59 min
    assert not eng.submit(_offered(0, T0))
    assert eng.stats.duplicates == 1
    later = [_offered(2000 + i, T0 + 3600 + 60 + i) for i in range(600)]  # event time moves past the hour
    assert eng.submit_many(("x", e) for e in later) == 600
    assert eng.submit(_offered(0, T0)), "a key older than the hour is forgotten"
    assert eng.stats.duplicates == 1


def test_deduper_forgets_only_keys_older_than_the_horizon() -> None:
    """Keys within the horizon behind the newest event stay; older ones go (checked past the amortised sweep)."""
    d = Deduper(3600.0)
    assert not d.is_duplicate(("k", 0), 0.0, 0.0)
    assert not d.is_duplicate(("k", 1), 100.0, 100.0)
    for i in range(600):
        assert not d.is_duplicate(("f", i), 3650.0 + i * 0.01, 3650.0 + i * 0.01)
    assert not d.is_duplicate(("k", 0), 0.0, 3656.0)  # 3656 s behind: forgotten
    assert d.is_duplicate(("k", 1), 100.0, 3656.0)  # 3556 s behind: remembered


def test_late_count_uses_the_tolerance() -> None:
    """Events more than tolerance_s (5 s) behind the newest event time are applied and counted late."""
    eng = LiveEngine(LiveConfig("demo"))
    assert eng.config.tolerance_s == 5
    assert eng.submit(_offered(0, T0 + 100))
    assert eng.submit(_offered(1, T0 + 95))  # exactly 5 s behind: on time
    assert eng.stats.late == 0
    assert eng.submit(_offered(2, T0 + 94.5))  # 5.5 s behind: late, still applied
    assert eng.submit(_offered(3, T0 + 10))
    assert (eng.stats.late, eng.stats.accepted) == (2, 4)
    assert eng.state.scope("queue", "billing").waiting == 4


def test_event_stream_helper_spans_more_than_the_delays() -> None:
    """The random streams span about an hour, so 25-minute delays reorder across most of the window."""
    events, _ = contact_stream(random.Random(1), 200)
    assert events[-1].ts.timestamp() - events[0].ts.timestamp() > 3000
    assert ev("contact.offered", T0, contact_id="x", queue="billing", channel="voice").tenant == "demo"
