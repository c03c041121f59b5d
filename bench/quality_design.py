"""Benchmark: design weights in the QA ranking. Agents' contacts fall in strata of different quality and dispersion
(complaints and other risk contacts score lower and vary more); a seeded Neyman plan over-samples the risky strata,
as ``callops qa plan --allocation neyman`` does. Baseline = the plain mean of the drawn contacts, in the same run.

    nice -n 10 .venv/bin/python bench/quality_design.py [--agents 200] [--reps 20]

The truth is each agent's mean over all their contacts (the finite population the plan draws from); the ranking
never reads it. Printed: bias and RMSE of the Hájek and plain means against it, Spearman of the shrunk rankings
with the true order, and the time of the drawn/ad-hoc split and the ranking for 600 agents.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.stats import spearmanr

from callops.quality.ranking import design_groups, rank_agents
from callops.quality.sampling import plan_agent

# stratum: (share of contacts, shift from the agent's level, SD of contact scores)
STRATA = {"voice": (0.55, 0.0, 6.0), "chat": (0.25, -3.0, 8.0), "complaint": (0.20, -18.0, 16.0)}


def _population(rng: np.random.Generator, agent: str, level: float, size: int) -> list[dict]:
    """One agent's contacts with their true scores (risk = a complaint, so the plan's ``risk`` stratum finds it)."""
    kinds = rng.choice(list(STRATA), size=size, p=[v[0] for v in STRATA.values()])
    out = []
    for j, k in enumerate(kinds):
        _, shift, sd = STRATA[k]
        out.append({"contact_id": f"{agent}-{j:04d}", "agent_id": agent, "channel": "chat" if k == "chat" else "voice",
                    "business_type": "complaint" if k == "complaint" else "billing",
                    "true": float(np.clip(level + shift + rng.normal(0, sd), 0, 100))})  # fmt: skip
    return out


def one_run(rng: np.random.Generator, agents: int, seed: int) -> dict:
    """Draw every agent's Neyman plan once, evaluate the drawn contacts (true score + evaluator noise), rank."""
    levels = rng.normal(82, 5, agents)
    rows, truth = [], {}
    for i, level in enumerate(levels):
        a = f"A{i:04d}"
        pop = _population(rng, a, float(level), int(rng.integers(300, 900)))
        truth[a] = float(np.mean([c["true"] for c in pop]))
        sds = {"channel=voice|risk=routine": 6.0, "channel=chat|risk=routine": 8.0,
               "channel=voice|risk=risk": 16.0, "channel=chat|risk=risk": 16.0}  # fmt: skip
        plan = plan_agent(a, pop, sd=10.0, margin=4.0, strata_by=("channel", "risk"), allocation="neyman",
                          stratum_sds=sds, seed=seed, period="2026-11", risk_per_agent=0)  # fmt: skip
        true_of = {c["contact_id"]: c["true"] for c in pop}
        for d in plan.draw:
            rows.append({"agent_id": a, "contact_id": d["contact_id"], "evaluator": "",
                         "score": float(np.clip(true_of[d["contact_id"]] + rng.normal(0, 4), 0, 100)),
                         "plan": {"period": "2026-11", "stream": "routine", "weight": d["weight"]}})  # fmt: skip
    split = design_groups(rows, "2026-11", adjust_evaluators=False)
    hajek = {a: float(np.average(split.raw[a], weights=split.weights[a])) for a in split.raw}
    plain = {a: float(np.mean(split.raw[a])) for a in split.raw}
    weighted = rank_agents(split.groups, weights=split.weights, draws=200)
    unweighted = rank_agents(split.groups, draws=200)
    names = sorted(truth)
    t = np.array([truth[a] for a in names])
    return {
        "bias_hajek": float(np.mean([hajek[a] - truth[a] for a in names])),
        "bias_plain": float(np.mean([plain[a] - truth[a] for a in names])),
        "mse_hajek": float(np.mean([(hajek[a] - truth[a]) ** 2 for a in names])),
        "mse_plain": float(np.mean([(plain[a] - truth[a]) ** 2 for a in names])),
        "rho_weighted": float(spearmanr([next(x["shrunk_mean"] for x in weighted["agents"] if x["agent_id"] == a)
                                         for a in names], t).statistic),
        "rho_unweighted": float(spearmanr([next(x["shrunk_mean"] for x in unweighted["agents"] if x["agent_id"] == a)
                                           for a in names], t).statistic),
        "n": float(np.mean([len(v) for v in split.raw.values()])),
        "n_eff": float(np.mean([x["n_effective"] for x in weighted["agents"]])),
    }  # fmt: skip


def main() -> None:
    """Print the figures of docs/benchmarks.md "Design weights in the QA ranking"."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--agents", type=int, default=200)
    ap.add_argument("--reps", type=int, default=20)
    args = ap.parse_args()
    runs = [one_run(np.random.default_rng(1000 + r), args.agents, r) for r in range(args.reps)]
    m = {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}
    better = sum(r["rho_weighted"] > r["rho_unweighted"] for r in runs)
    print(f"{args.reps} runs x {args.agents} agents, Neyman plan over channel x risk, margin 4, mean n {m['n']:.1f}"
          f" drawn contacts per agent (Kish n_eff {m['n_eff']:.1f})")
    print(f"bias against the agent's mean over all contacts: Hajek {m['bias_hajek']:+.2f}, "
          f"plain {m['bias_plain']:+.2f}")
    print(f"RMSE: Hajek {m['mse_hajek'] ** 0.5:.2f}, plain {m['mse_plain'] ** 0.5:.2f}")
    print(f"Spearman of the shrunk ranking with the true order: weighted {m['rho_weighted']:.3f}, unweighted "
          f"{m['rho_unweighted']:.3f} (weighted better in {better}/{args.reps})")
    # time of the split and the ranking at the demo's size: 600 agents, a Neyman draw each, plus ad-hoc rows
    rng = np.random.default_rng(7)
    rows = []
    for i in range(600):
        for j in range(16):
            rows.append({"agent_id": f"A{i:04d}", "contact_id": f"A{i}-{j}", "evaluator": f"qa{j % 4}",
                         "score": float(rng.normal(82, 8)),
                         "plan": {"period": "2026-11", "stream": "routine", "weight": float(rng.uniform(2, 30))}})
        for j in range(5):
            rows.append({"agent_id": f"A{i:04d}", "contact_id": f"X{i}-{j}", "evaluator": f"qa{j % 4}",
                         "score": float(rng.normal(82, 8)), "plan": None})  # fmt: skip
    t0 = time.perf_counter()
    split = design_groups(rows, "2026-11")
    t1 = time.perf_counter()
    rank_agents(split.groups, weights=split.weights, raw=split.raw, draws=4000)
    t2 = time.perf_counter()
    print(f"600 agents, {len(rows)} evaluations (9,600 drawn, 3,000 ad-hoc): split with evaluator model "
          f"{t1 - t0:.2f} s, weighted ranking with 4,000 posterior draws {t2 - t1:.2f} s")


if __name__ == "__main__":
    main()
