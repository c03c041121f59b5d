"""Requests end to end on a real SQLite store and DuckDB warehouse: checks, refusals, acceptance, decisions,
schedule versions, audit and outbox; coverage figures against an independent Erlang C (mpmath)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import mpmath
import pytest
from self_world import AHT, CALLS, build_template, local

from callops.errors import CallopsError, NotFound
from callops.people import me, requests
from callops.people.self_settings import PeopleSettings, save_settings
from callops.store import audit, outbox
from callops.store.db import Store
from callops.warehouse import Warehouse


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The seeded world, built once per module (see self_world.build_template)."""
    folder = tmp_path_factory.mktemp("people-self-template")
    return folder, build_template(folder)


@pytest.fixture
def world(template: tuple[Path, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    """A fresh copy of the template: tenant t1 seeded with users, tenant t2 with an X-roster of its own."""
    folder = tmp_path / "w"
    shutil.copytree(template[0], folder)
    monkeypatch.setenv("CALLOPS_HOME", str(folder / "home"))
    store = Store(f"sqlite:///{folder / 'store.sqlite3'}")
    with Warehouse(f"duckdb://{folder / 'wh.duckdb'}") as wh:
        yield {"store": store, "wh": wh, **template[1]}
    store.close()


def uid(w: dict, name: str) -> int:
    return w["users"][name][0]


def erlang_c_sl(c: int, calls: float, aht: float, t: float, interval_s: float = 900.0) -> float:
    """Service level of M/M/c (Erlang C), high precision: 1 - C(c, a) * exp(-(c - a) * t / aht)."""
    a = mpmath.mpf(calls) * aht / interval_s
    if c <= a:
        return 0.0
    terms = sum(a**k / mpmath.factorial(k) for k in range(c))
    top = a**c / mpmath.factorial(c) * c / (c - a)
    pw = top / (terms + top)
    return float(1 - pw * mpmath.exp(-(c - a) * t / aht))


def test_time_off_full_day_checks_and_figures(world: dict) -> None:
    """A day off for A01: contract rules pass (a credited day), coverage shows each interval with 4 -> 3 agents,
    and the service levels equal Erlang C computed independently (no patience estimate: Erlang C)."""
    w = world
    wed = w["monday"] + timedelta(days=2)
    r = requests.file_request(w["store"], w["wh"], "t1", uid(w, "A01"), "time_off", local(wed, "00:00"),
                              local(wed + timedelta(days=1), "00:00"), "family")  # fmt: skip
    assert r["status"] == "pending_lead"  # auto approval is off by default
    chk = r["checks"]
    assert chk["contract"]["ok"], chk["contract"]
    ivs = chk["coverage"]["intervals"]
    # A01 works 09:00-17:30 with breaks 10:00-10:15, 12:00-12:30, 15:00-15:15: 34 - 4 = 30 work intervals
    assert len(ivs) == 30
    for iv in ivs:
        # B01 (bravo) works billing too: 5 agents of billing work the same blocks; P01 is off on Wednesday? no: on
        # Wednesday P01 works 08:00-14:00, so some intervals have 6
        assert iv["agents_after"] == iv["agents_before"] - 1
        assert iv["sl_before"] == pytest.approx(erlang_c_sl(iv["agents_before"], CALLS, AHT, 20), abs=1e-4)
        assert iv["sl_after"] == pytest.approx(erlang_c_sl(iv["agents_after"], CALLS, AHT, 20), abs=1e-4)
        assert iv["ok"] == (iv["sl_after"] >= 0.8)
    assert chk["ok"] == all(iv["ok"] for iv in ivs)


def test_partial_time_off_breaks_weekly_hours(world: dict) -> None:
    """P01 (part-time, 18 h, minimum 16) asking 08:00-11:00 off on Monday would work 15 h: the weekly-hours rule."""
    w = world
    mon = w["monday"]
    r = requests.file_request(w["store"], w["wh"], "t1", uid(w, "P01"), "time_off", local(mon, "08:00"),
                              local(mon, "11:00"), "dentist")  # fmt: skip
    rules = {x["rule"] for x in r["checks"]["contract"]["reasons"]}
    assert rules == {"hours"}, r["checks"]["contract"]
    assert not r["checks"]["ok"] and r["status"] == "pending_lead"
    assert any("weekly hours" in x for x in r["checks"]["reasons"])


def _warehouse_blocks(wh: Warehouse, tenant: str, start, end) -> dict[str, list[tuple]]:
    """Per agent, the (activity, start, end, queue) blocks of the warehouse's schedules meeting [start, end)."""
    from callops import tenancy

    t = tenancy.scoped(wh, tenant, "schedules")
    rows = t.filter((t.start_at < end) & (t.end_at > start)).to_pyarrow().to_pylist()
    out: dict[str, list[tuple]] = {}
    for r in sorted(rows, key=lambda r: (r["agent_id"], r["start_at"])):
        out.setdefault(r["agent_id"], []).append((r["activity"], r["start_at"], r["end_at"], r["queue"]))
    return out


def test_swap_rest_rule_colleague_accepts_lead_decides(world: dict) -> None:
    """A01 swaps Tuesday with A02 (15:00-23:30): A01 would rest 9.5 h before Wednesday 09:00 -> the rest rule.
    The colleague accepts, the lead approves anyway with a reason: a schedule version, audited, notified."""
    w = world
    tue = w["monday"] + timedelta(days=1)
    day = (local(tue, "00:00"), local(tue + timedelta(days=1), "00:00"))
    planned = _warehouse_blocks(w["wh"], "t1", *day)
    other_tenant = _warehouse_blocks(w["wh"], "t2", *day)
    r = requests.file_request(w["store"], w["wh"], "t1", uid(w, "A01"), "swap", local(tue, "00:00"),
                              local(tue + timedelta(days=1), "00:00"), "school run", colleague="A02")  # fmt: skip
    assert r["status"] == "pending_colleague"
    rules = {(x["rule"], x["agent_id"]) for x in r["checks"]["contract"]["reasons"]}
    assert ("rest", "A01") in rules
    zh = r["checks"]["reasons_zh"]  # the same reasons for a zh-CN reader, rule by rule
    assert len(zh) == len(r["checks"]["reasons"]) and any(x.startswith("班次间休息：A01：") for x in zh)
    with pytest.raises(NotFound):  # someone else cannot accept it
        requests.accept(w["store"], w["wh"], "t1", uid(w, "A03"), r["id"])
    r = requests.accept(w["store"], w["wh"], "t1", uid(w, "A02"), r["id"])
    assert r["status"] == "pending_lead"
    with pytest.raises(NotFound):  # the bravo lead does not decide alpha's requests
        requests.decide(w["store"], w["wh"], "t1", uid(w, "lead-bravo"), r["id"], True, "fine")
    r = requests.decide(w["store"], w["wh"], "t1", uid(w, "lead-alpha"), r["id"], True, "covered by A03's help")
    assert r["status"] == "approved" and r["schedule_version"] == 1
    # the warehouse holds the swapped day, for the planner's week view and the adherence metrics too
    now = _warehouse_blocks(w["wh"], "t1", *day)
    assert now["A01"] == planned["A02"] and now["A02"] == planned["A01"]
    assert {a: v for a, v in now.items() if a not in ("A01", "A02")} == {
        a: v for a, v in planned.items() if a not in ("A01", "A02")}
    assert _warehouse_blocks(w["wh"], "t2", *day) == other_tenant and other_tenant  # the other tenant: untouched
    sched = me.schedule(w["store"], w["wh"], "t1", "A01", w["monday"], 1)
    tue_acts = next(d for d in sched["days"] if d["date"] == tue.isoformat())["activities"]
    assert tue_acts[0]["start"].startswith(f"{tue.isoformat()}T15:00")
    sched2 = me.schedule(w["store"], w["wh"], "t1", "A02", w["monday"], 1)
    tue2 = next(d for d in sched2["days"] if d["date"] == tue.isoformat())["activities"]
    assert tue2[0]["start"].startswith(f"{tue.isoformat()}T09:00")
    with w["store"].session() as s:
        actions = [e.action for e in audit.list_audit(s, "t1")]
        msgs = outbox.list_messages(s, "t1")
        mine = [m.payload for m in msgs if m.payload.get("request_id") == r["id"]]
        to = {p["to"] for p in mine}
    # every message reads in both languages: the approval names the version in Chinese as well
    approved = [p for p in mine if p["event"] == "approved"]
    assert approved and all("已批准" in p["text_zh"] and "排班版本 1" in p["text_zh"] for p in approved)
    asked = [p for p in mine if p["event"] == "asked"]
    assert asked and all("换班" in p["text_zh"] and "A01" in p["text_zh"] for p in asked)
    assert all(p["text"] and p["text_zh"] for p in mine)
    assert {"people_request.create", "people_request.accept", "people_request.approve",
            "schedule.version"} <= set(actions)  # fmt: skip
    assert {"a01", "a02", "lead-alpha"} <= to


def test_swap_days_off_and_auto_approval(world: dict) -> None:
    """A04 gives away Saturday: trading it to the pool passes the rules; A03 taking it works six days (days off,
    hours, days in a row) -> waits for the lead. A clean request is approved by itself when the tenant allows it."""
    w = world
    save_settings("t1", PeopleSettings(auto_approve=True, patience_s=None, target_sl=0.01))
    sat = w["monday"] + timedelta(days=5)
    r = requests.file_request(w["store"], w["wh"], "t1", uid(w, "A04"), "trade", local(sat, "00:00"),
                              local(sat + timedelta(days=1), "00:00"), "wedding")  # fmt: skip
    assert r["status"] == "pending_colleague"
    assert r["checks"]["contract"]["ok"]  # giving away a sixth shift mends A04's week, breaks nothing
    r = requests.accept(w["store"], w["wh"], "t1", uid(w, "A03"), r["id"])
    rules = {x["rule"] for x in r["checks"]["contract"]["reasons"] if x["agent_id"] == "A03"}
    assert {"days_off", "hours", "consecutive_days"} <= rules
    assert r["status"] == "pending_lead"
    # a day off that keeps every rule and the (tiny) target: approved by itself
    thu = w["monday"] + timedelta(days=3)
    r2 = requests.file_request(w["store"], w["wh"], "t1", uid(w, "A02"), "time_off", local(thu, "00:00"),
                               local(thu + timedelta(days=1), "00:00"), "rest")  # fmt: skip
    assert r2["checks"]["ok"], r2["checks"]["reasons"]
    assert r2["status"] == "approved" and r2["decided_by"] == "auto" and r2["schedule_version"] == 1


@pytest.mark.parametrize(
    ("name", "kind", "days", "colleague", "message"),
    [
        ("A01", "time_off", (-10, -9), None, "in the past"),
        ("A01", "time_off", (0, 15), None, "longer than contract"),
        ("A01", "swap", (1, 2), "B01", "another team"),
        ("A01", "swap", (1, 2), "XA02", "not on your tenant's roster"),
        ("A01", "swap", (1, 2), None, "names the colleague"),
        ("A01", "trade", (5, 6), None, "none of your shifts"),
        ("A01", "time_off", (2, 1), None, "ends before it starts"),
    ],
)
def test_bad_requests_are_refused_and_change_nothing(world: dict, name: str, kind: str, days: tuple,
                                                     colleague: str | None, message: str) -> None:  # fmt: skip
    """Each refusal names its reason; no request, audit entry or message is written."""
    w = world
    m = w["monday"]
    with w["store"].session() as s:
        n_audit = len(audit.list_audit(s, "t1"))
    with pytest.raises(CallopsError, match=message):
        requests.file_request(w["store"], w["wh"], "t1", uid(w, name), kind,
                              local(m + timedelta(days=days[0]), "00:00"), local(m + timedelta(days=days[1]), "00:00"),
                              "x", colleague=colleague)  # fmt: skip
    with w["store"].session() as s:
        assert len(audit.list_audit(s, "t1")) == n_audit
        assert not outbox.list_messages(s, "t1")
    assert requests.list_requests(w["store"], w["wh"], "t1", uid(w, name)) == []


def test_overlapping_request_refused(world: dict) -> None:
    """A second request over a pending one is refused; after a refusal the window is free again."""
    w = world
    wed = w["monday"] + timedelta(days=2)
    first = requests.file_request(w["store"], w["wh"], "t1", uid(w, "A01"), "time_off", local(wed, "09:00"),
                                  local(wed, "12:00"), "a")  # fmt: skip
    with pytest.raises(CallopsError, match="overlaps request"):
        requests.file_request(w["store"], w["wh"], "t1", uid(w, "A01"), "time_off", local(wed, "11:00"),
                              local(wed, "13:00"), "b")  # fmt: skip
    with pytest.raises(CallopsError, match="needs a reason"):
        requests.decide(w["store"], w["wh"], "t1", uid(w, "lead-alpha"), first["id"], False, " ")
    refused = requests.decide(w["store"], w["wh"], "t1", uid(w, "lead-alpha"), first["id"], False, "peak day")
    assert refused["status"] == "refused" and refused["decision_reason"] == "peak day"
    again = requests.file_request(w["store"], w["wh"], "t1", uid(w, "A01"), "time_off", local(wed, "11:00"),
                                  local(wed, "13:00"), "b")  # fmt: skip
    assert again["status"] == "pending_lead"


def test_approval_changes_the_live_room(world: dict) -> None:
    """An approved day off replaces the agent's activities in the open live hub and in its schedules.csv (what a
    restarted hub starts from): adherence is then measured against the day off."""
    from callops.people import data
    from callops.realtime.config import load_schedule
    from callops.realtime.hub import hub_for, live_dir, reset_hubs

    w = world
    wed = w["monday"] + timedelta(days=2)
    lo, hi = local(wed, "00:00"), local(wed + timedelta(days=1), "00:00")
    folder = live_dir("t1")
    folder.mkdir(parents=True, exist_ok=True)
    rows = data.planned_rows(w["wh"], "t1", lo, hi)
    lines = ["agent_id,activity,start_at,end_at,queue"] + [
        f"{r['agent_id']},{r['activity']},{r['start_at'].isoformat()},{r['end_at'].isoformat()},{r['queue']}"
        for r in rows]  # fmt: skip
    (folder / "schedules.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        hub = hub_for("t1", "Asia/Shanghai", log=False)
        from callops.people.adherence import ensure_watch  # people-floor's watch re-checks the changed agent

        ensure_watch(hub, w["store"])
        with hub.lock:
            assert {r.activity for r in hub.engine.state.schedule["A01"]} == {"work", "break", "lunch"}
        r = requests.file_request(w["store"], w["wh"], "t1", uid(w, "A01"), "time_off", lo, hi, "sick child")
        r = requests.decide(w["store"], w["wh"], "t1", uid(w, "lead-alpha"), r["id"], True, "ok")
        assert r["checks"]["live"] == {"hub": True, "file": True}
        with hub.lock:
            live = [(x.activity, x.start, x.end) for x in hub.engine.state.schedule["A01"]]
            other = {x.activity for x in hub.engine.state.schedule["A02"]}
        assert live == [("off", lo.timestamp(), hi.timestamp())]
        assert other == {"work", "break", "lunch"}  # colleagues untouched
        from_file = [x for x in load_schedule(folder / "schedules.csv") if x.agent_id == "A01"]
        assert [(x.activity, x.start, x.end) for x in from_file] == live
    finally:
        reset_hubs()


def test_a_hub_elsewhere_follows_approved_changes_and_keeps_them_after_a_restart(world: dict, tmp_path: Path) -> None:
    """A `live serve` hub in another process (here: a durable hub this process's registry does not know, with a
    home of its own) takes an approved change from the store on its next batch, logs it, and a rebuild from its
    event log has it too; a version it already runs is not applied twice."""
    from callops.people import data
    from callops.realtime.hub import LiveHub
    from callops.realtime.state import LiveConfig, ScheduleRow

    w = world
    thu = w["monday"] + timedelta(days=3)
    lo, hi = local(thu, "00:00"), local(thu + timedelta(days=1), "00:00")
    planned = [ScheduleRow(r["agent_id"], r["activity"], r["start_at"].timestamp(), r["end_at"].timestamp(),
                           r["queue"]) for r in data.planned_rows(w["wh"], "t1", lo, hi)]  # fmt: skip
    cfg = LiveConfig(tenant="t1", timezone="Asia/Shanghai")
    elsewhere = tmp_path / "other-process"
    hub = LiveHub(cfg, schedule=planned, log=True, home=elsewhere)
    try:
        assert hub.use_schedule_from(data.schedule_source(w["store"], "t1"), poll_s=0.0) == 0
        r = requests.file_request(w["store"], w["wh"], "t1", uid(w, "A01"), "time_off", lo, hi, "moving house")
        r = requests.decide(w["store"], w["wh"], "t1", uid(w, "lead-alpha"), r["id"], True, "ok")
        assert r["status"] == "approved" and r["checks"]["live"]["hub"] is False  # not this process's hub
        with hub.lock:
            assert {x.activity for x in hub.engine.state.schedule["A01"]} != {"off"}  # not yet: no batch came
        at = local(thu, "09:05").isoformat()
        # the next batch polls the store
        hub.submit([{"type": "agent.state", "ts": at, "tenant": "t1", "agent_id": "A02", "state": "ready"}])
        with hub.lock:
            a01 = [(x.activity, x.start, x.end) for x in hub.engine.state.schedule["A01"]]
            a02 = sorted((x.activity, x.start, x.end) for x in hub.engine.state.schedule["A02"])
        assert a01 == [("off", lo.timestamp(), hi.timestamp())]
        assert a02 == sorted((x.activity, x.start, x.end) for x in planned if x.agent_id == "A02")
        assert hub.schedule_version == r["schedule_version"] and hub.poll_schedule() == 0
    finally:
        hub.close()
    for snap in (elsewhere / "live" / "t1").glob("snapshot*"):
        snap.unlink()  # rebuild from the log, as after a crash
    again = LiveHub(cfg, schedule=planned, log=True, home=elsewhere)
    assert again.rebuilt is not None and (again.rebuilt.events, again.rebuilt.actions) == (1, 1)
    try:
        with again.lock:
            assert [(x.activity, x.start, x.end) for x in again.engine.state.schedule["A01"]] == a01
        assert again.schedule_version == r["schedule_version"]
    finally:
        again.close()
