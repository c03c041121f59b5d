"""The pure checks: contract rules against a brute force written here, coverage against Erlang A/C computed
independently, and the schedule changes' invariants (hypothesis)."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, date, datetime, timedelta

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callops.people import checks
from callops.wfm.rules import Agent, Workforce

MONDAY = date(2027, 3, 1)
ZONE = "UTC"  # rows in UTC keep the brute force simple; zones are exercised in the end-to-end tests
STARTS = (0, 6 * 60, 9 * 60, 14 * 60, 22 * 60)  # template start minutes
LENGTH = 480
WF = Workforce.model_validate({
    "interval_minutes": 15,
    "templates": [{"name": f"D{s // 60:02d}", "start": f"{s // 60:02d}:00", "length_minutes": LENGTH} for s in STARTS],
    "contracts": [{"name": "c", "min_hours": 24, "max_hours": 40, "days_off": 2, "consecutive_days_off": False,
                   "min_rest_hours": 11, "max_consecutive_days": 5, "time_off_credit_hours": 8}],
})
RULES = ("rest", "hours", "days_off", "consecutive_days", "one_shift_per_day", "template")
T0 = datetime(2027, 3, 1, tzinfo=UTC)


def rows_of(agent: str, week: list[int | None]) -> list[dict]:
    """One row per working day (start minute of the day, or None)."""
    return [{"agent_id": agent, "activity": "work", "queue": "q", "start_at": T0 + timedelta(days=d, minutes=s),
             "end_at": T0 + timedelta(days=d, minutes=s + LENGTH)} for d, s in enumerate(week) if s is not None]


def brute(rows: list[dict], agent: str) -> set[tuple[str, str]]:
    """The rules broken by ``agent``'s rows in the week, re-derived minute by minute."""
    mine = sorted((r for r in rows if r["agent_id"] == agent and T0 <= r["start_at"] < T0 + timedelta(days=7)),
                  key=lambda r: r["start_at"])  # fmt: skip
    out = set()
    minutes = sum((r["end_at"] - r["start_at"]).total_seconds() / 60 for r in mine)
    merged: list[list] = []  # back-to-back rows are one shift (a double shift matches no template)
    for r in mine:
        if merged and merged[-1][1] == r["start_at"]:
            merged[-1][1] = r["end_at"]
        else:
            merged.append([r["start_at"], r["end_at"]])
    for s, e in merged:
        if (e - s) != timedelta(minutes=LENGTH) or (s - T0).total_seconds() / 60 % 1440 not in STARTS:
            out.add(("template", agent))
    mine = [{"start_at": s, "end_at": e} for s, e in merged]
    if not 24 * 60 <= minutes <= 40 * 60:
        out.add(("hours", agent))
    days = [int((r["start_at"] - T0).total_seconds() // 86400) for r in mine]
    if len(set(days)) != len(days):
        out.add(("one_shift_per_day", agent))
    if 7 - len(set(days)) < 2:
        out.add(("days_off", agent))
    run = best = 0
    for d in range(7):
        run = run + 1 if d in days else 0
        best = max(best, run)
    if best > 5:
        out.add(("consecutive_days", agent))
    if any((b["start_at"] - a["end_at"]).total_seconds() < 11 * 3600 for a, b in itertools.pairwise(mine)):
        out.add(("rest", agent))
    return out


week_st = st.lists(st.one_of(st.none(), st.sampled_from(STARTS)), min_size=7, max_size=7)


@settings(max_examples=150, deadline=None)
@given(week_st, week_st, st.integers(0, 6), st.integers(1, 2), st.booleans())
def test_swap_contract_check_matches_brute_force(wa: list, wb: list, day: int, ndays: int, both: bool) -> None:
    """A swap (or a trade taken by b) of days [day, day + ndays): the reasons are exactly the rules the change
    newly breaks, per agent, as the brute force sees them."""
    rows = rows_of("a", wa) + rows_of("b", wb)
    start, end = T0 + timedelta(days=day), T0 + timedelta(days=min(day + ndays, 7))
    if not any(start <= r["start_at"] < end for r in rows if r["agent_id"] == "a"):
        return
    change = checks.move_change(rows, "a", "b", start, end, both_ways=both)
    after = checks.apply_change(rows, change.agents, start, end, change.after)
    agents = [Agent(agent_id=x, contract="c") for x in ("a", "b")]
    got = checks.contract_check(WF, agents, agents, rows, after, ZONE, start, end, RULES)
    expected = set()
    for x in ("a", "b"):
        expected |= brute(after, x) - brute(rows, x)
    assert {(r["rule"], r["agent_id"]) for r in got["reasons"]} == expected
    assert got["ok"] == (not expected)


@settings(max_examples=150, deadline=None)
@given(week_st, st.integers(0, 6 * 96), st.integers(1, 3 * 96))
def test_time_off_hours_check_matches_brute_force(wa: list, q0: int, nq: int) -> None:
    """Time off [start, end) on the 15-minute grid: the weekly minimum (reduced by 8 h per full day off) is the
    only rule it can break, and the check agrees with the brute force."""
    rows = rows_of("a", wa)
    start = T0 + timedelta(minutes=15 * q0)
    end = min(start + timedelta(minutes=15 * nq), T0 + timedelta(days=7))
    change = checks.time_off_change(rows, "a", start, end)
    after = checks.apply_change(rows, change.agents, start, end, change.after)
    full = sum(1 for d in range(7) if start <= T0 + timedelta(days=d) and T0 + timedelta(days=d + 1) <= end)
    work = lambda rs: sum((r["end_at"] - r["start_at"]).total_seconds() / 60 for r in rs  # noqa: E731
                          if r["activity"] == "work" and r["start_at"] < T0 + timedelta(days=7))
    lo_before, lo_after = 24 * 60, max(0, 24 - 8 * full) * 60
    broken_before = not lo_before <= work(rows) <= 40 * 60
    broken_after = not lo_after <= work(after) <= 40 * 60
    before_agents = [Agent(agent_id="a", contract="c")]
    after_agents = [Agent(agent_id="a", contract="c", time_off=checks.local_time_off([(start, end)], ZONE))]
    got = checks.contract_check(WF, before_agents, after_agents, rows, after, ZONE, start, end, ("hours",))
    assert (not got["ok"]) == (broken_after and not broken_before)
    # the change: no work left inside the window, everything outside kept, one off row for the window
    assert not any(r["activity"] == "work" and r["start_at"] < end and start < r["end_at"] for r in after)
    outside = lambda rs: sum(max(0.0, (min(r["end_at"], start) - r["start_at"]).total_seconds())  # noqa: E731
                             + max(0.0, (r["end_at"] - max(r["start_at"], end)).total_seconds())
                             for r in rs if r["activity"] == "work")
    assert outside(after) == outside(rows)


@settings(max_examples=100, deadline=None)
@given(week_st, week_st, st.integers(0, 6), st.booleans())
def test_move_keeps_every_activity(wa: list, wb: list, day: int, both: bool) -> None:
    """A swap exchanges whole rows (total work and the multiset of spans are kept); a trade moves a's rows to b."""
    rows = rows_of("a", wa) + rows_of("b", wb)
    start, end = T0 + timedelta(days=day), T0 + timedelta(days=day + 1)
    ch = checks.move_change(rows, "a", "b", start, end, both_ways=both)
    after = checks.apply_change(rows, ch.agents, start, end, ch.after)
    span = lambda r: (r["start_at"], r["end_at"])  # noqa: E731
    moved_a = sorted(span(r) for r in rows if r["agent_id"] == "a" and start <= r["start_at"] < end)
    assert sorted(span(r) for r in after if r["agent_id"] == "b" and start <= r["start_at"] < end) == sorted(
        moved_a + ([] if both else [span(r) for r in rows if r["agent_id"] == "b" and start <= r["start_at"] < end]))
    if both:
        assert sorted(map(span, after)) == sorted(map(span, rows))


def test_working_counts_count_whole_intervals() -> None:
    """An agent counts in an interval only when working all of it (the validator's rule)."""
    grid = checks.interval_grid(T0, T0 + timedelta(hours=2), ZONE, 15)
    rows = [{"agent_id": "a", "activity": "work", "queue": "q", "start_at": T0 + timedelta(minutes=10),
             "end_at": T0 + timedelta(minutes=65)}]  # fmt: skip
    got = checks.working_counts(rows, grid, ZONE, 15, ["q"])["q"].tolist()
    assert got == [0, 1, 1, 1, 0, 0, 0, 0]


def erlang_a_sl_brute(c: int, calls: float, aht: float, patience: float, t: float, interval_s: float = 900) -> float:
    """P(answered within t) of M/M/c+M by the birth-death chain and the exact wait distribution, in mpmath.

    An arrival finding n >= c in system waits for n - c + 1 departures from the queue; ahead of it the queue
    empties at rate c*mu + k*theta (k waiting ahead). Its own patience is exponential(theta), so it is answered
    within t when the phase-type time to reach an agent is <= min(t, patience)."""
    mp = mpmath
    mp.mp.dps = 80
    lam, mu, th = mp.mpf(calls) / interval_s, 1 / mp.mpf(aht), 1 / mp.mpf(patience)
    nmax = c + 80  # the chain's mass beyond is below 1e-20 for these loads
    p = [mp.mpf(1)]
    for n in range(1, nmax):
        p.append(p[-1] * lam / (min(n, c) * mu + max(n - c, 0) * th))
    z = sum(p)
    p = [x / z for x in p]
    sl = sum(p[:c])  # answered at once
    for n in range(c, nmax - 1):
        # rates of the stages: with j customers still ahead (j = n-c .. 0) the head moves at c*mu + j*th; the tagged
        # customer abandons at th. P(reach service before t and before abandoning):
        rates = [c * mu + j * th for j in range(n - c, -1, -1)]
        # hypoexponential with an extra competing exponential(th): scale each stage by success prob, time by total
        tot = [r + th for r in rates]
        success = mp.fprod(r / s for r, s in zip(rates, tot, strict=True))
        # CDF at t of a sum of exponentials with rates tot (distinct rates: partial fractions)
        cdf = mp.mpf(1)
        for i, ri in enumerate(tot):
            coef = mp.fprod(rj / (rj - ri) for j, rj in enumerate(tot) if j != i)
            cdf -= coef * mp.exp(-ri * t)
        sl += p[n] * success * cdf
    return float(sl)


def test_coverage_check_uses_erlang_a_figures() -> None:
    """The service levels of the coverage check equal an independent Erlang A brute force (birth-death chain),
    and an interval fails only where the change lowers agents and leaves the level below the target."""
    grid = checks.interval_grid(T0, T0 + timedelta(hours=1), ZONE, 15)
    fc = checks.Forecast(15, {"q": dict.fromkeys(grid, 30.0)}, {"q": dict.fromkeys(grid, 200.0)})
    before = {"q": np.array([9, 8, 8, 7])}
    after = {"q": np.array([8, 8, 7, 7])}
    got = checks.coverage_check(fc, grid, before, after, {"q": 90.0}, 0.7, 20.0)
    assert [r["interval_start"][-5:] for r in got["intervals"]] == ["00:00", "00:30"]
    for r in got["intervals"]:
        assert r["sl_before"] == pytest.approx(erlang_a_sl_brute(r["agents_before"], 30, 200, 90, 20),
                                                             abs=2e-4)
        assert r["sl_after"] == pytest.approx(erlang_a_sl_brute(r["agents_after"], 30, 200, 90, 20),
                                                            abs=2e-4)
        assert r["ok"] == (r["sl_after"] >= 0.7)
    assert got["ok"] == all(r["ok"] for r in got["intervals"])
    none = checks.coverage_check(checks.Forecast(15), grid, before, after, {"q": math.inf}, 0.7, 20.0)
    assert not none["ok"] and none["unknown"] == 2


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3 * 1440), st.integers(1, 600), st.sampled_from(["q", "r", None]),
                          st.sampled_from(["work", "break"])), max_size=12),
       st.sampled_from(["UTC", "Asia/Shanghai", "Europe/Paris"]))
