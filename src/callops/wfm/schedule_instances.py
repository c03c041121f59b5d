"""Seeded scheduling instances: a roster, a demand curve and time off, for tests, benches and demos."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from callops.wfm.rules import Agent, Problem, TimeOff, Workforce, default_workforce, problem_from_workforce

WEEK = date(2026, 11, 23)  # a Monday


def demand_curve(interval_minutes: int = 15, peak: float = 1.0) -> np.ndarray:
    """A contact-center shape for one week: morning and afternoon peaks, quiet nights, lighter weekends."""
    per_day = 1440 // interval_minutes
    hours = (np.arange(per_day) * interval_minutes) / 60
    day = (
        0.12
        + 0.9 * np.exp(-0.5 * ((hours - 10.5) / 1.8) ** 2)
        + 0.8 * np.exp(-0.5 * ((hours - 15.0) / 2.2) ** 2)
        + 0.25 * np.exp(-0.5 * ((hours - 20.0) / 1.5) ** 2)
    )
    day = day / day.max()
    week = np.concatenate([day * (0.65 if d >= 5 else 1.0) * (1.05 if d == 0 else 1.0) for d in range(7)])
    return peak * week


def random_problem(
    seed: int,
    n_agents: int,
    queues: tuple[str, ...] | None = ("billing", "tech"),
    load: float = 0.8,
    part_time_share: float = 0.35,
    time_off_share: float = 0.1,
    limited_availability_share: float = 0.1,
    workforce: Workforce | None = None,
) -> Problem:
    """A week for ``n_agents`` named agents whose demand uses about ``load`` of their paid capacity."""
    rng = np.random.default_rng(seed)
    wf = workforce or default_workforce()
    contracts = {c.name: c for c in wf.contracts}
    agents = []
    for i in range(n_agents):
        contract = "part-time" if rng.random() < part_time_share else "full-time"
        if queues:
            roll = rng.random()
            skills = list(queues) if roll < 0.4 or len(queues) == 1 else [queues[int(rng.integers(len(queues)))]]
        else:
            skills = []
        availability = None
        if contract == "part-time" and rng.random() < limited_availability_share * 3:
            availability = {d: ["07:00-21:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
        time_off = []
        if rng.random() < time_off_share:
            day = WEEK + timedelta(days=int(rng.integers(0, 7)))
            time_off.append(TimeOff(day=day))
        agents.append(
            Agent(
                agent_id=f"a{i:04d}",
                name=f"Agent {i}",
                contract=contract,
                skills=skills,
                availability=availability,
                time_off=time_off,
            )
        )
    # capacity in agent-intervals of work (breaks take about a tenth of a shift)
    capacity = sum(contracts[a.contract].max_hours for a in agents) * 60 / wf.interval_minutes * 0.9
    shape = demand_curve(wf.interval_minutes)
    scale = load * capacity / shape.sum()
    if queues:
        shares = rng.dirichlet(np.full(len(queues), 8.0))
        req = {q: np.round(shape * scale * s) for q, s in zip(queues, shares, strict=True)}
    else:
        req = {None: np.round(shape * scale)}
    return problem_from_workforce(wf, agents, WEEK, "Asia/Shanghai", req)
