"""Staffing requirements, patience estimate, the V3 balance model, Excel export and the CLI.

Queueing figures are recomputed here from first principles (exact rationals and mpmath), the balance model is
checked against a hand calculation and by inverting it, patience against data simulated with a known mean.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from datetime import datetime
from fractions import Fraction
from pathlib import Path

import mpmath
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from typer.testing import CliRunner

from callops.errors import CallopsError
from callops.sim.agents import AgentSpec
from callops.sim.arrivals import ArrivalStream
from callops.sim.engine import Model, simulate
from callops.sim.records import write_to_warehouse
from callops.sim.routing import HandleTime, Patience, QueueSpec
from callops.tenancy import create_tenant
from callops.warehouse import Warehouse
from callops.wfm import balance
from callops.wfm.staffing import (
    StaffingTargets,
    estimate_patience,
    patience_mle,
    staffing_requirements,
)
from callops.wfm.staffing_cli import staffing_app
from callops.wfm.staffing_export import write_requirements_csv, write_xlsx

mpmath.mp.dps = 40
INTERVAL_MIN = 30
INTERVAL_S = INTERVAL_MIN * 60


# ----------------------------------------------------------------------------------- independent references
def exact_erlang_c_sl(calls: Fraction, aht: Fraction, c: int, t: Fraction) -> mpmath.mpf:
    """SL = 1 − C·exp(−(c − a)·T/AHT) with C from the exact rational Erlang B recursion (0 if unstable)."""
    a = calls * aht / INTERVAL_S
    if c <= a:
        return mpmath.mpf(0)
    b = Fraction(1)
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    pw = c * b / (c - a + a * b)
    return 1 - _mpf(pw) * mpmath.exp(-_mpf((c - a) * t / aht))


def _mpf(q: Fraction) -> mpmath.mpf:
    """A fraction as an mpf (mpmath before 1.4 does not take a Fraction)."""
    return mpmath.mpf(q.numerator) / q.denominator


def exact_erlang_a_abandon(calls: float, aht: float, c: int, patience: float) -> mpmath.mpf:
    """Abandon rate θ·E[queue]/λ of M/M/c+M from its birth–death chain, summed until the terms vanish."""
    lam, mu, th = mpmath.mpf(calls) / INTERVAL_S, 1 / mpmath.mpf(aht), 1 / mpmath.mpf(patience)
    p, total, queue, n = mpmath.mpf(1), mpmath.mpf(1), mpmath.mpf(0), 0
    while True:
        n += 1
        p *= lam / (min(n, c) * mu + max(n - c, 0) * th)
        total += p
        queue += max(n - c, 0) * p
        if n > c and p < mpmath.mpf(10) ** -35 * total:
            break
    return th * (queue / total) / lam


def forecast_frame(rows: dict[str, list[tuple[float, float]]]) -> pd.DataFrame:
    """A forecast frame (queue, interval_start, forecast, aht_s) from (calls, aht) per interval and queue."""
    out = []
    t0 = pd.Timestamp("2024-03-11 08:00")
    for q, cells in rows.items():
        for i, (calls, aht) in enumerate(cells):
            out.append({"queue": q, "interval_start": t0 + pd.Timedelta(minutes=INTERVAL_MIN * i),
                        "forecast": calls, "aht_s": aht})  # fmt: skip
    return pd.DataFrame(out)


CELLS = {
    "billing": [(0.0, 240.0), (57.0, 223.5), (120.0, 240.0), (333.0, 187.0)],
    "vip": [(12.0, 300.0), (40.0, 420.0), (0.0, float("nan")), (95.0, 310.0)],
}


# ------------------------------------------------------------------------------------------- requirements
def test_erlang_c_requirements_are_the_smallest_meeting_the_target() -> None:
    """Every busy cell meets 80/20 with its agents and misses it with one fewer (exact Erlang C)."""
    plan = staffing_requirements(
        forecast_frame(CELLS), interval_min=INTERVAL_MIN, targets=StaffingTargets(model="erlang-c", target_sl=0.8)
    )
    f = plan.frame
    busy = f[f["forecast"] > 0]
    assert len(busy) == 6
    for r in busy.itertuples():
        calls, aht = Fraction(r.forecast).limit_denominator(10), Fraction(r.aht_s).limit_denominator(10)
        assert exact_erlang_c_sl(calls, aht, int(r.agents), Fraction(20)) >= mpmath.mpf("0.8")
        assert exact_erlang_c_sl(calls, aht, int(r.agents) - 1, Fraction(20)) < mpmath.mpf("0.8")
        assert r.service_level == pytest.approx(float(exact_erlang_c_sl(calls, aht, int(r.agents), Fraction(20))))
    # closed or empty intervals need nobody (and no AHT is needed for them)
    assert (f.loc[f["forecast"] == 0, "agents"] == 0).all()


def test_hand_checked_cell() -> None:
    """120 calls, AHT 240 s, 30 min: a = 16 Erlangs; 19 agents give SL 0.709, 20 give 0.8165 → 20 agents."""
    plan = staffing_requirements(
        forecast_frame({"q": [(120.0, 240.0)]}), interval_min=INTERVAL_MIN, targets=StaffingTargets(model="erlang-c")
    )
    r = plan.frame.iloc[0]
    assert r["traffic_erlangs"] == 16.0
    assert r["agents"] == 20
    assert float(exact_erlang_c_sl(Fraction(120), Fraction(240), 19, Fraction(20))) == pytest.approx(0.70906, abs=1e-5)
    assert r["service_level"] == pytest.approx(float(exact_erlang_c_sl(Fraction(120), Fraction(240), 20, Fraction(20))))


def test_erlang_a_abandon_target_is_smallest() -> None:
    """An abandon-rate target of 3%: met with the agents, missed with one fewer (exact birth–death chain)."""
    plan = staffing_requirements(
        forecast_frame({"q": [(200.0, 300.0), (80.0, 180.0)]}),
        interval_min=INTERVAL_MIN,
        targets=StaffingTargets(model="erlang-a", target_sl=None, target_abandon=0.03),
        patience={"q": 150.0},
    )
    for r in plan.frame.itertuples():
        assert exact_erlang_a_abandon(r.forecast, r.aht_s, int(r.agents), 150.0) <= 0.03
        assert exact_erlang_a_abandon(r.forecast, r.aht_s, int(r.agents) - 1, 150.0) > 0.03
        assert r.abandon_rate == pytest.approx(float(exact_erlang_a_abandon(r.forecast, r.aht_s, int(r.agents), 150)))


def test_erlang_a_needs_no_more_than_erlang_c() -> None:
    """Impatient callers leave the queue, so Erlang A never asks for more agents than Erlang C."""
    frame = forecast_frame(CELLS)
    c = staffing_requirements(frame, interval_min=INTERVAL_MIN, targets=StaffingTargets(model="erlang-c"))
    a = staffing_requirements(frame, interval_min=INTERVAL_MIN, targets=StaffingTargets(), patience=120.0)
    assert (a.frame["agents"] <= c.frame["agents"]).all()
    assert (a.frame["agents"] < c.frame["agents"]).any()


def test_minimum_occupancy_cap_and_shrinkage() -> None:
    """Minimum agents fill empty intervals; occupancy stays under the cap; staff = ⌈agents / (1 − shrinkage)⌉."""
    targets = StaffingTargets(model="erlang-c", max_occupancy=0.85, shrinkage=0.3, min_agents=2)
    plan = staffing_requirements(forecast_frame(CELLS), interval_min=INTERVAL_MIN, targets=targets)
    f = plan.frame
    assert (f["agents"] >= 2).all()
    assert (f.loc[f["forecast"] == 0, "agents"] == 2).all()
    assert (f["traffic_erlangs"] / f["agents"] <= 0.85 + 1e-12).all()
    for agents, staff in zip(f["agents"], f["staff"], strict=True):
        assert staff == -(-Fraction(int(agents)) // Fraction(7, 10))  # exact ceiling of agents / 0.7
    assert any("minimum of 2" in n for n in plan.notes)
    # the cap binds in the big cell: 333 × 187 / 1800 = 34.6 Erlangs needs ⌈34.6 / 0.85⌉ = 41 agents
    big = f[(f["queue"] == "billing") & (f["forecast"] == 333.0)].iloc[0]
    assert big["agents"] == 41


def test_bad_inputs_raise_callops_error() -> None:
    """Missing AHT, a negative forecast, unknown models and missing patience are user errors."""
    frame = forecast_frame({"q": [(10.0, float("nan"))]})
    with pytest.raises(CallopsError, match="AHT"):
        staffing_requirements(frame, interval_min=30, targets=StaffingTargets(model="erlang-c"))
    with pytest.raises(CallopsError, match="finite"):
        staffing_requirements(forecast_frame({"q": [(-1.0, 100.0)]}), interval_min=30,
                              targets=StaffingTargets(model="erlang-c"))  # fmt: skip
    with pytest.raises(CallopsError, match="model"):
        StaffingTargets(model="erlang-x")
    with pytest.raises(CallopsError, match="patience"):
        staffing_requirements(forecast_frame({"q": [(10.0, 100.0)]}), interval_min=30)
    with pytest.raises(CallopsError, match="interval"):
        staffing_requirements(forecast_frame({"q": [(10.0, 100.0)]}), interval_min=7, patience=60.0)


# ---------------------------------------------------------------------------------------------- patience
def test_patience_mle_recovers_mean_under_censoring() -> None:
    """Exponential patience (mean 180 s) censored by independent exponential offered waits: MLE within 3%."""
    rng = np.random.default_rng(7)
    patience = rng.exponential(180.0, 40_000)
    offered_wait = np.where(rng.random(40_000) < 0.5, 0.0, rng.exponential(60.0, 40_000))  # half answered at once
    waits = np.minimum(patience, offered_wait)
    mean, lo, hi = patience_mle(waits, patience < offered_wait)
    assert mean == pytest.approx(180.0, rel=0.03)
    assert lo < 180.0 < hi
    # the naive mean of abandoners' waits is badly biased low: the censoring matters
    assert waits[patience < offered_wait].mean() < 0.5 * 180.0


def test_patience_mle_edge_cases() -> None:
    """No abandonment: infinite mean with a finite lower bound; bad input raises."""
    mean, lo, hi = patience_mle([10.0, 20.0, 0.0], [False, False, False])
    assert math.isinf(mean) and math.isinf(hi) and 0 < lo < math.inf
    with pytest.raises(CallopsError):
        patience_mle([1.0, -2.0], [True, False])


# ----------------------------------------------------------------------------- a simulated tenant (module)
START = datetime.fromisoformat("2024-03-04T00:00:00+08:00")
TRUE_PATIENCE = {"billing": 150.0, "vip": 400.0}


@pytest.fixture(scope="module")
def tenant_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """CALLOPS_HOME with tenant ``demo``: 8 simulated days, two queues with exponential patience, 08:00-20:00."""
    root = tmp_path_factory.mktemp("staffing") / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CALLOPS_HOME", str(root))
        mp.delenv("CALLOPS_WAREHOUSE", raising=False)
        open_hours = tuple(1.0 if 16 <= i < 40 else 0.0 for i in range(48))
        model = Model(
            queues=[
                QueueSpec("billing", patience=Patience(mean_s=TRUE_PATIENCE["billing"]), handle=HandleTime(240)),
                QueueSpec("vip", patience=Patience(mean_s=TRUE_PATIENCE["vip"]), handle=HandleTime(300)),
            ],
            agents=[AgentSpec(f"a{i}", {"billing": 1}) for i in range(9)]
            + [AgentSpec(f"v{i}", {"vip": 1}) for i in range(3)],
            streams=[
                ArrivalStream("billing", 1500, intraday=open_hours),
                ArrivalStream("vip", 300, intraday=open_hours),
            ],
            start=START,
            days=8,
            country=None,
        )
        records = simulate(model, seed=1)
        with Warehouse() as wh:
            tenant = create_tenant(wh, "demo", "Asia/Shanghai")
            write_to_warehouse(wh, tenant, {"contacts": records.tables()["contacts"]})
        yield root


def test_patience_estimate_from_warehouse_recovers_simulated_means(tenant_home: Path) -> None:
    """The warehouse estimate of each queue's patience covers the mean the simulator drew from."""
    with Warehouse() as wh:
        est = estimate_patience(wh, "demo")
    assert set(est) == {"billing", "vip"}
    for q, true in TRUE_PATIENCE.items():
        e = est[q]
        assert e.abandoned > 100
        assert e.ci_low_s < true < e.ci_high_s, (q, e)
        assert e.patience_s == pytest.approx(true, rel=0.15)


