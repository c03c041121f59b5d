"""The queueing models behind staffing, checked against the discrete-event simulator (callops.sim.engine).

1. Chat concurrency (:func:`callops.wfm.queueing.chat_metrics`: balanced routing, per-session handle time
   ``aht·(1 + g·(j − 1))`` at ``j`` sessions) against the engine's chat channel (least-loaded routing, each chat's
   handle time fixed by the load when it starts). With ``g = 0`` both are M/M/(c·k)+M, so the model must lie in
   the simulation's noise: 3 standard errors across 10 replications; with ``g > 0`` they differ in how the slowdown
   is applied. Long runs (20 × 15,000 chats) put that difference below 0.005 in SL, so those cases get 0.01 on top
   (and 0.015 on the abandon rate).
2. A staffing plan for a short day (8 half-hours, Erlang A 80/20) run through the engine with exactly those agents.
   The plan assumes every interval is in steady state; a real day carries queues over interval boundaries and
   opens empty. Measured over 10 seeds × 30 replications: the day's SL 0.840–0.872 (the plan's own figure 0.833),
   single intervals 0.784–0.937, the largest gap to the plan's interval figure 0.084, and one agent fewer in every
   interval (same arrivals) 0.036–0.044 lower on the day. Tolerances: the day's SL ≥ target − 0.02; every interval
   ≥ target − 0.08 and within 0.10 of the plan's figure; one agent fewer worse by more than 0.02 (teeth).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from callops.sim.stats import t_quantile_975
from callops.wfm import queueing
from callops.wfm.evaluate import expected_service_level
from callops.wfm.staffing import StaffingTargets, staffing_requirements

# (calls per 30 min, single-session AHT s, agents, sessions per agent k, slowdown g, mean patience s)
CHAT_CASES = [
    (150.0, 480.0, 24, 2, 0.0, 300.0),
    (150.0, 480.0, 21, 3, 0.25, 300.0),
    (120.0, 600.0, 19, 4, 0.3, 200.0),
]


@pytest.mark.parametrize(("calls", "aht", "agents", "k", "g", "patience"), CHAT_CASES)
def test_chat_concurrency_model_matches_engine(
    calls: float, aht: float, agents: int, k: int, g: float, patience: float
) -> None:
    """Steady-state SL and abandon rate of the chat model agree with the engine's chat channel."""
    model = queueing.chat_metrics(calls, 1800, aht, agents, k, g, threshold_s=30, patience_s=patience)
    scale = 30  # one long stationary interval of 15 h, after a 5000 s warm-up
    sim = expected_service_level(
        [agents], [calls * scale], aht, patience, seed=3, interval_s=1800 * scale, threshold_s=30,
        replications=10, warmup_s=5000, concurrency=k, slowdown=g,
    )  # fmt: skip
    # 3 standard errors across replications (≈ 99.7%; the 95% half-width is t(0.975, 9) = 2.262 of them)
    se = (sim.sl_ci_high[0] - sim.sl_ci_low[0]) / 2 / t_quantile_975(sim.replications - 1)
    slack = 3 * se + (0.0 if g == 0 else 0.01)
    assert abs(float(model.service_level) - sim.service_level[0]) <= slack
    assert abs(sim.abandon_rate[0] - float(model.abandon_rate)) <= 0.015
    # the model is not trivially right: one agent fewer moves it outside the same interval
    fewer = queueing.chat_metrics(calls, 1800, aht, agents - 1, k, g, threshold_s=30, patience_s=patience)
    assert float(fewer.service_level) < sim.service_level[0] - slack


SHORT_DAY = np.array([50.0, 120.0, 200.0, 260.0, 240.0, 180.0, 120.0, 60.0])
AHT, PATIENCE, TARGET = 300.0, 180.0, 0.8


@pytest.fixture(scope="module")
def plan() -> pd.DataFrame:
    """Erlang A 80/20 requirements for the short day."""
    start = pd.Timestamp("2024-03-11 08:00", tz="Asia/Shanghai")
    frame = pd.DataFrame(
        {
            "queue": "q",
            "interval_start": pd.date_range(start, periods=len(SHORT_DAY), freq="30min"),
            "forecast": SHORT_DAY,
            "aht_s": AHT,
        }
    )
    return staffing_requirements(
        frame, interval_min=30, targets=StaffingTargets(target_sl=TARGET), patience={"q": PATIENCE}
    ).frame


