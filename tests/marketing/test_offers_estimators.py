"""The back-test's statistics against independent computations: AUC by counting pairs, IPS and doubly robust
estimates against the true value of a policy on a log built to match the logging policy exactly, the
epsilon-greedy probability against the frequency over every draw, and the JSON-stored model against
scikit-learn's own ``predict_proba``."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callops.marketing.arbitrate import Scored, choose
from callops.marketing.backtest import auc, bootstrap_ci, dr_terms, ips_terms
from callops.marketing.offers import Eligibility, Offer
from callops.marketing.propensity import fit, pair_features


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 5)), min_size=2, max_size=40))
def test_auc_equals_the_pairwise_count(rows: list[tuple[bool, int]]) -> None:
    """AUC = (pairs positive > negative + ½ ties) / (positives × negatives), counted pair by pair."""
    y = np.array([r[0] for r in rows])
    s = np.array([r[1] for r in rows], dtype=float)
    pos, neg = s[y], s[~y]
    got = auc(y, s)
    if len(pos) == 0 or len(neg) == 0:
        assert got is None
        return
    wins = sum(Fraction(1) if p > n else Fraction(1, 2) if p == n else Fraction(0) for p in pos for n in neg)
    assert got == pytest.approx(float(wins / (len(pos) * len(neg))), abs=1e-12)


# A tiny world: 3 contexts (equally likely), 3 actions, logging probabilities per context, reward means.
P_LOG = {0: [Fraction(1, 2), Fraction(1, 4), Fraction(1, 4)], 1: [Fraction(1, 3)] * 3,
         2: [Fraction(1, 6), Fraction(1, 2), Fraction(1, 3)]}  # fmt: skip
REWARD = {(0, 0): 0.1, (0, 1): 0.5, (0, 2): 0.3, (1, 0): 0.9, (1, 1): 0.2, (1, 2): 0.4,
          (2, 0): 0.0, (2, 1): 0.7, (2, 2): 0.6}  # fmt: skip
POLICY = {0: 1, 1: 0, 2: -1}  # context 2: no offer (earns exactly 0)


def _balanced_log() -> tuple[np.ndarray, ...]:
    """12 records per context, each action appearing exactly 12 × p(a|x) times, with its mean reward."""
    ctx, act, p, r = [], [], [], []
    for x, ps in P_LOG.items():
        for a, pa in enumerate(ps):
            for _ in range(int(12 * pa)):
                ctx.append(x)
                act.append(a)
                p.append(float(pa))
                r.append(REWARD[(x, a)])
    return np.array(ctx), np.array(act), np.array(p), np.array(r)


def _true_value() -> float:
    return sum(REWARD[(x, a)] for x, a in POLICY.items() if a >= 0) / len(POLICY)


def test_ips_and_dr_equal_the_true_value_on_a_balanced_log() -> None:
    ctx, act, p, r = _balanced_log()
    target = np.array([POLICY[x] for x in ctx])
    assert ips_terms(act, target, p, r).mean() == pytest.approx(_true_value(), abs=1e-12)
    # DR is exact here with any reward model, a wrong one included.
    rng = np.random.default_rng(0)
    q = {k: rng.random() for k in REWARD}
    q_logged = np.array([q[(x, a)] for x, a in zip(ctx, act, strict=True)])
    q_target = np.array([q[(x, POLICY[x])] if POLICY[x] >= 0 else 0.0 for x in ctx])
    assert dr_terms(act, target, p, r, q_logged, q_target).mean() == pytest.approx(_true_value(), abs=1e-12)


def test_ips_is_unbiased_over_every_one_record_log() -> None:
    """E[IPS] over all logs of one record (context uniform, action by the logging policy, reward 0/1 with its
    mean) equals the policy's true value: the expectation is summed exactly, outcome by outcome."""
    expect = Fraction(0)
    for x, a, hit in itertools.product(P_LOG, range(3), (0, 1)):
        mean = Fraction(REWARD[(x, a)]).limit_denominator(1000)
        prob = Fraction(1, 3) * P_LOG[x][a] * (mean if hit else 1 - mean)
        term = ips_terms(np.array([a]), np.array([POLICY[x]]), np.array([float(P_LOG[x][a])]), np.array([hit]))[0]
        expect += prob * Fraction(term).limit_denominator(10**6)
    assert float(expect) == pytest.approx(_true_value(), abs=1e-6)


