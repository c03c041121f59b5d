"""Survivors and "no tests" mutants of ``realtime/plans.py`` (tools/mutate.py plans, docs/testing.md).

Checked against values worked out here from the documented rules (docs/live-events.md, the module docstring):
the default trigger (yellow 1 ... black 4), the YAML plan format, the JSON shapes and the engine's activation,
approval, rejection and undo of commands. Erlang A figures come from ``callops.wfm.queueing`` (tested on its own
against a birth-death chain); counts, shares and subsets by brute force.
"""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
import yaml

from callops.errors import CallopsError
from callops.realtime import plans as plans_module
from callops.realtime.alerts import AlertEvent
from callops.realtime.bus import Bus
from callops.realtime.events import parse_event
from callops.realtime.plans import (
    PLAYBOOK,
    Candidate,
    PlanEngine,
    Planner,
    QueueLoad,
    Recommendation,
    StepConfig,
    StepPlan,
    level_of,
    load_plans,
    parse_plans,
)
from callops.realtime.state import LiveConfig, QueueConfig, RosterAgent, TenantState, parse_skills
from callops.wfm import intraday
from callops.wfm.forecast_io import save_snapshot
from callops.wfm.intraday import LiveReforecast
from callops.wfm.queueing import erlang_a_metrics


@pytest.mark.parametrize(("name", "level"), [("yellow", 1), ("orange", 2), ("red", 3), ("black", 4)])
def test_level_of_follows_the_default_trigger(name: str, level: int) -> None:
    """Alert levels yellow/orange/red/black trigger plan levels 1-4 (docs/live-events.md)."""
    assert level_of(name) == level


# ---------------------------------------------------------------------------------------------- plans files
def test_parse_plans_reads_every_field() -> None:
    text = """
plans:
  - name: p1
    rules: [long-wait]
    trigger: {red: 2}
    target_sl: 0.9
    horizon_s: 900
    steps:
      - {kind: pull_outbound, min_level: 2, approval: auto, max_agents: 3}
      - {kind: ivr_self_service}
"""
    (plan,) = parse_plans(text)
    assert (plan.name, plan.rules, plan.trigger, plan.target_sl, plan.horizon_s) == ("p1", ["long-wait"],
                                                                                      {"red": 2}, 0.9, 900.0)
    assert [(s.kind, s.min_level, s.approval, s.max_agents) for s in plan.steps] == [
        ("pull_outbound", 2, "auto", 3), ("ivr_self_service", 1, "required", 50)]


@pytest.mark.parametrize(
    ("text", "label", "message"),
    [
        ("plans: [{name: p, steps: [{kind: ivr_self_service, min_level: 5}]}]", "x.yaml",
         "x.yaml: plans.0.steps.0.min_level: Input should be less than or equal to 4"),
        ("plans: [{name: p, steps: []}, {name: q}]", None, "<plans>: plans.1.steps: Field required"),
        ("plans: [{name: p, steps: [], colour: red}]", "y", "y: plans.0.colour: Extra inputs are not permitted"),
    ],
)
def test_parse_plans_names_the_bad_field(text: str, label: str | None, message: str) -> None:
    """One error: the file label, the dotted path of the first bad field, pydantic's message."""
    with pytest.raises(CallopsError) as err:
        parse_plans(text) if label is None else parse_plans(text, label)
    assert str(err.value) == message


def test_parse_plans_refuses_bad_yaml() -> None:
    with pytest.raises(CallopsError, match=r"(?s)^f\.yaml: not valid YAML \(.+\)$"):
        parse_plans("plans: [unclosed", "f.yaml")
    with pytest.raises(CallopsError, match=r"^<plans>: not valid YAML \("):
        parse_plans("plans: [unclosed")


def test_load_plans_default_file_and_errors(tmp_path: Path) -> None:
    """No path: the packaged six-step playbook, the same as its YAML read here; a missing file and a bad one
    are named."""
    default = Path(plans_module.__file__).parent / "default_plans.yaml"
    raw = yaml.safe_load(default.read_text())
    got = load_plans()
    assert [p.name for p in got] == [p["name"] for p in raw["plans"]] == ["six-step"]
    assert [(s.kind, s.min_level, s.approval) for s in got[0].steps] == [
        (s["kind"], s["min_level"], s["approval"]) for s in raw["plans"][0]["steps"]]
    assert [s.kind for s in got[0].steps] == list(PLAYBOOK)
    missing = tmp_path / "none.yaml"
    with pytest.raises(CallopsError) as err:
        load_plans(missing)
    assert str(err.value) == f"plans file {missing} not found"
    bad = tmp_path / "bad.yaml"
    bad.write_text("plans: [{name: p}]\n")
    with pytest.raises(CallopsError) as err:
        load_plans(str(bad))
    assert str(err.value) == f"{bad}: plans.0.steps: Field required"
    good = tmp_path / "good.yaml"
    good.write_text("plans: [{name: g, steps: [{kind: stop_cross_sell}]}]\n")
    assert [p.name for p in load_plans(good)] == ["g"]


# ---------------------------------------------------------------------------------------------- JSON shapes
def test_candidate_and_step_as_dict() -> None:
    c = Candidate("a1", "Ann", "n1", 2, 1, "sales", "ready", 12.349, 0.75)
    assert c.as_dict() == {"agent_id": "a1", "name": "Ann", "center": "n1", "skill_level": 2, "echelon": 1,
                           "current_queue": "sales", "state": "ready", "idle_s": 12.3, "efficiency": 0.75}
    c2 = Candidate("a2", None, None, 0, None, None, "busy", 0.0)
    assert c2.efficiency == 1.0
    sp = StepPlan("move_within_region", "auto", agents=[c, c2], divert_share=0.123456, aht_factor=0.987654,
                  commands=[{"type": "move_agent"}], note="n", projected={"service_level": 0.5})
    assert sp.status == "proposed" and sp.added_agents == 1.75
    assert sp.as_dict() == {
        "kind": "move_within_region", "approval": "auto", "status": "proposed",
        "agents": [c.as_dict(), c2.as_dict()], "added_agents": 1.75, "divert_share": 0.1235,
        "aht_factor": 0.9877, "commands": [{"type": "move_agent"}], "note": "n", "projected": {"service_level": 0.5}}
    third = StepPlan("x", "auto", agents=[Candidate(f"t{i}", None, None, 0, None, None, "ready", 0.0, 1 / 3)
                                          for i in range(2)])
    assert third.as_dict()["added_agents"] == 0.667


@pytest.mark.parametrize(
    ("agents", "divert", "aht", "useful"),
    [(0, 0.0, 1.0, False), (1, 0.0, 1.0, True), (0, 0.01, 1.0, True), (0, 0.0, 0.99, True)],
)
def test_a_step_is_useful_when_it_changes_something(agents: int, divert: float, aht: float, useful: bool) -> None:
    cands = [Candidate("a", None, None, 0, None, None, "ready", 0.0)] * agents
    assert StepPlan("k", "auto", agents=cands, divert_share=divert, aht_factor=aht).useful() is useful


