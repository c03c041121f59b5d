"""Contingency plans (YAML) at levels 1-4 and the six-step dispatch playbook, priced with Erlang A.

A plan is triggered by alert levels (yellow -> 1, orange -> 2, red -> 3, black -> 4 by default) of the rules it
listens to. Each step has a ``min_level`` (the plan level from which it may be used) and an ``approval`` mode
(``auto``: its commands go out at once; ``required``: they wait for :meth:`PlanEngine.approve`). The default
plan is the six-step playbook:

1. ``move_within_region`` - agents of the same region who have the queue's skill but work another inbound queue
   that can spare them (its own projected service level stays on target);
2. ``ivr_self_service`` - self-service ahead of the queue (message + callback offer) deflects a share of traffic;
3. ``pull_outbound`` - agents working outbound queues who have the skill (emergency echelon 1 first);
4. ``stop_cross_sell`` - no cross-selling on the queue's contacts, which shortens handle time;
5. ``dispatch_across_centers`` - overflow a share of traffic to a queue with the same skill in another center
   (the largest share the peer can absorb while staying on its own target);
6. ``dispatch_across_skills`` - agents of other skills, in emergency-echelon order, at a lower efficiency.

Inputs come from the live state of the queue: arrivals per second from the last 15 minutes (30 when quiet), or
the intraday re-forecast of the next 30 minutes where today has a forecast and it is higher (wfm.intraday),
handle time and the patience estimate (total wait / abandons, the exponential-patience MLE) from the last
30 minutes unless configured, and the agents now working whose primary skill is the queue. Each step is sized on
its own to cover the shortfall (``required_agents`` with Erlang A), then every subset of the available steps is
priced in one vectorised :func:`callops.wfm.queueing.erlang_a_metrics` call and the smallest subset that brings
the projected service level to target is chosen (ties: earlier steps of the playbook); agent steps are then
trimmed to the agents actually needed. Projections are steady-state figures for the queue's current traffic.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from callops.errors import CallopsError
from callops.realtime.alerts import LEVEL_NUMBER, AlertEvent, Level
from callops.realtime.bus import Bus
from callops.realtime.state import (
    ABANDONED,
    HANDLE_S,
    HANDLED,
    OFFERED,
    WAIT_S,
    WORKING,
    Agent,
    TenantState,
)
from callops.wfm.intraday import LiveReforecast
from callops.wfm.queueing import erlang_a_metrics, required_agents

StepKind = Literal[
    "move_within_region", "ivr_self_service", "pull_outbound", "stop_cross_sell", "dispatch_across_centers",
    "dispatch_across_skills",
]  # fmt: skip
PLAYBOOK: tuple[str, ...] = (
    "move_within_region", "ivr_self_service", "pull_outbound", "stop_cross_sell", "dispatch_across_centers",
    "dispatch_across_skills",
)  # fmt: skip
AGENT_STEPS = frozenset({"move_within_region", "pull_outbound", "dispatch_across_skills"})
# What can happen to a step: proposed (recommendation only), applied (auto), waiting for a dispatcher, decided.
STEP_STATUSES: tuple[str, ...] = ("proposed", "applied", "pending_approval", "approved", "rejected")


class StepConfig(BaseModel):
    """One step of a plan and its parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: StepKind
    min_level: int = Field(1, ge=1, le=4)
    approval: Literal["auto", "required"] = "required"
    max_agents: int = Field(50, ge=0)
    deflection: float = Field(0.15, ge=0, lt=1, description="ivr_self_service: share of traffic self-served")
    callback_after_s: float = Field(60.0, ge=0)
    aht_reduction: float = Field(0.08, ge=0, lt=1, description="stop_cross_sell: handle time saved")
    max_share: float = Field(0.5, ge=0, le=1, description="dispatch_across_centers: most traffic sent away")
    efficiency: float = Field(0.8, gt=0, le=1, description="dispatch_across_skills: output of a cross-skilled agent")
    message: str = "Our lines are busy: most answers are in self-service (press 1) or ask us to call you back."


