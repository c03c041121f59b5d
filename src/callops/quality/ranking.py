"""Reliable agent rankings: empirical-Bayes shrunk means with posterior and rank intervals.

Model (normal–normal): an evaluation score of agent *i* is ``y_ij = θ_i + e_ij`` with ``e_ij ~ N(0, σ²)`` and
``θ_i ~ N(μ, τ²)``. The variance components are estimated from the data by the one-way ANOVA (method of moments)
estimator for unbalanced groups::

    σ² = MSW = Σ_i Σ_j (y_ij - ȳ_i)² / (N - k)
    τ² = max(0, (MSB - MSW) / n₀),   n₀ = (N - Σ n_i² / N) / (k - 1)
    μ  = Σ w_i ȳ_i / Σ w_i,          w_i = 1 / (τ² + σ² / n_i)

Each agent then gets the reliability ``λ_i = τ² / (τ² + σ²/n_i)``, the shrunk mean ``μ + λ_i (ȳ_i - μ)`` and the
posterior variance ``λ_i σ² / n_i``. Rank intervals and ``p_top`` (probability of being in the top K) come from
seeded draws of the posteriors. An agent whose reliability is below the tenant threshold keeps their numbers but
gets no rank ("not enough evidence").

Design weights (Hájek). When every routine evaluation of an agent carries the design weight ``w_j = 1/π_j`` of the
sampling plan that drew its contact, the agent's mean is the Hájek estimate ``ȳ_i = Σ w_j y_ij / Σ w_j`` (the mean
over all the agent's contacts, not over the sample's strata mix), and its sampling variance under the model is
``σ² Σ w_j² / (Σ w_j)² = σ² / n_eff`` with Kish's effective size ``n_eff = (Σ w_j)² / Σ w_j²``; ``n_eff`` then
replaces ``n_i`` in the reliability, the shrinkage and the posterior. Agents with any unweighted evaluation keep
equal weights (``n_eff = n``). σ² and τ² are still estimated from the unweighted one-way ANOVA.

Before the model, each evaluator's severity can be removed: the additive agent + evaluator model is fitted by
alternating means, and the evaluator effects (centred on zero) are subtracted from their scores.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm, spearmanr

from callops.errors import CallopsError


class RankingError(CallopsError):
    """Too little data to rank."""


@dataclass(frozen=True)
class Components:
    """Estimated variance components of the normal–normal model."""

    mu: float
    tau2: float
    sigma2: float
    agents: int
    evaluations: int


def evaluator_effects(rows: Sequence[tuple[str, str, float]], iterations: int = 50) -> dict[str, float]:
    """Each evaluator's additive severity (centred on 0) from ``(agent, evaluator, score)`` rows."""
    agents = sorted({a for a, _, _ in rows})
    evals = sorted({e for _, e, _ in rows})
    ai = {a: i for i, a in enumerate(agents)}
    ei = {e: i for i, e in enumerate(evals)}
    a_idx = np.array([ai[a] for a, _, _ in rows])
    e_idx = np.array([ei[e] for _, e, _ in rows])
    y = np.array([s for _, _, s in rows], dtype=float)
    alpha, beta = np.zeros(len(agents)), np.zeros(len(evals))
    a_n, e_n = np.bincount(a_idx, minlength=len(agents)), np.bincount(e_idx, minlength=len(evals))
    for _ in range(iterations):
        alpha = np.bincount(a_idx, y - beta[e_idx], len(agents)) / a_n
        beta = np.bincount(e_idx, y - alpha[a_idx], len(evals)) / e_n
        beta -= np.average(beta, weights=e_n)
    return {e: float(beta[ei[e]]) for e in evals}


