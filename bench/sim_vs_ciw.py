"""Speed and agreement of callops.sim against Ciw 3.2 on the same single queue (bench-only dependency).

Model: one FCFS queue, 50 agents, Poisson arrivals, exponential handle time (AHT 300 s), load 0.9
(lambda = 0.15/s), no abandonment, 10,000 arrivals per run starting empty. Each side is timed over the
same seeds (generation + simulation + SL/ASA from the records); we print the time ratio and both sides'
service level (20 s) and ASA, plus the exact Erlang C steady-state values. Like Ciw's records, the
figures cover the contacts whose service has ended by the last (10,000th) arrival.
Two callops paths are timed: the single-queue fast path (what `callops simulate` uses) and the full
engine (skills routing machinery, canonical records).

Run: .venv/bin/pip install "ciw==3.2.*" && .venv/bin/python bench/sim_vs_ciw.py
"""

from __future__ import annotations

import math
import statistics
import time

import ciw
import numpy as np

from callops.sim.agents import AgentSpec
from callops.sim.arrivals import Arrivals, ArrivalStream
from callops.sim.engine import Model, simulate
from callops.sim.routing import HandleTime, QueueSpec
from callops.sim.single_queue import serve_fcfs

AGENTS, AHT, LOAD, N, THRESHOLD = 50, 300.0, 0.9, 10_000, 20.0
LAM = LOAD * AGENTS / AHT
SEEDS = range(20)


def _figures(arrivals: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[float, float]:
    """SL and ASA of the contacts whose service ended by the last arrival (what Ciw's records hold)."""
    done = ends <= arrivals[-1]
    waits = (starts - arrivals)[done]
    return float((waits <= THRESHOLD).mean()), float(waits.mean())


def ours_fast(seed: int) -> tuple[float, float]:
    """The single-queue fast path: numpy draws and a heap of agent free times."""
    rng = np.random.Generator(np.random.PCG64(seed))
    arrivals = np.cumsum(rng.exponential(1 / LAM, N))
    services = rng.exponential(AHT, N)
    starts = serve_fcfs(arrivals, services, None, AGENTS)
    return _figures(arrivals, starts, starts + services)


def ours_engine(seed: int) -> tuple[float, float]:
    """The full engine: the same queue as a one-skill center."""
    arrival_seq, engine_seq = np.random.SeedSequence(seed).spawn(2)  # independent streams: no common numbers
    t = np.cumsum(np.random.Generator(np.random.PCG64(arrival_seq)).exponential(1 / LAM, N))
    arr = Arrivals(t, np.zeros(N, dtype=np.int32), np.zeros(N, dtype=bool), np.full(N, -1, dtype=np.int64))
    model = Model([QueueSpec("q", handle=HandleTime(AHT))], [AgentSpec(f"a{i}", {"q": 1}) for i in range(AGENTS)],
                  streams=[ArrivalStream("q", 0.0)], arrivals=arr, days=1)
    records = simulate(model, int(engine_seq.generate_state(1)[0]))
    rows = sorted(records.contacts, key=lambda r: r[7])  # by offered time (seconds since the run start)
    offered, answered, ended = (np.array([r[k] for r in rows], dtype=float) for k in (7, 8, 9))
    return _figures(offered, answered, ended)


def ciw_run(seed: int) -> tuple[float, float]:
    """Ciw 3.2: the same M/M/50 queue until 10,000 arrivals."""
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=LAM)],
        service_distributions=[ciw.dists.Exponential(rate=1 / AHT)],
        number_of_servers=[AGENTS],
    )
    ciw.seed(seed)
    sim = ciw.Simulation(network)
    sim.simulate_until_max_customers(N, method="Arrive")
    waits = np.array([r.waiting_time for r in sim.get_all_records()])  # completed services only
    return float((waits <= THRESHOLD).mean()), float(waits.mean())


def erlang_c() -> tuple[float, float]:
    """Exact steady-state SL and ASA (Erlang C), for reference."""
    a = LAM * AHT
    b = 1.0
    for k in range(1, AGENTS + 1):  # Erlang B recursion
        b = a * b / (k + a * b)
    c = AGENTS * b / (AGENTS - a * (1 - b))
    gap = AGENTS / AHT - LAM
    return 1 - c * math.exp(-gap * THRESHOLD), c / gap


def timed(fn) -> tuple[float, float, float]:
    """Total seconds over SEEDS and the mean SL and ASA."""
    t0 = time.perf_counter()
    results = [fn(s) for s in SEEDS]
    seconds = time.perf_counter() - t0
    return seconds, statistics.mean(r[0] for r in results), statistics.mean(r[1] for r in results)


def main() -> None:
    """Run every side over the same seeds and print times, ratios and figures."""
    print(f"one queue, {AGENTS} agents, load {LOAD}, AHT {AHT:.0f} s, {N:,} arrivals per run, {len(SEEDS)} runs")
    ciw_s, ciw_sl, ciw_asa = timed(ciw_run)
    fast_s, fast_sl, fast_asa = timed(ours_fast)
    eng_s, eng_sl, eng_asa = timed(ours_engine)
    sl, asa = erlang_c()
    print(f"{'':22}{'seconds/run':>12}{'SL(20s)':>10}{'ASA s':>9}")
    print(f"{'Ciw ' + ciw.__version__:22}{ciw_s / len(SEEDS):12.4f}{ciw_sl:10.3f}{ciw_asa:9.2f}")
    print(f"{'callops fast path':22}{fast_s / len(SEEDS):12.4f}{fast_sl:10.3f}{fast_asa:9.2f}")
    print(f"{'callops engine':22}{eng_s / len(SEEDS):12.4f}{eng_sl:10.3f}{eng_asa:9.2f}")
    print(f"{'Erlang C (exact)':22}{'':12}{sl:10.3f}{asa:9.2f}   (steady state; runs start empty)")
    print(f"speed-up vs Ciw: fast path {ciw_s / fast_s:.0f}x, full engine {ciw_s / eng_s:.1f}x (target >= 10x)")


if __name__ == "__main__":
    main()
