"""Exact steady-state values of M/M/c (Erlang C) and M/M/c+M (Erlang A), computed here from first principles.

Independent of callops: a truncated birth-death chain solved in log space, and the tagged-customer
absorbing chain (k contacts ahead, own exponential patience) for the waiting-time figures, with the
service-level probability obtained by uniformization. Erlang C uses the textbook closed forms on the
same chain's probabilities.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Exact:
    """Exact figures with the definitions used by the simulator."""

    service_level: float
    p_wait: float
    asa_s: float
    abandon_rate: float
    occupancy: float


def _stationary(lam: float, mu: float, c: int, theta: float, n_max: int) -> np.ndarray:
    """Stationary distribution of the number in system, states 0..n_max, solved in log space."""
    logs = [0.0]
    for n in range(1, n_max + 1):
        death = min(n, c) * mu + max(n - c, 0) * theta
        logs.append(logs[-1] + math.log(lam) - math.log(death))
    x = np.array(logs)
    p = np.exp(x - x.max())
    return p / p.sum()


def erlang_exact(calls: float, interval_s: float, aht_s: float, c: int, patience_s: float | None,
                 threshold_s: float) -> Exact:
    """Exact steady-state figures for one FCFS queue (patience None: Erlang C)."""
    lam, mu = calls / interval_s, 1.0 / aht_s
    theta = 0.0 if patience_s is None else 1.0 / patience_s
    if theta == 0.0:
        # Erlang C closed forms on the exact chain probabilities (the queue tail is geometric).
        rho = lam / (c * mu)
        p = _stationary(lam, mu, c, 0.0, c)  # states 0..c, then P(n >= c) = p_c / (1 - rho) up to normalisation
        weights = np.append(p[:-1], p[-1] / (1 - rho))
        weights /= weights.sum()
        pw = float(weights[-1])
        gap = c * mu - lam
        return Exact(
            service_level=1 - pw * math.exp(-gap * threshold_s),
            p_wait=pw,
            asa_s=pw / gap,
            abandon_rate=0.0,
            occupancy=rho,
        )
    n_max = c + 200
    while True:  # grow the truncation until the tail mass is negligible
        p = _stationary(lam, mu, c, theta, n_max)
        if p[-1] < 1e-16:
            break
        n_max *= 2
    pw = float(p[c:].sum())
    k = np.arange(n_max - c + 1)  # contacts ahead of a tagged arrival that finds n = c + k
    alpha = p[c:]
    # Tagged chain: in state i (ahead), exits at r_i = c mu + i theta (someone ahead leaves or a server frees)
    # plus theta (own patience). h_i = P(served | i), m_i = E[W 1{served} | i].
    r = c * mu + k * theta + theta
    go = (c * mu + k * theta) / r
    h = np.empty_like(r)
    m = np.empty_like(r)
    h[0] = c * mu / r[0]
    m[0] = h[0] / r[0]
    for i in range(1, len(k)):
        h[i] = go[i] * h[i - 1]
        m[i] = h[i] / r[i] + go[i] * m[i - 1]
    p_served = float(p[:c].sum() + (alpha * h).sum())
    abandon = 1.0 - p_served
    asa = float((alpha * m).sum()) / p_served
    # P(served with 0 < W <= T) by uniformization of the tagged chain started from alpha.
    big = float(r.max())
    v = alpha.copy()
    step_served = c * mu / big
    stay = 1.0 - r / big
    move = (c * mu + k * theta) / big
    lt = big * threshold_s
    n_terms = int(lt + 12 * math.sqrt(lt) + 30)
    log_pmf = -lt  # log P(N = 0) for the Poisson(lt) number of uniformized steps by time T
    cum_absorbed = 0.0
    total = 0.0
    for n in range(n_terms + 1):
        # Mass absorbed into "served" within the first n uniformized steps, weighted by P(N = n).
        total += math.exp(log_pmf) * cum_absorbed
        cum_absorbed += float(v[0] * step_served)
        nxt = v * stay
        nxt[:-1] += v[1:] * move[1:]
        v = nxt
        log_pmf += math.log(lt) - math.log(n + 1) if lt > 0 else -math.inf
    sl = float(p[:c].sum()) + total
    return Exact(
        service_level=sl,
        p_wait=pw,
        asa_s=asa,
        abandon_rate=abandon,
        occupancy=lam * p_served / (c * mu),
    )