# ---------------------------------------------------------------------------------------------- the engine
T0 = 1_709_514_000.0
CONFIG = LiveConfig(
    "t1",
    centers={"n1": "north", "n2": "north", "s1": "south"},
    queues={"billing": QueueConfig("n1", "voice", aht_s=300.0, patience_s=180.0),
            "sales": QueueConfig("n1", "voice", aht_s=300.0, patience_s=180.0),
            "billing_s": QueueConfig("s1", "voice", aht_s=300.0, patience_s=180.0, skill="billing"),
            "chat": QueueConfig("n2", "chat", aht_s=300.0, patience_s=180.0),
            "alpha": QueueConfig("n2", "chat", aht_s=300.0, patience_s=180.0),
            "outb": QueueConfig("n1", "voice", direction="outbound")},
)  # fmt: skip
ROSTER = [
    *(RosterAgent(f"b{i}", center="n1", skills=parse_skills("billing:3")) for i in range(2)),
    *(RosterAgent(f"s{i}", center="n1", skills=parse_skills("sales:3;billing:1")) for i in range(4)),
    RosterAgent("o0", center="n1", skills=parse_skills("outb:3;billing:1"), emergency_echelon=1),
    RosterAgent("c0", center="n2", skills=parse_skills("chat:3;alpha:1")),
    RosterAgent("g0", center="s1", skills=parse_skills("billing_s:3")),
]
PLANS = """
plans:
  - name: pb
    rules: [long-wait]
    steps:
      - {kind: move_within_region, min_level: 1, approval: required, max_agents: 2}
      - {kind: ivr_self_service, min_level: 1, approval: auto, deflection: 0.2, callback_after_s: 30}
      - {kind: stop_cross_sell, min_level: 2, approval: auto, aht_reduction: 0.1}
  - name: late
    trigger: {red: 3}
    steps:
      - {kind: ivr_self_service, min_level: 1, approval: auto}
"""


def _ev(kind: str, t: float, **kw: object):
    return parse_event({"type": kind, "ts": datetime.fromtimestamp(t, UTC).isoformat(), "tenant": "t1", **kw})


def _floor() -> TenantState:
    """Billing (2 agents) swamped by 120 waiting contacts; sales has 1 waiting since T0+900, billing_s 3 since
    then too, the outbound queue outb 1 since T0+800; the sales agents (billing skill, north) are the longest idle
    in order s0..s3."""
    st = TenantState(CONFIG, ROSTER)
    for i, ag in enumerate(ROSTER):
        st.apply(_ev("agent.state", T0 + i, agent_id=ag.agent_id, state="ready"), T0 + i)
    offers = [("outb", 800.0), ("sales", 900.0)] + [("billing_s", 900.0 + k) for k in range(3)]
    offers += [("billing", 1000.0 + 800 * i / 120) for i in range(120)]
    for n, (q, dt) in enumerate(offers):
        st.apply(_ev("contact.offered", T0 + dt, contact_id=f"c{n}", queue=q, channel="voice"), T0 + dt)
    st.advance(T0 + 1850)
    return st


def _alert(kind: str, level: int, at: float, *, scope: str = "queue", key: str = "billing", rule: str = "long-wait",
           alert_id: str = "a1", prev: int = 0) -> AlertEvent:  # fmt: skip
    return AlertEvent(kind, alert_id, rule, scope, key, level, prev, 100.0, 60.0, at)


def _engine() -> tuple[PlanEngine, list[tuple[str, dict]]]:
    bus = Bus()
    seen: list[tuple[str, dict]] = []
    bus.subscribe("plans", lambda topic, msg: seen.append((topic, msg)))
    return PlanEngine(_floor(), parse_plans(PLANS), bus), seen


def test_queue_for_picks_the_longest_waiting_inbound_queue_of_the_scope() -> None:
    """Queue alerts act on their queue, agent alerts on none; a center, channel or tenant alert on the inbound
    queue of that scope whose oldest contact waits longest, then the most waiting, then the first name."""
    pe, _ = _engine()
    assert pe._queue_for(_alert("raised", 1, T0, key="anything")) == "anything"
    assert pe._queue_for(_alert("raised", 1, T0, scope="agent", key="b0")) is None
    assert pe._queue_for(_alert("raised", 1, T0, scope="center", key="n1")) == "sales"  # billing waits less,
    # outb longer but it is outbound
    assert pe._queue_for(_alert("raised", 1, T0, scope="channel", key="voice")) == "billing_s"  # 3 > 1 waiting
    assert pe._queue_for(_alert("raised", 1, T0, scope="tenant", key="*")) == "billing_s"
    assert pe._queue_for(_alert("raised", 1, T0, scope="center", key="n2")) == "alpha"  # nobody waits: by name
    assert pe._queue_for(_alert("raised", 1, T0, scope="channel", key="chat")) == "alpha"
    assert pe._queue_for(_alert("raised", 1, T0, scope="center", key="s1")) == "billing_s"
    assert pe._queue_for(_alert("raised", 1, T0, scope="center", key="zz")) is None


