"""Empirical-Bayes ranking: shrinkage formula by hand, recovery of the generator's true order, coaching, drift."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from callops.quality.coaching import (
    QualityParameters,
    cusum_chart,
    evaluator_drift,
    ewma_chart,
    exemption,
    regression_to_mean,
)
from callops.quality.ranking import components, evaluator_effects, group_scores, rank_agents
from callops.sim.quality import simulate_panel


def test_components_and_shrinkage_by_hand() -> None:
    groups = {"a": [70.0, 74.0], "b": [80.0, 84.0, 82.0, 78.0], "c": [90.0, 94.0]}
    # MSW = (8 + 20 + 8) / (8 - 3) = 7.2; means 72, 81, 92; grand 652/8 = 81.5
    # MSB = (2*9.5^2 + 4*0.5^2 + 2*10.5^2) / 2 = 201; n0 = (8 - 24/8) / 2 = 2.5; tau2 = (201 - 7.2) / 2.5 = 77.52
    c = components(groups)
    assert c.sigma2 == pytest.approx(7.2) and c.tau2 == pytest.approx(77.52)
    w = 1 / (77.52 + 7.2 / np.array([2, 4, 2]))
    mu = float((w * np.array([72, 81, 92])).sum() / w.sum())
    assert c.mu == pytest.approx(mu)
    rep = rank_agents(groups, top=1, reliability_threshold=0.0)
    a = {r["agent_id"]: r for r in rep["agents"]}
    lam = 77.52 / (77.52 + 3.6)
    assert a["a"]["reliability"] == pytest.approx(lam)
    assert a["a"]["shrunk_mean"] == pytest.approx(mu + lam * (72 - mu))
    assert [r["agent_id"] for r in rep["agents"]] == ["c", "b", "a"]
    assert a["c"]["p_top"] > 0.99 and a["c"]["rank_interval"] == [1, 1]


def test_low_reliability_is_suppressed() -> None:
    groups = {"a": [70.0, 90.0], "b": [85.0, 95.0] * 30, "c": [60.0, 80.0], "d": [75.0, 85.0] * 5}
    rep = rank_agents(groups, reliability_threshold=0.9)
    supp = {r["agent_id"]: r for r in rep["agents"]}
    assert all(r["rank"] is None and r["reason"] == "not enough evidence" for r in rep["agents"]
               if r["reliability"] < 0.9)  # fmt: skip
    assert supp["b"]["reliability"] > 0.9 > supp["a"]["reliability"]
    assert (supp["b"]["rank"], supp["d"]["rank"], supp["a"]["rank"]) == (1, 2, None)


def test_evaluator_effects_recovered() -> None:
    panel = simulate_panel(30, 5, seed=3, noise_sd=3.0)
    got = evaluator_effects([(r["agent_id"], r["evaluator"], r["score"]) for r in panel["rows"]])
    for e, b in panel["severity"].items():
        assert got[e] == pytest.approx(b, abs=1.0)


def test_shrunk_ranking_recovers_true_order_better_than_raw_means() -> None:
    """Over 30 independent panels, Spearman(truth, shrunk) beats Spearman(truth, raw means) in most of them."""
    gains = []
    for seed in range(30):
        panel = simulate_panel(seed=seed)
        raw = group_scores(panel["rows"], adjust_evaluators=False)
        rep = rank_agents(group_scores(panel["rows"]), draws=200)
        agents = [r["agent_id"] for r in rep["agents"]]
        truth = [panel["levels"][a] for a in agents]
        shrunk = [r["shrunk_mean"] for r in rep["agents"]]
        raw_means = [float(np.mean(raw[a])) for a in agents]
        gains.append(spearmanr(shrunk, truth).statistic - spearmanr(raw_means, truth).statistic)
    gains = np.array(gains)
    # a sign test: 22 or more wins of 30 has probability 0.008 if both were equally good
    assert (gains > 0).sum() >= 22 and gains.mean() > 0


def test_regression_to_the_mean_of_the_issue_example() -> None:
    """A went 68 -> 82, B 98 -> 90 on few evaluations among a panel around 85: regression explains B's fall."""
    rng = np.random.default_rng(0)
    prev = {f"x{i}": list(85 + rng.normal(0, 3) + rng.normal(0, 10, 12)) for i in range(30)}
    cur = {f"x{i}": list(85 + rng.normal(0, 10, 12)) for i in range(30)}
    prev["A"], cur["A"] = [68.0, 66.0, 70.0], [82.0, 80.0, 84.0]
    prev["B"], cur["B"] = [98.0, 97.0, 99.0], [90.0, 89.0, 91.0]
    ch = {c["agent_id"]: c for c in regression_to_mean(prev, cur)}
    assert ch["B"]["expected_change"] < 0 < ch["A"]["expected_change"]  # regression pulls both to the middle
    assert ch["B"]["real_change"] is None  # a fall from 98 on 3 evaluations is what regression alone gives
    assert abs(ch["A"]["beyond_regression"]) < abs(ch["A"]["change"])