def components(groups: Mapping[str, Sequence[float]]) -> Components:
    """The variance components (μ, τ², σ²) of per-agent score lists."""
    ys = [np.asarray(v, dtype=float) for v in groups.values() if len(v)]
    k = len(ys)
    n = np.array([len(v) for v in ys], dtype=float)
    big_n = n.sum()
    if k < 2 or big_n - k < 1:
        raise RankingError("ranking needs at least two agents and one agent with two evaluations")
    means = np.array([v.mean() for v in ys])
    grand = float(np.concatenate(ys).mean())
    msw = float(sum(((v - v.mean()) ** 2).sum() for v in ys) / (big_n - k))
    msb = float((n * (means - grand) ** 2).sum() / (k - 1))
    n0 = (big_n - (n**2).sum() / big_n) / (k - 1)
    tau2 = max(0.0, (msb - msw) / n0)
    w = 1.0 / (tau2 + msw / n) if tau2 > 0 or msw > 0 else np.ones(k)
    mu = float((w * means).sum() / w.sum())
    return Components(float(mu), float(tau2), float(msw), k, int(big_n))


def rank_agents(
    groups: Mapping[str, Sequence[float]],
    *,
    top: int = 5,
    reliability_threshold: float = 0.7,
    level: float = 0.95,
    draws: int = 4000,
    seed: int = 0,
    raw: Mapping[str, Sequence[float]] | None = None,
    weights: Mapping[str, Sequence[float] | None] | None = None,
) -> dict:
    """The ranking report: per agent ``agent_id, n, mean, shrunk_mean, interval, rank, rank_interval, p_top,
    reliability, suppressed``, sorted by shrunk mean (best first), plus the variance components.

    ``groups`` are the scores the model uses (evaluator severity removed); ``raw``, when given, are the scores as
    evaluated: then ``mean`` is the raw mean and ``adjusted_mean`` the one the model shrinks. ``weights``: per
    agent, the design weights of its scores (same order; None = equal weights): the means become Hájek means and
    ``n_effective`` replaces ``n`` (module docstring)."""
    comp = components(groups)
    agents = sorted(a for a, v in groups.items() if len(v))
    n = np.array([len(groups[a]) for a in agents], dtype=float)
    w_of = {a: _weights(groups[a], (weights or {}).get(a)) for a in agents}
    n_eff = np.array([float(w_of[a].sum() ** 2 / (w_of[a] ** 2).sum()) for a in agents])
    mean = np.array([float(np.average(groups[a], weights=w_of[a])) for a in agents])
    weighted = [bool((weights or {}).get(a) is not None) for a in agents]
    if any(weighted):  # μ pools the agents' (possibly weighted) means by their precision
        w_mu = 1.0 / (comp.tau2 + comp.sigma2 / n_eff) if comp.tau2 > 0 or comp.sigma2 > 0 else np.ones(len(agents))
        comp = Components(float((w_mu * mean).sum() / w_mu.sum()), comp.tau2, comp.sigma2, comp.agents,
                          comp.evaluations)  # fmt: skip
    noise = comp.sigma2 / n_eff
    rel = comp.tau2 / (comp.tau2 + noise) if comp.tau2 > 0 else np.zeros(len(agents))
    shrunk = comp.mu + rel * (mean - comp.mu)
    post_var = rel * noise
    z = float(norm.ppf(0.5 + level / 2))
    rng = np.random.default_rng(seed)
    sample = shrunk[None, :] + np.sqrt(post_var)[None, :] * rng.standard_normal((draws, len(agents)))
    # rank 1 = best; ties (zero posterior variance) broken by position, which is irrelevant for continuous draws
    ranks = (-sample).argsort(axis=1).argsort(axis=1) + 1
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    order = np.argsort(-shrunk, kind="stable")
    out = []
    next_rank = 1
    for i in order:
        suppressed = bool(rel[i] < reliability_threshold)
        out.append({
            "agent_id": agents[i], "n": int(n[i]), "shrunk_mean": float(shrunk[i]),
            "n_effective": float(n_eff[i]), "weighted": weighted[i],
            "mean": float(np.average(raw[agents[i]], weights=w_of[agents[i]])) if raw is not None else float(mean[i]),
            "adjusted_mean": float(mean[i]),
            "interval": [float(shrunk[i] - z * np.sqrt(post_var[i])), float(shrunk[i] + z * np.sqrt(post_var[i]))],
            "rank": None if suppressed else next_rank,
            "rank_interval": [int(np.quantile(ranks[:, i], lo_q, method="lower")),
                              int(np.quantile(ranks[:, i], hi_q, method="higher"))],
            "p_top": float((ranks[:, i] <= top).mean()), "reliability": float(rel[i]), "suppressed": suppressed,
            "reason": "not enough evidence" if suppressed else None,
        })  # fmt: skip
        if not suppressed:
            next_rank += 1
    return {"components": comp.__dict__, "top": top, "reliability_threshold": reliability_threshold,
            "level": level, "agents": out}  # fmt: skip


