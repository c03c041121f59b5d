"""Adherence (issue 19): the day figures and the live watch against a brute-force minute-by-minute reference on
small hypothesis-generated schedules, state sequences and exceptions."""

from __future__ import annotations

import itertools
from datetime import datetime

from hypothesis import given, settings
from hypothesis import strategies as stg

from callops.people.adherence import RULE, Span, agent_day, attach_watch, conforms
from callops.realtime.engine import LiveEngine
from callops.realtime.state import LiveConfig, RosterAgent, ScheduleRow

T0 = datetime.fromisoformat("2024-03-04T08:00:00+08:00").timestamp()
ACTIVITIES = ("work", "work", "break", "lunch", "training", "off")
STATES = ("ready", "busy", "acw", "aux", "offline")
DAY_MIN = 180  # the generated day: three hours of minutes


@stg.composite
def blocks(draw: stg.DrawFn, labels: tuple[str, ...], max_n: int = 6) -> list[tuple[str, int, int]]:
    """Non-overlapping labelled minute spans inside the day (possibly with gaps)."""
    cuts = sorted(set(draw(stg.lists(stg.integers(0, DAY_MIN), min_size=2, max_size=2 * max_n))))
    out = []
    for a, b in itertools.pairwise(cuts):
        if draw(stg.booleans()) or len(cuts) <= 3:
            out.append((draw(stg.sampled_from(labels)), a, b))
    return out


@stg.composite
def state_changes(draw: stg.DrawFn) -> list[tuple[int, str]]:
    """Agent state changes at distinct whole minutes, in time order."""
    mins = sorted(set(draw(stg.lists(stg.integers(0, DAY_MIN - 1), min_size=1, max_size=12))))
    return [(m, draw(stg.sampled_from(STATES))) for m in mins]


def _brute(schedule: list[tuple[str, int, int]], changes: list[tuple[int, str]],
           excused: list[tuple[str, int, int]]) -> dict[str, float]:  # fmt: skip
    """Minute by minute: what each minute is (scheduled? adherent? excused? worked?)."""
    sched = adherent = exc = work = worked = 0
    out_minutes = []
    for m in range(DAY_MIN):
        state = "offline"
        for t, s in changes:
            if t <= m:
                state = s
        if state in ("ready", "busy", "acw"):
            worked += 1
        act = next((a for a, lo, hi in schedule if lo <= m < hi), None)
        is_out = False
        if act is not None and act != "off":
            sched += 1
            work += act == "work"
            ok = (state in ("ready", "busy", "acw")) == (act == "work")
            ex = any(lo <= m < hi for _, lo, hi in excused)
            adherent += ok or ex
            exc += (not ok) and ex
            is_out = not ok and not ex
        out_minutes.append(is_out)
    return {"scheduled_s": 60 * sched, "adherent_s": 60 * adherent, "excused_s": 60 * exc,
            "scheduled_work_s": 60 * work, "worked_s": 60 * worked, "out": out_minutes}  # fmt: skip


def _spans(rows: list[tuple[str, int, int]]) -> list[Span]:
    return [Span(a, T0 + 60 * lo, T0 + 60 * hi) for a, lo, hi in rows]


def _state_spans(changes: list[tuple[int, str]]) -> list[Span]:
    out = []
    for i, (t, s) in enumerate(changes):
        end = changes[i + 1][0] if i + 1 < len(changes) else DAY_MIN
        out.append(Span(s, T0 + 60 * t, T0 + 60 * end))
    return out


@settings(max_examples=150, deadline=None)
@given(blocks(ACTIVITIES), state_changes(), blocks(("meeting",), 2))
def test_day_adherence_matches_minute_by_minute(schedule, changes, excused) -> None:
    got = agent_day(_spans(schedule), _state_spans(changes), _spans(excused), T0, T0 + 60 * DAY_MIN)
    want = _brute(schedule, changes, excused)
    for k in ("scheduled_s", "adherent_s", "excused_s", "scheduled_work_s", "worked_s"):
        assert abs(got[k] - want[k]) < 1e-6, (k, got, want)
    assert got["adherence"] == (want["adherent_s"] / want["scheduled_s"] if want["scheduled_s"] else None)
    assert got["conformance"] == (want["worked_s"] / want["scheduled_work_s"] if want["scheduled_work_s"] else None)


