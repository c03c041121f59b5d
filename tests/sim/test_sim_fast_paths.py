"""The engine's fast paths (issue 18) against independent references: the idle lists of exclusive queues against
the router's heaps, the natively compared heaps against heapq, and the collector left as the caller had it."""

from __future__ import annotations

import gc
import heapq
import random
import sys
from types import ModuleType

import numpy as np
import pytest
from test_sim_compiled import EMPTY, _priority_model

from callops.sim import engine
from callops.sim.agents import AgentSpec
from callops.sim.arrivals import Arrivals, ArrivalStream
from callops.sim.engine import Model, compiled_engine, simulate
from callops.sim.routing import HandleTime, QueueSpec, Router


def _modules() -> list[ModuleType]:
    """The pure-Python engine module, and the compiled one where it is built."""
    fast = compiled_engine()
    return [engine] + ([sys.modules[fast.__module__]] if fast is not None else [])


@pytest.mark.parametrize("mod", _modules(), ids=lambda m: m.__name__)
def test_idle_lists_pick_the_agent_the_router_heaps_pick(mod: ModuleType) -> None:
    """Random offers, withdrawals and picks, with time now and then going back: the engine's agent choice per
    queue (idle lists for voice and email, a heap for chat) is the one of :class:`Router`'s lazy-deletion heaps."""
    queues = [QueueSpec("v1"), QueueSpec("v2"), QueueSpec("em", channel="email"), QueueSpec("ch", channel="chat")]
    skills = [{"v1": 1}, {"v1": 1, "v2": 2}, {"v2": 1, "em": 1}, {"v1": 1, "ch": 1}, {"ch": 1, "em": 1},
              {"v1": 1, "v2": 1, "em": 1, "ch": 1}, {"v2": 1}, {"em": 1}]  # fmt: skip
    model = Model(queues, [AgentSpec(f"a{i}", s, chat_capacity=3) for i, s in enumerate(skills)], arrivals=EMPTY)
    eng = mod.Engine(model, 0)
    router = Router(queues, [a.skills for a in eng.agents], len(eng.agents))
    rnd = random.Random(7)
    t = 0.0
    picks = 0
    for _ in range(4000):
        t += rnd.choice([0.0, 0.5, 2.0, 7.0, -3.0])  # equal times and time going back too
        a = eng.agents[rnd.randrange(len(eng.agents))]
        op = rnd.random()
        if op < 0.45:
            eng._offer_agent(a, a.qs, 0, t)
            router.offer_agent(a.idx, a.qs, 0, t)
        elif op < 0.55 and a.chat_qs:
            load = rnd.randint(1, 2)
            eng._offer_agent(a, a.chat_qs, load, t)
            router.offer_agent(a.idx, a.chat_qs, load, t)
        elif op < 0.7:
            eng._withdraw(a)
            router.withdraw_agent(a.idx)
        else:
            q = rnd.randrange(len(queues))
            ours, theirs = eng._pick(q), router.pick_agent(q)
            assert ours == (-1 if theirs is None else theirs), (q, t)
            if ours >= 0:
                picks += 1
                if rnd.random() < 0.7:  # the picked agent takes the contact
                    eng._withdraw(eng.agents[ours])
                    router.withdraw_agent(ours)
    assert picks > 500


@pytest.mark.parametrize("mod", _modules(), ids=lambda m: m.__name__)
def test_heaps_pop_in_heapq_order(mod: ModuleType) -> None:
    """Events (time, sequence, kind, payload) and keyed entries (int, float, int, ...), many with equal first
    fields, pushed and popped interleaved: the same order as heapq on the same tuples."""
    rnd = random.Random(3)
    ours: list = []
    ref: list = []
    out_ours, out_ref = [], []
    for seq in range(5000):
        if rnd.random() < 0.6 or not ref:
            e = (float(rnd.randint(0, 40)), seq, rnd.randint(0, 8), object())
            mod._ev_push(ours, e)
            heapq.heappush(ref, e)
        else:
            out_ours.append(mod._ev_pop(ours))
            out_ref.append(heapq.heappop(ref))
    while ref:
        out_ours.append(mod._ev_pop(ours))
        out_ref.append(heapq.heappop(ref))
    assert out_ours == out_ref and not ours
    ours, ref, out_ours, out_ref = [], [], [], []
    for seq in range(5000):
        if rnd.random() < 0.6 or not ref:
            k = (rnd.randint(-1, 0), float(rnd.randint(0, 30)), seq, "x")
            mod._key_push(ours, k)
            heapq.heappush(ref, k)
        else:
            out_ours.append(mod._key_pop(ours))
            out_ref.append(heapq.heappop(ref))
    out_ours += [mod._key_pop(ours) for _ in range(len(ours))]
    out_ref += [heapq.heappop(ref) for _ in range(len(ref))]
    assert out_ours == out_ref