def test_bootstrap_interval_brackets_the_mean_and_collapses_on_constants() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(5, 1, 400)
    lo, hi = bootstrap_ci(x, reps=300)[0]
    assert lo < x.mean() < hi and hi - lo < 0.5  # 4 standard errors is 0.2
    assert bootstrap_ci(np.full(50, 2.0), reps=50)[0].tolist() == [2.0, 2.0]


def _scored(scores: list[float]) -> list[Scored]:
    out = []
    for i, s in enumerate(scores):
        o = Offer(f"O{i}", "C", "p", 1.0, 0.0, 1.0, 0.1, frozenset({"voice"}), Eligibility(), {}, {}, 1)
        out.append(Scored(o, s, 1.0, 1.0, {}))
    return out


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from([0.5, 1.0, 2.0, 3.0]), min_size=1, max_size=5),
       st.sampled_from([0.0, 0.1, 0.25, 0.5, 1.0]))
def test_epsilon_greedy_probability_is_the_frequency_over_every_draw(scores: list[float], eps: float) -> None:
    """The probability ``choose`` reports for its pick equals the share of (draw, pick) pairs, over a fine grid of
    draws and every pick, that lead to that offer; the best is the first of the highest scores."""
    sc = _scored(scores)
    k = len(sc)
    grid = 400
    counts = [0] * k
    reported: dict[int, float] = {}
    for g in range(grid):
        for pick in range(k):
            i, p, _ = choose(sc, eps, (g + 0.5) / grid, pick)
            counts[i] += 1
            reported.setdefault(i, p)
            assert reported[i] == pytest.approx(p)
    best = scores.index(max(scores))
    for i in range(k):
        freq = counts[i] / (grid * k)
        assert freq == pytest.approx((1 - eps) * (i == best) + eps / k, abs=1e-9)
        if counts[i]:
            assert reported[i] == pytest.approx(freq, abs=1e-9)


def test_stored_model_scores_like_scikit_learn() -> None:
    """The dictionary scoring of the decision equals ``predict_proba`` of the same fitted regression."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(7)
    tags = ["tag=a", "tag=b", "tag=c"]
    ctxs = [[t for t in tags if rng.random() < 0.4] + [f"reason={rng.choice(['x', 'y'])}", "channel=voice"]
            for _ in range(400)]  # fmt: skip
    offers = [str(rng.choice(["O1", "O2", "O3"])) for _ in range(400)]
    pairs = zip(ctxs, offers, strict=True)
    y = np.array([rng.random() < (0.6 if ("tag=a" in c and o == "O1") else 0.15) for c, o in pairs])
    model = fit(ctxs, offers, y)
    vec = DictVectorizer()
    x = vec.fit_transform([dict.fromkeys(pair_features(o, c), 1.0) for c, o in zip(ctxs, offers, strict=True)])
    ref = LogisticRegression(C=1.0, max_iter=500).fit(x, y)
    for c in ctxs[:30]:
        for o in ("O1", "O2", "O3"):
            want = ref.predict_proba(vec.transform([dict.fromkeys(pair_features(o, c), 1.0)]))[0, 1]
            assert model.probability(o, c) == pytest.approx(want, abs=1e-9)
    # and it found the planted effect
    assert model.probability("O1", ["tag=a", "reason=x", "channel=voice"]) > 2 * model.probability(
        "O2", ["tag=a", "reason=x", "channel=voice"])
