"""Speed and agreement of callops.sim against Ciw 3.2 on the same work (bench-only dependency).

**One queue.** Model: one FCFS queue, 50 agents, Poisson arrivals, exponential handle time (AHT 300 s), load 0.9
(lambda = 0.15/s), no abandonment, 10,000 arrivals per run starting empty. Each side is timed over the
same seeds (generation + simulation + SL/ASA from the records); we print the time ratio and both sides'
service level (20 s) and ASA, plus the exact Erlang C steady-state values. Like Ciw's records, the
figures cover the contacts whose service has ended by the last (10,000th) arrival.
Two callops paths are timed: the single-queue fast path (what `callops simulate` uses) and the full
engine (skills routing machinery, canonical records), compiled (mypyc, ``tools/build_fast_sim.py``) and, for
reference, pure Python.

**Two priority classes (issue 18).** The same 50 agents serve two Poisson classes (30 % high priority, 70 % low,
load 0.9 in all, AHT 300 s for both): Ciw's ``priority_classes`` (non-preemptive) against the full engine with two
queues of priorities 5 and 0 and every agent skilled in both (a freed agent takes the head of the higher-priority
queue). Exact reference: the mean wait of each class in the non-preemptive priority M/M/c queue,
W_k = C / (c mu (1 - s_{k-1}) (1 - s_k)) with C the Erlang C probability of the total load and s_k the load of the
classes up to k. Each class's SL(20 s) and ASA are printed for both sides.

Run: .venv/bin/pip install "ciw==3.2.*" && .venv/bin/python bench/sim_vs_ciw.py [--runs 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from operator import itemgetter

import ciw
import numpy as np

from callops.sim.agents import AgentSpec
from callops.sim.arrivals import Arrivals, ArrivalStream
from callops.sim.engine import Model, compiled_engine, simulate
from callops.sim.routing import HandleTime, QueueSpec
from callops.sim.single_queue import serve_fcfs

AGENTS, AHT, LOAD, N, THRESHOLD = 50, 300.0, 0.9, 10_000, 20.0
LAM = LOAD * AGENTS / AHT
SEEDS = range(20)
HIGH = 0.3  # share of the arrivals in the high-priority class (two-class case)


def _figures(arrivals: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[float, float]:
    """SL and ASA of the contacts whose service ended by the last arrival (what Ciw's records hold)."""
    done = ends <= arrivals.max()
    waits = (starts - arrivals)[done]
    return float((waits <= THRESHOLD).mean()), float(waits.mean())


def _row_figures(rows: list[tuple], queue: str | None = None) -> tuple[float, float]:
    """SL and ASA from the engine's contact rows (of ``queue``, or all) whose service ended by the last arrival:
    offered, answered and ended are fields 7-9 of a row, the queue field 2."""
    last = max(map(itemgetter(7), rows))
    waits = np.array([r[8] - r[7] for r in rows if r[9] <= last and (queue is None or r[2] == queue)])
    return float((waits <= THRESHOLD).mean()), float(waits.mean())


def ours_fast(seed: int) -> tuple[float, float]:
    """The single-queue fast path: numpy draws and a heap of agent free times."""
    rng = np.random.Generator(np.random.PCG64(seed))
    arrivals = np.cumsum(rng.exponential(1 / LAM, N))
    services = rng.exponential(AHT, N)
    starts = serve_fcfs(arrivals, services, None, AGENTS)
    return _figures(arrivals, starts, starts + services)


def _engine_model(seed: int) -> tuple[Model, int]:
    """The one-queue model as a one-skill center, and the engine's seed."""
    arrival_seq, engine_seq = np.random.SeedSequence(seed).spawn(2)  # independent streams: no common numbers
    t = np.cumsum(np.random.Generator(np.random.PCG64(arrival_seq)).exponential(1 / LAM, N))
    arr = Arrivals(t, np.zeros(N, dtype=np.int32), np.zeros(N, dtype=bool), np.full(N, -1, dtype=np.int64))
    model = Model([QueueSpec("q", handle=HandleTime(AHT))], [AgentSpec(f"a{i}", {"q": 1}) for i in range(AGENTS)],
                  streams=[ArrivalStream("q", 0.0)], arrivals=arr, days=1)
    return model, int(engine_seq.generate_state(1)[0])


def _engine_run(seed: int, compiled: bool) -> tuple[float, float]:
    model, engine_seed = _engine_model(seed)
    records = simulate(model, engine_seed, compiled=compiled)
    return _row_figures(records.contacts)


def ours_engine(seed: int) -> tuple[float, float]:
    """The full engine, compiled: the same queue as a one-skill center."""
    return _engine_run(seed, True)


def ours_engine_pure(seed: int) -> tuple[float, float]:
    """The full engine in pure Python (what runs where the compiled one is not built)."""
    return _engine_run(seed, False)


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


def _two_class_model(seed: int) -> tuple[Model, int]:
    """Two Poisson classes into two queues of different priority, every agent skilled in both."""
    arrival_seq, engine_seq = np.random.SeedSequence(seed).spawn(2)
    rng = np.random.Generator(np.random.PCG64(arrival_seq))
    t = np.cumsum(rng.exponential(1 / LAM, N))  # the merged Poisson stream, each arrival high with p = HIGH
    cls = (rng.random(N) >= HIGH).astype(np.int32)  # 0 high, 1 low
    arr = Arrivals(t, cls, np.zeros(N, dtype=bool), np.full(N, -1, dtype=np.int64))
    queues = [QueueSpec("high", priority=5, handle=HandleTime(AHT)),
              QueueSpec("low", priority=0, handle=HandleTime(AHT))]
    agents = [AgentSpec(f"a{i}", {"high": 1, "low": 1}) for i in range(AGENTS)]
    model = Model(queues, agents, streams=[ArrivalStream("high", 0.0), ArrivalStream("low", 0.0)], arrivals=arr, days=1)
    return model, int(engine_seq.generate_state(1)[0])


def _two_class_run(seed: int, compiled: bool) -> tuple[float, float, float, float]:
    model, engine_seed = _two_class_model(seed)
    records = simulate(model, engine_seed, compiled=compiled)
    return (*_row_figures(records.contacts, "high"), *_row_figures(records.contacts, "low"))


def ours_two_class(seed: int) -> tuple[float, float, float, float]:
    """The compiled engine on the two-class center."""
    return _two_class_run(seed, True)


def ours_two_class_pure(seed: int) -> tuple[float, float, float, float]:
    """The pure-Python engine on the two-class center."""
    return _two_class_run(seed, False)


def ciw_two_class(seed: int) -> tuple[float, float, float, float]:
    """Ciw 3.2: the same two classes with non-preemptive priority, until 10,000 arrivals."""
    network = ciw.create_network(
        arrival_distributions={"high": [ciw.dists.Exponential(rate=LAM * HIGH)],
                               "low": [ciw.dists.Exponential(rate=LAM * (1 - HIGH))]},
        service_distributions={"high": [ciw.dists.Exponential(rate=1 / AHT)],
                               "low": [ciw.dists.Exponential(rate=1 / AHT)]},
        priority_classes={"high": 0, "low": 1},
        number_of_servers=[AGENTS],
    )
    ciw.seed(seed)
    sim = ciw.Simulation(network)
    sim.simulate_until_max_customers(N, method="Arrive")
    out: list[float] = []
    recs = sim.get_all_records()
    for name in ("high", "low"):
        waits = np.array([r.waiting_time for r in recs if r.customer_class == name])
        out += [float((waits <= THRESHOLD).mean()), float(waits.mean())]
    return out[0], out[1], out[2], out[3]


def priority_exact() -> tuple[float, float]:
    """Exact steady-state mean wait of the high and the low class (non-preemptive priority M/M/c)."""
    a = LAM * AHT
    b = 1.0
    for k in range(1, AGENTS + 1):
        b = a * b / (k + a * b)
    c = AGENTS * b / (AGENTS - a * (1 - b))
    rate = AGENTS / AHT
    s1 = LAM * HIGH / rate
    s2 = LAM / rate
    return c / rate / (1 - s1), c / rate / ((1 - s1) * (1 - s2))


def erlang_c() -> tuple[float, float]:
    """Exact steady-state SL and ASA (Erlang C), for reference."""
    a = LAM * AHT
    b = 1.0
    for k in range(1, AGENTS + 1):  # Erlang B recursion
        b = a * b / (k + a * b)
    c = AGENTS * b / (AGENTS - a * (1 - b))
    gap = AGENTS / AHT - LAM
    return 1 - c * math.exp(-gap * THRESHOLD), c / gap


def timed(sides: dict, seeds: range,
          per_run: dict[str, list[float]] | None = None) -> dict[str, tuple[float, list[float], list[float], float]]:
    """Per side: wall seconds per run, each figure's mean and its standard error across runs, and CPU seconds per
    run (the process's own time). The sides take turns seed by seed, so that a change in the machine's load
    during the bench falls on all of them alike. ``per_run`` (side -> list) receives each run's wall seconds."""
    wall = dict.fromkeys(sides, 0.0)
    cpu = dict.fromkeys(sides, 0.0)
    results: dict[str, list] = {k: [] for k in sides}
    for s in seeds:
        for k, fn in sides.items():
            t0, c0 = time.perf_counter(), time.process_time()
            results[k].append(fn(s))
            wall[k] += time.perf_counter() - t0
            cpu[k] += time.process_time() - c0
            if per_run is not None:
                per_run.setdefault(k, []).append(time.perf_counter() - t0)
    out = {}
    for k in sides:
        cols = list(zip(*results[k], strict=True))
        means = [statistics.mean(c) for c in cols]
        errs = [statistics.stdev(c) / math.sqrt(len(c)) if len(c) > 1 else math.nan for c in cols]
        out[k] = (wall[k] / len(seeds), means, errs, cpu[k] / len(seeds))
    return out


def ratio_spread(per_run: dict[str, list[float]], side: str) -> dict[str, float]:
    """Median, min and max over the seeds of Ciw's wall time over ``side``'s on the same seed (taken in turn)."""
    r = sorted(a / b for a, b in zip(per_run["ciw"], per_run[side], strict=True))
    return {"median": round(statistics.median(r), 1), "min": round(r[0], 1), "max": round(r[-1], 1)}


def main() -> None:
    """Run every side over the same seeds and print times, ratios and figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=len(SEEDS), help="runs (seeds) per side")
    ap.add_argument("--json", action="store_true", help="print one JSON document")
    args = ap.parse_args()
    seeds = range(args.runs)
    if compiled_engine() is None:
        raise SystemExit("the compiled engine is not built or stale: run `python tools/build_fast_sim.py` first")
    runs_one: dict[str, list[float]] = {}
    runs_two: dict[str, list[float]] = {}
    one = timed({"ciw": ciw_run, "fast_path": ours_fast, "engine": ours_engine, "engine_pure": ours_engine_pure},
                seeds, runs_one)
    two = timed({"ciw": ciw_two_class, "engine": ours_two_class, "engine_pure": ours_two_class_pure}, seeds,
                runs_two)
    sl, asa = erlang_c()
    w_high, w_low = priority_exact()
    out = {
        "runs": args.runs, "agents": AGENTS, "load": LOAD, "aht_s": AHT, "arrivals_per_run": N,
        "one_queue": {k: {"s_per_run": round(v[0], 5), "cpu_s_per_run": round(v[3], 5),
                          "sl": round(v[1][0], 4), "asa_s": round(v[1][1], 3),
                          "asa_se": round(v[2][1], 3)} for k, v in one.items()},
        "two_class": {k: {"s_per_run": round(v[0], 5), "cpu_s_per_run": round(v[3], 5),
                          "high": {"sl": round(v[1][0], 4), "asa_s": round(v[1][1], 3), "asa_se": round(v[2][1], 3)},
                          "low": {"sl": round(v[1][2], 4), "asa_s": round(v[1][3], 3), "asa_se": round(v[2][3], 3)}}
                      for k, v in two.items()},
        "exact": {"erlang_c_sl": round(sl, 4), "erlang_c_asa_s": round(asa, 3),
                  "priority_wait_high_s": round(w_high, 3), "priority_wait_low_s": round(w_low, 3)},
        "speedup": {"one_queue_fast_path": round(one["ciw"][0] / one["fast_path"][0], 1),
                    "one_queue_engine": round(one["ciw"][0] / one["engine"][0], 1),
                    "one_queue_engine_pure": round(one["ciw"][0] / one["engine_pure"][0], 1),
                    "two_class_engine": round(two["ciw"][0] / two["engine"][0], 1),
                    "two_class_engine_pure": round(two["ciw"][0] / two["engine_pure"][0], 1)},
        "speedup_cpu": {"one_queue_engine": round(one["ciw"][3] / one["engine"][3], 1),
                        "two_class_engine": round(two["ciw"][3] / two["engine"][3], 1)},
        # per seed: Ciw's wall time over the engine's on the same seed, the two run one after the other
        "speedup_per_run": {"one_queue_engine": ratio_spread(runs_one, "engine"),
                            "two_class_engine": ratio_spread(runs_two, "engine")},
    }  # fmt: skip
    if args.json:
        print(json.dumps(out))
        return
    print(f"one queue, {AGENTS} agents, load {LOAD}, AHT {AHT:.0f} s, {N:,} arrivals per run, {args.runs} runs")
    print(f"{'':26}{'seconds/run':>12}{'SL(20s)':>10}{'ASA s':>9}")
    labels = {"ciw": f"Ciw {ciw.__version__}", "fast_path": "callops fast path",
              "engine": "callops engine (mypyc)", "engine_pure": "callops engine (pure)"}
    for k, (sec, m, _, _) in one.items():
        print(f"{labels[k]:26}{sec:12.4f}{m[0]:10.3f}{m[1]:9.2f}")
    print(f"{'Erlang C (exact)':26}{'':12}{sl:10.3f}{asa:9.2f}   (steady state; runs start empty)")
    sp = out["speedup"]
    print(f"speed-up vs Ciw: fast path {sp['one_queue_fast_path']}x, full engine {sp['one_queue_engine']}x "
          f"(pure Python {sp['one_queue_engine_pure']}x; target >= 10x)")
    print(f"two priority classes ({HIGH:.0%} high), same agents and load")
    print(f"{'':26}{'seconds/run':>12}{'SL high':>9}{'ASA high':>10}{'SL low':>9}{'ASA low':>9}")
    for k, (sec, m, _, _) in two.items():
        print(f"{labels[k]:26}{sec:12.4f}{m[0]:9.3f}{m[1]:10.2f}{m[2]:9.3f}{m[3]:9.2f}")
    print(f"{'exact (steady state)':26}{'':12}{'':9}{w_high:10.2f}{'':9}{w_low:9.2f}")
    print(f"speed-up vs Ciw: full engine {sp['two_class_engine']}x (pure Python {sp['two_class_engine_pure']}x)")
    cpu = out["speedup_cpu"]
    print(f"in CPU seconds: one queue {cpu['one_queue_engine']}x, two classes {cpu['two_class_engine']}x")
    pr = out["speedup_per_run"]
    print("per run (Ciw's time over the engine's, same seed): " + ", ".join(
        f"{name} median {v['median']}x ({v['min']}-{v['max']}x)"
        for name, v in (("one queue", pr["one_queue_engine"]), ("two classes", pr["two_class_engine"]))))


if __name__ == "__main__":
    main()
