"""The single-queue what-if agrees with exact Erlang C and Erlang A values (computed independently here)."""

from __future__ import annotations

import json

import pytest
from exact_queues import erlang_exact
from typer.testing import CliRunner

from callops.errors import CallopsError
from callops.sim.cli import simulate_app
from callops.sim.single_queue import simulate_single_queue

FIGURES = ("service_level", "p_wait", "asa_s", "abandon_rate", "occupancy")

# (calls per interval, interval s, AHT s, agents, patience s): light, medium, heavy (rho = 0.95) and large centers.
CASES = [
    pytest.param(100, 1800, 180, 14, None, id="erlangC-a10-c14"),
    pytest.param(100, 1800, 180, 14, 120, id="erlangA-a10-c14"),
    pytest.param(285, 1800, 300, 50, None, id="erlangC-heavy-rho0.95-c50"),
    pytest.param(285, 1800, 300, 50, 300, id="erlangA-heavy-c50"),
    pytest.param(1140, 1800, 300, 200, None, id="erlangC-large-rho0.95-c200"),
    pytest.param(1140, 1800, 300, 200, 200, id="erlangA-large-c200"),
    pytest.param(360, 1800, 300, 50, 150, id="erlangA-overloaded-rho1.2"),
]


def test_exact_reference_matches_published_example() -> None:
    """The reference itself: 10 Erlang on 14 agents has P(wait) = 17.4% and SL(20 s, AHT 180 s) = 88.8%."""
    e = erlang_exact(100, 1800, 180, 14, None, 20)
    assert e.p_wait == pytest.approx(0.1741, abs=5e-5)
    assert e.service_level == pytest.approx(0.8884, abs=5e-5)
    # Erlang A with almost infinite patience tends to Erlang C (checks the tagged-chain code path).
    a = erlang_exact(100, 1800, 180, 14, 1e9, 20)
    assert a.service_level == pytest.approx(e.service_level, abs=1e-6)
    assert a.asa_s == pytest.approx(e.asa_s, rel=1e-5)


@pytest.mark.parametrize(("calls", "interval", "aht", "agents", "patience"), CASES)
def test_agrees_with_exact_values(
    calls: float, interval: float, aht: float, agents: int, patience: float | None
) -> None:
    """Each exact figure lies inside the simulated 95% confidence interval, and the interval is informative."""
    exact = erlang_exact(calls, interval, aht, agents, patience, 20)
    result = simulate_single_queue(calls, interval, aht, agents, patience, threshold_s=20, replications=10, seed=11)
    got = result.as_dict()
    for name in FIGURES:
        est, value = got[name], getattr(exact, name)
        assert est["ci_low"] <= value <= est["ci_high"], (name, value, est)
    # Informative: intervals are narrow enough that agreement means something.
    assert got["occupancy"]["ci_high"] - got["occupancy"]["ci_low"] < 0.02
    assert got["service_level"]["ci_high"] - got["service_level"]["ci_low"] < 0.15
    assert result.elapsed_s > 0


def test_same_seed_same_result_other_seed_differs() -> None:
    """Deterministic for a seed."""
    a = simulate_single_queue(100, 1800, 180, 14, 120, replications=3, seed=5, arrivals_per_replication=3000)
    b = simulate_single_queue(100, 1800, 180, 14, 120, replications=3, seed=5, arrivals_per_replication=3000)
    c = simulate_single_queue(100, 1800, 180, 14, 120, replications=3, seed=6, arrivals_per_replication=3000)
    assert a.service_level == b.service_level and a.asa_s == b.asa_s
    assert a.service_level != c.service_level


def test_unstable_queue_without_patience_is_refused() -> None:
    """Load above the agents without abandonment has no steady state: a clear error, not a number."""
    with pytest.raises(CallopsError, match="grows without bound"):
        simulate_single_queue(300, 1800, 300, 50)


def test_cli_json_keys_and_scenario_reserved() -> None:
    """`callops simulate --json` prints only JSON with the documented keys; scenario options go to the runner."""
    runner = CliRunner()
    res = runner.invoke(
        simulate_app,
        ["--calls", "100", "--interval", "1800", "--aht", "180", "--agents", "14", "--patience", "120",
         "--replications", "3", "--seed", "1", "--json"],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    for name in FIGURES:
        assert set(data[name]) == {"mean", "ci_low", "ci_high"}
    assert data["replications"] == 3 and data["elapsed_s"] > 0
    res = runner.invoke(simulate_app, ["--scenario", "x.yaml", "--days", "3", "--tenant", "t"])
    assert isinstance(res.exception, CallopsError)
    assert "scenario file x.yaml not found" in str(res.exception)