def _weights(scores: Sequence[float], weights: Sequence[float] | None) -> np.ndarray:
    """Positive design weights aligned with ``scores`` (ones when None)."""
    if weights is None:
        return np.ones(len(scores))
    w = np.asarray(weights, dtype=float)
    if w.shape != (len(scores),) or not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise RankingError("design weights must be positive numbers, one per score")
    return w


def rank_stability(
    previous: Mapping[str, Sequence[float]], current: Mapping[str, Sequence[float]], *, sims: int = 400, seed: int = 0
) -> dict:
    """"Are the same people always on top?": Spearman correlation of agent means between two periods, beside
    what the fitted model gives when true levels do not change at all (``expected_if_stable``) and the 95th
    percentile when agents do not differ at all and only sampling noise moves the order (``noise_only_p95``)."""
    common = sorted(set(a for a, v in previous.items() if len(v)) & set(a for a, v in current.items() if len(v)))
    if len(common) < 3:
        raise RankingError("rank stability needs at least three agents evaluated in both periods")
    m1 = np.array([np.mean(previous[a]) for a in common])
    m2 = np.array([np.mean(current[a]) for a in common])
    observed = float(spearmanr(m1, m2).statistic)
    comp = components({a: list(previous[a]) + list(current[a]) for a in common})
    n1 = np.array([len(previous[a]) for a in common], dtype=float)
    n2 = np.array([len(current[a]) for a in common], dtype=float)
    rng = np.random.default_rng(seed)
    stable, null = [], []
    for _ in range(sims):
        theta = comp.mu + np.sqrt(comp.tau2) * rng.standard_normal(len(common))
        e1 = np.sqrt(comp.sigma2 / n1) * rng.standard_normal(len(common))
        e2 = np.sqrt(comp.sigma2 / n2) * rng.standard_normal(len(common))
        stable.append(spearmanr(theta + e1, theta + e2).statistic)
        null.append(spearmanr(e1, e2).statistic)
    return {"agents": len(common), "observed": observed,
            "expected_if_stable": float(np.nanmedian(stable)),
            "noise_only_p95": float(np.nanquantile(null, 0.95)),
            "components": comp.__dict__}  # fmt: skip


def group_weights(rows: Iterable[Mapping]) -> dict[str, list[float] | None]:
    """Per agent, the design weights of the scores :func:`group_scores` lists (same rows, same order), read from
    each row's ``plan`` (``{"weight": w}``, recorded with the draw); None for an agent with any score outside a
    plan or without a weight (then the agent keeps equal weights)."""
    out: dict[str, list[float] | None] = {}
    for r in rows:
        if not (r.get("agent_id") and r.get("score") is not None):
            continue
        a = str(r["agent_id"])
        w = (r.get("plan") or {}).get("weight")
        if a in out and out[a] is None:
            continue
        out[a] = None if w is None or not w > 0 else [*(out.get(a) or []), float(w)]
    return out


def group_scores(rows: Iterable[Mapping], *, adjust_evaluators: bool = True) -> dict[str, list[float]]:
    """Per-agent score lists from scored evaluations (``agent_id``, ``evaluator``, ``score``), with each
    evaluator's severity removed when ``adjust_evaluators``."""
    triples = [(str(r["agent_id"]), str(r.get("evaluator") or ""), float(r["score"])) for r in rows
               if r.get("agent_id") and r.get("score") is not None]  # fmt: skip
    effects = evaluator_effects(triples) if adjust_evaluators and triples else {}
    groups: dict[str, list[float]] = defaultdict(list)
    for a, e, s in triples:
        groups[a].append(s - effects.get(e, 0.0))
    return dict(groups)


