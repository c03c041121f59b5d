"""Alert levels: escalation, hysteresis, cool-down, 'below' rules, acknowledge and resolve."""

from __future__ import annotations

import pytest

from callops.errors import CallopsError
from callops.realtime.alerts import AlertBook, load_rules, parse_rules

RULES = """
alerts:
  - name: long-wait
    measure: longest_wait_s
    scope: queue
    levels: {yellow: 60, orange: 120, red: 180, black: 300}
    clear_below: 0.8
    cooldown_s: 120
  - name: low-sl
    measure: service_level_15m
    scope: queue
    below: {yellow: 0.8, red: 0.6}
    clear_above: 1.05
"""


def run(book: AlertBook, rule: int, series: list[tuple[float, float]]) -> list[tuple[str, str | None, float]]:
    out = []
    for t, v in series:
        ev = book.evaluate(book.rules[rule], "billing", v, t)
        if ev is not None:
            out.append((ev.kind, ev.level_name, t))
    return out


def test_escalate_then_step_down_with_hysteresis_and_cooldown() -> None:
    book = AlertBook(parse_rules(RULES))
    got = run(book, 0, [
        (0, 50), (10, 61), (20, 125), (30, 181), (40, 170),   # up: yellow, orange, red; 170 >= 0.8*180 holds red
        (100, 100),   # below 144 but only 70 s at red: cool-down holds
        (150, 100),   # 120 s at red: step down to the highest level whose band holds: orange (100 >= 96)
        (200, 90),    # < 96 but cool-down (50 s) holds
        (270, 90),    # -> yellow (90 >= 48)
        (400, 47),    # < 48 -> cleared
        (401, 59),    # below yellow: nothing
    ])  # fmt: skip
    assert got == [("raised", "yellow", 10), ("escalated", "orange", 20), ("escalated", "red", 30),
                   ("de-escalated", "orange", 150), ("de-escalated", "yellow", 270), ("cleared", None, 400)]


def test_straight_to_black_and_clear() -> None:
    book = AlertBook(parse_rules(RULES))
    assert run(book, 0, [(0, 400), (500, 0)]) == [("raised", "black", 0), ("cleared", None, 500)]


def test_below_rule_lower_is_worse() -> None:
    book = AlertBook(parse_rules(RULES))
    got = run(book, 1, [(0, 0.9), (1, 0.79), (2, 0.55), (3, 0.62), (4, 0.64), (5, 0.83), (6, 0.85)])
    # red at 0.55; back above 0.6*1.05 = 0.63 -> yellow (0.64 <= 0.84); above 0.84 -> cleared
    assert got == [("raised", "yellow", 1), ("escalated", "red", 2), ("de-escalated", "yellow", 4),
                   ("cleared", None, 6)]


def test_acknowledge_resolve_and_reraise_only_when_worse() -> None:
    book = AlertBook(parse_rules(RULES))
    ev = book.evaluate(book.rules[0], "billing", 130, 0)
    assert ev is not None and ev.kind == "raised" and ev.level_name == "orange"
    ack = book.acknowledge(ev.alert_id, "dispatcher-1", 5)
    assert ack.kind == "acknowledged" and book.alerts[ev.alert_id].status == "acknowledged"
    book.resolve(ev.alert_id, "dispatcher-1", 10, "moved two agents")
    assert book.alerts[ev.alert_id].status == "resolved"
    with pytest.raises(CallopsError):
        book.acknowledge(ev.alert_id, "x", 11)
    assert book.evaluate(book.rules[0], "billing", 110, 20) is None  # still orange-ish: quiet
    again = book.evaluate(book.rules[0], "billing", 190, 30)  # worse than when resolved: a new alert
    assert again is not None and again.kind == "raised" and again.alert_id != ev.alert_id
    assert [a.alert_id for a in book.active()] == [again.alert_id]


@pytest.mark.parametrize("bad", [
    "alerts: [{name: a, measure: nope, levels: {yellow: 1}}]",
    "alerts: [{name: a, measure: waiting, levels: {yellow: 5, orange: 3}}]",
    "alerts: [{name: a, measure: waiting, levels: {yellow: 5}, below: {yellow: 3}}]",
    "alerts: [{name: a, measure: service_level_5m, below: {yellow: 0.5, red: 0.7}}]",
    "alerts: [{name: a, measure: waiting, levels: {yellow: 1}}, {name: a, measure: waiting, levels: {yellow: 2}}]",
    "alerts: [{name: a, measure: aux_s, scope: queue, levels: {yellow: 1}}]",
])  # fmt: skip
def test_invalid_rules_are_refused(bad: str) -> None:
    with pytest.raises(CallopsError):
        parse_rules(bad)


def test_default_rules_load() -> None:
    names = [r.name for r in load_rules()]
    assert "long-wait" in names and "low-service-level" in names