def _small() -> Model:
    return _priority_model(300, 2)


@pytest.mark.parametrize("compiled", [False, True])
def test_a_run_leaves_the_collector_as_the_caller_had_it(compiled: bool) -> None:
    """After a run the collector is on again (off if it was off), the rows sit in the oldest generation, and
    objects the caller froze stay frozen (the hand-off is skipped then)."""
    if compiled and compiled_engine() is None:
        pytest.skip("the compiled engine is not built (python tools/build_fast_sim.py)")
    # An earlier test in this worker may have frozen objects (the value decision index does, after its load): let
    # them go, so this run takes the hand-off path. Only the collector's speed changes for later tests.
    gc.unfreeze()
    assert gc.isenabled() and gc.get_freeze_count() == 0
    rows = simulate(_small(), 1, compiled=compiled).contacts
    assert gc.isenabled() and gc.get_freeze_count() == 0
    assert gc.is_tracked(rows[0]) and any(o is rows[0] for o in gc.get_objects(generation=2))
    keep = [[i] for i in range(50)]
    gc.freeze()
    try:
        assert gc.get_freeze_count() >= len(keep)
        simulate(_small(), 1, compiled=compiled)
        assert gc.get_freeze_count() >= len(keep)
        assert not any(o is keep[0] for o in gc.get_objects())  # still frozen: in no generation
    finally:
        gc.unfreeze()
    gc.disable()
    try:
        simulate(_small(), 1, compiled=compiled)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_arrivals_before_time_zero_match_the_pure_engine_and_serve_everyone() -> None:
    """Given arrivals that start before the agents log in at 0 (time goes back for the idle lists): the compiled
    engine gives the pure engine's records, and every contact is answered by a skilled agent."""
    n = 400
    t = np.sort(np.random.default_rng(4).uniform(-500.0, 2000.0, n))
    arr = Arrivals(t, np.zeros(n, dtype=np.int32), np.zeros(n, dtype=bool), np.full(n, -1, dtype=np.int64))
    model = Model([QueueSpec("q", handle=HandleTime(60.0))], [AgentSpec(f"a{i}", {"q": 1}) for i in range(5)],
                  streams=[ArrivalStream("q", 0.0)], arrivals=arr)
    pure = simulate(model, 2, compiled=False)
    assert len(pure.contacts) == n and all(r[15] == "answered" and r[16] is not None for r in pure.contacts)
    if compiled_engine() is not None:
        assert simulate(model, 2, compiled=True).contacts == pure.contacts


@pytest.mark.parametrize("compiled", [False, True])
def test_integer_arrival_times_give_float_times_in_the_rows(compiled: bool) -> None:
    """Times the engine passes through to the rows as given (offered, answered, ended) are floats even when the
    given arrivals are integers, as when every time was unboxed and made again."""
    if compiled and compiled_engine() is None:
        pytest.skip("the compiled engine is not built (python tools/build_fast_sim.py)")
    n = 50
    t = np.arange(0, 40 * n, 40, dtype=np.int64)
    arr = Arrivals(t, np.zeros(n, dtype=np.int32), np.zeros(n, dtype=bool), np.full(n, -1, dtype=np.int64))
    model = Model([QueueSpec("q", handle=HandleTime(60.0))], [AgentSpec(f"a{i}", {"q": 1}) for i in range(2)],
                  streams=[ArrivalStream("q", 0.0)], arrivals=arr)
    rows = simulate(model, 5, compiled=compiled).contacts
    assert len(rows) == n
    assert all(type(r[k]) is float for r in rows for k in (7, 8, 9)), rows[0]
    assert [r[7] for r in sorted(rows, key=lambda r: int(r[0][1:]))] == [float(x) for x in t]
