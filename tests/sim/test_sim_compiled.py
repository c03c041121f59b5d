"""The compiled engine (mypyc, ``tools/build_fast_sim.py``) against the pure-Python one, and the engine's priority
routing against the exact non-preemptive priority M/M/c queue (issue 18)."""

from __future__ import annotations

import math
import os
import sys
import types

import numpy as np
import pytest
from test_sim_engine import START, _center

from callops.sim import engine
from callops.sim.agents import AgentSpec
from callops.sim.arrivals import Arrivals, ArrivalStream
from callops.sim.engine import Model, compiled_engine, simulate
from callops.sim.routing import HandleTime, Patience, QueueSpec
from callops.sim.state import BusyAgent, InitialState, WaitingContact

EMPTY = Arrivals(np.empty(0), np.empty(0, dtype=np.int32), np.empty(0, dtype=bool), np.empty(0, dtype=np.int64))


def _require_compiled() -> None:
    if compiled_engine() is None:
        if os.environ.get("CI"):  # `make` builds it before the tests: missing there is a failure
            pytest.fail("the compiled engine is not built or stale: `python tools/build_fast_sim.py`")
        pytest.skip("the compiled engine is not built (python tools/build_fast_sim.py)")


def _priority_model(n: int, seed: int, high: float = 0.3, load: float = 0.9, agents: int = 20,
                    aht: float = 120.0, patience: Patience | None = None) -> Model:
    """Two Poisson classes into queues of priority 5 and 0, every agent skilled in both."""
    rng = np.random.default_rng(seed)
    lam = load * agents / aht
    t = np.cumsum(rng.exponential(1 / lam, n))
    cls = (rng.random(n) >= high).astype(np.int32)
    arr = Arrivals(t, cls, np.zeros(n, dtype=bool), np.full(n, -1, dtype=np.int64))
    queues = [QueueSpec("high", priority=5, patience=patience, handle=HandleTime(aht)),
              QueueSpec("low", patience=patience, handle=HandleTime(aht))]
    staff = [AgentSpec(f"a{i}", {"high": 1, "low": 1 + i % 3}) for i in range(agents)]
    return Model(queues, staff, streams=[ArrivalStream("high", 0.0), ArrivalStream("low", 0.0)], start=START,
                 arrivals=arr, days=1)


def _same(a, b) -> None:
    for name in ("contacts", "agent_states", "schedules", "agents"):
        ra, rb = getattr(a, name), getattr(b, name)
        assert len(ra) == len(rb), name
        first = next((i for i, (x, y) in enumerate(zip(ra, rb, strict=True)) if x != y), None)
        assert first is None, (name, first, ra[first], rb[first])


@pytest.mark.parametrize("days,seed", [(1, 3), (2, 8)])
def test_compiled_and_pure_engines_give_identical_records(days: int, seed: int) -> None:
    """Skills routing, schedules with breaks, IVR, overflow, callbacks, transfers, chat and email, campaigns."""
    _require_compiled()
    model = _center(days)
    _same(simulate(model, seed, compiled=False), simulate(model, seed, compiled=True))


def test_compiled_and_pure_agree_on_priorities_abandons_and_a_starting_state() -> None:
    """Two priority classes with abandonment, and a run that starts with waiting contacts and busy agents."""
    _require_compiled()
    model = _priority_model(3000, 5, patience=Patience("lognormal", 90, 0.8))
    _same(simulate(model, 4, compiled=False), simulate(model, 4, compiled=True))
    queues = [QueueSpec("q", center="hz", handle=HandleTime(100.0, acw_mean_s=15, hold_p=0.3, hold_mean_s=20))]
    staff = [AgentSpec(f"a{i}", {"q": 1}, center="hz") for i in range(3)]
    initial = InitialState(waiting=tuple(WaitingContact("q", waited_s=w, vip=w > 40) for w in (10.0, 50.0, 30.0)),
                           busy=(BusyAgent("a0", "q", remaining_s=40.0, elapsed_s=20.0),))
    model = Model(queues, staff, start=START, initial=initial, arrivals=EMPTY)
    _same(simulate(model, 1, compiled=False), simulate(model, 1, compiled=True))


def test_simulate_uses_the_compiled_engine_only_when_built_from_this_source(monkeypatch) -> None:
    """A stale build (another source's hash) or CALLOPS_SIM_PURE=1 falls back to pure Python; compiled=True then
    says so plainly."""
    monkeypatch.setattr(engine, "_COMPILED", {})
    stale = types.ModuleType("callops.sim._engine_c")
    stale.SOURCE_SHA256 = "0" * 64  # type: ignore[attr-defined]
    stale.Engine = object  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "callops.sim._engine_c", stale)
    assert compiled_engine() is None
    with pytest.raises(engine.CallopsError, match="not built"):
        simulate(_priority_model(10, 1), 1, compiled=True)
    monkeypatch.setattr(engine, "_COMPILED", {})
    monkeypatch.setenv("CALLOPS_SIM_PURE", "1")
    monkeypatch.delitem(sys.modules, "callops.sim._engine_c")
    assert compiled_engine() is None


def test_priority_classes_match_the_exact_mmc_priority_queue() -> None:
    """Mean waits of the two classes against W_k = C / (c mu (1 - s_{k-1})(1 - s_k)) (non-preemptive priority,
    equal service rates; C the Erlang C probability of the total load, s_k the load of classes up to k)."""
    agents, aht, load, high = 20, 120.0, 0.9, 0.3
    a = load * agents
    b = 1.0
    for k in range(1, agents + 1):
        b = a * b / (k + a * b)
    c = agents * b / (agents - a * (1 - b))
    rate = agents / aht
    exact = {"high": c / rate / (1 - load * high), "low": c / rate / ((1 - load * high) * (1 - load))}
    waits: dict[str, list[float]] = {"high": [], "low": []}
    for rep in range(6):
        rows = simulate(_priority_model(40_000, 100 + rep, high, load, agents, aht), rep).contacts
        warm = 20 * aht  # warm-up discarded
        for q in waits:
            w = [r[8] - r[7] for r in rows if r[2] == q and r[7] > warm]
            waits[q].append(float(np.mean(w)))
    for q, values in waits.items():
        mean, half = np.mean(values), 2.571 * np.std(values, ddof=1) / math.sqrt(len(values))  # t(0.975, 5)
        assert abs(mean - exact[q]) <= max(half, 0.03 * exact[q]), (q, mean, half, exact[q])
    assert np.mean(waits["high"]) < np.mean(waits["low"]) / 4
