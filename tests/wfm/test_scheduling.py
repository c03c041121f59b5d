"""Scheduling: produced schedules obey every hard rule (checked by the independent validator)."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from callops.errors import CallopsError
from callops.wfm import schedule_validator as sv
from callops.wfm.rules import Agent, TimeOff, load_workforce, problem_from_workforce
from callops.wfm.schedule_export import agent_ics, ics_escape, write_xlsx
from callops.wfm.schedule_instances import random_problem
from callops.wfm.scheduling import solve_schedule

WEEK = date(2026, 11, 23)
ZONE = "Asia/Shanghai"
N = 7 * 96

SMALL_RULES = """
interval_minutes: 15
weights: {under: 10, over: 1, weekend_spread: 1, night_spread: 1}
templates:
  - {name: D, start: "09:00", length_minutes: 480, breaks: [
      {kind: break, min_minutes: 15, earliest_start: 60, latest_end: 150},
      {kind: lunch, min_minutes: 30, max_minutes: 60, earliest_start: 180, latest_end: 300}]}
  - {name: E, start: "13:00", length_minutes: 480, breaks: [
      {kind: lunch, min_minutes: 30, max_minutes: 45, earliest_start: 180, latest_end: 300}]}
  - {name: N, start: "22:00", length_minutes: 480, breaks: [
      {kind: break, min_minutes: 15, earliest_start: 120, latest_end: 240}]}
contracts:
  - {name: ft, min_hours: 24, max_hours: 40, days_off: 2, consecutive_days_off: true,
     min_rest_hours: 11, max_consecutive_days: 5, time_off_credit_hours: 8}
  - {name: pt, min_hours: 8, max_hours: 24, days_off: 3, consecutive_days_off: false,
     min_rest_hours: 12, max_consecutive_days: 3, templates: [D, E]}
