"""Queueing speed: (1) Erlang C staffing for 96 intervals × 50 queues against pyworkforce (same targets, identical
agent counts asserted); (2) one Erlang A staffing decision at about 100 Erlangs, against the Erlang C decision.

Run: ``.venv/bin/python bench/queueing_bench.py`` (pyworkforce is a benchmark-only dependency).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np

from callops.wfm.queueing import required_agents

TARGET_SL, THRESHOLD_S, INTERVAL_S, MAX_OCC, SHRINKAGE = 0.8, 20.0, 1800.0, 0.85, 0.3


def scenario() -> tuple[np.ndarray, np.ndarray]:
    """Calls per half hour (96 intervals × 50 queues: two days, intraday profile × queue size) and AHT per queue."""
    rng = np.random.default_rng(2024)
    hours = (np.arange(96) % 48) / 2
    profile = 0.15 + np.exp(-((hours - 11) ** 2) / 8) + 0.8 * np.exp(-((hours - 16) ** 2) / 6)
    size = rng.lognormal(mean=4.5, sigma=0.8, size=50)
    calls = np.round(profile[:, None] * size[None, :] * rng.uniform(0.9, 1.1, (96, 50)))
    calls = np.maximum(calls, 1.0)
    aht = rng.uniform(180, 420, 50)
    return calls, aht


def best_of(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(min, median) seconds over ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def bench_grid() -> None:
    from pyworkforce.queuing import ErlangC

    calls, aht = scenario()

    def ours() -> tuple[np.ndarray, np.ndarray]:
        r = required_agents(
            "erlang-c",
            calls=calls,
            interval_s=INTERVAL_S,
            aht_s=aht[None, :],
            threshold_s=THRESHOLD_S,
            target_sl=TARGET_SL,
            max_occupancy=MAX_OCC,
            shrinkage=SHRINKAGE,
        )
        return r.agents, r.staff

    def theirs() -> tuple[np.ndarray, np.ndarray]:
        raw = np.empty(calls.shape)
        pos = np.empty(calls.shape)
        for i in range(calls.shape[0]):
            for j in range(calls.shape[1]):
                # pyworkforce works in minutes; its ``asa`` argument is the service-level threshold T
                res = ErlangC(
                    transactions=calls[i, j],
                    aht=aht[j] / 60,
                    asa=THRESHOLD_S / 60,
                    interval=INTERVAL_S / 60,
                    shrinkage=SHRINKAGE,
                ).required_positions(service_level=TARGET_SL, max_occupancy=MAX_OCC)
                raw[i, j], pos[i, j] = res["raw_positions"], res["positions"]
        return raw, pos

    agents, staff = ours()
    raw, pos = theirs()
    assert (agents == raw).all(), f"agent counts differ in {(agents != raw).sum()} cells"
    staff_diff = staff != pos
    t_ours, med_ours = best_of(ours, 7)
    t_theirs, med_theirs = best_of(theirs, 2)
    load = calls * aht[None, :] / INTERVAL_S
    print(
        f"[1] Erlang C staffing, 96 intervals x 50 queues ({calls.size} cells, load {load.min():.1f}-"
        f"{load.max():.0f} Erlangs, total agents {int(agents.sum())}), SL {TARGET_SL:.0%}/{THRESHOLD_S:g}s, "
        f"max occupancy {MAX_OCC}, shrinkage {SHRINKAGE}"
    )
    print(f"    agent counts identical to pyworkforce in all {calls.size} cells")
    if staff_diff.any():
        i, j = np.argwhere(staff_diff)[0]
        print(
            f"    staff after shrinkage differs in {int(staff_diff.sum())} cells, e.g. agents {agents[i, j]:g}: ours "
            f"{staff[i, j]:g}, pyworkforce {pos[i, j]:g} (pyworkforce rounds up float noise: ceil(agents/(1-s)))"
        )
    else:
        print("    staff after shrinkage identical too")
    print(f"    callops   : {t_ours * 1e3:8.1f} ms (best of 7, median {med_ours * 1e3:.1f} ms)")
    print(
        f"    pyworkforce: {t_theirs * 1e3:8.1f} ms (best of 2, median {med_theirs * 1e3:.1f} ms, plain loop, "
        "no joblib)"
    )
    print(f"    speed ratio: {t_theirs / t_ours:.0f}x (target >= 25x)")


def bench_decision() -> None:
    from pyworkforce.queuing import ErlangC

    calls, aht, patience = 1200.0, 150.0, 120.0  # 100 Erlangs in a half hour

    def erlang_a() -> object:
        return required_agents(
            "erlang-a",
            calls=calls,
            interval_s=INTERVAL_S,
            aht_s=aht,
            threshold_s=THRESHOLD_S,
            target_sl=TARGET_SL,
            patience_s=patience,
        )

    def erlang_c() -> object:
        return required_agents(
            "erlang-c", calls=calls, interval_s=INTERVAL_S, aht_s=aht, threshold_s=THRESHOLD_S, target_sl=TARGET_SL
        )

    def pyworkforce_c() -> object:
        return ErlangC(
            transactions=calls, aht=aht / 60, asa=THRESHOLD_S / 60, interval=INTERVAL_S / 60
        ).required_positions(service_level=TARGET_SL)

    a_res, c_res = erlang_a(), erlang_c()
    t_a, med_a = best_of(erlang_a, 300)
    t_c, med_c = best_of(erlang_c, 300)
    _, med_p = best_of(pyworkforce_c, 50)
    print(f"[2] one staffing decision at 100 Erlangs (SL {TARGET_SL:.0%}/{THRESHOLD_S:g}s, patience {patience:g}s)")
    print(
        f"    Erlang A: {float(a_res.agents):g} agents, {med_a * 1e3:.2f} ms median ({t_a * 1e3:.2f} best) "
        "(target < 5 ms)"
    )
    print(
        f"    Erlang C: {float(c_res.agents):g} agents, {med_c * 1e3:.2f} ms median ({t_c * 1e3:.2f} best); "
        f"Erlang A / Erlang C time ratio {med_a / med_c:.2f}"
    )
    print(
        f"    pyworkforce Erlang C, same single decision (pure-Python loop, no numpy call overhead): "
        f"{med_p * 1e3:.2f} ms median"
    )


if __name__ == "__main__":
    bench_grid()
    bench_decision()