def test_exemption_rule_and_fallback() -> None:
    p = QualityParameters(exemption_last_n=5, exemption_threshold=85)
    good = [{"agent_id": "A", "evaluation_id": f"e{i}", "evaluated_at": f"2026-11-0{i}", "score": 95 + i % 2,
             "critical_score": 100.0} for i in range(1, 6)]  # fmt: skip
    assert exemption(good, p)["A"]["exempt"]
    bad = [*good, {"agent_id": "A", "evaluation_id": "e9", "evaluated_at": "2026-11-09", "score": 96,
                   "critical_score": 50.0}]  # fmt: skip
    assert exemption(bad, p)["A"]["exempt"] is False  # a later critical failure ends the exemption by itself
    assert exemption(bad, p)["A"]["reason"] == "critical failure"


def test_ewma_and_cusum_by_hand() -> None:
    e = ewma_chart([1.0, 1.0], sigma=1.0, lam=0.5, width=3.0)
    assert e["ewma"] == pytest.approx([0.5, 0.75])
    assert e["limit"][0] == pytest.approx(3 * np.sqrt(0.5 / 1.5 * (1 - 0.25)))
    c = cusum_chart([1.0, 1.0, -3.0], sigma=1.0, k=0.5, h=4.0)
    assert c["upper"] == [0.5, 1.0, 0.0] and c["lower"] == [0.0, 0.0, 2.5]
    assert cusum_chart([2.0] * 4, 1.0)["signals"] == [2, 3]


def test_drift_finds_the_strict_evaluator() -> None:
    panel = simulate_panel(20, 4, seed=5, severity_sd=0.0, noise_sd=4.0)
    rows = [dict(r, evaluated_at=f"{i:05d}", score=r["score"] - (15 if r["evaluator"] == "qa02" else 0))
            for i, r in enumerate(panel["rows"])]  # fmt: skip
    drift = evaluator_drift(rows)
    assert min(drift, key=lambda e: drift[e]["bias"]) == "qa02"
    assert drift["qa02"]["cusum"]["signals"]


def test_hotline_evaluators_differ_as_the_generator_says() -> None:
    """One simulated hotline day: the estimated evaluator effects put the lenient evaluator (qa_zhang, +5% of the
    judgement items) on top and the strict one (qa_li, -6%) at the bottom, as EVALUATOR_SEVERITY declares."""
    from datetime import date
    from pathlib import Path

    from callops.quality.forms import load_form, score_rows
    from callops.sim.quality import EVALUATOR_SEVERITY
    from callops.sim.runner import run_scenario
    from callops.sim.scenario import load_scenario

    scenario = load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / "provincial_hotline.yaml")
    tables = run_scenario(scenario, 1, seed=5, start_date=date(2026, 11, 3))
    run = score_rows(load_form(), tables["qa_evaluations"].to_pylist())
    assert not run.rejects
    effects = evaluator_effects([(r["agent_id"], r["evaluator"], r["score"]) for r in run.scored])
    declared = dict(zip(scenario.quality.evaluators, EVALUATOR_SEVERITY, strict=False))
    assert max(effects, key=effects.get) == max(declared, key=declared.get) == "qa_zhang"
    assert min(effects, key=effects.get) == min(declared, key=declared.get) == "qa_li"