def test_engine_activates_escalates_approves_and_undoes() -> None:
    """The whole life of an activation, every command and history entry written out by hand."""
    pe, seen = _engine()
    st, bus = pe.state, pe.bus
    now = st.now
    msg = StepConfig(kind="ivr_self_service").message
    pe.on_alert(_alert("raised", 1, now, rule="high-abandon"))  # not a rule of pb; 'late' has no yellow level
    pe.on_alert(_alert("raised", 1, now, scope="agent", key="b0"))  # no queue
    assert pe.activations == {} and bus.commands == [] and seen == []
    pe.on_alert(_alert("raised", 1, now))
    (act1,) = pe.activations.values()
    assert (act1.activation_id, act1.plan, act1.level, act1.queue, act1.alert_id, act1.at, act1.active) == (
        "pb/billing/1", "pb", 1, "billing", "a1", now, True)
    rec = act1.recommendation
    assert [(s.kind, s.status) for s in rec.steps] == [("move_within_region", "pending_approval"),
                                                       ("ivr_self_service", "applied")]
    assert [c.agent_id for c in rec.steps[0].agents] == ["s0", "s1"]  # longest idle first, 2 at most
    base = {"tenant": "t1", "queue": "billing", "at": now, "activation_id": "pb/billing/1",
            "step": "ivr_self_service"}
    assert bus.commands == [{"type": "play_message", **base, "message": msg},
                            {"type": "offer_callback", **base, "after_s": 30.0}]
    entry1 = {"event": "activated", "activation_id": "pb/billing/1", "plan": "pb", "level": 1, "queue": "billing",
              "at": now, "alert_id": "a1"}
    assert act1.history == [entry1]
    assert seen == [("plans", {**entry1, "recommendation": rec.as_dict()})]
    assert pe.log == [{**entry1, "recommendation": rec.as_dict()}] and len(pe.timings) == 1
    # the same level again (or lower): nothing new
    pe.on_alert(_alert("escalated", 1, now + 1, prev=1))
    assert len(pe.activations) == 1 and len(bus.commands) == 2
    # orange: a second activation with the level-2 step, superseding the first
    t2 = now + 5
    pe.on_alert(_alert("escalated", 2, t2, prev=1))
    act2 = pe.activations["pb/billing/2"]
    assert act1.active is False and act1.history[-1] == {"at": t2, "event": "superseded", "by": "pb/billing/2"}
    assert pe.current == {("pb", "billing"): act2} and act2.level == 2
    assert [(s.kind, s.status) for s in act2.recommendation.steps] == [
        ("move_within_region", "pending_approval"), ("ivr_self_service", "applied"), ("stop_cross_sell", "applied")]
    base2 = {**base, "at": t2, "activation_id": "pb/billing/2"}
    assert bus.commands[2:] == [{"type": "play_message", **base2, "message": msg},
                                {"type": "offer_callback", **base2, "after_s": 30.0},
                                {"type": "disable_cross_sell", **base2, "step": "stop_cross_sell"}]
    # approval: the waiting step's commands go out at the state's clock
    with pytest.raises(CallopsError) as err:
        pe.approve("pb/billing/1", "move_within_region", "lead")
    assert str(err.value) == "no active plan activation 'pb/billing/1'"
    with pytest.raises(CallopsError) as err:
        pe.approve("nope", "move_within_region", "lead")
    assert str(err.value) == "no active plan activation 'nope'"
    with pytest.raises(CallopsError) as err:
        pe.approve("pb/billing/2", "ivr_self_service", "lead")  # applied, not waiting
    assert str(err.value) == "activation pb/billing/2 has no step 'ivr_self_service' waiting for approval"
    sent = pe.approve("pb/billing/2", "move_within_region", "lead")
    moves = [{"type": "move_agent", "tenant": "t1", "agent_id": a, "from_queue": "sales", "to_queue": "billing",
              "at": st.now, "activation_id": "pb/billing/2", "step": "move_within_region"} for a in ("s0", "s1")]
    assert sent == moves and bus.commands[-2:] == moves
    assert act2.recommendation.steps[0].status == "approved"
    assert act2.history[-1] == {"event": "approved", "step": "move_within_region", "by": "lead", "at": st.now}
    with pytest.raises(CallopsError, match="has no step 'move_within_region' waiting"):
        pe.approve("pb/billing/2", "move_within_region", "lead")
    # a clear of another alert does nothing; the activation's own clear undoes what went out
    n = len(bus.commands)
    pe.on_alert(_alert("cleared", 0, t2 + 1, alert_id="other", prev=2))
    assert act2.active and len(bus.commands) == n
    t3 = t2 + 60
    pe.on_alert(_alert("cleared", 0, t3, prev=2))
    assert act2.active is False and pe.current == {}
    undone = bus.commands[n:]
    cmds = [m for m in moves] + bus.commands[2:5]
    expected = [{**c, "type": "enable_cross_sell" if c["type"] == "disable_cross_sell" else "cancel",
                 "undoes": c["type"], "at": t3} for c in cmds]
    assert undone == expected
    done = {"event": "deactivated", "activation_id": "pb/billing/2", "at": t3}
    assert act2.history[-1] == done and pe.log[-1] == done and seen[-1] == ("plans", done)
    pe.on_alert(_alert("cleared", 0, t3 + 1, prev=2))  # nothing active any more
    assert len(bus.commands) == n + len(expected)


def test_engine_rejects_and_acts_on_center_alerts() -> None:
    """A rejected step sends nothing and is recorded; a center alert acts on the scope's worst queue and its clear
    (same alert) deactivates it; a plan without a trigger for the level does nothing."""
    pe, seen = _engine()
    st, bus = pe.state, pe.bus
    pe.on_alert(_alert("raised", 1, st.now))
    act = pe.activations["pb/billing/1"]
    n = len(bus.commands)
    waiting = [s.kind for s in act.recommendation.steps if s.status == "pending_approval"]
    assert waiting == ["move_within_region"]
    pe.reject("pb/billing/1", "move_within_region", "lead")
    entry = {"event": "rejected", "activation_id": "pb/billing/1", "step": "move_within_region", "by": "lead",
             "at": st.now}
    assert act.history[-1] == entry and seen[-1] == ("plans", entry)
    assert act.recommendation.steps[0].status == "rejected" and len(bus.commands) == n
    with pytest.raises(CallopsError) as err:
        pe.reject("pb/billing/1", "move_within_region", "lead")
    assert str(err.value) == "activation pb/billing/1 has no step 'move_within_region' waiting for approval"
    with pytest.raises(CallopsError, match=r"^no active plan activation 'x'$"):
        pe.reject("x", "move_within_region", "lead")
    # the undo sends back only what went out: the applied self-service step, not the rejected move
    pe.on_alert(_alert("cleared", 0, st.now + 1, prev=1))
    assert [c["type"] for c in bus.commands[n:]] == ["cancel", "cancel"]
    assert [c["undoes"] for c in bus.commands[n:]] == ["play_message", "offer_callback"]
    # a center alert: the scope's worst queue; the clear of the same alert deactivates it
    pe.on_alert(_alert("raised", 1, st.now, scope="center", key="n1", alert_id="c1"))
    act = pe.activations["pb/sales/2"]
    assert pe.current == {("pb", "sales"): act}
    pe.on_alert(_alert("cleared", 0, st.now + 1, scope="center", key="n1", alert_id="c1", prev=1))
    assert not act.active and pe.current == {}
    # 'late' listens to every rule but only from red; pb only to long-wait
    pe.on_alert(_alert("raised", 3, st.now + 2, rule="other-rule"))
    assert sorted(pe.current) == [("late", "billing")]
    assert pe.current[("late", "billing")].level == 3


def test_activation_and_recommendation_as_dict() -> None:
    pe, _ = _engine()
    pe.on_alert(_alert("raised", 1, pe.state.now))
    act = pe.activations["pb/billing/1"]
    rec = act.recommendation
    d = act.as_dict()
    assert d == {"activation_id": "pb/billing/1", "plan": "pb", "level": 1, "queue": "billing", "alert_id": "a1",
                 "at": pe.state.now, "active": True, "recommendation": rec.as_dict(), "history": act.history}
    r = rec.as_dict()
    assert r["inputs"] == {"rate_per_hour": 480.0, "aht_s": 300.0, "patience_s": 180.0, "agents": 2.0,
                           "waiting": 120, "threshold_s": 20.0}
    assert (r["queue"], r["target_sl"], r["meets_target"]) == ("billing", 0.8, False)
    assert r["considered"] == ["move_within_region", "ivr_self_service"]
    assert r["steps"] == [s.as_dict() for s in rec.steps] and r["before"] == rec.before and r["after"] == rec.after
    assert r["seconds"] == round(rec.seconds, 6) and 0 < rec.seconds < 60


# ---------------------------------------------------------------------------------------------- dispatch
DISPATCH_TARGET = 0.8