"""


def _problem(agents: list[Agent], req: dict | None = None, rules: str = SMALL_RULES):
    wf = load_workforce(text=rules)
    if req is None:
        shape = np.zeros(N)
        for d in range(7):
            shape[d * 96 + 36 : d * 96 + 84] = 2  # 09:00-21:00
            shape[d * 96 + 88 : d * 96 + 96] = 1  # 22:00-24:00
        req = {None: shape}
    return problem_from_workforce(wf, agents, WEEK, ZONE, req)


def _solve(problem, seconds: float = 1.5):
    res = solve_schedule(problem, time_limit=seconds, workers=2)
    rows = res.rows()
    assert sv.validate(problem, rows) == []
    return res, rows


# ---------------------------------------------------------------- solver output obeys the rules


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_instances_never_break_a_hard_rule(seed: int) -> None:
    problem = random_problem(seed, n_agents=6 + 3 * seed, load=0.6 + 0.2 * seed)
    res, rows = _solve(problem, seconds=2.0)
    # the reported objective is the independent score of the rows, and the bound is below it
    assert res.objective == sv.score(problem, rows).objective
    assert res.lower_bound <= res.objective + 1e-6
    assert 0.0 <= res.gap <= 1.0


def test_night_shifts_cross_midnight() -> None:
    agents = [Agent(agent_id=f"n{i}", contract="ft") for i in range(3)]
    req = np.zeros(N)
    for d in range(7):
        req[d * 96 + 88 : d * 96 + 96] = 2
        if d < 6:
            req[(d + 1) * 96 : (d + 1) * 96 + 24] = 2
    problem = _problem(agents, {None: req})
    _, rows = _solve(problem)
    tz = zoneinfo.ZoneInfo(ZONE)
    work = [r for r in rows if r["activity"] == "work"]
    crossing = [r for r in work if r["end_at"].astimezone(tz).date() > r["start_at"].astimezone(tz).date()]
    after_midnight = [r for r in work if r["start_at"].astimezone(tz).hour < 6]
    assert crossing or after_midnight, "expected night work past midnight"


def test_two_consecutive_days_off() -> None:
    agents = [Agent(agent_id=f"c{i}", contract="ft") for i in range(4)]
    problem = _problem(agents)
    _, rows = _solve(problem)
    tz = zoneinfo.ZoneInfo(ZONE)
    for a in agents:
        days = {
            (r["start_at"].astimezone(tz).date() - WEEK).days
            for r in rows
            if r["agent_id"] == a.agent_id and r["activity"] != "off"
        }
        # a working day is one where a shift starts; shifts here start between 09:00 and 22:00
        worked = [d in days for d in range(7)]
        assert any(not worked[d] and not worked[d + 1] for d in range(6)), (a.agent_id, worked)


def test_time_off_respected() -> None:
    agents = [
        Agent(agent_id="t0", contract="ft", time_off=[TimeOff(day=WEEK + timedelta(days=2))]),
        Agent(
            agent_id="t1",
            contract="ft",
            time_off=[TimeOff(start=datetime(2026, 11, 26, 12), end=datetime(2026, 11, 27, 12))],
        ),
    ]
    problem = _problem(agents, {None: np.full(N, 5.0)})
    _, rows = _solve(problem)
    tz = zoneinfo.ZoneInfo(ZONE)
    off = {
        "t0": (datetime(2026, 11, 25, tzinfo=tz), datetime(2026, 11, 26, tzinfo=tz)),
        "t1": (datetime(2026, 11, 26, 12, tzinfo=tz), datetime(2026, 11, 27, 12, tzinfo=tz)),
    }
    for r in rows:
        if r["activity"] == "off":
            continue
        lo, hi = off[r["agent_id"]]
        assert not (r["start_at"] < hi and lo < r["end_at"]), r


def test_unmet_coverage_is_reported_not_infeasible() -> None:
    agents = [Agent(agent_id=f"u{i}", contract="ft") for i in range(3)]
    problem = _problem(agents, {None: np.full(N, 20.0)})
    res, _ = _solve(problem)
    assert res.uncovered, "demand far above capacity must leave reported short intervals"
    assert all(u["short"] > 0 and u["required"] == 20 for u in res.uncovered)
    assert res.under > 0


def test_skills_per_queue() -> None:
    agents = [
        Agent(agent_id="s0", contract="ft", skills=["billing"]),
        Agent(agent_id="s1", contract="ft", skills=["tech"]),
        Agent(agent_id="s2", contract="pt", skills=["billing", "tech"]),
    ]
    req = {"billing": np.full(N, 1.0), "tech": np.full(N, 1.0)}
    _, rows = _solve(_problem(agents, req))
    skills = {a.agent_id: set(a.skills) for a in agents}
    assert all(r["queue"] in skills[r["agent_id"]] for r in rows if r["activity"] == "work")


def test_impossible_contract_is_named() -> None:
    # available only Monday, but the contract needs 24 hours
    agents = [Agent(agent_id="lonely", contract="ft", availability={"mon": ["00:00-24:00"]})]
    with pytest.raises(CallopsError, match="lonely"):
        solve_schedule(_problem(agents), time_limit=2, workers=1)


# ---------------------------------------------------------------- the validator itself


def _at(day: int, hh: int, mm: int = 0) -> datetime:
    """UTC instant of local (Shanghai) time hh:mm on day ``day`` of the test week."""
    return datetime(2026, 11, 23 + day, hh, mm, tzinfo=zoneinfo.ZoneInfo(ZONE)).astimezone(UTC)


def _shift(
    agent: str, day: int, start_h: int, brk: tuple[int, int] = (10, 45), lunch: tuple[int, int, int] = (13, 0, 30)
):
    """Hand-made rows of template D (09:00, 8 h): work, break 15', work, lunch, work."""
    s = _at(day, start_h)
    b0 = _at(day, brk[0], brk[1])
    b1 = b0 + timedelta(minutes=15)
    l0 = _at(day, lunch[0], lunch[1])
    l1 = l0 + timedelta(minutes=lunch[2])
    e = s + timedelta(hours=8)
    return [
        {"agent_id": agent, "activity": "work", "start_at": s, "end_at": b0, "queue": None},
        {"agent_id": agent, "activity": "break", "start_at": b0, "end_at": b1, "queue": None},
        {"agent_id": agent, "activity": "work", "start_at": b1, "end_at": l0, "queue": None},
        {"agent_id": agent, "activity": "lunch", "start_at": l0, "end_at": l1, "queue": None},
        {"agent_id": agent, "activity": "work", "start_at": l1, "end_at": e, "queue": None},
    ]


def _legal_week(agent: str = "v") -> list[dict]:
    rows = []
    for d in (0, 1, 2, 3):  # Mon-Thu, then Fri-Sun off: 32 h
        rows += _shift(agent, d, 9)
    return rows


def _rules(rows: list[dict], agents: list[Agent] | None = None) -> set[str]:
    problem = _problem(agents or [Agent(agent_id="v", contract="ft")])
    return {v.rule for v in sv.validate(problem, rows)}


def test_validator_accepts_a_legal_week() -> None:
    assert _rules(_legal_week()) == set()