def test_cli_tenant_json_xlsx_csv(tenant_home: Path, tmp_path: Path) -> None:
    """`callops staffing --tenant demo --json --xlsx --csv`: JSON only on stdout, workbook and CSV agree with it."""
    xlsx, csv_path = tmp_path / "plan.xlsx", tmp_path / "req.csv"
    args = ["--tenant", "demo", "--horizon", "2d", "--interval", "30", "--shrinkage", "0.3", "--json",
            "--xlsx", str(xlsx), "--csv", str(csv_path)]  # fmt: skip
    res = CliRunner().invoke(staffing_app, args)
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["targets"]["model"] == "erlang-a"
    assert {q: p["patience_s"] for q, p in d["patience"].items()}.keys() == {"billing", "vip"}
    assert len(d["intervals"]) == 2 * 24 * 2  # two queues, two days of 24 open half-hours
    for r in d["intervals"]:
        if r["forecast"] > 0:
            assert r["service_level"] >= 0.8
        assert r["staff"] == -(-Fraction(r["agents"]) // Fraction(7, 10))
    wb = load_workbook(xlsx)
    assert {"Summary", "Staff grid", "Agents grid", "billing", "vip"} <= set(wb.sheetnames)
    rows = list(wb["billing"].iter_rows(min_row=2, values_only=True))
    billing = [r for r in d["intervals"] if r["queue"] == "billing"]
    assert len(rows) == len(billing)
    for got, want in zip(rows, billing, strict=True):
        assert got[0] == datetime.fromisoformat(want["interval_start"])
        assert got[1] == pytest.approx(want["forecast"]) and got[5] == want["agents"] and got[6] == want["staff"]
    with csv_path.open() as fh:
        req = list(csv.DictReader(fh))
    assert len(req) == len(d["intervals"]) and {r["skill"] for r in req} == {"billing", "vip"}


def test_cli_errors(tenant_home: Path) -> None:
    """Bad input exits through CallopsError (the main app prints it and exits 2)."""
    for args in (
        ["--tenant", "nobody"],
        ["--tenant", "demo", "--shrinkage", "1.2"],
        ["--tenant", "demo", "--model", "erlang-c", "--target-abandon", "0.05"],
        ["--tenant", "demo", "--horizon", "3x"],
        ["balance", "--volume", "1000", "--answer-rate", "1.5"],
        ["balance", "--solve", "workload", "--volume", "1000"],
    ):
        res = CliRunner().invoke(staffing_app, args)
        assert isinstance(res.exception, CallopsError), (args, res.output, res.exception)


# ------------------------------------------------------------------------------------------- Excel (direct)
def test_excel_numbers_match_exact_erlang_c(tmp_path: Path) -> None:
    """The workbook's per-queue sheet and staff grid hold the plan's numbers; agents match the exact reference."""
    plan = staffing_requirements(
        forecast_frame(CELLS), interval_min=INTERVAL_MIN, targets=StaffingTargets(model="erlang-c", shrinkage=0.2)
    )
    path = write_xlsx(plan, tmp_path / "p.xlsx")
    wb = load_workbook(path)
    sheet = list(wb["billing"].iter_rows(min_row=2, values_only=True))
    # 120 calls × 240 s: 20 agents (see test_hand_checked_cell), staff ⌈20 / 0.8⌉ = 25
    row = next(r for r in sheet if r[1] == 120.0)
    assert row[0] == datetime(2024, 3, 11, 9, 0) and row[3] == pytest.approx(16.0)
    assert (row[5], row[6]) == (20, 25)
    assert row[7] == pytest.approx(float(exact_erlang_c_sl(Fraction(120), Fraction(240), 20, Fraction(20))))
    grid = list(wb["Staff grid"].iter_rows(values_only=True))
    assert grid[0] == ("interval start", "billing", "vip")
    assert {r[0]: r[1] for r in grid[1:]}[datetime(2024, 3, 11, 9, 0)] == 25
    csv_rows = list(csv.DictReader(write_requirements_csv(plan, tmp_path / "r.csv").open()))
    assert {"interval_start": "2024-03-11T09:00:00", "required": "25", "skill": "billing"} in csv_rows


# ------------------------------------------------------------------------------------------- V3 balance
HAND = dict(
    volume=100_000, answer_rate=0.9, service_share=0.8, service_handle_s=300, marketing_popup_rate=0.3,
    marketing_recommend_rate=0.5, marketing_handle_s=60, online_utilisation=0.85, attendance=0.95,
    scheduled_hours=174, loss=0.05,
)  # fmt: skip


def test_balance_hand_example() -> None:
    """By hand: service 100000×0.9×0.8×300 s = 6000 h; marketing 90000×0.3×0.5×60 s = 225 h;
    one person 174×0.85×0.95×0.95 = 133.47975 h → 6225 / 133.47975 = 46.636 → 47 people."""
    p = balance.make_inputs(**HAND)
    r = balance.required_headcount(p)
    assert r["service_hours"] == pytest.approx(6000.0)
    assert r["marketing_hours"] == pytest.approx(225.0)
    assert r["handling_hours_per_person"] == pytest.approx(133.47975)
    assert r["headcount_exact"] == pytest.approx(8_300_000 / 177_973)
    assert r["headcount"] == 47
    # 47 people carry 6273.548 h, i.e. 6273.548 / (0.9×(0.8×300 + 0.3×0.5×60)/3600) = 100,779.89 contacts
    w = balance.carry_workload(balance.make_inputs(**{**HAND, "staff": 47}))
    assert w["capacity_hours"] == pytest.approx(6273.54825)
    assert w["max_volume"] == pytest.approx(100_779.89156626505)
    assert w["spare_hours_for_marketing"] == pytest.approx(6273.54825 - 6000.0)
    assert w["max_recommendations"] == pytest.approx((6273.54825 - 6000.0) * 60)


def test_balance_comparison_by_hand() -> None:
    """Service 72,000 contacts in 6000 h handling = 6000/0.767125 paid h; marketing 1,350 sales × 30."""
    p = balance.make_inputs(**HAND, service_unit_price=2.0, marketing_unit_price=30.0, marketing_success_rate=0.1,
                            marketing_commission=5.0, agent_cost_per_hour=40.0)  # fmt: skip
    c = balance.compare(p)
    share = 0.85 * 0.95 * 0.95
    s, m = c["service"], c["marketing"]
    assert s["paid_hours"] == pytest.approx(6000 / share)
    assert s["contacts_per_agent_hour"] == pytest.approx(72_000 / (6000 / share))
    assert s["yield_per_agent_hour"] == pytest.approx(144_000 / (6000 / share))
    assert s["cost_per_contact"] == pytest.approx(40 * 6000 / share / 72_000)
    assert m["sales"] == pytest.approx(1350.0)
    assert m["revenue"] == pytest.approx(40_500.0)
    assert m["cost"] == pytest.approx(40 * 225 / share + 5 * 1350)
    assert m["cost_per_sale"] == pytest.approx((40 * 225 / share + 5 * 1350) / 1350)
    assert s["headcount"] + m["headcount"] == pytest.approx(balance.required_headcount(p)["headcount_exact"])


def test_balance_labels_name_every_seed_parameter() -> None:
    """Every term of the seed formula is an input with its Chinese label."""
    zh = {v["zh"] for v in balance.labels().values()}
    seed_terms = {"人员数", "在线利用率", "出勤率", "排班时长", "冗余损耗", "话务量", "接通率", "服务话务占比",
                  "服务单通", "营销弹窗率", "营销推荐率", "营销单通"}  # fmt: skip
    assert seed_terms <= zh
    assert all(v["en"] and v["description"] for v in balance.labels().values())


rate = st.floats(0.05, 1.0)
positive = st.floats(1.0, 1e4)


@settings(max_examples=150, deadline=None)
@given(
    staff=st.floats(0.5, 5000), util=rate, att=rate, hours=st.floats(1, 744), loss=st.floats(0, 0.9),
    answer=rate, share=rate, handle=positive, popup=st.floats(0, 1), rec=st.floats(0, 1),
    m_handle=st.floats(0, 3600), fixed_base=st.one_of(st.none(), st.floats(0, 1e3)),
)  # fmt: skip
def test_balance_directions_are_inverse(
    staff: float, util: float, att: float, hours: float, loss: float, answer: float, share: float,
    handle: float, popup: float, rec: float, m_handle: float, fixed_base: float | None,
) -> None:  # fmt: skip
    """headcount(workload(S)) = S, and workload(headcount(V)) = V, for any valid inputs."""
    common = dict(online_utilisation=util, attendance=att, scheduled_hours=hours, loss=loss, answer_rate=answer,
                  service_share=share, service_handle_s=handle, marketing_popup_rate=popup,
                  marketing_recommend_rate=rec, marketing_handle_s=m_handle, marketing_contacts=fixed_base)  # fmt: skip
    p = balance.make_inputs(staff=staff, **common)
    try:
        w = balance.carry_workload(p)
    except CallopsError:  # fixed marketing work alone exceeds the capacity: nothing to invert
        assert fixed_base is not None
        return
    back = balance.required_headcount(balance.make_inputs(volume=w["max_volume"], **common))
    assert back["headcount_exact"] == pytest.approx(staff, rel=1e-9)
    volume = w["max_volume"]
    h = balance.required_headcount(balance.make_inputs(volume=volume, **common))
    again = balance.carry_workload(balance.make_inputs(staff=h["headcount_exact"], **common))
    assert again["max_volume"] == pytest.approx(volume, rel=1e-9, abs=1e-9)


def test_balance_cli_json_matches_hand_example() -> None:
    """`callops staffing balance --json` prints only JSON with the hand-computed headcount and the labels."""
    args = ["balance", "--volume", "100000", "--answer-rate", "0.9", "--service-share", "0.8", "--service-aht", "300",
            "--popup-rate", "0.3", "--recommend-rate", "0.5", "--marketing-aht", "60", "--online-utilisation",
            "0.85", "--attendance", "0.95", "--scheduled-hours", "174", "--loss", "0.05", "--json"]  # fmt: skip
    res = CliRunner().invoke(staffing_app, args)
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert d["result"]["headcount"] == 47
    assert d["result"]["headcount_exact"] == pytest.approx(46.63628752675967)
    assert d["labels"]["attendance"]["zh"] == "出勤率"
    assert d["comparison"]["marketing"]["handling_hours"] == pytest.approx(225.0)
    res = CliRunner().invoke(staffing_app, [*args[:-1], "--solve", "workload", "--staff", "47", "--json"])
    assert json.loads(res.stdout)["result"]["max_volume"] == pytest.approx(100_779.89156626505)