def test_working_counts_match_minute_by_minute(spans: list, zone: str) -> None:
    """Across a DST change (Europe/Paris, 2027-03-28): an agent counts in an interval iff a work row of that queue
    covers each of its minutes; rows without a queue are dropped when there are several queues."""
    import zoneinfo

    tz = zoneinfo.ZoneInfo(zone)
    base = datetime(2027, 3, 27, tzinfo=tz)
    rows = [{"agent_id": f"a{i}", "activity": act, "queue": q,
             "start_at": (base + timedelta(minutes=a)).astimezone(UTC),
             "end_at": (base + timedelta(minutes=a + n)).astimezone(UTC)} for i, (a, n, q, act) in enumerate(spans)]
    lo, hi = base.astimezone(UTC), (base + timedelta(days=3)).astimezone(UTC)
    grid = checks.interval_grid(lo, hi, zone, 15)
    got = checks.working_counts(rows, grid, zone, 15, ["q", "r"])
    for q in ("q", "r"):
        for i, g in enumerate(grid):
            want = 0
            for r in rows:
                if r["activity"] != "work" or r["queue"] != q:
                    continue
                s = r["start_at"].astimezone(tz).replace(tzinfo=None)
                e = r["end_at"].astimezone(tz).replace(tzinfo=None)
                want += all(s <= g + timedelta(minutes=m) < e for m in range(15))
            assert got[q][i] == want, (q, g)