def _dispatch_floor(max_share: float) -> tuple[StepPlan, dict[str, tuple[float, int, float]]]:
    """Queue ``q`` (center c1, skill ``a_sk``, 18 offers in the last 15 minutes) and its candidate peers: ``a_sk``
    (named after the skill, no skill set: a peer), p1 (no agents), p2 (1 agent, swamped by its own traffic), p3
    (1 idle agent, 60 s threshold), p4 (5 idle agents, 60 s threshold); not peers: p5 (same center), p6
    (outbound), p7 (another skill). Returns the sized step and each queue's (rate/s, agents, threshold)."""
    qc = {"q": QueueConfig("c1", "voice", aht_s=300.0, patience_s=180.0, skill="a_sk"),
          "a_sk": QueueConfig("c9", "voice", aht_s=300.0, patience_s=180.0),
          "p1": QueueConfig("c2", "voice", aht_s=300.0, patience_s=180.0, skill="a_sk"),
          "p2": QueueConfig("c3", "voice", aht_s=300.0, patience_s=180.0, skill="a_sk"),
          "p3": QueueConfig("c4", "voice", aht_s=300.0, patience_s=180.0, skill="a_sk", sl_threshold_s=60.0),
          "p4": QueueConfig("c5", "voice", aht_s=300.0, patience_s=180.0, skill="a_sk", sl_threshold_s=60.0),
          "p5": QueueConfig("c1", "voice", aht_s=300.0, patience_s=180.0, skill="a_sk"),
          "p6": QueueConfig("c6", "voice", aht_s=300.0, patience_s=180.0, skill="a_sk", direction="outbound"),
          "p7": QueueConfig("c7", "voice", aht_s=300.0, patience_s=180.0, skill="other")}  # fmt: skip
    cfg = LiveConfig("t1", queues=qc)
    staff = {"q": 1, "a_sk": 2, "p2": 1, "p3": 1, "p4": 5, "p5": 9, "p6": 9, "p7": 9}
    offers = {"q": 18, "p2": 30}
    roster = [RosterAgent(f"{q}-{i}", center=qc[q].center, skills={q: 3}) for q, n in staff.items() for i in range(n)]
    st = TenantState(cfg, roster)
    for i, ag in enumerate(roster):
        st.apply(_ev("agent.state", T0 + i, agent_id=ag.agent_id, state="ready"), T0 + i)
    for q, n in offers.items():
        for i in range(n):
            t = T0 + 1000 + 800 * i / n
            st.apply(_ev("contact.offered", t, contact_id=f"{q}{i}", queue=q, channel="voice"), t)
    st.advance(T0 + 1850)
    step = StepConfig(kind="dispatch_across_centers", approval="auto", max_share=max_share)
    rec = Planner(st).recommend("q", [step], DISPATCH_TARGET, 1800.0)
    sized = rec.considered[0] if rec.considered else StepPlan("dispatch_across_centers", "auto")
    loads = {q: (offers.get(q, 0) / 900, staff.get(q, 0), qc[q].sl_threshold_s) for q in qc}
    return sized, loads


def _peer_ok(load: tuple[float, int, float], extra: float) -> bool:
    rate, n, thr = load
    m = erlang_a_metrics(max(rate + extra, 1e-9) * 1800.0, 1800.0, 300.0, n, 180.0, thr)
    return float(np.asarray(m.service_level)) >= DISPATCH_TARGET


@pytest.mark.parametrize("max_share", [0.5, 0.2, 0.3333])
def test_dispatch_sends_each_peer_the_largest_share_it_absorbs_within_the_cap(max_share: float) -> None:
    """Peers (same skill, another center, inbound, with agents) in name order; each gets the largest share on the
    step's grid (max_share / 50) that keeps it on target, until ``max_share`` is spent; none gets a zero share."""
    step, loads = _dispatch_floor(max_share)
    rate = loads["q"][0]
    grid = max_share / 50
    left = max_share
    expected = []
    for peer in ("a_sk", "p1", "p2", "p3", "p4"):  # the peers, by name
        if loads[peer][1] == 0:
            continue
        k = max(k for k in range(51) if _peer_ok(loads[peer], k * grid * rate)) if _peer_ok(loads[peer], 0) else 0
        x = min(k * grid, left)
        if x > 1e-12:
            expected.append((peer, x))
            left -= x
    assert [p for p, _ in expected] == ["a_sk", "p3", "p4"], expected  # p2 absorbs nothing, p1 has nobody
    assert loads["p3"][1] == 1 and not _peer_ok(loads["p2"], 0)
    got = [(c["to_queue"], c["share"]) for c in step.commands]
    assert [p for p, _ in got] == [p for p, _ in expected]
    for (_, g), (_, e) in zip(got, expected, strict=True):
        assert g == pytest.approx(round(e, 4), abs=1e-12)
    assert step.divert_share == pytest.approx(sum(x for _, x in expected), abs=1e-12)
    assert step.divert_share <= max_share + 1e-12
    centers = {"a_sk": "c9", "p3": "c4", "p4": "c5"}
    assert [c for c in step.commands] == [
        {"type": "overflow", "tenant": "t1", "queue": "q", "to_center": centers[p], "to_queue": p,
         "share": round(x, 4)} for p, x in got]
    assert step.note == f"overflow {step.divert_share:.0%} of q to {len(got)} peer queue(s) in other centers"


# ---------------------------------------------------------------------------------------------- candidates
def _cand_floor() -> tuple[TenantState, list[RosterAgent], dict[str, tuple[float, str, str | None]]]:
    """Billing swamped (120 offers, 1 agent); sales and support agents with and without the billing skill, in
    various states since various times; outbound agents on echelons 99, 150, none, 1 and 0."""
    cfg = LiveConfig("t1", centers={"n1": "north"},
                     queues={**{q: QueueConfig("n1", "voice", aht_s=300.0, patience_s=180.0)
                                for q in ("billing", "sales", "support")},
                             "outb": QueueConfig("n1", "voice", direction="outbound")})  # fmt: skip
    roster = [RosterAgent("b0", center="n1", skills={"billing": 3}),
              *(RosterAgent(f"s{i}", name=f"Name {i}", center="n1", skills={"sales": 3, "billing": lvl})
                for i, lvl in enumerate([1, 1, 1, 1, 2, 1])),
              RosterAgent("x0", center="n1", skills={"support": 3, "billing": 1}, emergency_echelon=1),
              RosterAgent("x1", center="n1", skills={"support": 3}, emergency_echelon=2),
              *(RosterAgent(f"o{i}", center="n1", skills={"outb": 3, "billing": 1}, emergency_echelon=e)
                for i, e in enumerate([99, 150, None, 1, 0]))]  # fmt: skip
    states = {"b0": (1, "ready", None), "s0": (10, "ready", None), "s1": (20, "ready", None),
              "s2": (5, "busy", "sales"), "s3": (6, "aux", None), "s4": (7, "acw", "sales"),
              "s5": (1850, "ready", None), "x0": (30, "ready", None), "x1": (31, "ready", None),
              "o0": (40, "ready", None), "o1": (41, "ready", None), "o2": (2, "ready", None),
              "o3": (43, "ready", None), "o4": (44, "ready", None)}  # fmt: skip
    st = TenantState(cfg, roster)
    for i in range(120):
        t = T0 + 1000 + 800 * i / 120
        st.apply(_ev("contact.offered", t, contact_id=f"c{i}", queue="billing", channel="voice"), t)
    for aid, (dt, state, queue) in sorted(states.items(), key=lambda kv: kv[1][0]):
        st.apply(_ev("agent.state", T0 + dt, agent_id=aid, state=state, queue=queue), T0 + dt)
    st.advance(T0 + 1850)
    return st, roster, states


