"""The simulated busy day: graded alerts in order, hysteresis, plans with named agents whose expected effect the
simulator confirms, and the CLI end to end."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from callops.realtime.alerts import ALERT_EVENT_KINDS, ALERT_STATUSES
from callops.realtime.cli import live_app
from callops.realtime.config import load_config, load_roster, load_schedule
from callops.realtime.engine import build_engine
from callops.realtime.events import iter_lines
from callops.realtime.plans import STEP_STATUSES
from callops.sim.single_queue import simulate_single_queue

RUNNER = CliRunner()


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("live-demo")
    res = RUNNER.invoke(live_app, ["demo-events", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["events"] > 10_000
    return out


@pytest.fixture(scope="module")
def replayed(day: Path):
    cfg = load_config(day / "live.yaml", "demo")
    eng, pe = build_engine(cfg, roster=load_roster(day / "agents.csv"), schedule=load_schedule(day / "schedules.csv"))
    with (day / "events.jsonl").open() as f:
        eng.submit_many(iter_lines(f))
    return eng, pe


def local(t: float) -> str:
    return datetime.fromtimestamp(t).astimezone().strftime("%H:%M")  # only for messages


def test_overload_raises_yellow_orange_red_in_order_and_clears(replayed) -> None:
    eng, _ = replayed
    zone = eng.state.zone
    hour = [e for e in eng.events if e.rule == "long-wait" and e.key == "billing"
            and 14 <= datetime.fromtimestamp(e.at, zone).hour < 16]
    assert [(e.kind, e.level_name) for e in hour[:3]] == [
        ("raised", "yellow"), ("escalated", "orange"), ("escalated", "red")]
    assert hour[0].at < hour[1].at < hour[2].at
    assert any(e.kind == "cleared" for e in hour[3:]), "the overload alert never cleared"
    # every step down respects the hysteresis band (0.8 x the threshold left) and the 120 s cool-down
    last_change: dict[str, float] = {}
    for e in (x for x in eng.events if x.rule == "long-wait"):
        if e.kind in ("de-escalated", "cleared"):
            left = e.threshold if e.kind == "cleared" else {1: 60, 2: 120, 3: 180, 4: 300}[e.prev_level]
            assert e.value < 0.8 * left + 1e-9
            assert e.at - last_change[e.alert_id] >= 120
        last_change[e.alert_id] = e.at
    assert eng.stats.rejected == 0 and eng.stats.duplicates == 0


def test_plan_names_agents_and_simulator_confirms_effect(replayed) -> None:
    _, pe = replayed
    acts = [a for a in pe.activations.values() if a.queue == "billing" and a.level >= 2
            and any(s.agents for s in a.recommendation.steps)]
    assert acts, "no plan for the overloaded billing queue moved anyone"
    checked = 0
    for act in acts[:3]:
        rec = act.recommendation
        movers = [c for s in rec.steps for c in s.agents]
        assert all(c.name and c.agent_id and c.current_queue for c in movers)
        assert rec.after["service_level"] > rec.before["service_level"]
        if any(c.efficiency != 1.0 for c in movers):
            continue  # fractional agents: the single-queue simulator needs whole ones
        ld = rec.load
        rate = ld.rate_per_s
        aht = ld.aht_s
        for s in rec.steps:
            rate *= 1 - s.divert_share
            aht *= s.aht_factor
        agents = int(ld.agents + len(movers))
        sim = simulate_single_queue(rate * 1800, 1800, aht, agents, ld.patience_s, ld.threshold_s,
                                    replications=8, seed=3, arrivals_per_replication=6000)  # fmt: skip
        half = (sim.service_level.ci_high - sim.service_level.ci_low) / 2
        assert abs(sim.service_level.mean - rec.after["service_level"]) <= half + 0.03
        assert abs(sim.abandon_rate.mean - rec.after["abandon_rate"]) <= 0.03
        checked += 1
    assert checked, "no recommendation with whole agents to simulate"


def test_auto_steps_emit_commands_and_clear_undoes_them(replayed) -> None:
    eng, _ = replayed
    types = {c["type"] for c in eng.bus.commands}
    assert {"play_message", "offer_callback", "disable_cross_sell"} <= types
    assert "enable_cross_sell" in types and "cancel" in types


def test_replay_cli_json(day: Path) -> None:
    res = RUNNER.invoke(live_app, ["replay", str(day / "events.jsonl"), "--tenant", "demo", "--config",
                                   str(day / "live.yaml"), "--roster", str(day / "agents.csv"), "--json",
                                   "--no-land"])  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["worst_level"] in ("red", "black")
    assert out["events_per_s"] > 0 and out["alert_latency_ms"]["p99"] < 50
    assert out["plan_activations"] > 0 and out["commands"] > 0


def test_reported_values_are_the_listed_ones(replayed) -> None:
    """Alert event kinds, alert statuses and step statuses of a whole day are among the lists the console labels."""
    eng, pe = replayed
    assert {e.kind for e in eng.events} <= set(ALERT_EVENT_KINDS)
    assert {a.status for a in eng.book.alerts.values()} <= set(ALERT_STATUSES)
    assert {s.status for act in pe.activations.values() for s in act.recommendation.steps} <= set(STEP_STATUSES)