def test_staffing_plan_reaches_target_in_simulation(plan: pd.DataFrame) -> None:
    """The plan's agents, simulated over the day, give about the SL the plan promises (tolerances: module doc)."""
    sim = expected_service_level(plan["agents"].to_numpy(), SHORT_DAY, AHT, PATIENCE, seed=2, replications=30)
    assert sim.overall() >= TARGET - 0.02
    assert (sim.service_level >= TARGET - 0.08).all(), sim.frame()
    assert np.abs(sim.service_level - plan["service_level"].to_numpy()).max() <= 0.10, sim.frame()
    # same seed and replications: the same arrivals, one agent fewer in every interval
    short = expected_service_level(plan["agents"].to_numpy() - 1, SHORT_DAY, AHT, PATIENCE, seed=2, replications=30)
    assert short.overall() < sim.overall() - 0.02


def test_schedule_rows_give_the_same_coverage(plan: pd.DataFrame) -> None:
    """Schedule rows (canonical `schedules` shape) that reproduce the plan simulate like the plan itself."""
    starts = pd.DatetimeIndex(plan["interval_start"])
    agents = plan["agents"].to_numpy()
    rows = []
    for j in range(int(agents.max())):
        on = np.flatnonzero(agents > j)  # each agent's intervals are one block: the day rises then falls
        assert (np.diff(on) == 1).all()
        rows.append({"agent_id": f"x{j}", "activity": "work", "queue": "q",
                     "start_at": starts[on[0]], "end_at": starts[on[-1]] + pd.Timedelta(minutes=30)})  # fmt: skip
        rows.append({"agent_id": f"x{j}", "activity": "break", "queue": None,
                     "start_at": starts[0] - pd.Timedelta(hours=1), "end_at": starts[0]})  # fmt: skip
    forecast = pd.Series(SHORT_DAY, index=starts)
    by_rows = expected_service_level(rows, forecast, AHT, PATIENCE, seed=4, replications=12, queue="q")
    by_plan = expected_service_level(agents, forecast, AHT, PATIENCE, seed=4, replications=12)
    assert list(by_rows.interval_start) == list(starts)
    # identical arrivals and agents; only the plan keeps its last agents on to drain the queue at closing
    np.testing.assert_allclose(by_rows.service_level[:-1], by_plan.service_level[:-1], atol=1e-12)
    assert abs(by_rows.service_level[-1] - by_plan.service_level[-1]) <= 0.05


def test_per_interval_aht_is_honoured() -> None:
    """Two long intervals with AHT 240 s and 480 s, each staffed for 80/20: each simulates to its own Erlang A SL
    (with AHT 240 s everywhere the second would be near 100%)."""
    calls, aht = np.array([100.0, 100.0]), np.array([240.0, 480.0])
    need = queueing.required_agents("erlang-a", calls=calls, interval_s=1800, aht_s=aht, target_sl=0.8, patience_s=180)
    sim = expected_service_level(need.agents, calls * 20, aht, 180.0, seed=1, interval_s=36_000, warmup_s=3000,
                                 replications=8)  # fmt: skip
    for i in range(2):  # 0.01 for the transient after the change of AHT and agents
        assert sim.sl_ci_low[i] - 0.01 <= float(need.service_level[i]) <= sim.sl_ci_high[i] + 0.01
    ignored = queueing.erlang_a_metrics(100, 1800, 240, need.agents[1], 180)
    assert float(ignored.service_level) > sim.sl_ci_high[1] + 0.05


def test_bad_evaluation_inputs() -> None:
    """Mismatched lengths, fractional agents and rows without a time-aware forecast are user errors."""
    from callops.errors import CallopsError

    with pytest.raises(CallopsError, match="staffing values"):
        expected_service_level([3, 4], [10.0], 300, None)
    with pytest.raises(CallopsError, match="whole"):
        expected_service_level([2.5], [10.0], 300, None)
    with pytest.raises(CallopsError, match="aware"):
        expected_service_level([{"agent_id": "a", "activity": "work", "start_at": 0, "end_at": 1}], [10.0], 300, None)