def test_conforms_is_the_catalog_rule() -> None:
    """work wants ready/busy/acw; every other activity wants aux or offline (as schedule_state_overlap)."""
    assert {s for s in STATES if conforms("work", s)} == {"ready", "busy", "acw"}
    for act in ("break", "lunch", "training", "meeting"):
        assert {s for s in STATES if conforms(act, s)} == {"aux", "offline"}


def _engine(schedule: list[tuple[str, int, int]], threshold_s: float) -> LiveEngine:
    rows = [ScheduleRow("a1", a, T0 + 60 * lo, T0 + 60 * hi) for a, lo, hi in schedule]
    eng = LiveEngine(LiveConfig(tenant="demo", timezone="Asia/Shanghai"), rules=[],
                     roster=[RosterAgent("a1", team="t1")], schedule=rows)  # fmt: skip
    attach_watch(eng, threshold_s)
    return eng


def _feed(eng: LiveEngine, changes: list[tuple[int, str]]) -> None:
    eng.advance(T0)  # the room opens with the day: its clock starts there
    for m, s in changes:
        ts = datetime.fromtimestamp(T0 + 60 * m).astimezone().isoformat()
        assert eng.submit({"type": "agent.state", "ts": ts, "tenant": "demo", "agent_id": "a1", "state": s})
    eng.advance(T0 + 60 * DAY_MIN + 3600)


def _expected_alerts(out: list[bool], thr_min: int) -> list[tuple[str, str, float]]:
    """Each run of out-of-adherence minutes of length L: raised at thr, escalated at 2 thr and 4 thr, cleared at
    its end - when it reached thr."""
    want = []
    m = 0
    while m < len(out):
        if not out[m]:
            m += 1
            continue
        start = m
        while m < len(out) and out[m]:
            m += 1
        length = m - start
        if length >= thr_min:
            want.append(("raised", "yellow", T0 + 60 * (start + thr_min)))
            for f, lv in ((2, "orange"), (4, "red")):
                if length >= f * thr_min:
                    want.append(("escalated", lv, T0 + 60 * (start + f * thr_min)))
            want.append(("cleared", None, T0 + 60 * m))
    return want


@settings(max_examples=120, deadline=None)
@given(blocks(ACTIVITIES), state_changes(), blocks(("meeting",), 2), stg.sampled_from([1, 2, 5, 10]))
def test_live_alerts_match_minute_by_minute(schedule, changes, excused, thr_min) -> None:
    """Raised after the threshold (orange 2x, red 4x), cleared when back in adherence, never while excused."""
    eng = _engine(schedule, 60 * thr_min)
    for _, lo, hi in excused:
        eng.adherence.add_exception("a1", T0 + 60 * lo, T0 + 60 * hi, "meeting")
    _feed(eng, changes)
    got = [(e.kind, e.level_name, e.at) for e in eng.events if e.rule == RULE]
    assert got == _expected_alerts(_brute(schedule, changes, excused)["out"], thr_min)


def test_alert_after_threshold_and_suppressed_by_exception() -> None:
    """Ready through a 15-minute break: yellow after 5 minutes; the same with a meeting recorded: nothing."""
    schedule = [("work", 0, 60), ("break", 60, 75), ("work", 75, 180)]
    changes = [(0, "ready"), (68, "aux"), (75, "ready")]
    eng = _engine(schedule, 300)
    _feed(eng, changes)
    assert [(e.kind, e.level_name, (e.at - T0) / 60) for e in eng.events] == [
        ("raised", "yellow", 65.0), ("cleared", None, 68.0)]
    eng2 = _engine(schedule, 300)
    eng2.adherence.add_exception("a1", T0 + 60 * 55, T0 + 60 * 75, "coaching")
    _feed(eng2, changes)
    assert eng2.events == []
    # an exception recorded while the alert is up clears it at once
    eng3 = _engine(schedule, 300)
    eng3.advance(T0)
    eng3.submit({"type": "agent.state", "ts": datetime.fromtimestamp(T0).astimezone().isoformat(), "tenant": "demo",
                 "agent_id": "a1", "state": "ready"})  # fmt: skip
    eng3.advance(T0 + 60 * 66)
    assert [e.kind for e in eng3.events] == ["raised"]
    assert eng3.adherence.agent_now("a1")["alert_level"] == "yellow"
    eng3.adherence.add_exception("a1", T0 + 60 * 66, T0 + 60 * 75, "system")
    assert [e.kind for e in eng3.events] == ["raised", "cleared"]
    assert eng3.adherence.agent_now("a1")["exception"] == "system"