def test_candidates_ready_longest_idle_first_then_skill_and_never_twice() -> None:
    """The move step's candidates as the docs order them: ready agents longest idle first (s5, ready just now,
    still before the busy ones), then the others (busy, after-call work: idle 0) by skill level, then id; agents in
    aux are not working and never taken; an agent one step took is not offered by a later step, even where its
    donor could spare more."""
    st, roster, states = _cand_floor()
    now = st.now
    steps = [StepConfig(kind="move_within_region", approval="auto", max_agents=10),
             StepConfig(kind="dispatch_across_skills", approval="auto", max_agents=10, efficiency=0.1234567)]
    rec = Planner(st).recommend("billing", steps, 0.8, 1800.0)
    move, across = rec.considered
    assert rec.steps == [move, across] and not rec.meets_target  # 1 + 6 + 0.12 agents cannot serve billing
    assert [s.projected["agents"] for s in rec.steps] == [7.0, 7.123]  # type: ignore[index]
    assert across.as_dict()["added_agents"] == 0.123
    by_id = {c.agent_id: c for c in move.agents}
    assert set(by_id) == {"s0", "s1", "s2", "s4", "s5", "x0"}  # s3 is in aux
    assert [c.agent_id for c in move.agents] == ["s0", "s1", "x0", "s5", "s4", "s2"]  # s4 has billing level 2
    for aid, c in by_id.items():
        dt, state, queue = states[aid]
        info = next(r for r in roster if r.agent_id == aid)
        assert c.as_dict() == {"agent_id": aid, "name": info.name, "center": "n1",
                               "skill_level": info.skills["billing"], "echelon": info.emergency_echelon,
                               "current_queue": queue or info.primary, "state": state,
                               "idle_s": round(now - (T0 + dt), 1) if state == "ready" else 0.0,
                               "efficiency": 1.0}  # fmt: skip
    assert [c.agent_id for c in across.agents] == ["x1"]  # x0 already moved; support could spare both
    assert across.agents[0].efficiency == 0.1234567  # no billing skill: the step's efficiency


def test_pull_outbound_puts_agents_without_an_echelon_after_every_echelon() -> None:
    """Echelon order from 0 (o4, less idle than o3), however large the echelon (99, 150), and those without one
    last (o2, the longest idle)."""
    st, _, _ = _cand_floor()
    rec = Planner(st).recommend("billing", [StepConfig(kind="pull_outbound", approval="auto", max_agents=10)],
                                0.8, 1800.0)  # fmt: skip
    assert [c.agent_id for c in rec.considered[0].agents] == ["o4", "o3", "o0", "o1", "o2"]
    assert {c.skill_level for c in rec.considered[0].agents} == {1}  # their billing level


# ---------------------------------------------------------------------------------------------- live inputs
def _load_floor(busy: bool) -> TenantState:
    """Queue ``q`` (no handle time or patience configured, target 0.85 at 30 s) and ``r`` (both configured).

    ``busy``: in the last 15 minutes 17 offers on q: 10 answered after 4 s and handled in 100, 110, ... 190 s,
    5 abandoned after 30 s, 2 still waiting. Otherwise 6 offers 17-27 minutes ago and 3 in the last 15 minutes,
    one answered and handled, one abandoned. Agents: a0 (q) ready, a1 (q) busy, a2 (q) in aux, a3 (mainly r,
    also q) ready, a4 (not on the roster, first seen on q) ready, a5 (not on the roster, no queue) ready."""
    cfg = LiveConfig("t1", queues={"q": QueueConfig("n1", "voice", sl_threshold_s=30.0, target_sl=0.85),
                                   "r": QueueConfig("n1", "voice", aht_s=222.0, patience_s=0.5)})  # fmt: skip
    roster = [*(RosterAgent(f"a{i}", skills={"q": 3}) for i in range(3)), RosterAgent("a3", skills={"r": 3, "q": 1})]
    st = TenantState(cfg, roster)
    for aid, state, queue in [("a0", "ready", None), ("a1", "busy", "q"), ("a2", "aux", None), ("a3", "ready", None),
                              ("a4", "ready", "q"), ("a5", "ready", None)]:  # fmt: skip
        st.apply(_ev("agent.state", T0, agent_id=aid, state=state, queue=queue), T0)
    events: list[tuple[float, str, dict]] = []
    if busy:
        for i in range(17):
            t, cid = T0 + 1000 + 40 * i, f"k{i}"
            events.append((t, "contact.offered", {"contact_id": cid, "queue": "q", "channel": "voice"}))
            if i < 10:
                events.append((t + 4, "contact.answered", {"contact_id": cid, "queue": "q", "agent_id": "a1"}))
                events.append((t + 4 + 100 + 10 * i, "contact.ended", {"contact_id": cid, "queue": "q"}))
            elif i < 15:
                events.append((t + 30, "contact.abandoned", {"contact_id": cid, "queue": "q"}))
    else:
        times = [T0 + 200 + 100 * i for i in range(6)] + [T0 + 1000 + 100 * i for i in range(3)]
        for i, t in enumerate(times):
            events.append((t, "contact.offered", {"contact_id": f"k{i}", "queue": "q", "channel": "voice"}))
        events += [(T0 + 210, "contact.answered", {"contact_id": "k0", "queue": "q", "agent_id": "a1"}),
                   (T0 + 300, "contact.ended", {"contact_id": "k0", "queue": "q"}),
                   (T0 + 350, "contact.abandoned", {"contact_id": "k1", "queue": "q"})]  # fmt: skip
    for t, kind, kw in sorted(events, key=lambda e: e[0]):
        st.apply(_ev(kind, t, **kw), t)
    st.advance(T0 + 1850)
    return st


def test_load_reads_the_last_15_minutes_handle_time_and_patience_estimate() -> None:
    """17 offers in 15 minutes: 17/900 per second; handle time the mean of the 10 handled (145 s); patience the
    total wait over the abandons ((10 x 4 + 5 x 30) / 5 = 38 s, the exponential-patience MLE); agents working
    whose main queue is q (a0, a1, a4; not a2 in aux, not a3); 2 waiting; the queue's own target and threshold."""
    pl = Planner(_load_floor(busy=True), default_aht_s=250.0, default_patience_s=99.0)
    ld = pl.load("q")
    assert ld == QueueLoad("q", 17 / 900, 145.0, 38.0, 3.0, 30.0, 0.85, 2)
    assert pl.load("q", target_sl=0.6, exclude=frozenset({"a0", "a3"})) == QueueLoad(
        "q", 17 / 900, 145.0, 38.0, 2.0, 30.0, 0.6, 2)


def test_load_falls_back_to_30_minutes_and_defaults() -> None:
    """Fewer than 10 offers in 15 minutes: the 30 minutes' 9 over 1800 s; fewer than 10 handled and 5 abandons:
    the planner's defaults; a configured handle time and patience win, and patience is at least 1 s."""
    st = _load_floor(busy=False)
    pl = Planner(st, default_aht_s=250.0, default_patience_s=99.0)
    assert pl.load("q") == QueueLoad("q", 9 / 1800, 250.0, 99.0, 3.0, 30.0, 0.85, 7)
    assert Planner(st).load("q") == QueueLoad("q", 9 / 1800, 300.0, 180.0, 3.0, 30.0, 0.85, 7)
    assert pl.load("r") == QueueLoad("r", 0.0, 222.0, 1.0, 1.0, 20.0, 0.8, 0)


def test_primary_and_region() -> None:
    """An agent's queue: the roster's highest skill, else the first queue it was seen on, else none; a center's
    region, the center itself when unconfigured, none without a center."""
    st = _load_floor(busy=False)
    pl = Planner(st)
    assert {a: pl.primary(st.agents[a]) for a in ("a0", "a3", "a4", "a5")} == {"a0": "q", "a3": "r", "a4": "q",
                                                                               "a5": None}  # fmt: skip
    pe = Planner(_floor())
    assert (pe.region("n1"), pe.region("n2"), pe.region("zz"), pe.region(None)) == ("north", "north", "zz", None)