@dataclass
class DesignGroups:
    """What the ranking model uses per agent once drawn and ad-hoc evaluations are told apart
    (:func:`design_groups`): ``groups`` (evaluator severity removed), ``raw`` (as evaluated), ``weights`` (the
    design weights, or None for an unweighted agent), ``adhoc`` (the evaluations left out of a weighted agent's
    score, reported beside it) and ``contacts`` (per weighted agent, the drawn contacts in ``groups``' order)."""

    groups: dict[str, list[float]]
    raw: dict[str, list[float]]
    weights: dict[str, list[float] | None]
    adhoc: dict[str, dict]
    contacts: dict[str, list[str]]


def _is_drawn(r: Mapping, period: str | None) -> bool:
    """True for an evaluation of a contact in a recorded routine draw (of ``period`` when given) with a weight."""
    plan = r.get("plan") or {}
    w = plan.get("weight")
    return (plan.get("stream") == "routine" and w is not None and w > 0
            and (period is None or plan.get("period") == period))  # fmt: skip


def design_groups(rows: Iterable[Mapping], period: str | None = None, *, adjust_evaluators: bool = True
                  ) -> DesignGroups:  # fmt: skip
    """Split scored routine evaluations (``agent_id``, ``evaluator``, ``score``, ``contact_id``, ``plan``) into
    what the ranking weights and what it reports separately.

    The rule for an agent with a mix of drawn and ad-hoc evaluations: the evaluations of contacts in the recorded
    routine draw of ``period`` are a probability sample of the agent's contacts, so they alone make the agent's
    score — a Hájek mean with their design weights; the others (evaluated outside the draw, or drawn for another
    month) were chosen by nobody knows what rule, so mixing them in with any weight would bias the estimate of the
    mean over the agent's contacts: they are reported beside the score (``adhoc``: their count and mean) and left
    out of it. Several evaluations of one drawn contact are averaged into that contact's one score (the contact,
    not the evaluation, is the sampled unit: counting it twice would double its weight). An agent with no drawn
    evaluation keeps all its evaluations, with equal weights, as before. Evaluator severities are estimated on
    all the rows (an evaluator's severity does not depend on why the contact was picked)."""
    kept = [r for r in rows if r.get("agent_id") and r.get("score") is not None]
    triples = [(str(r["agent_id"]), str(r.get("evaluator") or ""), float(r["score"])) for r in kept]
    effects = evaluator_effects(triples) if adjust_evaluators and triples else {}
    drawn: dict[str, dict[str, list[tuple[float, float, float]]]] = defaultdict(dict)
    other: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for r, (a, e, s) in zip(kept, triples, strict=True):
        if _is_drawn(r, period):
            cid = str(r.get("contact_id"))
            drawn[a].setdefault(cid, []).append((s - effects.get(e, 0.0), s, float(r["plan"]["weight"])))
        else:
            other[a].append((s - effects.get(e, 0.0), s))
    out = DesignGroups({}, {}, {}, {}, {})
    for a in sorted(set(drawn) | set(other)):
        if a in drawn:
            cids = sorted(drawn[a])
            out.contacts[a] = cids
            out.groups[a] = [float(np.mean([x[0] for x in drawn[a][c]])) for c in cids]
            out.raw[a] = [float(np.mean([x[1] for x in drawn[a][c]])) for c in cids]
            out.weights[a] = [drawn[a][c][0][2] for c in cids]
            if other.get(a):
                out.adhoc[a] = {"n": len(other[a]), "mean": float(np.mean([x[1] for x in other[a]])),
                                "adjusted_mean": float(np.mean([x[0] for x in other[a]]))}  # fmt: skip
        else:
            out.groups[a] = [x[0] for x in other[a]]
            out.raw[a] = [x[1] for x in other[a]]
            out.weights[a] = None
    return out