def test_watch_survives_a_snapshot_pickle() -> None:
    """The hub pickles engines with cloudpickle: the watch and its timers come back and keep working."""
    import cloudpickle

    eng = _engine([("work", 0, 60), ("break", 60, 120)], 300)
    eng.submit({"type": "agent.state", "ts": datetime.fromtimestamp(T0).astimezone().isoformat(), "tenant": "demo",
                "agent_id": "a1", "state": "ready"})  # fmt: skip
    eng.advance(T0 + 60 * 62)
    back = cloudpickle.loads(cloudpickle.dumps(eng))
    back.advance(T0 + 60 * 66)
    assert [e.kind for e in back.events if e.rule == RULE] == ["raised"]


def test_saving_live_rules_keeps_adherence_alerts() -> None:
    """A manager replacing the YAML alert rules (issue 16) does not clear the watch's alerts."""
    from callops.realtime.alerts import load_rules

    eng = _engine([("work", 0, 60), ("break", 60, 120)], 300)
    eng.advance(T0)
    eng.submit({"type": "agent.state", "ts": datetime.fromtimestamp(T0).astimezone().isoformat(), "tenant": "demo",
                "agent_id": "a1", "state": "ready"})  # fmt: skip
    eng.advance(T0 + 60 * 66)
    eng.set_rules(load_rules())
    assert [e.kind for e in eng.events if e.rule == RULE] == ["raised"]
    assert eng.adherence.agent_now("a1")["alert_level"] == "yellow"
    eng.advance(T0 + 60 * 71)
    assert [e.kind for e in eng.events if e.rule == RULE] == ["raised", "escalated"]


def test_a_restarted_hub_keeps_the_acknowledged_adherence_alert(home, tmp_path) -> None:
    """A durable hub rebuilt from its event log gets the watch *before* the replay, so an adherence alert a lead
    acknowledged before the restart comes back raised and acknowledged (it used to be attached after the replay,
    which skipped the logged acknowledgement)."""
    import csv

    from callops.realtime.hub import hub_for, live_dir, reset_hubs

    folder = live_dir("t1")
    folder.mkdir(parents=True)
    day = datetime.fromisoformat("2024-03-04T00:00:00+08:00")
    with (folder / "schedules.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["agent_id", "activity", "start_at", "end_at", "queue"])
        w.writerow(["a1", "work", (day.replace(hour=8)).isoformat(), day.replace(hour=9).isoformat(), ""])
        w.writerow(["a1", "break", (day.replace(hour=9)).isoformat(), day.replace(hour=10).isoformat(), ""])
    hub = hub_for("t1", "Asia/Shanghai")
    assert getattr(hub.engine, "adherence", None) is not None
    at = day.replace(hour=8)
    hub.submit([{"type": "agent.state", "ts": at.isoformat(), "tenant": "t1", "agent_id": "a1", "state": "ready"},
                {"type": "agent.state", "ts": day.replace(hour=9, minute=6).isoformat(), "tenant": "t1",
                 "agent_id": "a1", "state": "ready"}])  # fmt: skip
    raised = [a for a in hub.alerts() if a["rule"] == RULE]
    assert len(raised) == 1, hub.alerts()
    hub.acknowledge(raised[0]["alert_id"], "lead-alpha")
    before = hub.alert(raised[0]["alert_id"])
    reset_hubs()
    for snap in folder.glob("snapshot*"):  # closing wrote a snapshot: take the log replay path, as after a crash
        snap.unlink()
    again = hub_for("t1", "Asia/Shanghai")
    assert again is not hub and again.rebuilt is not None and again.rebuilt.events == 2
    after = again.alert(raised[0]["alert_id"])
    assert after["acknowledged_by"] == "lead-alpha" and after == before
    reset_hubs()