# ---------------------------------------------------------------------------------------------- choice, projection
def _figures_of(rate: float, aht: float, agents: float, patience: float, threshold: float) -> dict[str, float]:
    m = erlang_a_metrics(max(rate, 1e-9) * 1800.0, 1800.0, aht, agents, patience, threshold)
    f = {k: float(np.asarray(getattr(m, k))) for k in ("service_level", "abandon_rate", "asa_s", "occupancy")}
    return {"service_level": round(f["service_level"], 6), "abandon_rate": round(f["abandon_rate"], 6),
            "asa_s": round(f["asa_s"], 3), "occupancy": round(f["occupancy"], 6), "agents": round(agents, 3)}


def test_projections_before_and_after_each_step() -> None:
    """Nothing reaches the target here: every step is kept; each step's projection is the Erlang A figures once
    it and the earlier ones run (rate x (1 - deflection), handle time x factor, agents added)."""
    st = _floor()
    steps = [StepConfig(kind="move_within_region", approval="auto", max_agents=2),
             StepConfig(kind="ivr_self_service", approval="auto", deflection=0.2),
             StepConfig(kind="stop_cross_sell", approval="auto", aht_reduction=0.1)]
    rec = Planner(st).recommend("billing", steps)
    rate = 120 / 900
    assert rec.target_sl == 0.8 and rec.meets_target is False
    assert rec.before == _figures_of(rate, 300.0, 2.0, 180.0, 20.0)
    assert [s.kind for s in rec.steps] == ["move_within_region", "ivr_self_service", "stop_cross_sell"]
    assert [s.projected for s in rec.steps] == [_figures_of(rate, 300.0, 4.0, 180.0, 20.0),
                                                _figures_of(rate * 0.8, 300.0, 4.0, 180.0, 20.0),
                                                _figures_of(rate * 0.8, 270.0, 4.0, 180.0, 20.0)]
    assert rec.after == rec.steps[-1].projected
    empty = Planner(st).recommend("billing", [])
    assert empty.steps == [] and empty.considered == [] and empty.after == empty.before == rec.before
    assert empty.meets_target is False


@pytest.mark.parametrize("size", [1, 2])
def test_the_first_smallest_subset_that_reaches_the_target_is_chosen(size: int) -> None:
    """Three traffic and handle-time steps on q (no agents to trim): every subset projected here, the target put
    just above the best of the smaller subsets and of the first subset of ``size``, so the chosen set is the first
    other one of ``size`` (playbook order) that reaches it."""
    st = _load_floor(busy=True)
    ld = Planner(st).load("q")
    cfg = [("ivr_self_service", 0.1, 1.0), ("stop_cross_sell", 0.0, 0.8), ("ivr_self_service", 0.5, 1.0)]
    steps = [StepConfig(kind="ivr_self_service", approval="auto", deflection=0.1),
             StepConfig(kind="stop_cross_sell", approval="auto", aht_reduction=0.2),
             StepConfig(kind="ivr_self_service", approval="auto", deflection=0.5)]

    def sl(subset: tuple[int, ...]) -> float:
        rate = ld.rate_per_s * math.prod(1 - cfg[i][1] for i in subset)
        aht = ld.aht_s * math.prod(cfg[i][2] for i in subset)
        m = erlang_a_metrics(rate * 1800.0, 1800.0, aht, ld.agents, ld.patience_s, ld.threshold_s)
        return float(np.asarray(m.service_level))

    smaller = [c for k in range(1, size) for c in itertools.combinations(range(3), k)]
    first = next(itertools.combinations(range(3), size))  # made to fall short too: not simply the first
    target = max([sl(()), sl(first), *(sl(c) for c in smaller)]) + 1e-4
    expected = next(c for c in itertools.combinations(range(3), size) if sl(c) >= target)
    assert sl(()) < target < 1
    rec = Planner(st).recommend("q", steps, target_sl=target)
    assert rec.meets_target and rec.target_sl == target
    assert [(s.kind, s.divert_share, s.aht_factor) for s in rec.steps] == [
        (cfg[i][0], cfg[i][1], pytest.approx(cfg[i][2])) for i in expected]
    assert rec.after["service_level"] == round(sl(expected), 6)
    rate = ld.rate_per_s * math.prod(1 - cfg[i][1] for i in expected)
    aht = ld.aht_s * math.prod(cfg[i][2] for i in expected)
    assert rec.after == _figures_of(rate, aht, ld.agents, ld.patience_s, ld.threshold_s)
    assert 0.1 < rec.after["occupancy"] < 0.9  # not rounded to a whole number


def test_each_step_says_what_it_does() -> None:
    """The notes and commands of the sized steps (shown to the dispatcher), written out by hand."""
    st = _floor()
    steps = [StepConfig(kind="move_within_region", approval="auto", max_agents=3),
             StepConfig(kind="ivr_self_service", approval="auto", deflection=0.25, callback_after_s=45,
                        message="busy"),
             StepConfig(kind="pull_outbound", approval="auto", max_agents=5),
             StepConfig(kind="stop_cross_sell", approval="auto", aht_reduction=0.12),
             StepConfig(kind="dispatch_across_skills", approval="auto", max_agents=5)]  # fmt: skip
    rec = Planner(st).recommend("billing", steps)
    got = {s.kind: (s.note, s.commands) for s in rec.considered}
    mv = {"type": "move_agent", "tenant": "t1", "to_queue": "billing"}
    assert got == {
        "move_within_region": ("3 agent(s) of region north with the billing skill",
                               [{**mv, "agent_id": a, "from_queue": "sales"} for a in ("s0", "s1", "s2")]),
        "ivr_self_service": ("self-service and callback ahead of billing: 25% of traffic expected",
                             [{"type": "play_message", "tenant": "t1", "queue": "billing", "message": "busy"},
                              {"type": "offer_callback", "tenant": "t1", "queue": "billing", "after_s": 45.0}]),
        "pull_outbound": ("1 outbound agent(s) with the billing skill, echelon order",
                          [{**mv, "agent_id": "o0", "from_queue": "outb"}]),
        "stop_cross_sell": ("no cross-selling on billing: handle time -12%",
                            [{"type": "disable_cross_sell", "tenant": "t1", "queue": "billing"}]),
    }  # dispatch_across_skills finds nobody (o0 is outbound and already pulled): not considered


def test_every_plan_is_considered_in_turn() -> None:
    """A plan without a level for the alert, or already running at that level, does not stop the plans after it;
    the plan's own target is what the recommendation aims at; each activation's planning time is kept."""
    plans = parse_plans("""
plans:
  - name: late
    trigger: {red: 3}
    steps: [{kind: ivr_self_service, approval: auto}]
  - name: high
    trigger: {yellow: 2, orange: 2}
    target_sl: 0.9
    steps: [{kind: ivr_self_service, approval: auto}]
  - name: plain
    steps: [{kind: stop_cross_sell, approval: auto}]
""")
    pe = PlanEngine(_floor(), plans, Bus())
    now = pe.state.now
    pe.on_alert(_alert("raised", 1, now))  # late: no level for yellow; high: 2, plain: 1
    assert {k: a.level for k, a in pe.current.items()} == {("high", "billing"): 2, ("plain", "billing"): 1}
    assert pe.current[("high", "billing")].recommendation.target_sl == 0.9
    assert pe.current[("plain", "billing")].recommendation.target_sl == 0.8
    pe.on_alert(_alert("escalated", 2, now + 1, prev=1))  # high already at 2: plain goes on to 2
    assert {k: a.level for k, a in pe.current.items()} == {("high", "billing"): 2, ("plain", "billing"): 2}
    assert pe.timings == [a.recommendation.seconds for a in pe.activations.values()] and len(pe.timings) == 3