class PlanConfig(BaseModel):
    """A contingency plan."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    rules: list[str] | None = None  # alert rules that trigger it (None: every queue/center/channel/tenant rule)
    trigger: dict[Level, int] = Field(default_factory=lambda: {"yellow": 1, "orange": 2, "red": 3, "black": 4})
    target_sl: float | None = Field(None, gt=0, lt=1)  # None: the queue's own target
    horizon_s: float = Field(1800.0, gt=0)
    steps: list[StepConfig]


class PlanFile(BaseModel):
    """A plans file: ``plans: [...]``."""

    model_config = ConfigDict(extra="forbid")
    plans: list[PlanConfig]


def parse_plans(text: str, label: str = "<plans>") -> list[PlanConfig]:
    """Plans from YAML text (one :class:`CallopsError` naming the offending field when invalid)."""
    try:
        return PlanFile.model_validate(yaml.safe_load(text)).plans
    except yaml.YAMLError as exc:
        raise CallopsError(f"{label}: not valid YAML ({exc})") from None
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        raise CallopsError(f"{label}: {'.'.join(str(p) for p in err['loc'])}: {err['msg']}") from None


def load_plans(path: str | Path | None = None) -> list[PlanConfig]:
    """Plans from a YAML file, or the packaged six-step playbook (``default_plans.yaml``)."""
    if path is None:
        return parse_plans((Path(__file__).parent / "default_plans.yaml").read_text(), "default_plans.yaml")
    p = Path(path)
    if not p.exists():
        raise CallopsError(f"plans file {p} not found")
    return parse_plans(p.read_text(), str(p))


# ------------------------------------------------------------------------------------------------- live inputs
@dataclass(frozen=True)
class QueueLoad:
    """What the what-if needs of one queue, read from the live state."""

    queue: str
    rate_per_s: float
    aht_s: float
    patience_s: float
    agents: float
    threshold_s: float
    target_sl: float
    waiting: int


@dataclass
class Candidate:
    """An agent a step proposes to move."""

    agent_id: str
    name: str | None
    center: str | None
    skill_level: int
    echelon: int | None
    current_queue: str | None
    state: str
    idle_s: float
    efficiency: float = 1.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "agent_id": self.agent_id, "name": self.name, "center": self.center, "skill_level": self.skill_level,
            "echelon": self.echelon, "current_queue": self.current_queue, "state": self.state,
            "idle_s": round(self.idle_s, 1), "efficiency": self.efficiency,
        }  # fmt: skip


@dataclass
class StepPlan:
    """One step sized for a queue: agents to move, traffic to divert, handle time saved, and its commands."""

    kind: str
    approval: str
    agents: list[Candidate] = field(default_factory=list)
    divert_share: float = 0.0
    aht_factor: float = 1.0
    commands: list[dict[str, Any]] = field(default_factory=list)
    note: str = ""
    projected: dict[str, float] | None = None  # cumulative effect once this and the earlier chosen steps run
    status: str = "proposed"  # proposed, applied, pending_approval, approved

    @property
    def added_agents(self) -> float:
        """Agent-equivalents the step adds."""
        return sum(c.efficiency for c in self.agents)

    def useful(self) -> bool:
        """Whether the step changes anything."""
        return bool(self.agents) or self.divert_share > 0 or self.aht_factor < 1

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "kind": self.kind, "approval": self.approval, "status": self.status,
            "agents": [c.as_dict() for c in self.agents], "added_agents": round(self.added_agents, 3),
            "divert_share": round(self.divert_share, 4), "aht_factor": round(self.aht_factor, 4),
            "commands": self.commands, "note": self.note, "projected": self.projected,
        }  # fmt: skip


@dataclass
class Recommendation:
    """The chosen steps for a queue with the projection before and after."""

    queue: str
    load: QueueLoad
    before: dict[str, float]
    after: dict[str, float]
    target_sl: float
    meets_target: bool
    steps: list[StepPlan]
    considered: list[StepPlan]
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        ld = self.load
        return {
            "queue": self.queue, "target_sl": self.target_sl, "meets_target": self.meets_target,
            "inputs": {"rate_per_hour": round(ld.rate_per_s * 3600, 2), "aht_s": round(ld.aht_s, 2),
                       "patience_s": round(ld.patience_s, 2), "agents": ld.agents, "waiting": ld.waiting,
                       "threshold_s": ld.threshold_s},
            "before": self.before, "after": self.after, "steps": [s.as_dict() for s in self.steps],
            "considered": [s.kind for s in self.considered], "seconds": round(self.seconds, 6),
        }  # fmt: skip


def _figures(m: Any, i: int) -> dict[str, float]:
    return {
        "service_level": round(float(np.asarray(m.service_level).ravel()[i]), 6),
        "abandon_rate": round(float(np.asarray(m.abandon_rate).ravel()[i]), 6),
        "asa_s": round(float(np.asarray(m.asa_s).ravel()[i]), 3),
        "occupancy": round(float(np.asarray(m.occupancy).ravel()[i]), 6),
        "agents": round(float(np.asarray(m.agents).ravel()[i]), 3),
    }


class Planner:
    """Sizes the six steps for a queue from a :class:`TenantState` (pure: reads the state, changes nothing)."""

    def __init__(self, state: TenantState, default_aht_s: float = 300.0, default_patience_s: float = 180.0) -> None:
        self.st = state
        self.cfg = state.config
        self.default_aht_s = default_aht_s
        self.default_patience_s = default_patience_s
        self.reforecast: LiveReforecast | None = None  # the rest of today re-forecast (set by the hub), if any

    # ------------------------------------------------------------------------------------------- inputs
    def primary(self, ag: Agent) -> str | None:
        """The queue an agent mainly serves: the roster's highest skill, else the first queue it served."""
        return ag.info.primary or (ag.queues[0] if ag.queues else None)

    def region(self, center: str | None) -> str | None:
        """Region of a center (the center itself when no region is configured)."""
        if center is None:
            return None
        return self.cfg.centers.get(center, center)

    def load(self, queue: str, target_sl: float | None = None, exclude: frozenset[str] = frozenset()) -> QueueLoad:
        """The what-if inputs of ``queue`` now."""
        st = self.st
        qc = self.cfg.queue(queue)
        sc = st.scope("queue", queue)
        c15, c30 = sc.sums[1], sc.sums[2]
        rate = c15[OFFERED] / 900.0 if c15[OFFERED] >= 10 else c30[OFFERED] / 1800.0
        rf = getattr(self, "reforecast", None)  # getattr: planners unpickled from older snapshots have none
        if rf is not None:
            # the intraday re-forecast of the next 30 minutes where today has a forecast; never below the last
            # 15 minutes' arrivals, so a burst the day's level does not explain is still covered
            ahead = rf.rate_per_s(queue, st.day, st.now, sc.window(3, st.day)[OFFERED])
            rate = rate if ahead is None else max(rate, ahead)
        aht = qc.aht_s or (c30[HANDLE_S] / c30[HANDLED] if c30[HANDLED] >= 10 else self.default_aht_s)
        if qc.patience_s:
            patience = qc.patience_s
        elif c30[ABANDONED] >= 5:
            patience = c30[WAIT_S] / c30[ABANDONED]
        else:
            patience = self.default_patience_s
        agents = sum(1 for ag in st.agents.values()
                     if ag.state in WORKING and self.primary(ag) == queue and ag.info.agent_id not in exclude)
        return QueueLoad(queue, rate, aht, max(patience, 1.0), float(agents), qc.sl_threshold_s,
                         target_sl or qc.target_sl, sc.waiting)  # fmt: skip

    def _project(self, rate: Any, aht: Any, agents: Any, ld: QueueLoad, horizon: float) -> Any:
        rate = np.maximum(np.asarray(rate, dtype=float), 1e-9)
        return erlang_a_metrics(rate * horizon, horizon, aht, agents, ld.patience_s, ld.threshold_s)

    def spare(self, queues: list[str], horizon: float, most: int = 64) -> dict[str, int]:
        """Agents (up to ``most``) each inbound queue can give away while its projected service level stays on
        target."""
        out: dict[str, int] = {}
        loads = [self.load(q) for q in queues]
        cells = [(i, k) for i, ld in enumerate(loads) for k in range(min(int(ld.agents), most) + 1)]
        if not cells:
            return out
        idx = np.array([c[0] for c in cells])
        ks = np.array([c[1] for c in cells], dtype=float)
        rate = np.array([loads[i].rate_per_s for i in idx])
        aht = np.array([loads[i].aht_s for i in idx])
        pat = np.array([loads[i].patience_s for i in idx])
        thr = np.array([loads[i].threshold_s for i in idx])
        agents = np.array([loads[i].agents for i in idx]) - ks
        m = erlang_a_metrics(np.maximum(rate, 1e-9) * horizon, horizon, aht, agents, pat, thr)
        ok = (np.asarray(m.service_level) >= np.array([loads[i].target_sl for i in idx])) | (rate <= 1e-9)
        for i, ld in enumerate(loads):
            sel = (idx == i) & ok
            out[ld.queue] = int(ks[sel].max()) if sel.any() else 0
        return out

    # ------------------------------------------------------------------------------------------- steps
    def recommend(self, queue: str, steps: list[StepConfig], target_sl: float | None = None,
                  horizon_s: float = 1800.0) -> Recommendation:  # fmt: skip
        """Size every step for ``queue``, pick the smallest set that reaches the target and project its effect."""
        t0 = time.perf_counter()
        ld = self.load(queue, target_sl)
        target = ld.target_sl
        base = self._project(ld.rate_per_s, ld.aht_s, ld.agents, ld, horizon_s)
        before = _figures(base, 0)
        shortfall = 0.0
        if ld.rate_per_s > 0:
            need = required_agents("erlang-a", calls=ld.rate_per_s * horizon_s, interval_s=horizon_s, aht_s=ld.aht_s,
                                   threshold_s=ld.threshold_s, target_sl=target, patience_s=ld.patience_s)
            shortfall = max(float(np.asarray(need.agents)) - ld.agents, 0.0)
        inbound = sorted({self.primary(a) for a in self.st.agents.values() if self.primary(a)} - {queue}
                         - {q for q, c in self.cfg.queues.items() if c.direction == "outbound"})  # fmt: skip
        cap = max((s.max_agents for s in steps if s.kind in AGENT_STEPS), default=0)
        spare = self.spare([q for q in inbound if q is not None], horizon_s, min(cap, math.ceil(shortfall) + 1))
        taken: set[str] = set()
        sized = [self._size(s, queue, ld, shortfall, spare, taken, horizon_s) for s in steps]
        sized = [s for s in sized if s.useful()]
        chosen, _, meets = self._choose(sized, ld, target, horizon_s)
        chosen = self._trim(chosen, ld, target, horizon_s)
        # cumulative projections, step by step in playbook order
        rate, aht, agents = [], [], []
        r, a, n = ld.rate_per_s, ld.aht_s, ld.agents
        for s in chosen:
            r *= 1 - s.divert_share
            a *= s.aht_factor
            n += s.added_agents
            rate.append(r)
            aht.append(a)
            agents.append(n)
        after = before
        if chosen:
            m = self._project(rate, aht, agents, ld, horizon_s)
            for i, s in enumerate(chosen):
                s.projected = _figures(m, i)
            after = chosen[-1].projected or before
        meets = after["service_level"] >= target
        return Recommendation(queue, ld, before, after, target, meets, chosen, sized, time.perf_counter() - t0)

    def _candidates(self, queue: str, pred: Any, taken: set[str]) -> list[Candidate]:
        st = self.st
        out = []
        for ag in st.agents.values():
            aid = ag.info.agent_id
            if aid in taken or ag.state not in WORKING or not pred(ag):
                continue
            idle = st.now - ag.since if ag.state == "ready" else 0.0
            out.append(Candidate(aid, ag.info.name, ag.center, ag.info.skills.get(queue, 0), ag.info.emergency_echelon,
                                 ag.queue or self.primary(ag), ag.state, max(idle, 0.0)))  # fmt: skip
        return out

    def _pick(self, cands: list[Candidate], count: int, spare: dict[str, int], by_echelon: bool) -> list[Candidate]:
        """The best ``count`` candidates (ready and longest idle first; echelon order first where asked),
        taking no more from a donor queue than it can spare."""

        def key(c: Candidate) -> tuple:
            ech = (c.echelon is None, c.echelon or 0)  # none last, however large the echelons (not 99)
            return (ech if by_echelon else ()) + (c.state != "ready", -c.idle_s, -c.skill_level, c.agent_id)

        out = []
        left = dict(spare)
        for c in sorted(cands, key=key):
            if len(out) >= count:
                break
            donor = c.current_queue
            if donor in left:
                if left[donor] <= 0:
                    continue
                left[donor] -= 1
            out.append(c)
        for c in out:
            if c.current_queue in spare:
                spare[c.current_queue] -= 1
        return out

    def _size(self, step: StepConfig, queue: str, ld: QueueLoad, shortfall: float, spare: dict[str, int],
              taken: set[str], horizon: float) -> StepPlan:  # fmt: skip
        sp = StepPlan(step.kind, step.approval)
        qc = self.cfg.queue(queue)
        region = self.region(qc.center)
        outbound = {q for q, c in self.cfg.queues.items() if c.direction == "outbound"}
        want = min(math.ceil(shortfall), step.max_agents)
        tenant = self.cfg.tenant
        if step.kind == "move_within_region":
            cands = self._candidates(queue, lambda ag: queue in ag.info.skills and self.primary(ag) != queue
                                     and self.primary(ag) not in outbound and self.region(ag.center) == region,
                                     taken)  # fmt: skip
            sp.agents = self._pick([c for c in cands if c.current_queue in spare], want, spare, False)
            sp.note = f"{len(sp.agents)} agent(s) of region {region} with the {queue} skill"
        elif step.kind == "pull_outbound":
            cands = self._candidates(queue, lambda ag: queue in ag.info.skills and self.primary(ag) in outbound, taken)
            sp.agents = self._pick(cands, want, {}, True)
            sp.note = f"{len(sp.agents)} outbound agent(s) with the {queue} skill, echelon order"
        elif step.kind == "dispatch_across_skills":
            cands = self._candidates(queue, lambda ag: self.primary(ag) != queue and self.primary(ag) not in outbound
                                     and ag.info.emergency_echelon is not None, taken)  # fmt: skip
            for c in cands:
                c.efficiency = 1.0 if c.skill_level else step.efficiency
            sp.agents = self._pick([c for c in cands if c.current_queue in spare], want, spare, True)
            sp.note = f"{len(sp.agents)} emergency-echelon agent(s) of other skills"
        elif step.kind == "ivr_self_service":
            sp.divert_share = step.deflection
            sp.commands = [
                {"type": "play_message", "tenant": tenant, "queue": queue, "message": step.message},
                {"type": "offer_callback", "tenant": tenant, "queue": queue, "after_s": step.callback_after_s},
            ]
            sp.note = f"self-service and callback ahead of {queue}: {step.deflection:.0%} of traffic expected"
        elif step.kind == "stop_cross_sell":
            sp.aht_factor = 1.0 - step.aht_reduction
            sp.commands = [{"type": "disable_cross_sell", "tenant": tenant, "queue": queue}]
            sp.note = f"no cross-selling on {queue}: handle time -{step.aht_reduction:.0%}"
        elif step.kind == "dispatch_across_centers":
            self._dispatch(sp, step, queue, ld, horizon)
        for c in sp.agents:
            taken.add(c.agent_id)
        if sp.agents:
            sp.commands = [{"type": "move_agent", "tenant": tenant, "agent_id": c.agent_id,
                            "from_queue": c.current_queue, "to_queue": queue} for c in sp.agents]  # fmt: skip
        return sp

    def _dispatch(self, sp: StepPlan, step: StepConfig, queue: str, ld: QueueLoad, horizon: float) -> None:
        """Largest share of ``queue``'s traffic the peers (same skill, other center) absorb and stay on target."""
        qc = self.cfg.queue(queue)
        skill = qc.skill or queue
        peers = [q for q, c in sorted(self.cfg.queues.items())
                 if q != queue and (c.skill or q) == skill and c.center != qc.center and c.direction == "inbound"]
        shares = np.linspace(0.0, step.max_share, 51)
        left = 1.0
        for peer in peers:
            pl = self.load(peer)
            if pl.agents <= 0:
                continue
            extra = ld.rate_per_s * shares
            m = erlang_a_metrics(np.maximum(pl.rate_per_s + extra, 1e-9) * horizon, horizon, pl.aht_s, pl.agents,
                                 pl.patience_s, pl.threshold_s)  # fmt: skip
            ok = np.asarray(m.service_level) >= pl.target_sl
            x = float(shares[ok].max()) if ok.any() else 0.0
            x = min(x, left - (1.0 - step.max_share))
            if x <= 0:
                continue
            left -= x
            sp.commands.append({"type": "overflow", "tenant": self.cfg.tenant, "queue": queue,
                                "to_center": self.cfg.queue(peer).center, "to_queue": peer, "share": round(x, 4)})
        sp.divert_share = 1.0 - left
        sp.note = f"overflow {sp.divert_share:.0%} of {queue} to {len(sp.commands)} peer queue(s) in other centers"

    def _choose(self, sized: list[StepPlan], ld: QueueLoad, target: float,
                horizon: float) -> tuple[list[StepPlan], Any, bool]:  # fmt: skip
        """Smallest subset of ``sized`` (playbook order kept) whose combined projection reaches ``target``."""
        if not sized:
            return [], None, False
        subsets = [c for k in range(1, len(sized) + 1) for c in itertools.combinations(range(len(sized)), k)]
        rate = np.array([ld.rate_per_s * math.prod(1 - sized[i].divert_share for i in s) for s in subsets])
        aht = np.array([ld.aht_s * math.prod(sized[i].aht_factor for i in s) for s in subsets])
        agents = np.array([ld.agents + sum(sized[i].added_agents for i in s) for s in subsets])
        m = self._project(rate, aht, agents, ld, horizon)
        sl = np.asarray(m.service_level)
        ok = np.flatnonzero(sl >= target)
        if ok.size:
            best = min(ok, key=lambda j: (len(subsets[j]), subsets[j]))  # fewest steps, then earliest steps
            return [sized[i] for i in subsets[best]], m, True
        return list(sized), m, False  # nothing reaches the target: everything available

    def _trim(self, chosen: list[StepPlan], ld: QueueLoad, target: float, horizon: float) -> list[StepPlan]:
        """Keep only the agents needed once the traffic and handle-time steps of the set are counted."""
        agent_steps = [s for s in chosen if s.kind in AGENT_STEPS and s.agents]
        if not agent_steps:
            return chosen
        rate = ld.rate_per_s * math.prod(1 - s.divert_share for s in chosen)
        aht = ld.aht_s * math.prod(s.aht_factor for s in chosen)
        total = sum(s.added_agents for s in agent_steps)
        # agents added in playbook order, one at a time: the first count that reaches the target
        seq = [c for s in agent_steps for c in s.agents]
        cum = np.cumsum([c.efficiency for c in seq])
        m = self._project(np.full(len(seq), rate), aht, ld.agents + cum, ld, horizon)
        ok = np.flatnonzero(np.asarray(m.service_level) >= target)
        keep = int(ok[0]) + 1 if ok.size else len(seq)
        if cum[keep - 1] >= total:
            return chosen
        kept = {c.agent_id for c in seq[:keep]}
        out = []
        for s in chosen:
            if s.kind in AGENT_STEPS and s.agents:
                s.agents = [c for c in s.agents if c.agent_id in kept]
                s.commands = [c for c in s.commands if c.get("agent_id") in kept]
                if not s.agents:
                    continue
            out.append(s)
        return out