def test_validator_catches_each_rule() -> None:
    legal = _legal_week()
    # hours: two shifts only = 16 h < 24 h
    assert "hours" in _rules(_shift("v", 0, 9) + _shift("v", 1, 9))
    # days off and consecutive days: six days in a row
    six = [r for d in range(6) for r in _shift("v", d, 9)]
    got = _rules(six)
    assert {"days_off", "consecutive_days", "hours"} <= got
    # consecutive days off: working Mon, Wed, Thu, Sat leaves Tue, Fri, Sun off - never two in a row
    singles = [r for d in (0, 2, 3, 5) for r in _shift("v", d, 9)]
    assert "consecutive_days_off" in _rules(singles)
    # rest: a D shift at 09:00 Tuesday after an N shift Monday 22:00-06:00 leaves 3 h rest
    night = [
        {"agent_id": "v", "activity": "work", "start_at": _at(0, 22), "end_at": _at(1, 1), "queue": None},
        {"agent_id": "v", "activity": "break", "start_at": _at(1, 1), "end_at": _at(1, 1, 15), "queue": None},
        {"agent_id": "v", "activity": "work", "start_at": _at(1, 1, 15), "end_at": _at(1, 6), "queue": None},
    ]
    assert "rest" in _rules(night + [r for d in (1, 2, 3) for r in _shift("v", d, 9)])
    # overlap: the same shift twice
    assert "overlap" in _rules(legal + _shift("v", 0, 9))
    # break outside its window (break at 12:00 is 3 h in, window ends 2.5 h in)
    assert "breaks" in _rules(_shift("v", 4, 9, brk=(12, 0)) + legal[5:])
    # lunch too long (75 min, max 60)
    assert "breaks" in _rules(_shift("v", 4, 9, lunch=(13, 0, 75)) + legal[5:])
    # a start that matches no template
    assert "template" in _rules(_shift("v", 4, 8) + legal[5:])
    # time off and availability
    off = Agent(agent_id="v", contract="ft", time_off=[TimeOff(day=WEEK)])
    assert "time_off" in _rules(legal, [off])
    avail = Agent(agent_id="v", contract="ft", availability={d: ["10:00-18:00"] for d in ("mon", "tue", "wed", "thu")})
    assert "availability" in _rules(legal, [avail])
    # skills: per-queue requirements and a queue the agent lacks
    problem = _problem(
        [Agent(agent_id="v", contract="ft", skills=["billing"])], {"billing": np.ones(N), "tech": np.ones(N)}
    )
    tech = [{**r, "queue": "tech" if r["activity"] == "work" else None} for r in legal]
    assert "skills" in {v.rule for v in sv.validate(problem, tech)}
    # part-time contract: template E allowed, N is not
    pt = Agent(agent_id="v", contract="pt")
    nshift = [
        {"agent_id": "v", "activity": "work", "start_at": _at(2, 22), "end_at": _at(3, 1), "queue": None},
        {"agent_id": "v", "activity": "break", "start_at": _at(3, 1), "end_at": _at(3, 1, 15), "queue": None},
        {"agent_id": "v", "activity": "work", "start_at": _at(3, 1, 15), "end_at": _at(3, 6), "queue": None},
    ]
    assert "template" in _rules(_shift("v", 0, 9) + nshift, [pt])


def test_score_counts_full_intervals_only() -> None:
    problem = _problem([Agent(agent_id="v", contract="ft")], {None: np.zeros(N)})
    rows = _shift("v", 0, 9)
    sc = sv.score(problem, rows)
    # 8 h shift minus 15' break and 30' lunch = 7 h 15 = 29 work intervals, all over-coverage
    assert int(sc.coverage[None].sum()) == 29
    assert sc.over == 29 and sc.under == 0


# ---------------------------------------------------------------- exports


def test_ics_escaping_and_folding() -> None:
    assert ics_escape("a,b;c\\d\ne") == "a\\,b\\;c\\\\d\\ne"
    text = agent_ics("v", _shift("v", 0, 9), stamp=datetime(2026, 1, 1, tzinfo=UTC))
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert "DTSTART:20261123T010000Z" in text  # 09:00 Shanghai = 01:00 UTC
    assert "DTEND:20261123T090000Z" in text
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    assert text.count("BEGIN:VEVENT") == 1


