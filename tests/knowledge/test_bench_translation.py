"""The pieces of bench/knowledge_translation.py (issue 15, ATEC) on hand-worked cases."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from scipy import sparse

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _bench() -> ModuleType:
    sys.path.insert(0, str(BENCH))  # it imports knowledge_rerank next to it
    try:
        spec = importlib.util.spec_from_file_location("knowledge_translation", BENCH / "knowledge_translation.py")
        assert spec and spec.loader
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod
    finally:
        sys.path.remove(str(BENCH))


def test_ibm1_one_em_iteration_by_hand() -> None:
    """Characters 0, 1, 2 and NULL (row 3), t starts at 1/3. Pair A: [0, 1] -> [0, 2]; pair B: [0] -> [0].

    A: each target word has 3 sources at 1/3: each link gets 1/3. B: target 0, sources {0, NULL}: 1/2 each.
    Counts: row 0 = {0: 1/3 + 1/2, 2: 1/3} -> 5/7, 2/7; row 1 = {0: 1/3, 2: 1/3} -> 1/2, 1/2; NULL as row 0.
    Character 2 is never a source: it translates to itself.
    """
    pairs = [(np.array([0, 1]), np.array([0, 2])), (np.array([0]), np.array([0]))]
    t = _bench().ibm1(pairs, 3, iters=1)
    want = np.array([[5 / 7, 0, 2 / 7], [1 / 2, 0, 1 / 2], [0, 0, 1], [5 / 7, 0, 2 / 7]])
    assert np.allclose(t, want)


def test_ibm1_learns_a_substitution() -> None:
    """贝 and 呗 (0, 1) swap in every pair, 2 and 3 stay: after a few iterations P(1 | 0) dominates row 0."""
    pairs = [(np.array([0, 2]), np.array([1, 2])), (np.array([1, 3]), np.array([0, 3])),
             (np.array([0, 3]), np.array([1, 3])), (np.array([2, 3]), np.array([2, 3]))]
    t = _bench().ibm1(pairs, 4, iters=10)
    assert t[0, 1] > 0.9 and t[1, 0] > 0.9
    assert np.allclose(t.sum(axis=1), 1.0)


def test_tlm_score_is_the_formula() -> None:
    """One phrasing "ab" (ids 0, 1), query "ac" (0, 2), μ 2, β 0.5, P(w|C) and P(w|u) given; computed by hand."""
    kt = _bench()
    tt = np.array([[0.6, 0.1, 0.3], [0.2, 0.7, 0.1], [0.0, 0.0, 1.0]])  # tt[u, w] = P(w | u)
    pc = np.array([0.5, 0.3, 0.2])
    q, phr_len, mu, beta = [0, 2], 2.0, 2.0, 0.5
    pml = {0: 0.5, 1: 0.5}
    lam = phr_len / (phr_len + mu)
    want = 0.0
    for w in q:
        ptr = sum(tt[u, w] * pml[u] for u in pml)
        want += math.log(lam * ((1 - beta) * pml.get(w, 0.0) + beta * ptr) + (1 - lam) * pc[w])
    ml = np.array([[0.5, 0.0]])  # P_ml of the query's characters in the phrasing
    tr = np.array([[0.5 * 0.6 + 0.5 * 0.2, 0.5 * 0.3 + 0.5 * 0.1]])
    got = kt.tlm_scores(pc[q], [(ml, tr, np.array([phr_len]))], mu, beta)
    assert got[0] == pytest.approx(want / 2)


def test_conditional_logit_matches_a_grid_search() -> None:
    """One feature, three queries of three candidates (and one without its answer, ignored): the fitted weight is
    the minimiser of -Σ log softmax + l2/2 w², found here by brute force on a fine grid."""
    x = np.array([[1.0], [0.0], [0.5], [0.2], [0.9], [0.0], [0.3], [0.1], [0.0], [1.0], [0.0], [0.0]])
    y = np.array([1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0])
    sizes = np.array([3, 3, 3, 3])
    l2 = 1.0

    def loss(w: float) -> float:
        total = 0.5 * l2 * w * w
        for q in range(3):
            s = [w * v for v in x[3 * q : 3 * q + 3, 0]]
            total -= s[int(np.argmax(y[3 * q : 3 * q + 3]))] - math.log(sum(math.exp(v) for v in s))
        return total

    grid = np.linspace(-5, 5, 100001)
    best = grid[int(np.argmin([loss(w) for w in grid]))]
    got = _bench().clogit_fit(sparse.csr_matrix(x), y, sizes, l2)
    assert got[0] == pytest.approx(best, abs=1e-3)


def test_rank_features() -> None:
    """Score, gap to the best and log(1 + rank) (rank 0 = best)."""
    f = _bench().rank_features("tlm", np.array([-2.0, -1.0, -3.0]))
    assert f[1] == {"tlm": -1.0, "tlm_gap": 0.0, "tlm_logrank": 0.0}
    assert f[0]["tlm_gap"] == -1.0 and f[0]["tlm_logrank"] == pytest.approx(math.log(2))
    assert f[2]["tlm_logrank"] == pytest.approx(math.log(3))
