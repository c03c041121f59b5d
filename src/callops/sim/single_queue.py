"""Single-queue what-if: M/M/c (Erlang C) or M/M/c+M (Erlang A) by fast simulation.

One queue served first-come-first-served by ``agents`` identical agents, Poisson
arrivals, exponential handle times and (optionally) exponential patience. This
does not need the routing machinery of :mod:`callops.sim.engine`: with FCFS, a
contact's service start is ``max(arrival, earliest time an agent is free)``, and
it abandons exactly when that wait exceeds its patience (an abandoning contact
never occupies an agent, so it changes nobody else's start). Arrivals, handle
times and patience are drawn as numpy arrays; the only Python loop keeps a heap
of the ``c`` agents' free times.

Run design (why the figures are steady-state figures): each replication
simulates one long stationary horizon starting empty. The first
``warmup_s = max(20 x AHT, 2000 / lambda)`` seconds are discarded (they carry
the empty-start bias); statistics are taken on contacts *arriving* in the
following measured window of ``max(interval_s, arrivals_per_replication / lambda)``
seconds (20,000 arrivals by default). Replications use independent streams
spawned from the seed; each metric is reported as the mean across replications
with a Student-t 95% confidence interval.

Definitions (per offered contact in the measured window):

* service level = answered within ``threshold_s`` / offered (abandons count as misses);
* probability of waiting = contacts that found every agent busy / offered;
* ASA = mean wait of answered contacts;
* abandon rate = abandoned / offered;
* occupancy = agent busy time inside the window / (agents x window length).
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass

import numpy as np

from callops.errors import CallopsError
from callops.sim.stats import Estimate, estimate

WARMUP_AHT_MULTIPLE = 20.0
WARMUP_MIN_ARRIVALS = 2_000
DEFAULT_ARRIVALS_PER_REPLICATION = 20_000


@dataclass(frozen=True)
class SingleQueueResult:
    """Steady-state figures of one queue with their 95% confidence intervals."""

    service_level: Estimate
    p_wait: Estimate
    asa_s: Estimate
    abandon_rate: Estimate
    occupancy: Estimate
    elapsed_s: float
    replications: int
    warmup_s: float
    measured_s: float
    threshold_s: float

    def as_dict(self) -> dict:
        """JSON-ready result (the keys of ``callops simulate --json``)."""
        return {
            "service_level": self.service_level.as_dict(),
            "p_wait": self.p_wait.as_dict(),
            "asa_s": self.asa_s.as_dict(),
            "abandon_rate": self.abandon_rate.as_dict(),
            "occupancy": self.occupancy.as_dict(),
            "elapsed_s": self.elapsed_s,
            "replications": self.replications,
            "warmup_s": self.warmup_s,
            "measured_s": self.measured_s,
            "threshold_s": self.threshold_s,
        }


def _check(calls: float, interval_s: float, aht_s: float, agents: int, patience_s: float | None,
           threshold_s: float, replications: int) -> None:
    if calls <= 0 or interval_s <= 0:
        raise CallopsError("--calls and --interval must be positive")
    if aht_s <= 0:
        raise CallopsError("--aht must be positive (seconds)")
    if agents < 1:
        raise CallopsError("--agents must be at least 1")
    if patience_s is not None and patience_s <= 0:
        raise CallopsError("--patience must be positive (seconds); leave it out for no abandonment")
    if threshold_s < 0:
        raise CallopsError("--threshold must be zero or positive (seconds)")
    if replications < 2:
        raise CallopsError("--replications must be at least 2 (a confidence interval needs two)")
    load = calls / interval_s * aht_s
    if patience_s is None and load >= agents:
        raise CallopsError(
            f"offered load {load:.1f} Erlang needs more than {agents} agents: without --patience "
            "the queue grows without bound (add agents or give a mean patience)"
        )


def serve_fcfs(
    arrivals: np.ndarray, services: np.ndarray, patience: np.ndarray | None, agents: int
) -> np.ndarray:
    """Service start of each contact (NaN for those who abandon) under FCFS with ``agents`` servers.

    ``arrivals`` must be sorted. The system starts empty at time 0.
    """
    free = [0.0] * agents  # a heap of the times agents become free
    starts = np.full(len(arrivals), np.nan)
    out = starts  # local alias: item assignment on an ndarray is the cheap path here
    replace = heapq.heapreplace
    arr = arrivals.tolist()
    svc = services.tolist()
    if patience is None:
        for i, a in enumerate(arr):
            f = free[0]
            st = a if f < a else f
            replace(free, st + svc[i])
            out[i] = st
        return starts
    pat = patience.tolist()
    for i, a in enumerate(arr):
        f = free[0]
        if f <= a:
            replace(free, a + svc[i])
            out[i] = a
        elif f - a <= pat[i]:
            replace(free, f + svc[i])
            out[i] = f
    return starts


def _replication(
    rng: np.random.Generator, lam: float, aht_s: float, agents: int, patience_s: float | None,
    threshold_s: float, warmup_s: float, measured_s: float,
) -> tuple[float, float, float, float, float]:
    end = warmup_s + measured_s
    n = int(rng.poisson(lam * end))
    arrivals = np.sort(rng.uniform(0.0, end, n))  # a Poisson process given its count
    services = rng.exponential(aht_s, n)
    patience = rng.exponential(patience_s, n) if patience_s is not None else None
    starts = serve_fcfs(arrivals, services, patience, agents)
    served = ~np.isnan(starts)
    window = arrivals >= warmup_s
    offered = int(window.sum())
    if offered == 0:
        return (math.nan,) * 5
    waits = np.where(served, starts - arrivals, np.inf)
    w_served = served & window
    answered_in_sl = int((w_served & (waits <= threshold_s)).sum())
    # A contact waited if it found every agent busy: abandoners always did (patience > 0 was exceeded).
    waited = int((window & (~served | (waits > 0))).sum())
    abandoned = int((window & ~served).sum())
    asa = float((starts[w_served] - arrivals[w_served]).mean()) if w_served.any() else math.nan
    # Busy time of every served contact clipped to the measured window [warmup_s, end].
    s, e = starts[served], starts[served] + services[served]
    busy = float(np.clip(np.minimum(e, end) - np.maximum(s, warmup_s), 0.0, None).sum())
    return (
        answered_in_sl / offered,
        waited / offered,
        asa,
        abandoned / offered,
        busy / (agents * measured_s),
    )


def simulate_single_queue(
    calls: float,
    interval_s: float,
    aht_s: float,
    agents: int,
    patience_s: float | None = None,
    threshold_s: float = 20.0,
    replications: int = 10,
    seed: int = 0,
    arrivals_per_replication: int = DEFAULT_ARRIVALS_PER_REPLICATION,
) -> SingleQueueResult:
    """Simulate one queue with ``calls`` arrivals per ``interval_s`` seconds; steady-state figures with 95% CIs.

    Handle times are exponential with mean ``aht_s``; with ``patience_s`` contacts abandon after an
    exponential patience of that mean (Erlang A), without it nobody abandons (Erlang C). See the module
    docstring for the warm-up and window design and the metric definitions.
    """
    _check(calls, interval_s, aht_s, agents, patience_s, threshold_s, replications)
    t0 = time.perf_counter()
    lam = calls / interval_s
    warmup_s = max(WARMUP_AHT_MULTIPLE * aht_s, WARMUP_MIN_ARRIVALS / lam)
    measured_s = max(interval_s, arrivals_per_replication / lam)
    streams = np.random.SeedSequence(seed).spawn(replications)
    rows = [
        _replication(
            np.random.Generator(np.random.PCG64(ss)), lam, aht_s, agents, patience_s, threshold_s,
            warmup_s, measured_s,
        )
        for ss in streams
    ]
    cols = list(zip(*rows, strict=True))
    return SingleQueueResult(
        service_level=estimate(list(cols[0])),
        p_wait=estimate(list(cols[1])),
        asa_s=estimate(list(cols[2])),
        abandon_rate=estimate(list(cols[3])),
        occupancy=estimate(list(cols[4])),
        elapsed_s=time.perf_counter() - t0,
        replications=replications,
        warmup_s=warmup_s,
        measured_s=measured_s,
        threshold_s=threshold_s,
    )
