"""Survivors of `make mutate` on realtime/alerts.py (docs/testing.md): the measures a rule reads for every window
(today included) against the state's own snapshot, and what acknowledging and resolving record."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from test_state import CONFIG, T0, contact_stream, ev

from callops.errors import CallopsError
from callops.realtime import alerts
from callops.realtime.alerts import (
    AGENT_MEASURES,
    EXTERNAL_RULES,
    SCOPE_MEASURES,
    AlertBook,
    load_rules,
    parse_rules,
)
from callops.realtime.engine import LiveEngine
from callops.realtime.state import LiveConfig, QueueConfig, RosterAgent, TenantState

RULES = """
alerts:
  - name: long-wait
    measure: longest_wait_s
    scope: queue
    levels: {yellow: 60, orange: 120, red: 180, black: 300}
    cooldown_s: 0
"""


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_window_measure_a_rule_reads_is_the_snapshot_value(seed: int) -> None:
    """Counters and ratios (service level, answer and abandon rates, AHT, ASA) of the 5/15/30-minute windows and
    of today, read the way a rule reads them, equal what ``TenantState.scope_measures`` computes on its own, at
    several clocks of a random hour."""
    events, _ = contact_stream(random.Random(seed), 300)
    st = TenantState(CONFIG)
    checks = 0
    for i, e in enumerate(events):
        st.apply(e, e.ts.timestamp())
        if i % 97 and i != len(events) - 1:
            continue
        for sc in st.scopes.values():
            snap = st.scope_measures(sc)
            for name, measure in SCOPE_MEASURES.items():
                if name.rsplit("_", 1)[-1] not in ("5m", "15m", "30m", "today"):
                    continue
                got, want = measure.get(st, sc, st.now), snap[name]
                assert (got is None) == (want is None), name
                if want is not None:
                    assert got == pytest.approx(want, abs=1e-6), name
                checks += 1
    assert checks > 1000
    tenant = st.scope_measures(st.tenant_scope)
    assert tenant["answer_rate_today"] != tenant["abandon_rate_today"]  # the two rates are told apart


def test_acknowledge_and_resolve_record_who_when_and_what() -> None:
    book = AlertBook(parse_rules(RULES))
    rule = book.rules[0]
    a = book.evaluate(rule, "billing", 130.0, 1000.0)  # orange
    b = book.evaluate(rule, "tech", 190.0, 1010.0)  # red, later
    c = book.evaluate(rule, "vip", 200.0, 1005.0)  # red, earlier
    assert a and b and c
    assert [x.key for x in book.active()] == ["vip", "tech", "billing"]  # worst first, then oldest

    ack = book.acknowledge(b.alert_id, "lin", 1020.0)
    assert ack.as_dict() == {"kind": "acknowledged", "alert_id": b.alert_id, "rule": "long-wait", "scope": "queue",
                             "key": "tech", "level": "red", "prev_level": "red", "value": None, "threshold": None,
                             "at": 1020.0, "by": "lin", "note": None}  # fmt: skip
    res = book.resolve(b.alert_id, "wang", 1030.0, "moved two agents")
    assert res.as_dict() == {**ack.as_dict(), "kind": "resolved", "at": 1030.0, "by": "wang",
                             "note": "moved two agents"}  # fmt: skip
    alert = book.alerts[b.alert_id]
    assert alert.history[-2:] == [ack, res]
    assert (alert.acknowledged_by, alert.resolved_by, alert.closed_at) == ("lin", "wang", 1030.0)
    assert [x.key for x in book.active()] == ["vip", "billing"]

    with pytest.raises(CallopsError, match="only open alerts can be acknowledged"):
        book.acknowledge(b.alert_id, "lin", 1040.0)
    with pytest.raises(CallopsError, match="is already resolved"):
        book.resolve(b.alert_id, "lin", 1040.0)
    with pytest.raises(CallopsError, match="no alert 'nope'"):
        book.acknowledge("nope", "lin", 1040.0)


# Fourth round of `make mutate` (docs/testing.md): error texts, rule files, replacing the rule set.


def test_rule_errors_name_the_file_and_the_fields_at_most_five() -> None:
    six = "alerts: [" + ", ".join(f"{{name: r{i}, measure: waiting, levels: {{yellow: 1}}, cooldown_s: -1}}"
                                  for i in range(6)) + "]"  # fmt: skip
    with pytest.raises(CallopsError) as caught:
        parse_rules(six, "r.yaml")
    assert str(caught.value) == "r.yaml: " + "; ".join(
        f"alerts.{i}.cooldown_s: Input should be greater than or equal to 0" for i in range(5))
    with pytest.raises(CallopsError) as caught:
        parse_rules("alerts: [{name: a, measure: nope, levels: {yellow: 1}}]", "x.yaml")
    # a model check's message without pydantic's "Value error, " prefix
    assert str(caught.value).startswith("x.yaml: alerts.0: unknown measure 'nope' for scope queue; known: abandon_")


def test_rules_from_a_file(tmp_path: Path) -> None:
    good = tmp_path / "rules.yaml"
    good.write_text(RULES)
    (rule,) = load_rules(good)
    assert (rule.name, rule.measure, rule.levels) == ("long-wait", "longest_wait_s",
                                                      {"yellow": 60, "orange": 120, "red": 180, "black": 300})
    assert [r.name for r in load_rules(str(good))] == ["long-wait"]
    missing = tmp_path / "nope.yaml"
    with pytest.raises(CallopsError) as caught:
        load_rules(missing)
    assert str(caught.value) == f"rules file {missing} not found"
    bad = tmp_path / "bad.yaml"
    bad.write_text("alerts: [{name: a, measure: waiting, levels: {yellow: 1}, cooldown_s: -1}]")
    with pytest.raises(CallopsError) as caught:
        load_rules(bad)
    assert str(caught.value) == f"{bad}: alerts.0.cooldown_s: Input should be greater than or equal to 0"
    # the packaged defaults, against the file read independently
    packaged = yaml.safe_load((Path(alerts.__file__).parent / "default_alerts.yaml").read_text())
    assert [r.name for r in load_rules()] == [r["name"] for r in packaged["alerts"]]


TWO = """
alerts:
  - {name: wait, measure: longest_wait_s, scope: queue, levels: {yellow: 60, red: 180}}
  - {name: queue-len, measure: waiting, scope: queue, levels: {yellow: 5, orange: 10}}
  - {name: outside, measure: waiting, scope: queue, levels: {yellow: 5}}