def test_recommendation_inputs_are_rounded_for_json() -> None:
    """Arrivals per hour, handle time and patience to 2 decimals (44.44416 -> 44.44 and so on)."""
    ld = QueueLoad("q", 0.0123456, 123.4567, 98.7654, 3.0, 20.0, 0.8, 2)
    rec = Recommendation("q", ld, {"service_level": 0.5}, {"service_level": 0.9}, 0.8, True, [], [], 0.12345678)
    assert rec.as_dict() == {
        "queue": "q", "target_sl": 0.8, "meets_target": True,
        "inputs": {"rate_per_hour": 44.44, "aht_s": 123.46, "patience_s": 98.77, "agents": 3.0, "waiting": 2,
                   "threshold_s": 20.0},
        "before": {"service_level": 0.5}, "after": {"service_level": 0.9}, "steps": [], "considered": [],
        "seconds": 0.123457}  # fmt: skip


def test_ten_offers_in_15_minutes_are_enough_for_the_15_minute_rate() -> None:
    """Exactly 10 offers in the last 15 minutes (and 5 before): 10/900 per second, not 15/1800."""
    st = TenantState(LiveConfig("t1", queues={"q": QueueConfig("n1", "voice")}))
    times = [T0 + 200 + 100 * i for i in range(5)] + [T0 + 1000 + 50 * i for i in range(10)]
    for i, t in enumerate(times):
        st.apply(_ev("contact.offered", t, contact_id=f"k{i}", queue="q", channel="voice"), t)
    st.advance(T0 + 1850)
    assert Planner(st).load("q").rate_per_s == 10 / 900


def test_a_donor_gives_no_more_than_it_can_spare_across_steps() -> None:
    """Sales (6 agents, 6 offers in 30 minutes, its own 60 s threshold) can spare what keeps it on target (brute force
    over the count); the move step takes that many of its billing-skilled agents, and the later cross-skill step
    gets none of its echelon agent s5, though s5 is free: the donor has nothing left to spare. Support, below its
    target already, gives nobody."""
    cfg = LiveConfig("t1", queues={"billing": QueueConfig("n1", "voice", aht_s=300.0, patience_s=180.0),
                                   "sales": QueueConfig("n1", "voice", aht_s=300.0, patience_s=180.0,
                                                        sl_threshold_s=60.0),
                                   "support": QueueConfig("n1", "voice", aht_s=300.0, patience_s=180.0)})  # fmt: skip
    roster = [RosterAgent("b0", center="n1", skills={"billing": 3}),
              *(RosterAgent(f"s{i}", center="n1", skills={"sales": 3, "billing": 1}) for i in range(5)),
              RosterAgent("s5", center="n1", skills={"sales": 3}, emergency_echelon=1),
              RosterAgent("p0", center="n1", skills={"support": 3, "billing": 1}, emergency_echelon=1)]  # fmt: skip
    st = TenantState(cfg, roster)
    for i, ag in enumerate(roster):
        st.apply(_ev("agent.state", T0 + i, agent_id=ag.agent_id, state="ready"), T0 + i)
    offers = [("sales", T0 + 200 + 100 * i) for i in range(6)] + [("billing", T0 + 1000 + 800 * i / 120)
                                                                  for i in range(120)]  # fmt: skip
    offers += [("support", T0 + 1000 + 20 * i) for i in range(30)]  # support is swamped: it spares nobody
    for n, (q, t) in enumerate(offers):
        st.apply(_ev("contact.offered", t, contact_id=f"c{n}", queue=q, channel="voice"), t)
    st.advance(T0 + 1850)

    def sl(rate: float, agents: float) -> float:
        m = erlang_a_metrics(max(rate, 1e-9) * 1800.0, 1800.0, 300.0, agents, 180.0, 60.0)
        return float(np.asarray(m.service_level))

    spare = max(k for k in range(7) if sl(6 / 1800, 6 - k) >= 0.8)  # sales answers within 60 s
    assert 0 < spare < 5 and spare != max(k for k in range(7) if _sl20(6 / 1800, 6 - k) >= 0.8)
    steps = [StepConfig(kind="move_within_region", approval="auto", max_agents=10),
             StepConfig(kind="dispatch_across_skills", approval="auto", max_agents=10)]
    rec = Planner(st).recommend("billing", steps, 0.8, 1800.0)
    assert [[c.agent_id for c in s.agents] for s in rec.considered] == [[f"s{i}" for i in range(spare)]]


def _sl20(rate: float, agents: float) -> float:
    m = erlang_a_metrics(max(rate, 1e-9) * 1800.0, 1800.0, 300.0, agents, 180.0, 20.0)
    return float(np.asarray(m.service_level))


def test_spare_is_capped_at_64_by_default_and_a_quiet_queue_needs_nothing() -> None:
    """A queue without traffic can give everyone away, up to ``most`` (64 unless told); a recommendation for a
    queue without traffic has no shortfall: no agent step is sized."""
    cfg = LiveConfig("t1", queues={"big": QueueConfig("n1", "voice", aht_s=300.0, patience_s=180.0),
                                   "quiet": QueueConfig("n1", "voice", aht_s=300.0, patience_s=180.0)})
    roster = [RosterAgent(f"g{i}", center="n1", skills={"big": 3, "quiet": 1}) for i in range(70)]
    st = TenantState(cfg, roster)
    for i, ag in enumerate(roster):
        st.apply(_ev("agent.state", T0 + i, agent_id=ag.agent_id, state="ready"), T0 + i)
    st.advance(T0 + 1850)
    pl = Planner(st)
    assert pl.spare(["big"], 1800.0) == {"big": 64}
    assert pl.spare(["big"], 1800.0, most=5) == {"big": 5}
    assert pl.spare([], 1800.0) == {}
    rec = pl.recommend("quiet", [StepConfig(kind="move_within_region", approval="auto", max_agents=5),
                                 StepConfig(kind="stop_cross_sell", approval="auto")])  # fmt: skip
    assert [s.kind for s in rec.considered] == ["stop_cross_sell"]  # nobody to find without a shortfall


