"""Expected service level per interval of a staffing plan or a schedule, by running the simulator.

:func:`expected_service_level` turns agents per interval (or schedule rows, the canonical ``schedules``
shape that :mod:`callops.wfm.scheduling` produces) and a forecast into a :class:`callops.sim.engine.Model` of one
queue, runs :func:`callops.sim.engine.simulate` for independent replications and reports per interval the
service level (answered within ``threshold_s`` / offered: abandons and contacts still waiting count as
misses — the ``offered`` definition of :mod:`callops.wfm.queueing`), the abandon rate and the ASA, each with a
95% confidence interval across replications.

Simulation design:

* Arrivals are Poisson with a constant rate inside each interval (``forecast[i] / interval_s``), drawn by this
  module (count per interval, uniform times) and given to the model, so the only modelling choice is the rate.
* Handle times are exponential with the interval's AHT (fixed at the contact's arrival interval); patience is
  exponential with mean ``patience`` (``None``/``inf``: nobody hangs up). With ``concurrency > 1`` the queue is
  a chat queue: agents hold up to that many sessions and a session started while holding ``j`` takes
  ``aht · (1 + slowdown · (j − 1))`` (the engine's chat model).
* Agents per interval: agent ``j`` is logged in during the intervals whose count exceeds ``j``; a log-out that
  falls in a contact waits for it to end (engine rule). At the end of each run of open intervals (closing time,
  or the end of the forecast) the last interval's agents stay on for up to ``drain_s`` to work off the queue, as
  centers do at closing. Schedule rows: every ``work`` block is a log-in period (breaks are the gaps).
* ``warmup_s`` > 0 runs the first interval's rate and staff for that long before the first reported interval
  (for steady-state comparisons; a center that opens empty needs none).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from callops.errors import CallopsError
from callops.sim.agents import AgentSpec, Shift
from callops.sim.arrivals import Arrivals, ArrivalStream
from callops.sim.engine import Engine, Model, simulate
from callops.sim.routing import HandleTime, Patience, QueueSpec
from callops.sim.stats import estimate

QUEUE = "q"
_T, _ANSWERED, _WAIT, _OUTCOME = 7, 8, 11, 15  # positions in the engine's contact tuples (records.CONTACT_FIELDS)


@dataclass(frozen=True)
class SimulatedServiceLevel:
    """Per-interval figures pooled over replications, with 95% intervals across replications."""

    interval_start: list[Any]
    offered: np.ndarray  # mean offered contacts per replication
    service_level: np.ndarray  # Σ answered within T / Σ offered over all replications
    sl_ci_low: np.ndarray
    sl_ci_high: np.ndarray
    abandon_rate: np.ndarray
    asa_s: np.ndarray
    agents: np.ndarray | None  # agents per interval when a staffing plan was given
    replications: int
    threshold_s: float

    def frame(self) -> pd.DataFrame:
        """The figures as a DataFrame, one row per interval."""
        d = {
            "interval_start": self.interval_start,
            "offered": self.offered,
            "service_level": self.service_level,
            "sl_ci_low": self.sl_ci_low,
            "sl_ci_high": self.sl_ci_high,
            "abandon_rate": self.abandon_rate,
            "asa_s": self.asa_s,
        }
        if self.agents is not None:
            d["agents"] = self.agents
        return pd.DataFrame(d)

    def overall(self) -> float:
        """Service level of all offered contacts of all intervals together."""
        w = self.offered
        ok = np.isfinite(self.service_level) & (w > 0)
        return float((self.service_level[ok] * w[ok]).sum() / w[ok].sum()) if ok.any() else math.nan


class _IntervalAhtEngine(Engine):
    """The engine with each contact's work content scaled to its arrival interval's AHT (queue mean is 1 s)."""

    def __init__(self, model: Model, seed: int, aht_per_contact: np.ndarray) -> None:
        super().__init__(model, seed)
        self._aht = aht_per_contact

    def _draw_contacts(self, arr: Arrivals) -> dict[str, np.ndarray]:
        out = super()._draw_contacts(arr)
        out["work"] = out["work"] * self._aht
        return out


def _offsets(forecast: Any, interval_s: float, n: int) -> tuple[np.ndarray, list[Any], Any]:
    """Start offset (s) of each interval from the first, the labels, and the first start (or None)."""
    if isinstance(forecast, pd.Series) and isinstance(forecast.index, pd.DatetimeIndex):
        idx = forecast.index
        off = (idx - idx[0]).total_seconds().to_numpy(float)
        if (np.diff(off) < interval_s - 1e-6).any():
            raise CallopsError("forecast intervals must be sorted and at least one interval apart")
        return off, list(idx), idx[0]
    return np.arange(n) * interval_s, list(range(n)), None


def _runs(on: np.ndarray, off: np.ndarray, interval_s: float) -> list[tuple[int, int]]:
    """Maximal runs [i, j] of consecutive, time-adjacent intervals where ``on`` is True."""
    out, i, n = [], 0, len(on)
    while i < n:
        if not on[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and on[j + 1] and abs(off[j + 1] - off[j] - interval_s) < 1e-6:
            j += 1
        out.append((i, j))
        i = j + 1
    return out


def _plan_agents(
    staff: np.ndarray,
    off: np.ndarray,
    interval_s: float,
    shift0: float,
    warmup: float,
    drain_s: float,
    concurrency: int,
) -> list[AgentSpec]:
    """Agents following a staff-per-interval plan (see the module docstring)."""
    n = len(staff)
    # where each open run of intervals ends, the next interval starts (for draining up to it)
    next_start = np.append(off[1:], np.inf)
    agents = []
    for j in range(int(staff.max(initial=0))):
        shifts = []
        for a, b in _runs(staff > j, off, interval_s):
            start = shift0 + off[a] - (warmup if a == 0 else 0.0)
            end = shift0 + off[b] + interval_s
            last_of_block = b == n - 1 or abs(off[b + 1] - off[b] - interval_s) > 1e-6
            if last_of_block:
                end += min(drain_s, next_start[b] - off[b] - interval_s)
            shifts.append(Shift(start, end))
        agents.append(AgentSpec(f"a{j}", {QUEUE: 1}, chat_capacity=concurrency, shifts=tuple(shifts)))
    return agents


def _schedule_agents(
    rows: Sequence[dict], first: Any, shift0: float, queue: str | None, concurrency: int
) -> list[AgentSpec]:
    """Agents from schedule rows: every ``work`` block (for ``queue``, or any) is a log-in period."""
    if first is None or getattr(first, "tzinfo", None) is None:
        raise CallopsError("schedule rows need a forecast indexed by time-zone-aware interval starts")
    t0 = pd.Timestamp(first)
    blocks: dict[str, list[Shift]] = {}
    for r in rows:
        if r.get("activity") != "work" or (queue is not None and r.get("queue") not in (None, queue)):
            continue
        s = (pd.Timestamp(r["start_at"]) - t0).total_seconds() + shift0
        e = (pd.Timestamp(r["end_at"]) - t0).total_seconds() + shift0
        if e > max(s, 0.0):
            blocks.setdefault(str(r["agent_id"]), []).append(Shift(max(s, 0.0), e))
    if not blocks:
        raise CallopsError("the schedule has no work blocks for this queue")
    return [
        AgentSpec(a, {QUEUE: 1}, chat_capacity=concurrency, shifts=tuple(sorted(sh, key=lambda x: x.start_s)))
        for a, sh in blocks.items()
    ]


def expected_service_level(
    schedule_or_staff_per_interval: Sequence[float] | np.ndarray | Sequence[dict],
    forecast: Sequence[float] | np.ndarray | pd.Series,
    aht: float | Sequence[float] | np.ndarray,
    patience: float | None,
    seed: int = 0,
    *,
    interval_s: float = 1800.0,
    threshold_s: float = 20.0,
    replications: int = 10,
    warmup_s: float = 0.0,
    drain_s: float = 3600.0,
    concurrency: int = 1,
    slowdown: float = 0.0,
    queue: str | None = None,
) -> SimulatedServiceLevel:
    """Simulated service level per interval of agents per interval (or schedule rows) against a forecast.

    ``forecast``: expected offered contacts per interval (a sequence, or a Series indexed by interval starts —
    needed with schedule rows, whose ``start_at``/``end_at`` are instants; it must then be time-zone aware).
    ``aht``: seconds, one number or one per interval; ``patience``: mean seconds (exponential) or ``None``.
    Schedule rows are dicts with ``agent_id, activity, start_at, end_at[, queue]``; with ``queue`` only work
    blocks for that queue (or for no queue) count. Replications use independent seeds spawned from ``seed``.
    """
    calls = np.asarray(forecast, dtype=float).ravel()
    n = calls.size
    if n == 0:
        raise CallopsError("the forecast has no intervals")
    if not np.isfinite(calls).all() or (calls < 0).any():
        raise CallopsError("forecast volumes must be finite and >= 0")
    if interval_s <= 0 or threshold_s < 0 or warmup_s < 0 or drain_s < 0:
        raise CallopsError("interval must be > 0; threshold, warm-up and drain >= 0")
    if replications < 2:
        raise CallopsError("replications must be at least 2 (a confidence interval needs two)")
    if int(concurrency) != concurrency or concurrency < 1 or slowdown < 0:
        raise CallopsError("concurrency must be a whole number >= 1 and slowdown >= 0")
    aht_arr = np.broadcast_to(np.asarray(aht, dtype=float), (n,)).copy()
    if not (np.isfinite(aht_arr) & (aht_arr > 0)).all():
        raise CallopsError("AHT must be > 0 seconds in every interval")
    if patience is not None and not patience > 0:
        raise CallopsError("patience must be > 0 seconds (None: nobody abandons)")
    off, labels, first = _offsets(forecast, interval_s, n)
    shift0 = float(warmup_s)

    plan = schedule_or_staff_per_interval
    staff: np.ndarray | None = None
    if len(plan) and isinstance(next(iter(plan)), dict):
        agents = _schedule_agents(plan, first, shift0, queue, int(concurrency))  # type: ignore[arg-type]
    else:
        staff = np.asarray(plan, dtype=float).ravel()
        if staff.shape != (n,):
            raise CallopsError(f"{staff.size} staffing values for {n} forecast intervals")
        if (staff < 0).any() or (staff != np.round(staff)).any():
            raise CallopsError("agents per interval must be whole numbers >= 0")
        agents = _plan_agents(staff, off, interval_s, shift0, shift0, drain_s, int(concurrency))
    if not agents:
        raise CallopsError("no agents in the plan")

    pat = None if patience is None or math.isinf(patience) else Patience("exponential", float(patience))
    varying = bool((aht_arr != aht_arr[0]).any())
    spec = QueueSpec(
        QUEUE,
        channel="chat" if concurrency > 1 else "voice",
        patience=pat,
        handle=HandleTime(1.0 if varying else float(aht_arr[0])),
        chat_growth=float(slowdown),
    )
    horizon = shift0 + off[-1] + interval_s
    days = max(1, math.ceil((horizon + drain_s) / 86400.0))
    rates = calls / interval_s
    edges_lo = shift0 + off
    ok_in = np.zeros((replications, n))
    ab = np.zeros((replications, n))
    wait_sum = np.zeros((replications, n))
    answered = np.zeros((replications, n))
    offered = np.zeros((replications, n))
    for r, ss in enumerate(np.random.SeedSequence(seed).spawn(replications)):
        rng = np.random.Generator(np.random.PCG64(ss))
        counts = rng.poisson(calls)
        t = np.repeat(edges_lo, counts) + rng.uniform(0.0, interval_s, int(counts.sum()))
        which = np.repeat(np.arange(n), counts)
        if warmup_s > 0:
            w = np.sort(rng.uniform(0.0, warmup_s, int(rng.poisson(rates[0] * warmup_s))))
            t, which = np.concatenate([w, t]), np.concatenate([np.full(w.size, -1), which])
        order = np.argsort(t, kind="stable")
        t, which = t[order], which[order]
        m = len(t)
        arr = Arrivals(t, np.zeros(m, dtype=np.int32), np.zeros(m, dtype=bool), np.full(m, -1, dtype=np.int64))
        model = Model(
            queues=[spec], agents=agents, streams=[ArrivalStream(QUEUE, 0.0)], arrivals=arr, days=days, country=None,
            id_prefix="",
        )  # fmt: skip
        run_seed = int(rng.integers(2**63))
        if varying:
            aht_pc = np.where(which >= 0, aht_arr[np.maximum(which, 0)], aht_arr[0])
            records = _IntervalAhtEngine(model, run_seed, aht_pc).run()
        else:
            records = simulate(model, run_seed)
        offered[r] = counts
        for row in records.contacts:
            i = which[int(row[0])]
            if i < 0:
                continue
            if row[_OUTCOME] == "abandoned":
                ab[r, i] += 1
            elif row[_ANSWERED] is not None:
                answered[r, i] += 1
                wait_sum[r, i] += row[_WAIT]
                if row[_WAIT] <= threshold_s:
                    ok_in[r, i] += 1
    with np.errstate(divide="ignore", invalid="ignore"):
        tot = offered.sum(axis=0)
        sl = np.where(tot > 0, ok_in.sum(axis=0) / tot, np.nan)
        abandon = np.where(tot > 0, ab.sum(axis=0) / tot, np.nan)
        asa = np.where(answered.sum(axis=0) > 0, wait_sum.sum(axis=0) / answered.sum(axis=0), np.nan)
        per_rep = np.where(offered > 0, ok_in / offered, np.nan)
    ci = [estimate(list(per_rep[:, i])) for i in range(n)]
    return SimulatedServiceLevel(
        interval_start=labels,
        offered=tot / replications,
        service_level=sl,
        sl_ci_low=np.array([c.ci_low for c in ci]),
        sl_ci_high=np.array([c.ci_high for c in ci]),
        abandon_rate=abandon,
        asa_s=asa,
        agents=staff,
        replications=replications,
        threshold_s=threshold_s,
    )
