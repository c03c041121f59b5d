"""Design weights in the ranking: Hájek means against brute force (every stratified sample enumerated), Kish's
effective size in the shrinkage, and weights read from the recorded draw."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callops.quality.ranking import group_weights, rank_agents


def _population() -> dict[str, list[float]]:
    # one agent's contacts in two strata of very different quality and size (chat is rare and poor)
    return {"voice": [90.0, 85.0, 88.0, 92.0, 86.0, 91.0], "chat": [40.0, 55.0, 50.0]}


def test_hajek_mean_is_unbiased_by_brute_force_over_every_stratified_sample() -> None:
    pop = _population()
    truth = float(np.mean(pop["voice"] + pop["chat"]))
    n_h = {"voice": 2, "chat": 2}  # chat over-sampled: the plain mean is biased downwards
    w_h = {h: len(v) / n_h[h] for h, v in pop.items()}  # 1 / π_h
    hajek, plain = [], []
    other = {"b": [70.0, 71.0, 69.0, 72.0], "c": [60.0, 80.0, 75.0]}  # a panel so the model can be fitted
    for sv in itertools.combinations(pop["voice"], n_h["voice"]):
        for sc in itertools.combinations(pop["chat"], n_h["chat"]):
            scores = list(sv) + list(sc)
            weights = [w_h["voice"]] * len(sv) + [w_h["chat"]] * len(sc)
            rep = rank_agents({"a": scores, **other}, weights={"a": weights}, draws=10, raw={"a": scores, **other})
            a = next(x for x in rep["agents"] if x["agent_id"] == "a")
            brute = sum(w * s for w, s in zip(weights, scores, strict=True)) / sum(weights)
            assert a["adjusted_mean"] == pytest.approx(brute) and a["mean"] == pytest.approx(brute)
            assert a["n_effective"] == pytest.approx(sum(weights) ** 2 / sum(w * w for w in weights))
            assert a["weighted"] is True
            hajek.append(brute)
            plain.append(float(np.mean(scores)))
    # stratified with equal n_h per stratum: the Hájek mean is exactly unbiased over all samples; the plain mean not
    assert float(np.mean(hajek)) == pytest.approx(truth, abs=1e-9)
    assert float(np.mean(plain)) < truth - 5


def test_shrinkage_uses_the_effective_size() -> None:
    groups = {"a": [80.0, 60.0, 90.0], "b": [70.0, 72.0, 68.0, 71.0], "c": [50.0, 65.0]}
    weights = {"a": [1.0, 4.0, 1.0], "b": None, "c": None}
    rep = rank_agents(groups, weights=weights, draws=10)
    comp = rep["components"]
    sigma2, tau2 = comp["sigma2"], comp["tau2"]
    assert tau2 > 0
    w = np.array(weights["a"])
    n_eff = {"a": w.sum() ** 2 / (w**2).sum(), "b": 4.0, "c": 2.0}
    means = {"a": float((w * groups["a"]).sum() / w.sum()), "b": 70.25, "c": 57.5}
    prec = {k: 1 / (tau2 + sigma2 / n_eff[k]) for k in groups}
    mu = sum(prec[k] * means[k] for k in groups) / sum(prec.values())
    assert comp["mu"] == pytest.approx(mu)
    for x in rep["agents"]:
        k = x["agent_id"]
        lam = tau2 / (tau2 + sigma2 / n_eff[k])
        assert x["reliability"] == pytest.approx(lam)
        assert x["shrunk_mean"] == pytest.approx(mu + lam * (means[k] - mu))
        half = 1.959963984540054 * np.sqrt(lam * sigma2 / n_eff[k])
        assert x["interval"] == pytest.approx([x["shrunk_mean"] - half, x["shrunk_mean"] + half])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 100), min_size=2, max_size=8), st.floats(0.1, 50))
def test_equal_weights_change_nothing(scores: list[float], scale: float) -> None:
    groups = {"a": scores, "b": [10.0, 30.0, 20.0], "c": [70.0, 90.0]}
    plain = rank_agents(groups, draws=50)
    same = rank_agents(groups, weights={"a": [scale] * len(scores)}, draws=50)
    for x, y in zip(plain["agents"], same["agents"], strict=True):
        assert x["agent_id"] == y["agent_id"]
        assert x["shrunk_mean"] == pytest.approx(y["shrunk_mean"], abs=1e-9)
        assert x["interval"] == pytest.approx(y["interval"], abs=1e-9)


def test_bad_weights_are_refused() -> None:
    from callops.quality.ranking import RankingError

    with pytest.raises(RankingError, match="positive"):
        rank_agents({"a": [1.0, 2.0], "b": [3.0, 4.0]}, weights={"a": [1.0, 0.0]})


def test_group_weights_reads_the_plan_and_falls_back_to_equal_weights() -> None:
    rows = [
        {"agent_id": "a", "score": 80.0, "plan": {"stream": "routine", "weight": 3.0}},
        {"agent_id": "a", "score": 70.0, "plan": {"stream": "routine", "weight": 1.5}},
        {"agent_id": "b", "score": 60.0, "plan": {"stream": "routine", "weight": 2.0}},
        {"agent_id": "b", "score": 65.0, "plan": None},  # evaluated outside any plan: b keeps equal weights
        {"agent_id": "c", "score": None, "plan": {"weight": 9.0}},  # not scored: not in the groups either
    ]
    assert group_weights(rows) == {"a": [3.0, 1.5], "b": None}
