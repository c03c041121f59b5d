"""The alert options ``only:`` (these keys only) and ``min_sample`` (evaluate only with enough contacts),
through the live engine."""

from __future__ import annotations

from datetime import UTC, datetime

from test_state import T0, us

from callops.realtime.alerts import parse_rules
from callops.realtime.engine import LiveEngine
from callops.realtime.state import LiveConfig

RULES = """
alerts:
  - name: long-wait
    measure: longest_wait_s
    scope: queue
    only: [billing]
    levels: {yellow: 60}
  - name: low-sl
    measure: service_level_15m
    scope: queue
    below: {yellow: 0.8}
    min_sample: {measure: offered_15m, at_least: 5}
"""


def _ev(kind: str, t: float, cid: str, queue: str) -> dict:
    ts = datetime.fromtimestamp(us(t), UTC).isoformat()
    e = {"type": kind, "ts": ts, "tenant": "demo", "contact_id": cid, "queue": queue}
    return {**e, "channel": "voice"} if kind == "contact.offered" else e


def _alerts(events: list[dict]) -> set[tuple[str, str]]:
    eng = LiveEngine(LiveConfig("demo"), parse_rules(RULES))
    for e in events:
        assert eng.submit(e), e
    return {(a.rule, a.key) for a in eng.events if a.kind == "raised"}


def test_only_limits_a_rule_to_the_listed_keys() -> None:
    """Both queues wait 2 minutes; long-wait fires for billing only."""
    evs = [_ev("contact.offered", T0, "b1", "billing"), _ev("contact.offered", T0, "t1", "tech"),
           _ev("contact.offered", T0 + 120, "x", "other")]  # fmt: skip  (moves the clock on)
    got = _alerts(evs)
    assert ("long-wait", "billing") in got
    assert ("long-wait", "tech") not in got


def test_min_sample_holds_a_rule_until_enough_contacts() -> None:
    """Four abandoned calls (service level 0) raise nothing; the fifth reaches the sample and raises."""
    four = []
    for i in range(4):
        four += [_ev("contact.offered", T0 + 10 * i, f"c{i}", "tech"),
                 _ev("contact.abandoned", T0 + 10 * i + 40, f"c{i}", "tech")]  # fmt: skip
    tick = [_ev("contact.offered", T0 + 200, "z", "other")]
    assert ("low-sl", "tech") not in _alerts(four + tick)
    five = [*four, _ev("contact.offered", T0 + 100, "c4", "tech"), _ev("contact.abandoned", T0 + 150, "c4", "tech")]
    assert ("low-sl", "tech") in _alerts(five + tick)