"""


def test_replacing_the_rules_clears_only_the_dropped_rules_alerts() -> None:
    """A kept rule keeps its level and alert and is judged by its new thresholds; a dropped rule's active alert is
    cleared ("rule removed") and its keys forgotten; a resolved or quiet key of a dropped rule gives no event; a rule
    another part of the engine evaluates (EXTERNAL_RULES) is kept although not in the file."""
    book = AlertBook(parse_rules(TWO))
    wait, qlen, outside = book.rules
    kept = book.evaluate(wait, "billing", 70.0, 100.0)  # yellow
    dropped = book.evaluate(qlen, "billing", 11.0, 110.0)  # orange
    resolved = book.evaluate(qlen, "tech", 6.0, 115.0)  # yellow, then resolved by a person
    assert book.evaluate(qlen, "vip", 6.0, 116.0) and book.evaluate(qlen, "vip", 1.0, 117.0)  # raised, cleared
    ext = book.evaluate(outside, "billing", 6.0, 118.0)
    assert kept and dropped and resolved and ext
    book.resolve(resolved.alert_id, "lin", 120.0)
    EXTERNAL_RULES.add("outside")
    try:
        events = book.replace_rules(parse_rules(
            "alerts: [{name: wait, measure: longest_wait_s, scope: queue, levels: {yellow: 100, red: 150}}]"), 200.0)
    finally:
        EXTERNAL_RULES.discard("outside")
    assert [e.as_dict() for e in events] == [{
        "kind": "cleared", "alert_id": dropped.alert_id, "rule": "queue-len", "scope": "queue", "key": "billing",
        "level": None, "prev_level": "orange", "value": None, "threshold": None, "at": 200.0, "by": None,
        "note": "rule removed"}]  # fmt: skip
    assert (events[0].level, events[0].prev_level) == (0, 2)
    gone = book.alerts[dropped.alert_id]
    assert (gone.status, gone.closed_at, gone.history[-1]) == ("cleared", 200.0, events[0])
    assert book.alerts[resolved.alert_id].status == "resolved"
    assert sorted(book.keys) == [("outside", "billing"), ("wait", "billing")]
    assert book.hot == {("outside", "billing"), ("wait", "billing")}
    assert [r.name for r in book.rules] == ["wait"]
    # the kept rule: same alert, new thresholds (160 is red under the new rule, yellow under the old one)
    up = book.evaluate(book.rules[0], "billing", 160.0, 300.0)
    assert up is not None and (up.kind, up.alert_id, up.level_name, up.threshold) == (
        "escalated", kept.alert_id, "red", 150.0)


def test_occupancy_a_rule_reads_is_busy_and_acw_over_working_agents() -> None:
    """Five agents, one in each state: occupancy = (busy + acw) / (ready + busy + acw) = 2/3 for the tenant (aux and
    offline agents do not count); None while no agent works."""
    from test_state import T0, ev

    st = TenantState(CONFIG)
    occupancy = SCOPE_MEASURES["occupancy"]
    assert occupancy.get(st, st.tenant_scope, T0) is None
    for i, state in enumerate(("ready", "busy", "acw", "aux", "offline")):
        e = ev("agent.state", T0 + 10 * i, agent_id=f"a{i}", state=state, queue="billing")
        st.apply(e, e.ts.timestamp())
    assert occupancy.get(st, st.tenant_scope, st.now) == pytest.approx(2 / 3, abs=1e-12)
    e = ev("agent.state", T0 + 100, agent_id="a0", state="busy", queue="billing")
    st.apply(e, e.ts.timestamp())
    assert occupancy.get(st, st.tenant_scope, st.now) == 1.0
    for i in range(3):
        e = ev("agent.state", T0 + 200 + i, agent_id=f"a{i}", state="aux", reason="break")
        st.apply(e, e.ts.timestamp())
    assert occupancy.get(st, st.tenant_scope, st.now) is None


EDGES = """
alerts:
  - name: wait
    measure: longest_wait_s
    scope: queue
    levels: {yellow: 60, red: 180}
    clear: {yellow: 50, red: 150}
    cooldown_s: 0
  - name: slow-clear
    measure: longest_wait_s
    scope: queue
    levels: {yellow: 60}
    clear_after_s: 60
  - name: sl
    measure: service_level_15m
    scope: queue
    below: {yellow: 0.8, red: 0.5}
    clear: {yellow: 0.9, red: 0.6}
  - name: aux
    measure: aux_s
    scope: agent
    levels: {yellow: 600}