# ------------------------------------------------------------------------------------------------- activations
@dataclass
class Activation:
    """A plan running for one queue at a level."""

    activation_id: str
    plan: str
    level: int
    queue: str
    alert_id: str
    at: float
    recommendation: Recommendation
    history: list[dict[str, Any]] = field(default_factory=list)
    active: bool = True

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"activation_id": self.activation_id, "plan": self.plan, "level": self.level, "queue": self.queue,
                "alert_id": self.alert_id, "at": self.at, "active": self.active,
                "recommendation": self.recommendation.as_dict(), "history": self.history}  # fmt: skip


class PlanEngine:
    """Listens to alert events, runs plans, emits commands on the bus (auto steps) or waits for approval."""

    def __init__(self, state: TenantState, plans: list[PlanConfig], bus: Bus) -> None:
        self.state = state
        self.plans = plans
        self.bus = bus
        self.planner = Planner(state)
        self.activations: dict[str, Activation] = {}
        self.current: dict[tuple[str, str], Activation] = {}  # (plan, queue) -> active activation
        self.log: list[dict[str, Any]] = []
        self.timings: list[float] = []
        self._n = 0

    def _queue_for(self, ev: AlertEvent) -> str | None:
        """The queue a plan acts on: the alert's queue, or the worst inbound queue inside its scope."""
        if ev.scope == "queue":
            return ev.key
        if ev.scope == "agent":
            return None
        st = self.state
        cands = []
        for (kind, name), sc in st.scopes.items():
            if kind != "queue":
                continue
            qc = st.config.queue(name)
            if qc.direction == "outbound":
                continue
            if ev.scope == "center" and qc.center != ev.key:
                continue
            if ev.scope == "channel" and qc.channel != ev.key:
                continue
            cands.append((-st.longest_wait(sc), -sc.waiting, name))
        return min(cands)[2] if cands else None

    def on_alert(self, ev: AlertEvent) -> None:
        """React to an alert event (use as an engine listener)."""
        for plan in self.plans:
            if plan.rules is not None and ev.rule not in plan.rules:
                continue
            if ev.kind in ("raised", "escalated"):
                level = plan.trigger.get(ev.level_name)  # type: ignore[arg-type]
                queue = self._queue_for(ev)
                if not level or queue is None:
                    continue
                cur = self.current.get((plan.name, queue))
                if cur is not None and cur.level >= level:
                    continue
                self._activate(plan, level, queue, ev, cur)
            elif ev.kind == "cleared":
                queue = self._queue_for(ev) if ev.scope != "queue" else ev.key
                cur = self.current.get((plan.name, queue)) if queue else None
                if cur is not None and cur.alert_id == ev.alert_id:
                    self._deactivate(cur, ev.at)

    def _activate(self, plan: PlanConfig, level: int, queue: str, ev: AlertEvent, prev: Activation | None) -> None:
        steps = [s for s in plan.steps if s.min_level <= level]
        rec = self.planner.recommend(queue, steps, plan.target_sl, plan.horizon_s)
        self.timings.append(rec.seconds)
        self._n += 1
        act = Activation(f"{plan.name}/{queue}/{self._n}", plan.name, level, queue, ev.alert_id, ev.at, rec)
        if prev is not None:
            prev.active = False
            prev.history.append({"at": ev.at, "event": "superseded", "by": act.activation_id})
        self.activations[act.activation_id] = act
        self.current[(plan.name, queue)] = act
        for s in rec.steps:
            if s.approval == "auto":
                s.status = "applied"
                self._send(act, s, ev.at)
            else:
                s.status = "pending_approval"
        entry = {"event": "activated", "activation_id": act.activation_id, "plan": plan.name, "level": level,
                 "queue": queue, "at": ev.at, "alert_id": ev.alert_id}  # fmt: skip
        act.history.append(entry)
        self.log.append({**entry, "recommendation": rec.as_dict()})
        self.bus.publish("plans", {**entry, "recommendation": rec.as_dict()})

    def _send(self, act: Activation, step: StepPlan, at: float) -> None:
        for cmd in step.commands:
            self.bus.publish("commands", {**cmd, "at": at, "activation_id": act.activation_id, "step": step.kind})

    def approve(self, activation_id: str, step_kind: str, by: str) -> list[dict[str, Any]]:
        """A dispatcher approves a waiting step: its commands go out; returns them."""
        act, s = self.waiting_step(activation_id, step_kind)
        s.status = "approved"
        before = len(self.bus.commands)
        self._send(act, s, self.state.now)
        act.history.append({"event": "approved", "step": step_kind, "by": by, "at": self.state.now})
        return self.bus.commands[before:]

    def reject(self, activation_id: str, step_kind: str, by: str) -> None:
        """A dispatcher turns down a waiting step: nothing is sent, the decision is kept in the history."""
        act, s = self.waiting_step(activation_id, step_kind)
        s.status = "rejected"
        entry = {"event": "rejected", "activation_id": activation_id, "step": step_kind, "by": by,
                 "at": self.state.now}  # fmt: skip
        act.history.append(entry)
        self.bus.publish("plans", entry)

    def waiting_step(self, activation_id: str, step_kind: str) -> tuple[Activation, StepPlan]:
        """The active activation and its step ``step_kind`` waiting for a decision, or a CallopsError."""
        act = self.activations.get(activation_id)
        if act is None or not act.active:
            raise CallopsError(f"no active plan activation {activation_id!r}")
        for s in act.recommendation.steps:
            if s.kind == step_kind and s.status == "pending_approval":
                return act, s
        raise CallopsError(f"activation {activation_id} has no step {step_kind!r} waiting for approval")

    def _deactivate(self, act: Activation, at: float) -> None:
        act.active = False
        del self.current[(act.plan, act.queue)]
        undo = {"disable_cross_sell": "enable_cross_sell"}
        for s in act.recommendation.steps:
            if s.status in ("applied", "approved"):
                for cmd in s.commands:
                    kind = undo.get(cmd["type"], "cancel")
                    self.bus.publish("commands", {**cmd, "type": kind, "undoes": cmd["type"], "at": at,
                                                  "activation_id": act.activation_id, "step": s.kind})  # fmt: skip
        entry = {"event": "deactivated", "activation_id": act.activation_id, "at": at}
        act.history.append(entry)
        self.log.append(entry)
        self.bus.publish("plans", entry)


def level_of(name: str) -> int:
    """Plan level of an alert level name with the default trigger."""
    return LEVEL_NUMBER[name]
