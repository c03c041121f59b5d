"""Attendance and HR cases (issue 19, part 4): the day figures against a minute-by-minute brute force, the
warehouse report and the catalog's adherence/conformance on the same rows, and HR rules opening cases."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as stg

from callops.errors import CallopsError
from callops.ingest.loader import load_files
from callops.ingest.mapping import load_mapping
from callops.metrics.query import query
from callops.people.adherence import Span
from callops.people.attendance import attendance_day, attendance_report, measured_attendance
from callops.people.hr_cases import HrRule, fire_rules, list_cases, matches, parse_rules, update_case
from callops.store.db import Store
from callops.store.tenants import create_tenant
from callops.tenancy import get_tenant

T0 = datetime.fromisoformat("2024-03-04T00:00:00+08:00").timestamp()
N = 240  # minutes in the generated day


@stg.composite
def day(draw: stg.DrawFn) -> tuple[list[tuple[str, int, int]], list[tuple[int, str]], int, int]:
    """A schedule (non-overlapping blocks, at least one work block), state changes and the two graces."""
    cuts = sorted(draw(stg.lists(stg.integers(0, N), min_size=3, max_size=10, unique=True)))
    blocks = [(draw(stg.sampled_from(("work", "work", "break", "lunch", "off"))), a, b)
              for a, b in itertools.pairwise(cuts) if draw(stg.booleans()) or a == cuts[0]]  # fmt: skip
    if not any(a == "work" for a, _, _ in blocks):
        blocks[0] = ("work", blocks[0][1], blocks[0][2])
    mins = sorted(set(draw(stg.lists(stg.integers(0, N - 1), max_size=10))))
    changes = [(m, draw(stg.sampled_from(("ready", "busy", "aux", "offline")))) for m in mins]
    return blocks, changes, draw(stg.integers(0, 3)), draw(stg.integers(0, 3))


def _brute(blocks, changes, late_grace_min, early_grace_min):
    state = ["offline"] * N
    for m, s in changes:
        for k in range(m, N):
            state[k] = s
    logged = [s != "offline" for s in state]
    work = [(lo, hi) for a, lo, hi in blocks if a == "work"]
    lo, hi = min(w[0] for w in work), max(w[1] for w in work)
    inside = [m for m in range(lo, hi) if logged[m]]
    sched = [m for a, b0, b1 in blocks if a != "off" for m in range(b0, b1)]
    attended = sum(logged[m] for m in sched)
    absent = not inside
    late = 0 if absent else inside[0] - lo
    early = 0 if absent else hi - (inside[-1] + 1)
    return {"absent": absent, "late": (not absent) and late > late_grace_min, "late_s": 60 * late,
            "left_early": (not absent) and early > early_grace_min, "early_s": 60 * early,
            "scheduled_s": 60 * len(sched), "attended_s": 60 * attended}  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(day())
def test_attendance_day_matches_minute_by_minute(case) -> None:
    blocks, changes, lg, eg = case
    sched = [Span(a, T0 + 60 * lo, T0 + 60 * hi) for a, lo, hi in blocks]
    states = [Span(s, T0 + 60 * m, T0 + 60 * (changes[i + 1][0] if i + 1 < len(changes) else N))
              for i, (m, s) in enumerate(changes)]  # fmt: skip
    got = attendance_day(sched, states, 60 * lg, 60 * eg)
    want = _brute(blocks, changes, lg, eg)
    assert got is not None
    for k, v in want.items():
        assert got[k] == v, (k, got, want)


def test_nothing_but_off_is_no_attendance_day() -> None:
    assert attendance_day([Span("off", T0, T0 + 3600)], []) is None


# ------------------------------------------------------------------------------------------------ warehouse
DAYS = [date(2026, 11, 2) + timedelta(days=i) for i in range(5)]  # Monday .. Friday


def _write(tmp: Path, name: str, header: str, rows: list[str]) -> Path:
    p = tmp / f"{name}.csv"
    p.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return p


@pytest.fixture
def floor_world(home, tmp_path):
    """Tenant ``t``: a1 (team red) late 10 min on three days, a2 (team blue) absent on two; 09:00-17:00 with a
    12:00-13:00 lunch; states cover every day from midnight to midnight."""
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    create_tenant(store, home, "t", "Asia/Shanghai")
    t = get_tenant(home, "t")
    sched, states = [], []
    for i, d in enumerate(DAYS):
        iso = d.isoformat()
        for a in ("a1", "a2"):
            sched += [f"{a},work,{iso}T09:00:00+08:00,{iso}T12:00:00+08:00,q",
                      f"{a},lunch,{iso}T12:00:00+08:00,{iso}T13:00:00+08:00,",
                      f"{a},work,{iso}T13:00:00+08:00,{iso}T17:00:00+08:00,q"]  # fmt: skip
        start_a1 = "09:10" if i < 3 else "08:58"
        states += [f"a1,offline,{iso}T00:00:00+08:00,{iso}T{start_a1}:00+08:00",
                   f"a1,ready,{iso}T{start_a1}:00+08:00,{iso}T12:00:00+08:00",
                   f"a1,aux,{iso}T12:00:00+08:00,{iso}T13:05:00+08:00",
                   f"a1,busy,{iso}T13:05:00+08:00,{iso}T16:30:00+08:00",
                   f"a1,offline,{iso}T16:30:00+08:00,{(d + timedelta(days=1)).isoformat()}T00:00:00+08:00"]
        if i in (1, 3):
            states.append(f"a2,offline,{iso}T00:00:00+08:00,{(d + timedelta(days=1)).isoformat()}T00:00:00+08:00")
        else:
            states += [f"a2,offline,{iso}T00:00:00+08:00,{iso}T09:00:00+08:00",
                       f"a2,ready,{iso}T09:00:00+08:00,{iso}T17:00:00+08:00",
                       f"a2,offline,{iso}T17:00:00+08:00,{(d + timedelta(days=1)).isoformat()}T00:00:00+08:00"]
    files = {
        "agents": _write(tmp_path, "agents", "agent_id,name,team", ["a1,A One,red", "a2,A Two,blue"]),
        "schedules": _write(tmp_path, "schedules", "agent_id,activity,start_at,end_at,queue", sched),
        "agent_states": _write(tmp_path, "states", "agent_id,state,started_at,ended_at", states),
    }
    for table, path in files.items():
        s = load_files(home, t, table, [path], load_mapping("canonical", table))
        assert s.rejected == 0 and s.loaded > 0, s
    yield home, store
    store.close()


def test_report_counts_and_rates(floor_world) -> None:
    wh, _ = floor_world
    rep = attendance_report(wh, "t", DAYS[0], DAYS[-1], 120, 120)
    a1, a2 = rep["agents"]
    assert (a1["agent_id"], a1["late_starts"], a1["absences"], a1["early_leaves"], a1["days"]) == ("a1", 3, 0, 5, 5)
    assert (a2["agent_id"], a2["late_starts"], a2["absences"], a2["early_leaves"]) == ("a2", 0, 2, 0)
    # a1 is logged in 9:10-16:30 on late days (7h20 of 8h scheduled: 420 + 60 lunch... see below), 8:58-16:30 else
    sched = 8 * 3600.0
    late_day = (12 * 60 - (9 * 60 + 10) + 60 + (16 * 60 + 30 - 13 * 60)) * 60.0  # 170 + 60 + 210 minutes
    early_day = (12 * 60 - 9 * 60 + 60 + (16 * 60 + 30 - 13 * 60)) * 60.0
    assert a1["attendance_rate"] == pytest.approx((3 * late_day + 2 * early_day) / (5 * sched))
    assert a2["attendance_rate"] == pytest.approx(3 / 5)
    assert rep["total"]["attendance_rate"] == pytest.approx((3 * late_day + 2 * early_day + 3 * sched) / (10 * sched))
    assert {t["team"] for t in rep["teams"]} == {"red", "blue"}
    assert measured_attendance(wh, "t", days=5, until=DAYS[-1] + timedelta(days=1)) == pytest.approx(
        rep["total"]["attendance_rate"])


def test_catalog_adherence_and_conformance_agree_with_the_day_figures(floor_world) -> None:
    """The catalog metrics per agent per day are the same numbers as agent_day on the same rows."""
    wh, _ = floor_world
    rows = query(wh, "t", ["adherence", "conformance", "work_adherence"], grain="day", by=["agent"],
                 start=DAYS[0], end=DAYS[-1]).to_pylist()  # fmt: skip
    assert len(rows) == 10
    rep = {(r["agent_id"]): r for r in attendance_report(wh, "t", DAYS[0], DAYS[0])["agents"]}
    first = {r["agent"]: r for r in rows if str(r["period"]).startswith(DAYS[0].isoformat())}
    for aid in ("a1", "a2"):
        assert first[aid]["adherence"] == pytest.approx(rep[aid]["adherence"])
        assert first[aid]["conformance"] == pytest.approx(rep[aid]["conformance"])
    # a1 on a late day: work 9-12 and 13-17 (420 min); ready 9:10-12, busy 13:05-16:30 -> 170 + 205 adherent work
    assert first["a1"]["work_adherence"] == pytest.approx((170 + 205) / 420)
    # lunch 12-13 in aux: adherent; so adherence = (375 + 60) / 480
    assert first["a1"]["adherence"] == pytest.approx((375 + 60) / 480)
    assert first["a2"]["conformance"] == pytest.approx(480 / 420)  # ready through lunch too
    teams = {r["team"]: r for r in query(wh, "t", ["adherence", "conformance"], grain="day", by=["team"],
                                         start=DAYS[0], end=DAYS[0]).to_pylist()}  # fmt: skip
    rep_teams = {r["team"]: r for r in attendance_report(wh, "t", DAYS[0], DAYS[0])["teams"]}
    for team in ("red", "blue"):
        assert teams[team]["adherence"] == pytest.approx(rep_teams[team]["adherence"])
        assert teams[team]["conformance"] == pytest.approx(rep_teams[team]["conformance"])


def test_hr_rules_open_cases_once(floor_world) -> None:
    wh, store = floor_world
    got = fire_rules(store, wh, "t", DAYS[0], DAYS[-1], "tester")
    by_rule = {(c["agent_id"], c["rule"]): c for c in got["cases"]}
    assert set(by_rule) == {("a1", "late-starts"), ("a1", "early-leaves"), ("a2", "absences")}
    assert by_rule[("a1", "late-starts")]["owner"] == "team_lead:red"
    assert by_rule[("a1", "late-starts")]["evidence"]["days"] == [d.isoformat() for d in DAYS[:3]]
    assert by_rule[("a2", "absences")]["owner"] == "hr"
    assert fire_rules(store, wh, "t", DAYS[0], DAYS[-1], "tester")["new"] == 0  # never twice
    cid = by_rule[("a2", "absences")]["id"]
    done = update_case(store, "t", cid, "lead", status="in_progress", note="talked to a2")
    assert (done["status"], done["note"]) == ("in_progress", "talked to a2")
    assert [c["id"] for c in list_cases(store, "t", status="in_progress")] == [cid]
    with pytest.raises(CallopsError, match="status"):
        update_case(store, "t", cid, "lead", status="lost")
    update_case(store, "t", cid, "lead", status="closed")
    with pytest.raises(CallopsError, match="reopen"):
        update_case(store, "t", cid, "lead", status="in_progress")


def test_rule_counting_and_windows() -> None:
    rules = [HrRule(id="late3", event="late", count=3, window="month"),
             HrRule(id="late2w", event="late", count=2, window="week", owner="hr")]  # fmt: skip
    incs = [{"agent_id": "x", "team": "t", "kind": "late", "day": d} for d in
            ("2026-11-30", "2026-12-01", "2026-12-02", "2026-12-03", "2026-12-10")]  # fmt: skip
    found = {(f["rule"], f["period"]): f["evidence"]["count"] for f in matches(rules, incs)}
    # month: November has 1, December 4 -> one case; ISO week 49 (Nov 30 - Dec 6) has 4, week 50 has 1
    assert found == {("late3", "2026-12"): 4, ("late2w", "2026-W49"): 4}


def test_bad_rule_files_are_refused_with_the_place() -> None:
    with pytest.raises(CallopsError, match=r"rules\.0\.count"):
        parse_rules("rules:\n  - {id: x, event: late, count: 0}\n")
    with pytest.raises(CallopsError, match="duplicate"):
        parse_rules("rules:\n  - {id: x, event: late, count: 1}\n  - {id: x, event: absence, count: 1}\n")
    with pytest.raises(CallopsError, match="event"):
        parse_rules("rules:\n  - {id: x, event: sleepy, count: 1}\n")