"""


def test_thresholds_and_clear_bands_are_inclusive_and_events_carry_key_and_value() -> None:
    """A value exactly at a threshold raises it; exactly at a clear threshold keeps the level (or lands on it when
    stepping down); the events name the key and carry the value and the threshold."""
    book = AlertBook(parse_rules(EDGES))
    wait = book.rules[0]
    ev = book.evaluate(wait, "billing", 60.0, 0.0)
    assert ev is not None and (ev.kind, ev.key, ev.level_name, ev.value, ev.threshold) == (
        "raised", "billing", "yellow", 60.0, 60.0)
    assert ev.prev_level == 0 and ev.as_dict()["prev_level"] is None and ev.as_dict()["level"] == "yellow"
    ev = book.evaluate(wait, "billing", 180.0, 10.0)
    assert ev is not None and (ev.kind, ev.level_name, ev.value, ev.as_dict()["prev_level"]) == (
        "escalated", "red", 180.0, "yellow")
    assert book.evaluate(wait, "billing", 150.0, 20.0) is None  # exactly the red clear threshold: stays red
    ev = book.evaluate(wait, "billing", 50.0, 30.0)  # below 150: down to the highest band that holds, 50 >= 50
    assert ev is not None and (ev.kind, ev.key, ev.level_name, ev.value, ev.threshold) == (
        "de-escalated", "billing", "yellow", 50.0, 60.0)
    ev = book.evaluate(wait, "billing", 49.0, 40.0)
    assert ev is not None and (ev.kind, ev.key, ev.level, ev.value, ev.threshold) == (
        "cleared", "billing", 0, 49.0, 60.0)
    assert ("wait", "billing") not in book.hot
    # a 'below' rule with explicit clear thresholds: signs and bands the other way round
    sl = book.rules[2]
    assert book.evaluate(sl, "tech", 0.5, 0.0).level_name == "red"
    assert book.evaluate(sl, "tech", 0.6, 1.0) is None  # exactly at red's clear threshold 0.6: stays red
    assert book.evaluate(sl, "tech", 0.61, 2.0).level_name == "yellow"
    assert book.evaluate(sl, "tech", 0.9, 3.0) is None
    assert book.evaluate(sl, "tech", 0.91, 4.0).kind == "cleared"


def test_clear_after_counts_from_when_the_value_left_the_band() -> None:
    book = AlertBook(parse_rules(EDGES))
    rule = book.rules[1]
    assert book.evaluate(rule, "q", 70.0, 1000.0).kind == "raised"
    assert book.evaluate(rule, "q", 10.0, 1010.0) is None  # below the band since 1010
    assert book.evaluate(rule, "q", 10.0, 1069.0) is None  # 59 s
    assert book.evaluate(rule, "q", 10.0, 1070.0).kind == "cleared"  # 60 s


def test_after_a_person_resolves_an_alert() -> None:
    """While resolved, the same or a lower level stays quiet; once the measure clears, the next raise at any level is
    a new alert; a worse level than the worst before is a new alert at once."""
    book = AlertBook(parse_rules(EDGES))
    wait = book.rules[0]
    first = book.evaluate(wait, "billing", 190.0, 0.0)
    book.resolve(first.alert_id, "lin", 5.0)
    assert book.evaluate(wait, "billing", 70.0, 10.0) is None  # down to yellow: quiet
    assert book.evaluate(wait, "billing", 190.0, 20.0) is None  # back to red, not worse than red: quiet
    assert book.evaluate(wait, "billing", 10.0, 30.0) is None  # cleared: nothing to say, the alert is closed
    assert ("wait", "billing") not in book.hot
    again = book.evaluate(wait, "billing", 70.0, 40.0)
    assert again is not None and again.kind == "raised" and again.alert_id != first.alert_id
    assert again.alert_id == "wait/queue:billing/2"


def test_latency_only_when_asked_and_agent_rules_know_their_state() -> None:
    book = AlertBook(parse_rules(EDGES))
    ev = book.evaluate(book.rules[0], "billing", 70.0, 0.0)
    ev.latency_s = 0.25
    assert "latency_s" not in ev.as_dict()
    assert ev.as_dict(with_latency=True) == {**ev.as_dict(), "latency_s": 0.25}
    aux = book.rules[3]
    assert (aux.state, aux.get) == ("aux", alerts.AGENT_MEASURES["aux_s"].get)
    assert [r.state for r in book.rules[:3]] == [None, None, None]


def test_yaml_errors_name_the_source() -> None:
    for label, args in (("<rules>", ()), ("team.yaml", ("team.yaml",))):
        with pytest.raises(CallopsError) as caught:
            parse_rules("alerts: [", *args)
        assert str(caught.value).startswith(f"{label}: not valid YAML (while parsing a flow node")


def test_an_alert_keeps_its_history_and_a_cleared_key_raises_a_new_alert() -> None:
    book = AlertBook(parse_rules(EDGES + "  - {name: in-state, measure: time_in_state_s, scope: agent, levels: "
                                        "{yellow: 600}}\n"))  # fmt: skip
    wait = book.rules[0]
    evs = [book.evaluate(wait, "billing", v, t) for t, v in ((0.0, 70.0), (5.0, 200.0), (9.0, 10.0))]
    assert [(e.kind, e.scope, e.at) for e in evs] == [("raised", "queue", 0.0), ("escalated", "queue", 5.0),
                                                      ("cleared", "queue", 9.0)]  # fmt: skip
    first = book.alerts[evs[0].alert_id]
    assert first.history == evs and (first.status, first.closed_at, first.max_level) == ("cleared", 9.0, 3)
    again = book.evaluate(wait, "billing", 70.0, 20.0)
    assert again is not None and (again.kind, again.alert_id) == ("raised", "wait/queue:billing/2")
    assert book.alerts[again.alert_id].history == [again]
    assert book.rules[4].state is None  # time in any state: the rule runs in every state


# Fifth round: the measure tables built at import (`_scope_measures`, `_agent_measures`, `_agents`), re-checked
# with `tools/mutate_fresh.py` (a fresh import per mutant; docs/testing.md).

BILLING = LiveConfig("demo", queues={"billing": QueueConfig("north-1", "voice", sl_threshold_s=20)}, tick_s=60.0)
SEVEN = [RosterAgent(f"a{i}", f"Agent {i}", "north-1", skills={"billing": 1}) for i in range(1, 8)]


def test_agent_counts_waits_and_time_in_state_read_by_hand() -> None:
    """Seven billing agents and two waiting calls; at 09:20 (T0 + 1200 s), by hand from the rows below:
    a1 busy since +600, a2 busy since +700, a3 acw since +900, a4 aux since +1000, a5 offline since +1200 (just
    now), a6 offline from its first event (no state change: no start time), a7 ready since +400; calls offered at
    +1150 and +1180, both waiting."""
    st = TenantState(BILLING, SEVEN)
    rows = [(60, "a1", "ready"), (100, "a2", "ready"), (120, "a3", "ready"), (200, "a4", "ready"),
            (300, "a5", "ready"), (400, "a7", "ready"), (600, "a1", "busy"), (700, "a2", "busy"),
            (900, "a3", "acw"), (1000, "a4", "aux"), (1150, "a6", "offline"), (1200, "a5", "offline")]  # fmt: skip
    events = [ev("agent.state", T0 + t, agent_id=a, state=s, **({"queue": "billing"} if s in ("busy", "acw") else {}))
              for t, a, s in rows]  # fmt: skip
    events += [ev("contact.offered", T0 + t, contact_id=c, queue="billing", channel="voice")
               for t, c in ((1150, "c1"), (1180, "c2"))]  # fmt: skip
    for e in sorted(events, key=lambda e: e.ts):
        st.apply(e, e.ts.timestamp())
    now = T0 + 1200
    sc = st.scope("queue", "billing")
    got = {name: SCOPE_MEASURES[name].get(st, sc, now) for name in (
        "agents_ready", "agents_busy", "agents_acw", "agents_aux", "agents_offline", "agents_working",
        "agents_logged_in", "occupancy", "waiting", "longest_wait_s")}  # fmt: skip
    # ready a7; busy a1, a2; acw a3; aux a4; offline a5, a6; working 1 + 2 + 1; logged in: all but offline
    assert got == {"agents_ready": 1, "agents_busy": 2, "agents_acw": 1, "agents_aux": 1, "agents_offline": 2,
                   "agents_working": 4, "agents_logged_in": 5, "occupancy": 0.75, "waiting": 2,
                   "longest_wait_s": 50.0}  # fmt: skip
    # read as of a later time (the engine passes its tick's time): c1 has waited 110 s at +1260
    assert SCOPE_MEASURES["longest_wait_s"].get(st, sc, T0 + 1260) == 110.0
    want = {  # seconds in the current state; the state's own measure; 0 in every other state
        "a1": ("busy", 600.0), "a2": ("busy", 500.0), "a3": ("acw", 300.0), "a4": ("aux", 200.0),
        "a5": ("offline", 0.0), "a6": ("offline", 0.0), "a7": ("ready", 800.0),
    }  # fmt: skip
    for agent, (state, secs) in want.items():
        ag = st.agents[agent]
        assert AGENT_MEASURES["time_in_state_s"].get(st, ag, now) == secs, agent
        for s in ("ready", "busy", "acw", "aux", "offline"):
            assert AGENT_MEASURES[f"{s}_s"].get(st, ag, now) == (secs if s == state else 0.0), (agent, s)


MOVERS = """
alerts:
  - {name: working, measure: agents_working, levels: {yellow: 2}}
  - {name: logged, measure: agents_logged_in, levels: {yellow: 3}}
  - {name: aux, measure: agents_aux, levels: {yellow: 1}}
  - {name: occ, measure: occupancy, levels: {yellow: 0.5}}
  - {name: waiting, measure: waiting, levels: {yellow: 2}}
  - {name: offered, measure: offered_5m, levels: {yellow: 2}}
  - {name: wait-a, measure: longest_wait_s, levels: {yellow: 65}}
  - {name: wait-b, measure: longest_wait_s, levels: {yellow: 110}}
