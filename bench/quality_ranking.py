"""Benchmark: how much better the empirical-Bayes ranking recovers true agent levels than raw means, and how long
a ranking of a large center takes. Baseline = raw mean per agent, in the same run.

    nice -n 10 .venv/bin/python bench/quality_ranking.py [--panels 50]

Panels come from ``callops.sim.quality.simulate_panel`` (truth known to the generator, never read by the model).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.stats import spearmanr

from callops.quality.ranking import group_scores, rank_agents
from callops.sim.quality import simulate_panel


def main() -> None:
    """Print Spearman and top-5 precision of shrunk vs raw means, and ranking time for 600 agents."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--panels", type=int, default=50)
    args = ap.parse_args()
    sp_raw, sp_eb, top_raw, top_eb, mse_raw, mse_eb = [], [], [], [], [], []
    for seed in range(args.panels):
        panel = simulate_panel(seed=seed)
        raw = group_scores(panel["rows"], adjust_evaluators=False)
        rep = rank_agents(group_scores(panel["rows"]), draws=500)
        agents = [r["agent_id"] for r in rep["agents"]]
        truth = np.array([panel["levels"][a] for a in agents])
        eb = np.array([r["shrunk_mean"] for r in rep["agents"]])
        rm = np.array([np.mean(raw[a]) for a in agents])
        best = set(np.argsort(-truth)[:5])
        sp_raw.append(spearmanr(rm, truth).statistic)
        sp_eb.append(spearmanr(eb, truth).statistic)
        top_raw.append(len(best & set(np.argsort(-rm)[:5])) / 5)
        top_eb.append(len(best & set(np.argsort(-eb)[:5])) / 5)
        mse_raw.append(float(((rm - truth) ** 2).mean()))
        mse_eb.append(float(((eb - truth) ** 2).mean()))
    print(f"panels: {args.panels} x 40 agents, 1-40 evaluations each, 5 evaluators")
    print(f"Spearman with true levels: raw {np.mean(sp_raw):.3f}, shrunk {np.mean(sp_eb):.3f} "
          f"(shrunk better in {sum(e > r for e, r in zip(sp_eb, sp_raw, strict=True))}/{args.panels})")
    print(f"top-5 precision: raw {np.mean(top_raw):.3f}, shrunk {np.mean(top_eb):.3f}")
    print(f"mean squared error of agent levels: raw {np.mean(mse_raw):.2f}, shrunk {np.mean(mse_eb):.2f} "
          f"(ratio {np.mean(mse_eb) / np.mean(mse_raw):.2f})")
    big = simulate_panel(600, 30, seed=1)
    t0 = time.perf_counter()
    groups = group_scores(big["rows"])
    t1 = time.perf_counter()
    rank_agents(groups, draws=4000)
    t2 = time.perf_counter()
    print(f"600 agents, {len(big['rows'])} evaluations: evaluator model {t1 - t0:.2f} s, ranking with 4,000 "
          f"posterior draws {t2 - t1:.2f} s")


if __name__ == "__main__":
    main()