def _shortfall_floor(extra: int) -> tuple[TenantState, int]:
    """Billing (1/30 contacts a second, 300 s, patience 180 s, target 0.8 within 60 s) staffed ``extra`` agents
    off the count that reaches its target (brute force over Erlang A here); sales: 10 idle agents, s0-s4 with the
    billing skill, e0-e4 on echelon 1 without it. Returns the state and that count."""

    def sl(n: int, threshold: float) -> float:
        m = erlang_a_metrics(60.0, 1800.0, 300.0, n, 180.0, threshold)
        return float(np.asarray(m.service_level))

    need = next(n for n in range(1, 100) if sl(n, 60.0) >= 0.8)
    assert need != next(n for n in range(1, 100) if sl(n, 20.0) >= 0.8)  # the threshold matters here
    cfg = LiveConfig("t1", queues={"billing": QueueConfig("n1", "voice", aht_s=300.0, patience_s=180.0,
                                                          sl_threshold_s=60.0),
                                   "sales": QueueConfig("n1", "voice", aht_s=300.0, patience_s=180.0)})  # fmt: skip
    roster = [*(RosterAgent(f"b{i:02d}", center="n1", skills={"billing": 3}) for i in range(need + extra)),
              *(RosterAgent(f"s{i}", center="n1", skills={"sales": 3, "billing": 1}) for i in range(5)),
              *(RosterAgent(f"e{i}", center="n1", skills={"sales": 3}, emergency_echelon=1) for i in range(5))]
    st = TenantState(cfg, roster)
    for i, ag in enumerate(roster):
        st.apply(_ev("agent.state", T0 + i, agent_id=ag.agent_id, state="ready"), T0 + i)
    for i in range(30):
        t = T0 + 1000 + 800 * i / 30
        st.apply(_ev("contact.offered", t, contact_id=f"c{i}", queue="billing", channel="voice"), t)
    st.advance(T0 + 1850)
    return st, need


def test_steps_are_sized_on_the_erlang_a_shortfall_and_a_donor_gives_at_most_one_more() -> None:
    """Two agents short (Erlang A at the queue's 60 s threshold): the move step proposes exactly 2; sales could
    spare all 10, but a donor gives at most the shortfall plus one in all, so the cross-skill step gets 1."""
    st, _ = _shortfall_floor(-2)
    steps = [StepConfig(kind="move_within_region", approval="auto", max_agents=10),
             StepConfig(kind="dispatch_across_skills", approval="auto", max_agents=10)]
    rec = Planner(st).recommend("billing", steps)
    move, across = rec.considered
    assert [c.agent_id for c in move.agents] == ["s0", "s1"] and [c.agent_id for c in across.agents] == ["e0"]
    assert across.note == "1 emergency-echelon agent(s) of other skills"
    assert rec.steps == [move] and rec.meets_target  # the two agents alone reach the target
    st, _ = _shortfall_floor(1)  # one more than needed: no shortfall, nobody to move
    assert Planner(st).recommend("billing", steps).considered == []


@pytest.mark.parametrize(("per_interval", "forecast_wins"), [(400.0, True), (10.0, False)])
def test_load_takes_the_reforecast_of_the_next_30_minutes_when_it_is_higher(
    per_interval: float, forecast_wins: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a stored forecast for today (flat, ``per_interval`` contacts per 30 minutes), q's rate is the
    re-forecast of the next 30 minutes (docs/live-events.md: day-ahead x (1 + rho (A - F) / (F + k)), A offered
    today, F forecast so far) unless the last 15 minutes' rate is higher; r, without a forecast, keeps its rate."""
    monkeypatch.setenv("CALLOPS_HOME", str(tmp_path / "home"))
    starts = pd.date_range("2024-03-04 00:00", periods=48, freq="30min")  # T0's local day, naive local time
    save_snapshot("t1", pd.DataFrame({"queue": "q", "interval_start": starts, "forecast": per_interval}),
                  {"interval_min": 30})  # fmt: skip
    st = _load_floor(busy=True)
    pl = Planner(st)
    pl.reforecast = LiveReforecast("t1", CONFIG.timezone)
    day_start = datetime(2024, 3, 4, tzinfo=ZoneInfo(CONFIG.timezone)).timestamp()
    f_so_far = per_interval * (st.now - day_start) / 1800.0
    ratio = 1 + intraday.DEFAULT_RHO * (17 - f_so_far) / (f_so_far + intraday.DEFAULT_PRIOR_CALLS)
    ahead, live = per_interval / 1800.0 * ratio, 17 / 900
    assert (ahead > live) is forecast_wins
    assert pl.load("q").rate_per_s == pytest.approx(max(ahead, live), rel=1e-9)
    assert pl.load("r").rate_per_s == 0.0


@pytest.mark.parametrize("short", [1, 2])
def test_trim_counts_the_handle_time_step_and_drops_agent_steps_left_empty(short: int) -> None:
    """The chosen set: move (3 agents), pull (3 agents), stop cross-selling (handle time x 0.9). The queue is
    ``short`` agents from its target at the shorter handle time (brute force here), so trimming keeps the first
    ``short`` movers, drops the pull step (none of its agents needed) and keeps the step after it."""
    rate, aht = 600 / 3600, 300.0

    def sl(n: float, handle: float) -> float:
        m = erlang_a_metrics(rate * 1800.0, 1800.0, handle, n, 180.0, 20.0)
        return float(np.asarray(m.service_level))

    need = next(n for n in range(1, 200) if sl(n, aht * 0.9) >= 0.8)
    assert need != next(n for n in range(1, 200) if sl(n, aht / 0.9) >= 0.8)  # the factor's direction matters
    ld = QueueLoad("q", rate, aht, 180.0, float(need - short), 20.0, 0.8, 0)

    def movers(prefix: str) -> list[Candidate]:
        return [Candidate(f"{prefix}{i}", None, "c1", 1, None, "other", "ready", 10.0) for i in range(3)]

    steps = [StepPlan("move_within_region", "auto", agents=movers("m")), StepPlan("pull_outbound", "auto",
             agents=movers("p")), StepPlan("stop_cross_sell", "auto", aht_factor=0.9)]  # fmt: skip
    for s in steps:
        s.commands = [{"type": "move_agent", "agent_id": c.agent_id} for c in s.agents]
    kept = Planner.__new__(Planner)._trim(steps, ld, 0.8, 1800.0)
    assert [s.kind for s in kept] == ["move_within_region", "stop_cross_sell"]
    assert [c.agent_id for c in kept[0].agents] == [f"m{i}" for i in range(short)]
    assert [c["agent_id"] for c in kept[0].commands] == [f"m{i}" for i in range(short)]


def test_a_planner_from_an_older_snapshot_without_a_reforecast_still_loads() -> None:
    """Planners unpickled from snapshots older than the re-forecast have no ``reforecast`` attribute."""
    pl = Planner(_load_floor(busy=True))
    del pl.reforecast
    assert pl.load("q").rate_per_s == 17 / 900


def test_an_alert_whose_queue_is_projected_on_target_still_gets_its_first_step() -> None:
    """The playbook answers an alert with at least one step: when the queue is already projected on target with
    the agents it has (brute force below), the recommendation is the first step alone (docs/live-events.md), not
    an empty plan."""
    rate, aht = 600 / 3600, 300.0
    need = next(n for n in range(1, 200)
                if float(np.asarray(erlang_a_metrics(rate * 1800.0, 1800.0, aht, n, 180.0, 20.0).service_level)) >= 0.8)
    ld = QueueLoad("q", rate, aht, 180.0, float(need + 3), 20.0, 0.8, 0)
    movers = [Candidate(f"m{i}", None, "c1", 1, None, "other", "ready", 10.0) for i in range(2)]
    steps = [StepPlan("stop_cross_sell", "auto", aht_factor=0.9), StepPlan("move_within_region", "auto",
             agents=movers)]  # fmt: skip
    chosen, _m, meets = Planner.__new__(Planner)._choose(steps, ld, 0.8, 1800.0)
    assert meets and [s.kind for s in chosen] == ["stop_cross_sell"]