"""


def _at(t: float) -> str:
    return datetime.fromtimestamp(T0 + t, UTC).isoformat()


def test_each_measure_is_evaluated_when_what_moves_it_happens() -> None:
    """Ticks every 60 s. Agent counts and occupancy move at agent events, the waiting count and the 5-minute
    offered count at contact events, the longest wait with the clock (re-checked at each tick while calls wait)
    and at contact events; the 5-minute count also when calls leave its window (at a tick)."""
    eng = LiveEngine(BILLING, parse_rules(MOVERS), SEVEN[:3])
    agent = [(0, "a1", "ready"), (5, "a2", "ready"), (10, "a3", "aux"), (20, "a1", "busy")]
    for t, a, s in agent:
        assert eng.submit({"type": "agent.state", "ts": _at(t), "tenant": "demo", "agent_id": a, "state": s,
                           **({"queue": "billing"} if s == "busy" else {})})  # fmt: skip
    offered = {"type": "contact.offered", "tenant": "demo", "queue": "billing", "channel": "voice"}
    for t, c in ((30, "c1"), (40, "c2")):
        assert eng.submit({**offered, "ts": _at(t), "contact_id": c})
    eng.advance(T0 + 100)  # the tick at +60: the longest wait is 30 s
    eng.advance(T0 + 120)  # the tick at +120: 90 s, past wait-a's 65 but not wait-b's 110
    assert eng.submit({**offered, "ts": _at(150), "contact_id": "c3"})  # between ticks: 120 s, past 110
    eng.advance(T0 + 360)  # c1 (+30) and c2 (+40) left the 5-minute window at +330 and +340: 1 offered
    got = sorted((e.at - T0, e.rule, e.kind, e.value) for e in eng.events if e.key == "billing")
    assert got == [
        (5, "working", "raised", 2),  # a1, a2 ready
        (10, "aux", "raised", 1),
        (10, "logged", "raised", 3),  # two ready and one aux
        (20, "occ", "raised", 0.5),  # a1 busy, a2 ready: 1 of 2 working
        (40, "offered", "raised", 2),
        (40, "waiting", "raised", 2),
        (120, "wait-a", "raised", 90.0),  # c1 offered at +30
        (150, "wait-b", "raised", 120.0),
        (360, "offered", "cleared", 1),  # 1 < 0.8 x 2
    ]
