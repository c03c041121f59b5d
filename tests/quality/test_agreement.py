"""Agreement statistics against the published worked examples, a brute-force alpha and statsmodels' kappas."""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callops.quality.agreement import (
    AgreementError,
    agreement_report,
    cohen_kappa,
    fleiss_kappa,
    fleiss_kappa_counts,
    icc_all,
    krippendorff_alpha,
)

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the example with missing data:
# 4 observers, 12 units ('.' = no rating; unit 12 has one value and is not pairable).
K2011 = {
    "A": "1 2 3 3 2 1 4 1 2 . . .",
    "B": "1 2 3 3 2 2 4 1 2 5 . 3",
    "C": ". 3 3 3 2 3 4 2 2 5 1 .",
    "D": "1 2 3 3 2 4 4 1 2 5 1 .",
}
K2011_ALPHA = {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849, "ratio": 0.797}

# Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges, and the ICCs they publish.
SF1979 = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]])
SF1979_ICC = {"icc_1_1": 0.17, "icc_2_1": 0.29, "icc_3_1": 0.71, "icc_1_k": 0.44, "icc_2_k": 0.62, "icc_3_k": 0.91}

# Fleiss (1971), Table 1: psychiatric diagnoses (1-5) of 30 patients by 6 raters each; kappa = .430
# (observed agreement .556, chance .220).
F1971 = [
    (4, 4, 4, 4, 4, 4), (2, 2, 2, 5, 5, 5), (2, 3, 3, 3, 3, 5), (5, 5, 5, 5, 5, 5), (2, 2, 2, 4, 4, 4),
    (1, 1, 3, 3, 3, 3), (3, 3, 3, 3, 5, 5), (1, 1, 3, 3, 3, 4), (1, 1, 4, 4, 4, 4), (5, 5, 5, 5, 5, 5),
    (1, 4, 4, 4, 4, 4), (1, 2, 4, 4, 4, 4), (2, 2, 2, 3, 3, 3), (1, 4, 4, 4, 4, 4), (2, 2, 4, 4, 4, 5),
    (3, 3, 3, 3, 3, 5), (1, 1, 1, 4, 5, 5), (1, 1, 1, 1, 1, 2), (2, 2, 4, 4, 4, 4), (1, 3, 3, 5, 5, 5),
    (5, 5, 5, 5, 5, 5), (2, 4, 4, 4, 4, 4), (2, 2, 4, 5, 5, 5), (1, 1, 4, 4, 4, 4), (1, 4, 4, 4, 4, 5),
    (2, 2, 2, 2, 2, 4), (1, 1, 1, 1, 5, 5), (2, 2, 4, 4, 4, 4), (1, 3, 3, 3, 3, 3), (5, 5, 5, 5, 5, 5),
]  # fmt: skip


def k2011_ratings() -> list[tuple[int, str, int]]:
    return [(u, r, int(v)) for r, row in K2011.items() for u, v in enumerate(row.split()) if v != "."]


@pytest.mark.parametrize("level", list(K2011_ALPHA))
def test_krippendorff_2011_example(level: str) -> None:
    assert round(krippendorff_alpha(k2011_ratings(), level), 3) == K2011_ALPHA[level]


def test_shrout_fleiss_1979_table_2() -> None:
    got = icc_all(SF1979)
    assert {k: round(v, 2) for k, v in got.items()} == SF1979_ICC


def test_fleiss_1971_example() -> None:
    ratings = [(u, j, v) for u, row in enumerate(F1971) for j, v in enumerate(row)]
    assert round(fleiss_kappa(ratings), 3) == 0.430


def test_cohen_kappa_textbook() -> None:
    # 50 proposals: both yes 20, A yes/B no 5, A no/B yes 10, both no 15 -> po = .70, pe = .50, kappa = .40
    a = ["y"] * 25 + ["n"] * 25
    b = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)


def brute_alpha(ratings: list[tuple[int, int, float]], level: str) -> float:
    """Alpha from its definition over pairs of values (no coincidence matrix): 1 - D_o / D_e."""
    units: dict[int, list[float]] = defaultdict(list)
    for u, _r, v in ratings:
        units[u].append(v)
    pairable = {u: v for u, v in units.items() if len(v) >= 2}
    allv = [x for v in pairable.values() for x in v]
    n = len(allv)
    counts = {c: allv.count(c) for c in set(allv)}
    cats = sorted(counts)

    def d(c: float, k: float) -> float:
        if level == "nominal":
            return float(c != k)
        if level == "interval":
            return (c - k) ** 2
        lo, hi = min(c, k), max(c, k)
        return (sum(counts[g] for g in cats if lo <= g <= hi) - (counts[c] + counts[k]) / 2) ** 2

    d_o = sum(
        sum(d(vals[i], vals[j]) for i, j in itertools.permutations(range(len(vals)), 2)) / (len(vals) - 1)
        for vals in pairable.values()
    ) / n
    d_e = sum(d(allv[i], allv[j]) for i, j in itertools.permutations(range(n), 2)) / (n * (n - 1))
    return 1 - d_o / d_e