def test_xlsx_export(tmp_path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    agents = [Agent(agent_id=f"x{i}", contract="ft") for i in range(2)]
    problem = _problem(agents)
    res, rows = _solve(problem, seconds=2)
    path = write_xlsx(problem, rows, sv.score(problem, rows).coverage, res.summary(), tmp_path / "s.xlsx")
    wb = openpyxl.load_workbook(path, read_only=True)
    assert wb.sheetnames[0] == "Summary" and "Coverage" in wb.sheetnames and len(wb.sheetnames) == 10
    assert sum(1 for _ in wb["Coverage"].iter_rows()) == N + 1


# ---------------------------------------------------------------- CLI, end to end through the warehouse


def test_schedule_cli_writes_warehouse_and_exports(tmp_path, monkeypatch) -> None:
    import json

    from typer.testing import CliRunner

    from callops import tenancy
    from callops.ingest.loader import load_files
    from callops.ingest.mapping import load_mapping
    from callops.warehouse import Warehouse
    from callops.wfm.schedule_cli import schedule_app

    monkeypatch.setenv("CALLOPS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CALLOPS_WAREHOUSE", raising=False)
    roster = tmp_path / "agents.csv"
    roster.write_text(
        "agent_id,name,contract,skills,active\n"
        "a1,Ann,full-time,billing:3,true\n"
        "a2,Bo,full-time,billing:1;tech:2,true\n"
        "a3,Cy,part-time,tech:1,true\n"
        "a4,Di,part-time,tech:1,false\n",
        encoding="utf-8",
    )
    with Warehouse() as wh:
        t = tenancy.create_tenant(wh, "acme", "Asia/Shanghai")
        load_files(wh, t, "agents", [roster], load_mapping("canonical", "agents"))
    req = tmp_path / "req.csv"
    lines = ["interval_start,required,skill"]
    for d in range(7):
        for h in range(9, 18):
            for q in ("billing", "tech"):
                lines.append(f"2026-11-{23 + d:02d}T{h:02d}:00:00,1,{q}")
    req.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        schedule_app,
        [
            "--tenant", "acme", "--week", "2026-11-25", "--requirements", str(req), "--json",
            "--xlsx", str(tmp_path / "s.xlsx"), "--ics", str(tmp_path / "ics"), "--time-limit", "3", "--workers", "1",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["agents"] == 3 and out["week_start"] == "2026-11-23"
    assert {"objective", "lower_bound", "gap", "uncovered"} <= set(out)
    assert (tmp_path / "s.xlsx").is_file()
    assert sorted(p.name for p in (tmp_path / "ics").iterdir()) == ["a1.ics", "a2.ics", "a3.ics"]
    with Warehouse() as wh:
        stored = tenancy.scoped(wh, "acme", "schedules").to_pyarrow()
    assert stored.num_rows == out["rows"]
    assert set(stored.column("agent_id").to_pylist()) == {"a1", "a2", "a3"}


def test_schedule_cli_without_requirements_staffs_the_forecast(tmp_path, monkeypatch) -> None:
    """No --requirements: the week is forecast and staffed from the tenant's history, then rostered."""
    import gzip
    import json

    from typer.testing import CliRunner

    from callops import tenancy
    from callops.ingest.loader import load_files
    from callops.ingest.mapping import load_mapping
    from callops.samples import __file__ as samples_init
    from callops.warehouse import Warehouse
    from callops.wfm.schedule_cli import schedule_app

    monkeypatch.setenv("CALLOPS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CALLOPS_WAREHOUSE", raising=False)
    sample = Path(samples_init).parent / "contacts.csv.gz"
    roster = tmp_path / "agents.csv"
    roster.write_text("agent_id,name,contract,skills,active\n"
                      "a1,Ann,full-time,billing:3,true\na2,Bo,full-time,billing:2,true\n"
                      "a3,Cy,full-time,roaming:1,true\n", encoding="utf-8")  # fmt: skip
    with Warehouse() as wh:
        t = tenancy.create_tenant(wh, "acme", "Asia/Shanghai")
        load_files(wh, t, "contacts", [sample], load_mapping("canonical", "contacts"))
        load_files(wh, t, "agents", [roster], load_mapping("canonical", "agents"))
    result = CliRunner().invoke(schedule_app, ["--tenant", "acme", "--week", "2026-03-18", "--json", "--no-save",
                                               "--time-limit", "3", "--workers", "1"])  # fmt: skip
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    # the sample's history ends on Sunday 2026-03-15, so the forecast covers the week of Monday 03-16
    assert out["week_start"] == "2026-03-16"
    assert out["agents_planned"] == 2 and out["agents_on_roster"] == 3  # roaming has no demand in the sample
    # hours the sample never had a billing contact need nobody, so no shortfall is reported there
    with gzip.open(sample, "rt", encoding="utf-8") as f:
        hours = {line.split(",")[7][11:13] for line in f if ",billing," in line}
    zone = zoneinfo.ZoneInfo("Asia/Shanghai")
    short_hours = {datetime.fromisoformat(u["interval_start"]).astimezone(zone).strftime("%H")
                   for u in out["uncovered"] if u["queue"] == "billing"}  # fmt: skip
    assert short_hours and short_hours <= hours