long_ratings = st.lists(
    st.tuples(st.integers(0, 6), st.integers(0, 3), st.integers(1, 4)), min_size=4, max_size=30,
    unique_by=lambda t: (t[0], t[1]),
)  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(long_ratings, st.sampled_from(["nominal", "ordinal", "interval"]))
def test_alpha_matches_pairwise_definition(ratings: list, level: str) -> None:
    try:
        got = krippendorff_alpha(ratings, level)
    except AgreementError:
        return
    assert got == pytest.approx(brute_alpha(ratings, level), abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=2, max_size=12), st.integers(2, 5))
def test_perfect_agreement_is_one(truth: list[int], raters: int) -> None:
    ratings = [(u, r, v) for u, v in enumerate(truth) for r in range(raters)]
    if len(set(truth)) < 2:
        return
    for level in ("nominal", "ordinal", "interval", "ratio"):
        assert krippendorff_alpha(ratings, level) == pytest.approx(1.0)
    assert fleiss_kappa(ratings) == pytest.approx(1.0)
    assert cohen_kappa(truth, truth) == pytest.approx(1.0)
    if len(truth) >= 2:
        x = np.array([[v] * raters for v in truth], dtype=float)
        assert all(v == pytest.approx(1.0) for v in icc_all(x).values())


@settings(max_examples=40, deadline=None)
@given(long_ratings, st.randoms(use_true_random=False))
def test_permutation_invariance(ratings: list, rnd) -> None:
    """Shuffling rows, relabelling units and raters leaves every statistic unchanged."""
    shuffled = list(ratings)
    rnd.shuffle(shuffled)
    unit_map = {u: f"u{(u * 7) % 11}" for u in range(7)}
    rater_map = {r: f"r{3 - r}" for r in range(4)}
    relabelled = [(unit_map[u], rater_map[r], v) for u, r, v in shuffled]
    a, b = agreement_report(ratings), agreement_report(relabelled)
    for level in ("nominal", "ordinal", "interval", "ratio"):
        if a["alpha"][level] is None:
            assert b["alpha"][level] is None
        else:
            assert b["alpha"][level] == pytest.approx(a["alpha"][level])


def test_icc_invariant_to_row_and_column_order() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(9, 4)) + rng.normal(size=(9, 1)) * 2
    base = icc_all(x)
    perm = icc_all(x[rng.permutation(9)][:, rng.permutation(4)])
    assert all(perm[k] == pytest.approx(v) for k, v in base.items())


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.integers(0, 4), min_size=5, max_size=5), min_size=2, max_size=15))
def test_fleiss_kappa_matches_statsmodels(rows: list[list[int]]) -> None:
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

    counts = np.array([[r.count(c) for c in range(5)] for r in rows])
    try:
        ours = fleiss_kappa_counts(counts)
    except AgreementError:
        return
    assert ours == pytest.approx(sm_fleiss(counts), abs=1e-9)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=2, max_size=40))
def test_cohen_kappa_matches_statsmodels(pairs: list[tuple[int, int]]) -> None:
    from statsmodels.stats.inter_rater import cohens_kappa

    a, b = [p[0] for p in pairs], [p[1] for p in pairs]
    table = np.zeros((4, 4))
    for x, y in pairs:
        table[x, y] += 1
    pe = (table.sum(1) / len(pairs)) @ (table.sum(0) / len(pairs))
    if pe == 1.0:
        return
    assert cohen_kappa(a, b) == pytest.approx(cohens_kappa(table).kappa, abs=1e-9)


def test_report_keys_and_incomplete_table() -> None:
    rep = agreement_report(k2011_ratings())
    assert set(rep["alpha"]) == {"nominal", "ordinal", "interval", "ratio"}
    assert rep["icc"] is None  # missing ratings: no ICC
    full = agreement_report([(u, j, float(v)) for u, row in enumerate(SF1979) for j, v in enumerate(row)])
    assert set(full["icc"]) == set(SF1979_ICC)


def test_degenerate_inputs_raise_clear_errors() -> None:
    with pytest.raises(AgreementError):
        krippendorff_alpha([(1, "a", 3), (1, "b", 3)])
    with pytest.raises(AgreementError):
        krippendorff_alpha([(1, "a", 3)])
    with pytest.raises(AgreementError):
        fleiss_kappa([(1, "a", 1), (1, "b", 2), (2, "a", 1)])
