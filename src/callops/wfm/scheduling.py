"""Weekly shift scheduling with OR-Tools, decomposed so that large weeks solve with a proven gap.

The full model (named agents × days × templates × queues, every break position, soft
coverage per interval) is too large to close in a minute, so it is solved in stages:

1. **Counts.** An aggregate model decides how many shifts of each template start on each
   day for each queue, and how many of those place each break at each position. Because
   break windows inside a template are disjoint (enforced by :class:`rules.ShiftTemplate`),
   counting breaks per position is exact. Agent rules enter only as valid aggregate limits
   (agents available per day, per skill subset, hours bands, day-off patterns), so this model is a
   *relaxation* of the full problem. Its LP relaxation (GLOP) and its optimum with shift
   counts integer but break counts fractional (HiGHS MIP through OR-Tools) are lower bounds
   on the cost of any schedule; the larger one is reported with the gap.
2. **Assignment.** Named agents are assigned to day × template × queue with every hard rule
   (hours band, days off, two consecutive days off, rest, consecutive days, availability,
   time off, skills), meeting the stage-1 counts as closely as possible, plus fairness
   (spread of weekend and night shifts). CP-SAT starts from a legal hint built agent by
   agent (each agent's best week against the counts still wanted); what it returns within its
   time limit is then repaired by the same best responses against the counts it left short
   (:func:`_repair`, issue 16), which fills the groups a time-limited search leaves one or two short.
3. **Breaks.** With the shifts fixed, the counting model places breaks in whole numbers again
   (HiGHS; CP-SAT from the rounded LP point as fallback).

The objective reported is recomputed from the produced rows by
:mod:`callops.wfm.schedule_validator` (no solver involved).
"""

from __future__ import annotations

import itertools
import os
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from ortools.linear_solver import pywraplp
from ortools.sat.python import cp_model

from callops.errors import CallopsError
from callops.wfm import schedule_validator as sv
from callops.wfm.rules import DAY_MIN, DAYS, WEEK_MIN, Problem

Group = tuple[int, int, str | None]  # (day, template index, queue)


@dataclass(frozen=True)
class Option:
    """An agent may start template ``k`` on ``day`` working ``queue``."""

    agent: int
    day: int
    k: int
    queue: str | None

    @property
    def group(self) -> Group:
        """The aggregate (day, template, queue) this option counts towards."""
        return (self.day, self.k, self.queue)


@dataclass
class Shift:
    """A scheduled shift in week minutes, with its breaks as (kind, start, end)."""

    agent_id: str
    day: int
    template: str
    queue: str | None
    start: int
    end: int
    breaks: list[tuple[str, int, int]] = field(default_factory=list)


@dataclass
class ScheduleResult:
    """A week's schedule with its quality figures."""

    problem: Problem
    shifts: list[Shift]
    objective: float
    under: int
    over: int
    weekend_spread: int
    night_spread: int
    lower_bound: float
    lp_bound: float | None
    mip_bound: float | None
    gap: float
    seconds: float
    stages: dict[str, dict]
    uncovered: list[dict]

    def rows(self) -> list[dict]:
        """Rows in the canonical ``schedules`` shape (UTC instants)."""
        return schedule_rows(self.problem, self.shifts)

    def summary(self) -> dict:
        """JSON-ready figures (no rows)."""
        return {
            "week_start": self.problem.week_start.isoformat(),
            "agents": len(self.problem.agents),
            "shifts": len(self.shifts),
            "objective": self.objective,
            "under_coverage": self.under,
            "over_coverage": self.over,
            "weekend_spread": self.weekend_spread,
            "night_spread": self.night_spread,
            "lower_bound": self.lower_bound,
            "lp_bound": self.lp_bound,
            "mip_bound": self.mip_bound,
            "gap": self.gap,
            "seconds": round(self.seconds, 3),
            "stages": self.stages,
            "uncovered_intervals": len(self.uncovered),
        }


# ---------------------------------------------------------------- options and per-agent facts


def _merged_windows(problem: Problem, agent_idx: int) -> list[tuple[int, int]] | None:
    agent = problem.agents[agent_idx]
    if agent.availability is None:
        return None
    from callops.wfm.rules import WEEKDAYS, _hhmm

    spans = []
    for d, name in enumerate(WEEKDAYS):
        for w in agent.availability.get(name, []):
            a, _, b = w.partition("-")
            s, e = _hhmm(a), _hhmm(b)
            spans.append((d * DAY_MIN + s, d * DAY_MIN + (e if e > s else e + DAY_MIN)))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def _time_off(problem: Problem, agent_idx: int) -> list[tuple[int, int]]:
    out = []
    for t in problem.agents[agent_idx].time_off:
        lo, hi = t.local_range()
        out.append((problem.week_minute(lo), problem.week_minute(hi)))
    return out


def min_minutes(problem: Problem, agent_idx: int) -> int:
    """The agent's minimum paid minutes this week, after crediting full days of time off."""
    agent = problem.agents[agent_idx]
    c = problem.contracts[agent.contract]
    full_days = 0
    for d in range(DAYS):
        lo, hi = d * DAY_MIN, (d + 1) * DAY_MIN
        if any(s <= lo and hi <= e for s, e in _time_off(problem, agent_idx)):
            full_days += 1
    return max(0, round((c.min_hours - c.time_off_credit_hours * full_days) * 60))


def shift_options(problem: Problem) -> list[Option]:
    """Every (agent, day, template, queue) that respects contract templates, availability, time off and skills."""
    by_name = {t.name: i for i, t in enumerate(problem.templates)}
    opts = []
    for ai, agent in enumerate(problem.agents):
        c = problem.contracts[agent.contract]
        allowed = [by_name[n] for n in c.templates] if c.templates is not None else range(len(problem.templates))
        queues = [None] if problem.queues == [None] else [q for q in problem.queues if q in agent.skills]
        windows = _merged_windows(problem, ai)
        off = _time_off(problem, ai)
        for d in range(DAYS):
            for k in allowed:
                t = problem.templates[k]
                s = d * DAY_MIN + t.start_minute
                e = s + t.length_minutes
                if windows is not None and not any(ws <= s and e <= we for ws, we in windows):
                    continue
                if any(s < oe and os_ < e for os_, oe in off):
                    continue
                opts.extend(Option(ai, d, k, q) for q in queues)
    return opts


def _conflicts(problem: Problem, k1: int, d1: int, k2: int, d2: int, rest_min: int) -> bool:
    """Two shifts (different days) too close: overlap or rest shorter than the contract's."""
    t1, t2 = problem.templates[k1], problem.templates[k2]
    s1 = d1 * DAY_MIN + t1.start_minute
    s2 = d2 * DAY_MIN + t2.start_minute
    e1, e2 = s1 + t1.length_minutes, s2 + t2.length_minutes
    if s1 > s2:
        s1, e1, s2, e2 = s2, e2, s1, e1
    return s2 < e1 + rest_min


@dataclass
class _AgentVars:
    x: dict[Option, cp_model.IntVar]
    works: list[cp_model.LinearExpr]
    weekend: cp_model.LinearExpr
    nights: cp_model.LinearExpr
    has_weekend: bool
    has_night: bool


def add_agent_rules(model: cp_model.CpModel, problem: Problem, agent_idx: int, opts: list[Option]) -> _AgentVars:
    """Add one agent's shift variables and every hard contract rule to ``model``."""
    agent = problem.agents[agent_idx]
    c = problem.contracts[agent.contract]
    x = {o: model.NewBoolVar(f"x{agent_idx}_{o.day}_{o.k}_{o.queue}") for o in opts}
    # y[d,k]: the agent starts template k on day d (any queue)
    by_dk: dict[tuple[int, int], list] = defaultdict(list)
    for o, v in x.items():
        by_dk[(o.day, o.k)].append(v)
    y = {dk: (vs[0] if len(vs) == 1 else sum(vs)) for dk, vs in by_dk.items()}
    works = []
    x_by_day: dict[int, list[cp_model.IntVar]] = defaultdict(list)
    for o, v in x.items():
        x_by_day[o.day].append(v)
    for d in range(DAYS):
        lits = x_by_day.get(d, [])
        if len(lits) > 1:
            model.AddAtMostOne(lits)
        works.append(sum(lits) if lits else 0)
    rest = round(c.min_rest_hours * 60)
    y_by_day: dict[int, list[tuple[int, cp_model.LinearExprT]]] = defaultdict(list)
    for (d, k), v in y.items():
        y_by_day[d].append((k, v))
    for (d1, k1), v1 in y.items():
        for d2 in (d1 + 1, d1 + 2):
            clash = [v2 for k2, v2 in y_by_day.get(d2, ()) if _conflicts(problem, k1, d1, k2, d2, rest)]
            if clash:
                model.Add(v1 + sum(clash) <= 1)
    model.Add(sum(works) <= DAYS - c.days_off)
    if c.consecutive_days_off and c.days_off >= 2:
        z = [model.NewBoolVar(f"z{agent_idx}_{d}") for d in range(DAYS - 1)]
        for d, zd in enumerate(z):
            model.Add(works[d] + zd <= 1)
            model.Add(works[d + 1] + zd <= 1)
        model.AddBoolOr(z)
    m = c.max_consecutive_days
    for s in range(DAYS - m):
        model.Add(sum(works[s : s + m + 1]) <= m)
    paid = sum(problem.templates[k].paid_minutes * v for (_, k), v in y.items())
    model.Add(paid >= min_minutes(problem, agent_idx))
    model.Add(paid <= round(c.max_hours * 60))
    weekend = sum(works[5:])
    night_terms = [v for (_, k), v in y.items() if problem.templates[k].is_night]
    return _AgentVars(
        x=x,
        works=works,
        weekend=weekend,
        nights=sum(night_terms),
        has_weekend=any(d >= 5 for d, _ in y),
        has_night=bool(night_terms),
    )


# ---------------------------------------------------------------- stage 1 / 3: counting model


@dataclass
class _Counts:
    objective: float | None
    bound: float | None
    status: str
    seconds: float
    n: dict[Group, int]
    placements: dict[tuple[Group, int], list[tuple[int, int, int]]]  # (group, rule) -> [(offset, length, count)]


def _cover_intervals(problem: Problem, start: int, end: int) -> range:
    step = problem.interval_minutes
    return range(max(0, start) // step, min(end, WEEK_MIN) // step)


def _subsets(queues: list[str | None]) -> list[tuple[str | None, ...]]:
    if len(queues) <= 4:
        return [s for r in range(1, len(queues) + 1) for s in itertools.combinations(queues, r)]
    return [(q,) for q in queues] + [tuple(queues)]


class _Linear:
    """A small solver-neutral linear model, emitted to CP-SAT (integers) or GLOP (LP relaxation)."""

    def __init__(self) -> None:
        self.bounds: list[tuple[int, int]] = []
        self.rows: list[tuple[list[tuple[int, int]], float, float]] = []
        self.objective: list[tuple[int, int]] = []
        self.offset = 0

    def var(self, lo: int, hi: int) -> int:
        self.bounds.append((lo, hi))
        return len(self.bounds) - 1

    def add(self, terms: list[tuple[int, int]], lo: float, hi: float) -> None:
        self.rows.append((terms, lo, hi))

    def solve_lp(
        self,
        solver_id: str = "GLOP",
        time_limit: float = 60.0,
        workers: int = 1,
        integer: set[int] | None = None,
    ) -> tuple[str, float | None, list[float], float | None]:
        """Solve with a pywraplp backend: GLOP (LP relaxation) or a MIP solver with ``integer`` variables.

        Returns (status, value, x, bound).
        """
        solver = pywraplp.Solver.CreateSolver(solver_id)
        integer = integer or set()
        inf = solver.infinity()
        xs = [
            solver.IntVar(lo, hi, "") if i in integer else solver.NumVar(lo, hi, "")
            for i, (lo, hi) in enumerate(self.bounds)
        ]
        for terms, lo, hi in self.rows:
            ct = solver.Constraint(-inf if lo == -np.inf else lo, inf if hi == np.inf else hi)
            for i, c in terms:
                ct.SetCoefficient(xs[i], c)
        obj = solver.Objective()
        for i, c in self.objective:
            obj.SetCoefficient(xs[i], c)
        obj.SetOffset(self.offset)
        obj.SetMinimization()
        # No SetHint here: with the HiGHS backend of OR-Tools 9.15 it crashes the process (segfault, measured).
        if integer:
            solver.SetTimeLimit(max(1, int(time_limit * 1000)))
            solver.SetNumThreads(workers)
            solver.SuppressOutput()
            # HiGHS logs to stdout unless told not to, which would spoil --json output
            # (more primal heuristics: the counting MIP otherwise may reach its time limit with no incumbent)
            solver.SetSolverSpecificParametersAsString(
                "output_flag=false\nlog_to_console=false\nmip_heuristic_effort=0.3\n"
            )
        status = solver.Solve()
        if status not in (pywraplp.Solver.OPTIMAL, pywraplp.Solver.FEASIBLE):
            return "not_solved", None, [], None
        name = "optimal" if status == pywraplp.Solver.OPTIMAL else "feasible"
        bound = obj.BestBound() if integer else obj.Value()
        return name, obj.Value(), [x.solution_value() for x in xs], bound

    def solve_cp(
        self, time_limit: float, workers: int, hint: list[float] | None = None
    ) -> tuple[str, float | None, float | None, list[int]]:
        model = cp_model.CpModel()
        xs = [model.NewIntVar(lo, hi, "") for lo, hi in self.bounds]
        for terms, lo, hi in self.rows:
            expr = cp_model.LinearExpr.WeightedSum([xs[i] for i, _ in terms], [c for _, c in terms])
            if lo == hi:
                model.Add(expr == int(lo))
            else:
                if lo != -np.inf:
                    model.Add(expr >= int(np.ceil(lo)))
                if hi != np.inf:
                    model.Add(expr <= int(np.floor(hi)))
        model.Minimize(
            cp_model.LinearExpr.WeightedSum([xs[i] for i, _ in self.objective], [c for _, c in self.objective])
            + self.offset
        )
        if hint:
            for x, v in zip(xs, hint, strict=True):
                model.AddHint(x, round(v))
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(0.5, time_limit)
        solver.parameters.num_workers = workers
        status = solver.Solve(model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return solver.StatusName(status).lower(), None, None, []
        return (
            solver.StatusName(status).lower(),
            solver.ObjectiveValue(),
            solver.BestObjectiveBound(),
            [solver.Value(x) for x in xs],
        )


def _counting_model(
    problem: Problem,
    opts: list[Option],
    time_limit: float,
    workers: int,
    fixed: dict[Group, int] | None = None,
) -> tuple[_Counts, _Counts | None]:
    """Aggregate model solved as an LP (bound) and with CP-SAT; with ``fixed`` counts it only places breaks.

    Returns (CP-SAT result, LP result or None when counts are fixed).
    """
    t0 = time.perf_counter()
    w = problem.weights
    lm = _Linear()
    agents_in: dict[Group, set[int]] = defaultdict(set)
    for o in opts:
        agents_in[o.group].add(o.agent)
    groups = sorted(agents_in, key=lambda g: (g[0], g[1], g[2] or ""))
    if fixed is not None:
        groups = [g for g in groups if fixed.get(g, 0) > 0]
    n: dict[Group, int] = {}
    m: dict[tuple[Group, int, int, int], int] = {}
    terms: dict[tuple[int, str | None], list[tuple[int, int]]] = defaultdict(list)
    for g in groups:
        d, k, q = g
        cap = len(agents_in[g])
        n[g] = lm.var(fixed[g], fixed[g]) if fixed is not None else lm.var(0, cap)
        t = problem.templates[k]
        s = d * DAY_MIN + t.start_minute
        for i in _cover_intervals(problem, s, s + t.length_minutes):
            terms[(i, q)].append((n[g], 1))
        for r, rule in enumerate(t.breaks):
            vs = []
            for length in rule.lengths:
                for off in range(rule.earliest_start, rule.latest_end - length + 1, problem.interval_minutes):
                    v = lm.var(0, cap)
                    m[(g, r, off, length)] = v
                    vs.append((v, 1))
                    for i in _cover_intervals(problem, s + off, s + off + length):
                        terms[(i, q)].append((v, -1))
            lm.add([*vs, (n[g], -1)], 0, 0)
    cover_rows: list[tuple[list[tuple[int, int]], int, int, int]] = []
    for q, req in problem.requirements.items():
        for i, r in enumerate(req):
            ts = terms.get((i, q))
            if not ts:
                lm.offset += w.under * int(r)
                continue
            top = sum(1 for _, c in ts if c > 0) * max(1, len(problem.agents))
            under, over = lm.var(0, int(r)), lm.var(0, top)
            lm.add([*ts, (under, 1), (over, -1)], int(r), int(r))
            cover_rows.append((ts, int(r), under, over))
            lm.objective += [(under, w.under), (over, w.over)]
    if fixed is None:
        _aggregate_limits(problem, opts, lm, n)
    status, value, lp_sol, _ = lm.solve_lp()
    lp = _Counts(value, value, status, time.perf_counter() - t0, {}, {})
    hint = _rounded_hint(lm, lp_sol, n, m, cover_rows) if lp_sol else None
    mip_bound = None
    if fixed is None:
        # Shift counts integer, break counts continuous: few integer variables, so HiGHS (through OR-Tools)
        # solves it quickly, and its bound is a lower bound of the full problem at least as strong as the LP.
        n_ids = set(n.values())
        budget = time_limit - (time.perf_counter() - t0)
        status, value, xs, mip_bound = lm.solve_lp("HIGHS", budget, workers, integer=n_ids)
        if value is not None:
            sol = [round(v) if i in n_ids else 0 for i, v in enumerate(xs)]
            bound = mip_bound
        else:  # no MIP answer in time: the rounded LP point is still a usable (worse) start
            status, value, bound, sol = "rounded_lp", None, None, [round(v) for v in (hint or [])]
            if hint:
                value = sum(c * hint[i] for i, c in lm.objective) + lm.offset
    else:
        # Breaks only (counts fixed): HiGHS closes this MIP quickly where CP-SAT stalls; CP-SAT, started from
        # the rounded LP point, is the fallback.
        left = time_limit - (time.perf_counter() - t0)
        status, value, xs, bound = lm.solve_lp("HIGHS", left, workers, integer=set(range(len(lm.bounds))))
        if value is not None:
            sol = [round(v) for v in xs]
        elif not hint:
            left = max(1.0, time_limit - (time.perf_counter() - t0))
            status, value, bound, sol = lm.solve_cp(left, workers, hint)
        if hint:  # the rounded LP point is a complete legal placement: keep it when the MIP did worse
            hint_value = sum(c * hint[i] for i, c in lm.objective) + lm.offset
            if value is None or hint_value < value:
                status, value, sol = "rounded_lp", hint_value, [round(v) for v in hint]
    if value is None:
        return _Counts(None, None, status, time.perf_counter() - t0, {}, {}), lp
    counts = {g: sol[v] for g, v in n.items()}
    placements: dict[tuple[Group, int], list[tuple[int, int, int]]] = defaultdict(list)
    for (g, r, off, length), v in m.items():
        if sol[v]:
            placements[(g, r)].append((off, length, sol[v]))
    return _Counts(value, bound, status, time.perf_counter() - t0, counts, dict(placements)), lp


def _rounded_hint(
    lm: _Linear,
    x: list[float],
    n: dict[Group, int],
    m: dict[tuple[Group, int, int, int], int],
    cover_rows: list[tuple[list[tuple[int, int]], int, int, int]],
) -> list[float]:
    """Round the LP point to a complete integer point (counts to nearest, breaks by largest remainder)."""
    h = [float(round(v)) for v in x]
    for v in n.values():
        h[v] = float(max(lm.bounds[v][0], min(lm.bounds[v][1], round(x[v]))))
    by_rule: dict[tuple[Group, int], list[int]] = defaultdict(list)
    for (g, r, _off, _len), v in m.items():
        by_rule[(g, r)].append(v)
    for (g, _r), vs in by_rule.items():
        want = int(h[n[g]])
        raw = np.array([max(0.0, x[v]) for v in vs])
        raw = raw / raw.sum() * want if raw.sum() > 0 else np.full(len(vs), want / len(vs))
        base = np.floor(raw).astype(int)
        for i in np.argsort(-(raw - base))[: want - int(base.sum())]:
            base[i] += 1
        for v, c in zip(vs, base, strict=True):
            h[v] = float(c)
    for ts, req, under, over in cover_rows:
        cov = sum(h[v] * c for v, c in ts)
        h[under] = float(min(lm.bounds[under][1], max(0.0, req - cov)))
        h[over] = float(max(0.0, cov - req))
    return h


def _aggregate_limits(problem: Problem, opts: list[Option], lm: _Linear, n: dict[Group, int]) -> None:
    """Limits every real schedule obeys, stated on the counts (keeps the relaxation valid and tight)."""
    per_agent_days: dict[int, set[int]] = defaultdict(set)
    per_agent_queues: dict[int, set[str | None]] = defaultdict(set)
    per_agent_dk: dict[tuple[int, int], set[int]] = defaultdict(set)
    per_day_q: dict[tuple[int, str | None], set[int]] = defaultdict(set)
    for o in opts:
        per_agent_days[o.agent].add(o.day)
        per_agent_queues[o.agent].add(o.queue)
        per_agent_dk[(o.day, o.k)].add(o.agent)
        per_day_q[(o.day, o.queue)].add(o.agent)
    queues = problem.queues
    inf = np.inf
    # one shift per agent per day, each on one queue: Hall-type limits on skill subsets
    for s in _subsets(queues):
        for d in range(DAYS):
            who = set().union(*(per_day_q.get((d, q), set()) for q in s))
            lm.add([(v, 1) for g, v in n.items() if g[0] == d and g[2] in s], -inf, len(who))
        who = {a for a, qs in per_agent_queues.items() if qs & set(s)}
        hours_cap = sum(round(problem.contracts[problem.agents[a].contract].max_hours * 60) for a in who)
        shifts_cap = sum(_max_shifts(problem, a, per_agent_days[a]) for a in who)
        sel = [(g, v) for g, v in n.items() if g[2] in s]
        lm.add([(v, problem.templates[g[1]].paid_minutes) for g, v in sel], -inf, hours_cap)
        lm.add([(v, 1) for _, v in sel], -inf, shifts_cap)
    if len(queues) > 1:
        for (d, k), who in per_agent_dk.items():
            lm.add([(v, 1) for g, v in n.items() if g[0] == d and g[1] == k], -inf, len(who))
    # hours bands by template family: agents limited to a template set must fill their minimum inside it
    by_name = {t.name: i for i, t in enumerate(problem.templates)}
    allowed = {}
    for name, c in problem.contracts.items():
        allowed[name] = {by_name[t] for t in c.templates} if c.templates is not None else set(by_name.values())
    for fam in {frozenset(v) for v in allowed.values()}:
        inside = [a for a, ag in enumerate(problem.agents) if allowed[ag.contract] <= fam]
        touching = [a for a, ag in enumerate(problem.agents) if allowed[ag.contract] & fam]
        sel = [(v, problem.templates[g[1]].paid_minutes) for g, v in n.items() if g[1] in fam]
        cap = sum(round(problem.contracts[problem.agents[a].contract].max_hours * 60) for a in touching)
        lm.add(sel, sum(min_minutes(problem, a) for a in inside), cap)
    _day_pattern_limits(problem, lm, n, {a: frozenset(ds) for a, ds in per_agent_days.items()}, allowed)
    _rest_limits(problem, lm, n, allowed)


def legal_day_patterns(problem: Problem, agent_idx: int, days: frozenset[int]) -> list[frozenset[int]]:
    """The inclusion-maximal sets of days (within ``days``) on which the agent may start a shift in one week under
    its contract's day rules alone: at most ``7 - days_off`` days, two consecutive days off inside the week when the
    contract asks for them, at most ``max_consecutive_days`` in a row (as :func:`add_agent_rules` states them).
    Every legal week's working days are a subset of one of them."""
    c = problem.contracts[problem.agents[agent_idx].contract]
    legal = []
    for bits in range(1 << DAYS):
        ds = frozenset(d for d in range(DAYS) if bits >> d & 1)
        if not ds <= days or len(ds) > DAYS - c.days_off:
            continue
        if c.consecutive_days_off and c.days_off >= 2 and not any(
            d not in ds and d + 1 not in ds for d in range(DAYS - 1)
        ):
            continue
        run = best = 0
        for d in range(DAYS):
            run = run + 1 if d in ds else 0
            best = max(best, run)
        if best > c.max_consecutive_days:
            continue
        legal.append(ds)
    return [p for p in legal if not any(p < q for q in legal)]


def _day_pattern_limits(
    problem: Problem, lm: _Linear, n: dict[Group, int], days: dict[int, frozenset[int]], allowed: dict[str, set[int]]
) -> None:
    """Day-off patterns on the counts (issue 18): each agent's working days form one of its legal day patterns
    (:func:`legal_day_patterns`), so the shifts of a template family on a day are at most the agents (touching that
    family) whose pattern holds that day. With fractional pattern counts this is still a relaxation, and it is what
    the per-day limits miss: with two consecutive days off inside the week and no demand on Sunday, an agent who
    works Saturday has at most four useful days, which the plan otherwise assumes away (measured: the demo's
    app_service plan asked for 66 shifts no assignment could give)."""
    inf = np.inf
    classes: dict[tuple, list[int]] = defaultdict(list)
    for a, ag in enumerate(problem.agents):
        c = problem.contracts[ag.contract]
        key = (ag.contract, frozenset(allowed[ag.contract]), c.days_off, c.consecutive_days_off,
               c.max_consecutive_days, days.get(a, frozenset()))  # fmt: skip
        classes[key].append(a)
    if len(classes) > 200:  # very varied availability: the limits would cost more than they give
        return
    pattern_vars: list[tuple[frozenset[int], frozenset[int], int]] = []  # (templates allowed, days, variable)
    for key, members in classes.items():
        pats = legal_day_patterns(problem, members[0], key[-1])
        vs = [lm.var(0, len(members)) for _ in pats]
        lm.add([(v, 1) for v in vs], len(members), len(members))
        pattern_vars += [(key[1], p, v) for p, v in zip(pats, vs, strict=True)]
    for fam in {frozenset(v) for v in allowed.values()} | {frozenset(range(len(problem.templates)))}:
        for d in range(DAYS):
            sel = [(v, 1) for g, v in n.items() if g[0] == d and g[1] in fam]
            if sel:
                cover = [(v, -1) for ks, p, v in pattern_vars if d in p and ks & fam]
                lm.add(sel + cover, -inf, 0)


def _rest_limits(problem: Problem, lm: _Linear, n: dict[Group, int], allowed: dict[str, set[int]]) -> None:
    """Rest between days on the counts (issue 18): for a time T on day d + 1 (or d + 2), the shifts of day d that
    end less than the minimum rest before T and the shifts of the later day that start by T cannot both be one
    agent's, so together they are at most the agents (touching the template family) who could work them. Without
    this the plan can ask for a night of agents who all worked the evening before (measured on the demo's
    data_plan week: 115 Tuesday 00:00 shifts short while 55 Tuesday 22:00 ones were over)."""
    inf = np.inf
    for fam in {frozenset(v) for v in allowed.values()} | {frozenset(range(len(problem.templates)))}:
        who = [ag for ag in problem.agents if allowed[ag.contract] & fam]
        if not who:
            continue
        rest = min(round(problem.contracts[ag.contract].min_rest_hours * 60) for ag in who)
        for d in range(DAYS):
            for later in (d + 1, d + 2):
                if later >= DAYS:
                    continue
                late = [(later * DAY_MIN + problem.templates[g[1]].start_minute, v)
                        for g, v in n.items() if g[0] == later and g[1] in fam]  # fmt: skip
                early = [(d * DAY_MIN + problem.templates[g[1]].start_minute
                          + problem.templates[g[1]].length_minutes + rest, v)
                         for g, v in n.items() if g[0] == d and g[1] in fam]  # fmt: skip
                seen: set[tuple[frozenset[int], frozenset[int]]] = set()
                for t, _ in late:
                    a = frozenset(v for free_at, v in early if free_at > t)
                    b = frozenset(v for start, v in late if start <= t)
                    if a and b and (a, b) not in seen:
                        seen.add((a, b))
                        lm.add([(v, 1) for v in a | b], -inf, len(who))


def _max_shifts(problem: Problem, agent_idx: int, days: set[int]) -> int:
    c = problem.contracts[problem.agents[agent_idx].contract]
    return min(DAYS - c.days_off, len(days))


# ---------------------------------------------------------------- stage 2: assignment


def _diagnose(problem: Problem, opts: list[Option]) -> list[str]:
    """Agents whose own rules admit no week at all (the only way the assignment is infeasible)."""
    by_agent: dict[int, list[Option]] = defaultdict(list)
    for o in opts:
        by_agent[o.agent].append(o)
    bad = []
    for ai, agent in enumerate(problem.agents):
        model = cp_model.CpModel()
        add_agent_rules(model, problem, ai, by_agent.get(ai, []))
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = 5
        if solver.Solve(model) == cp_model.INFEASIBLE:
            c = problem.contracts[agent.contract]
            bad.append(
                f"{agent.agent_id} (contract {c.name}: {c.min_hours:g}-{c.max_hours:g} h, "
                f"{len(by_agent.get(ai, []))} possible shifts given availability, time off and skills)"
            )
    return bad


def _assign(
    problem: Problem,
    opts: list[Option],
    target: dict[Group, int],
    time_limit: float,
    workers: int,
    hint: dict[Option, int] | None,
) -> tuple[list[Option], dict]:
    t0 = time.perf_counter()
    model = cp_model.CpModel()
    by_agent: dict[int, list[Option]] = defaultdict(list)
    for o in opts:
        by_agent[o.agent].append(o)
    av = [add_agent_rules(model, problem, ai, by_agent.get(ai, [])) for ai in range(len(problem.agents))]
    w = problem.weights
    step = problem.interval_minutes
    members: dict[Group, list] = defaultdict(list)
    for a in av:
        for o, v in a.x.items():
            members[o.group].append(v)
    cost = []
    for g, vs in members.items():
        t = problem.templates[g[1]]
        work = (t.length_minutes - sum(b.min_minutes for b in t.breaks)) // step
        tgt = target.get(g, 0)
        short = model.NewIntVar(0, tgt, f"short{g}")
        extra = model.NewIntVar(0, len(vs), f"extra{g}")
        model.Add(sum(vs) + short - extra == tgt)
        cost += [w.under * work * short, max(1, w.over) * work * extra]
    for name, weight, attr, flag in (
        ("weekend", w.weekend_spread, "weekend", "has_weekend"),
        ("night", w.night_spread, "nights", "has_night"),
    ):
        # spread over all agents, as schedule_validator.score measures it
        exprs = [getattr(a, attr) for a in av]
        if weight and len(exprs) > 1 and any(getattr(a, flag) for a in av):
            hi, lo = model.NewIntVar(0, DAYS, f"{name}_hi"), model.NewIntVar(0, DAYS, f"{name}_lo")
            for e in exprs:
                model.Add(e <= hi)
                model.Add(e >= lo)
            cost.append(weight * (hi - lo))
    model.Minimize(sum(cost))
    if hint:
        for a in av:
            for o, v in a.x.items():
                model.AddHint(v, hint.get(o, 0))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.5, time_limit)
    solver.parameters.num_workers = workers
    status = solver.Solve(model)
    info = {"status": solver.StatusName(status), "seconds": round(time.perf_counter() - t0, 3)}
    if status == cp_model.INFEASIBLE:
        bad = _diagnose(problem, opts)
        detail = "; ".join(bad[:5]) + (f"; and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise CallopsError(f"the contracts of {len(bad)} agent(s) cannot be met this week: {detail}")
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        if hint:  # the hint is legal agent by agent (each week is a best reply under all rules): keep it
            info["status"] = "hint_kept"
            return [o for o, v in hint.items() if v], info
        raise CallopsError(
            f"no schedule satisfying every contract was found in {time_limit:.0f} s; give a longer time limit"
        )
    info["objective"] = solver.ObjectiveValue()
    info["bound"] = solver.BestObjectiveBound()
    chosen = [o for a in av for o, v in a.x.items() if solver.BooleanValue(v)]
    return chosen, info


def _best_response(
    problem: Problem,
    agent_idx: int,
    opts: list[Option],
    value: dict[Option, int],
    seconds: float,
    cap_minutes: int | None = None,
) -> list[Option]:
    """The agent's legal week with the largest total value (a small CP-SAT model), optionally with fewer hours."""
    model = cp_model.CpModel()
    av = add_agent_rules(model, problem, agent_idx, opts)
    if cap_minutes is not None:
        model.Add(sum(problem.templates[o.k].paid_minutes * v for o, v in av.x.items()) <= cap_minutes)
    model.Maximize(sum(value[o] * v for o, v in av.x.items()))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = seconds
    solver.parameters.num_workers = 1
    if solver.Solve(model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        bad = _diagnose(problem, opts)
        raise CallopsError(f"the contracts of these agents cannot be met this week: {'; '.join(bad[:5])}")
    return [o for o, v in av.x.items() if solver.BooleanValue(v)]


class _Responder:
    """Best responses (:func:`_best_response`) with each agent's rule model built once and solved again with a new
    objective (issue 18): building the model is most of a response's time, and the hint's two passes and the
    repair ask the same agents again and again. The hint's first pass caps an agent's paid minutes: the cap is
    built into the model behind an enforcement literal that the capped solve assumes true (one cap per agent; a
    response with another cap builds a model of its own)."""

    def __init__(self, problem: Problem, by_agent: dict[int, list[Option]]) -> None:
        self.problem, self.by_agent = problem, by_agent
        self.models: dict[int, tuple[cp_model.CpModel, list[Option], list, cp_model.IntVar | None, int | None]] = {}

    def respond(self, agent_idx: int, value: dict[Option, int], seconds: float,
                cap_minutes: int | None = None) -> list[Option]:
        """The agent's legal week with the largest total value, optionally with at most ``cap_minutes`` paid."""
        entry = self.models.get(agent_idx)
        if entry is None:
            model = cp_model.CpModel()
            av = add_agent_rules(model, self.problem, agent_idx, self.by_agent[agent_idx])
            lit = None
            if cap_minutes is not None:
                lit = model.NewBoolVar("capped")
                paid = sum(self.problem.templates[o.k].paid_minutes * v for o, v in av.x.items())
                model.Add(paid <= cap_minutes).OnlyEnforceIf(lit)
            entry = (model, list(av.x), list(av.x.values()), lit, cap_minutes)
            self.models[agent_idx] = entry
        model, keys, xs, lit, built_cap = entry
        if cap_minutes is not None and (lit is None or cap_minutes != built_cap):
            return _best_response(self.problem, agent_idx, self.by_agent[agent_idx], value, seconds, cap_minutes)
        model.ClearAssumptions()
        if cap_minutes is not None:
            model.AddAssumption(lit)
        model.Maximize(cp_model.LinearExpr.WeightedSum(xs, [value[o] for o in keys]))
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = seconds
        solver.parameters.num_workers = 1
        if solver.Solve(model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            bad = _diagnose(self.problem, [o for lst in self.by_agent.values() for o in lst])
            raise CallopsError(f"the contracts of these agents cannot be met this week: {'; '.join(bad[:5])}")
        return [o for o, v in zip(keys, xs, strict=True) if solver.BooleanValue(v)]


def _sequential_hint(
    problem: Problem, opts: list[Option], target: dict[Group, int], deadline: float = float("inf"),
    responder: _Responder | None = None,
) -> dict[Option, int]:
    """Agents one by one take the legal week that best fills the counts still wanted (a feasible hint)."""
    by_agent: dict[int, list[Option]] = defaultdict(list)
    for o in opts:
        by_agent[o.agent].append(o)
    left = dict(target)
    w = problem.weights
    step = problem.interval_minutes
    work = {
        k: (t.length_minutes - sum(b.min_minutes for b in t.breaks)) // step for k, t in enumerate(problem.templates)
    }
    picked: dict[int, list[Option]] = {}
    br = responder or _Responder(problem, by_agent)

    def value(mine: list[Option]) -> dict[Option, int]:
        return {o: (w.under if left.get(o.group, 0) > 0 else -max(1, w.over)) * work[o.k] for o in mine}

    # Pass 1: everyone works about their contract minimum, so that no agent is left with only
    # unwanted shifts to reach it. Scarce agents (fewest options) choose first.
    order = sorted(by_agent, key=lambda a: len(by_agent[a]))
    for ai in order:
        mine = by_agent[ai]
        top = max(problem.templates[o.k].paid_minutes for o in mine)
        cap = max(min_minutes(problem, ai) + top - 1, 0)
        picked[ai] = br.respond(ai, value(mine), 1.0, cap_minutes=cap)
        for o in picked[ai]:
            left[o.group] = left.get(o.group, 0) - 1
    # Pass 2: each agent re-chooses its whole week against what the others left (full contract hours).
    for ai in order:
        if time.perf_counter() > deadline:
            break
        mine = by_agent[ai]
        # only agents who could fill a wanted count, or who hold an unwanted shift, can change anything
        if not any(left.get(o.group, 0) > 0 for o in mine) and not any(left[o.group] < 0 for o in picked[ai]):
            continue
        for o in picked[ai]:
            left[o.group] += 1
        picked[ai] = br.respond(ai, value(mine), 1.0)
        for o in picked[ai]:
            left[o.group] = left.get(o.group, 0) - 1
    return {o: 1 for lst in picked.values() for o in lst}


def _repair(
    problem: Problem, opts: list[Option], target: dict[Group, int], chosen: list[Option], deadline: float,
    rounds: int = 3, responder: _Responder | None = None,
) -> tuple[list[Option], int]:  # fmt: skip
    """Local repair of an assignment (issue 16): agents in turn re-choose their whole legal week against the counts
    the others leave short or over (best responses, as in :func:`_sequential_hint`'s second pass), until no agent
    changes, ``rounds`` passes or ``deadline``. An agent's current week is one of its choices, so no response makes
    the count deviation worse; CP-SAT stopped by its time limit often leaves a few groups one or two short that a
    single agent can fill. Returns the assignment and how many agents changed their week."""
    by_agent: dict[int, list[Option]] = defaultdict(list)
    for o in opts:
        by_agent[o.agent].append(o)
    picked: dict[int, list[Option]] = defaultdict(list)
    left = dict(target)
    for o in chosen:
        picked[o.agent].append(o)
        left[o.group] = left.get(o.group, 0) - 1
    w = problem.weights
    step = problem.interval_minutes
    work = {
        k: (t.length_minutes - sum(b.min_minutes for b in t.breaks)) // step for k, t in enumerate(problem.templates)
    }
    changed = 0
    br = responder or _Responder(problem, by_agent)
    for _ in range(rounds):
        moved = 0
        for ai in sorted(by_agent, key=lambda a: len(by_agent[a])):
            if time.perf_counter() > deadline:
                return [o for lst in picked.values() for o in lst], changed
            mine = by_agent[ai]
            # only an agent who could fill a short count, or holds a shift over its count, can change anything
            if not any(left.get(o.group, 0) > 0 for o in mine) and not any(left[o.group] < 0 for o in picked[ai]):
                continue
            for o in picked[ai]:
                left[o.group] += 1
            # what each shift is worth with this agent's own shifts handed back: filling a wanted count, else over
            value = {o: (w.under if left.get(o.group, 0) > 0 else -max(1, w.over)) * work[o.k] for o in mine}
            before = sum(value[o] for o in picked[ai])
            best = br.respond(ai, value, 1.0)
            if sum(value[o] for o in best) > before:
                picked[ai] = best
                moved += 1
            for o in picked[ai]:
                left[o.group] = left.get(o.group, 0) - 1
        changed += moved
        if not moved:
            break
    return [o for lst in picked.values() for o in lst], changed


def _repair_neighbourhoods(
    problem: Problem, opts: list[Option], target: dict[Group, int], chosen: list[Option], deadline: float,
    size: int = 10, seconds: float = 1.0, randomized: bool = True, seed: int = 0,
) -> tuple[list[Option], int]:  # fmt: skip
    """Large-neighbourhood repair (issue 16): for a group still short of its count, free the weeks of up to
    ``size`` agents who could work it (those holding shifts over their counts first), keep everyone else as they
    are, and let a small CP-SAT model re-assign the freed agents under every hard rule against the counts. Best
    responses (:func:`_repair`) move one agent at a time; filling a count often needs two agents to swap, which a
    neighbourhood does in milliseconds where the whole model under load may not finish. A neighbourhood's answer
    is kept only when its count deviation is lower. When every short group has had its neighbourhood and counts are
    still short, ``randomized`` goes on until ``deadline`` with random neighbourhoods (``seed``) around short groups,
    larger after failures. Returns the assignment and how many neighbourhoods helped."""
    by_agent: dict[int, list[Option]] = defaultdict(list)
    for o in opts:
        by_agent[o.agent].append(o)
    able: dict[Group, list[int]] = defaultdict(list)
    for ai, mine in by_agent.items():
        for g in {o.group for o in mine}:
            able[g].append(ai)
    picked: dict[int, list[Option]] = defaultdict(list)
    for o in chosen:
        picked[o.agent].append(o)
    w = problem.weights
    step = problem.interval_minutes
    work = {
        k: (t.length_minutes - sum(b.min_minutes for b in t.breaks)) // step for k, t in enumerate(problem.templates)
    }
    tried: set[Group] = set()
    helped = failures = 0
    rng = random.Random(seed)
    while time.perf_counter() < deadline - 0.2:
        got: dict[Group, int] = defaultdict(int)
        for lst in picked.values():
            for o in lst:
                got[o.group] += 1
        short_all = [g for g, t in target.items() if got[g] < t]
        short = [g for g in short_all if g not in tried]
        if short:
            g = max(short, key=lambda x: (target[x] - got[x]) * work[x[1]])
            tried.add(g)
            over = {ai for ai, lst in picked.items() if any(got[o.group] > target.get(o.group, 0) for o in lst)}
            free = sorted(able[g], key=lambda ai: (ai not in over, len(picked[ai]) == 0, ai))[:size]
        elif short_all and randomized:
            # Every short group had its neighbourhood and none helped (issue 18: the demo's week stopped here with
            # most of its limit unused): random neighbourhoods around a short group drawn by its weighted shortfall,
            # twice and four times as large after runs of failures, until the deadline.
            g = rng.choices(short_all, weights=[(target[x] - got[x]) * work[x[1]] for x in short_all])[0]
            k = min(len(able[g]), size << min(failures // 4, 2))
            free = rng.sample(able[g], k)
        else:
            break
        model = cp_model.CpModel()
        av = {ai: add_agent_rules(model, problem, ai, by_agent[ai]) for ai in free}
        fixed: dict[Group, int] = defaultdict(int)
        for ai, lst in picked.items():
            if ai not in av:
                for o in lst:
                    fixed[o.group] += 1
        members: dict[Group, list] = defaultdict(list)
        for a in av.values():
            for o, v in a.x.items():
                members[o.group].append(v)
        cost, before = [], 0
        for grp, vs in members.items():
            tgt = target.get(grp, 0) - fixed[grp]  # what the freed agents should bring
            wk = work[grp[1]]
            have = got[grp] - fixed[grp]
            before += (w.under * (tgt - have) if have < tgt else max(1, w.over) * (have - tgt)) * wk
            sh, ex = model.NewIntVar(0, max(tgt, 0), ""), model.NewIntVar(0, len(vs), "")
            model.Add(sum(vs) + sh - ex == max(tgt, 0))
            cost += [w.under * wk * sh, max(1, w.over) * wk * ex]
            if tgt < 0:
                cost.append(max(1, w.over) * wk * -tgt)  # already over without them: a constant
        model.Minimize(sum(cost))
        mine_now = {o for ai in free for o in picked[ai]}
        for a in av.values():
            for o, v in a.x.items():
                model.AddHint(v, int(o in mine_now))
        solver = cp_model.CpSolver()
        per = seconds * max(1.0, len(free) / size)  # larger random neighbourhoods get more time
        solver.parameters.max_time_in_seconds = max(0.2, min(per, deadline - time.perf_counter()))
        solver.parameters.num_workers = 1
        if solver.Solve(model) in (cp_model.OPTIMAL, cp_model.FEASIBLE) and solver.ObjectiveValue() < before - 1e-9:
            for ai, a in av.items():
                picked[ai] = [o for o, v in a.x.items() if solver.BooleanValue(v)]
            helped += 1
            failures = 0
            tried.clear()  # the counts moved: groups tried before may be fillable now
        else:
            failures += 1
    return [o for lst in picked.values() for o in lst], helped


# ---------------------------------------------------------------- public API


def _place_breaks(problem: Problem, chosen: list[Option], counts: _Counts) -> list[Shift]:
    pool: dict[tuple[Group, int], list[tuple[int, int]]] = {}
    for key, items in counts.placements.items():
        pool[key] = [(off, length) for off, length, c in items for _ in range(c)]
    shifts = []
    for o in sorted(chosen, key=lambda o: (o.agent, o.day)):
        t = problem.templates[o.k]
        s = o.day * DAY_MIN + t.start_minute
        brks = []
        for r, rule in enumerate(t.breaks):
            lst = pool.get((o.group, r))
            off, length = lst.pop() if lst else (rule.earliest_start, rule.min_minutes)
            brks.append((rule.kind, s + off, s + off + length))
        shifts.append(Shift(problem.agents[o.agent].agent_id, o.day, t.name, o.queue, s, s + t.length_minutes, brks))
    return shifts


def _deviation(problem: Problem, target: dict[Group, int], chosen: list[Option]) -> tuple[int, int, int]:
    """How far an assignment is from the counts plan: work intervals short of it, work intervals over it, and their
    weighted cost (under and over weights): what the assignment adds to the plan's objective at most."""
    got: dict[Group, int] = defaultdict(int)
    for o in chosen:
        got[o.group] += 1
    step = problem.interval_minutes
    work = {
        k: (t.length_minutes - sum(b.min_minutes for b in t.breaks)) // step for k, t in enumerate(problem.templates)
    }
    short = sum(max(0, n - got[g]) * work[g[1]] for g, n in target.items())
    extra = sum(max(0, n - target.get(g, 0)) * work[g[1]] for g, n in got.items())
    w = problem.weights
    return short, extra, w.under * short + max(1, w.over) * extra


def solve_schedule(problem: Problem, time_limit: float = 60.0, workers: int | None = None) -> ScheduleResult:
    """Schedule the week: every hard rule holds; coverage is soft and shortfalls are reported.

    Time policy (issue 18: the limit must hold on a busy machine too). Each stage gets a share of what is *left*,
    not of the limit, and says what it got (``budget_s``), what it used and how it ended; a stage that does not run
    says why (``status: skipped``, ``reason``). The counts take up to 45 % of the limit; the legal warm start
    (sequential best responses, :func:`_sequential_hint`) is ready within seconds after its first pass, which is
    always completed; the whole-week CP-SAT model runs only when enough time is left for it to improve on the warm
    start (on a loaded machine it would spend its time in presolve and return nothing) and runs after a first round of
    repairs (best responses, then CP-SAT neighbourhoods), which close most of the warm start's distance to the plan
    per second; a second round gets what is left; the break placement keeps a reserve. When the counting MIP finds
    no plan in its time, the greedy roster (:func:`greedy_schedule`) is made first and returned if the rest does
    worse. The assignment
    kept is the best one seen by its distance to the counts plan, so a time limit never returns less than the warm
    start. ``stages["limits"]`` splits the final gap into what each stage left.
    """
    t0 = time.perf_counter()
    workers = max(1, workers or os.cpu_count() or 1)
    opts = shift_options(problem)
    stages: dict[str, dict] = {}
    remaining = lambda: time_limit - (time.perf_counter() - t0)  # noqa: E731
    reserve = max(2.0, 0.12 * time_limit)  # for the break placement at the end
    budget = max(1.0, min(0.45 * time_limit, remaining() - reserve - 4.0))
    counts, lp = _counting_model(problem, opts, budget, workers)
    assert lp is not None
    stages["lp"] = {"status": lp.status, "bound": lp.bound, "seconds": round(lp.seconds, 3)}
    stages["counts"] = {
        "status": counts.status,
        "objective": counts.objective,
        "bound": counts.bound,
        "budget_s": round(budget, 2),
        "seconds": round(counts.seconds, 3),
    }
    fallback = None
    if counts.status == "rounded_lp":
        # No MIP plan in time: the rounded LP point may ask for counts the agents' rules cannot give, and chasing it
        # can give a roster far worse than filling the requirements directly. The greedy roster (agents in turn take
        # their best legal week against what is still short, breaks where coverage is highest) is made first; the
        # decomposition then goes on with what time is left, and the better of the two is returned.
        fallback = _greedy_result(problem, opts, t0, dict(stages), lp, counts)
    target = counts.n if counts.objective is not None else {}
    by_agent: dict[int, list[Option]] = defaultdict(list)
    for o in opts:
        by_agent[o.agent].append(o)
    responder = _Responder(problem, by_agent)
    # warm start: the first pass always (a legal week for everyone), the second within its share of what is left
    t_hint = time.perf_counter()
    hint_budget = max(1.0, 0.3 * (remaining() - reserve))
    hint = _sequential_hint(problem, opts, target, deadline=t_hint + hint_budget, responder=responder)
    best = [o for o, v in hint.items() if v]
    best_dev = _deviation(problem, target, best)
    stages["hint"] = {"budget_s": round(hint_budget, 2), "seconds": round(time.perf_counter() - t_hint, 3),
                      "short": best_dev[0], "extra": best_dev[1], "cost": best_dev[2]}  # fmt: skip
    # Repairs first (best responses, then CP-SAT neighbourhoods): per second they close most of the warm start's
    # distance to the plan; then the whole-week model from the repaired assignment, only with time to spare
    # (under load it spends its time in presolve); then the repairs again with what is left.

    def repair(share: float, key: str, randomized: bool) -> None:
        nonlocal best, best_dev
        t_rep = time.perf_counter()
        rep_budget = max(0.0, share * (remaining() - reserve))
        chosen, moved = _repair(problem, opts, target, best, deadline=t_rep + 0.4 * rep_budget, responder=responder)
        # random neighbourhoods only in the last round: in the first they would take the whole-week model's time
        chosen, helped = _repair_neighbourhoods(problem, opts, target, chosen, deadline=t_rep + rep_budget,
                                                randomized=randomized)  # fmt: skip
        dev = _deviation(problem, target, chosen)
        if dev[2] <= best_dev[2]:
            best, best_dev = chosen, dev
        stages[key] = {"budget_s": round(rep_budget, 2), "seconds": round(time.perf_counter() - t_rep, 3),
                       "agents_changed": moved, "neighbourhoods": helped,
                       "short": best_dev[0], "extra": best_dev[1], "cost": best_dev[2]}  # fmt: skip

    if target:
        repair(0.4, "repair", randomized=False)
    else:
        stages["repair"] = {"status": "skipped", "reason": "no counts plan to repair towards"}
    cp_budget = 0.7 * (remaining() - reserve)
    cp_needed = max(8.0, 0.2 * time_limit)
    if not target:
        info: dict = {"status": "skipped", "reason": "no counts plan to meet (the counting stage found none)"}
    elif best_dev[2] == 0:
        info = {"status": "skipped", "reason": "the repaired assignment meets the plan exactly"}
    elif cp_budget >= cp_needed:
        chosen, info = _assign(problem, opts, target, cp_budget, workers, dict.fromkeys(best, 1))
        info["budget_s"] = round(cp_budget, 2)
        dev = _deviation(problem, target, chosen)
        info.update(short=dev[0], extra=dev[1], cost=dev[2])
        if dev[2] < best_dev[2]:
            best, best_dev = chosen, dev
    else:
        info = {"status": "skipped", "budget_s": round(max(cp_budget, 0.0), 2),
                "reason": f"{max(cp_budget, 0.0):.1f} s left for the whole-week model, {cp_needed:.0f} s needed: "
                          "the repairs get the time"}  # fmt: skip
    stages["assignment"] = info
    if target and best_dev[2] > 0 and remaining() - reserve > 1.0:
        repair(1.0, "repair_after", randomized=True)
    chosen = best
    realized: dict[Group, int] = defaultdict(int)
    for o in chosen:
        realized[o.group] += 1
    brk_budget = max(remaining(), 2.0)
    brk, _ = _counting_model(problem, opts, brk_budget, workers, fixed=dict(realized))
    stages["breaks"] = {"status": brk.status, "objective": brk.objective, "budget_s": round(brk_budget, 2),
                        "seconds": round(brk.seconds, 3)}  # fmt: skip
    shifts = _place_breaks(problem, chosen, brk)
    rows = schedule_rows(problem, shifts)
    score = sv.score(problem, rows)
    # Both are bounds of relaxations of the full problem: the LP, and the MIP with fractional breaks.
    lower = max([b for b in (lp.bound, counts.bound) if b is not None], default=0.0)
    gap = 0.0 if score.objective <= 1e-9 else max(0.0, (score.objective - lower) / score.objective)
    stages["limits"] = _limits(score.objective, lower, counts, best_dev, brk, target)
    if fallback is not None:
        if fallback.objective < score.objective:
            fallback.stages["decomposition"] = {
                "objective": score.objective, "reason": "from the rounded LP plan it did worse than the greedy roster"}
            fallback.seconds = time.perf_counter() - t0
            return fallback
        stages["greedy_fallback"] = {"objective": fallback.objective, "reason": "made first (no MIP plan); did worse"}
    return ScheduleResult(
        problem=problem,
        shifts=shifts,
        objective=score.objective,
        under=score.under,
        over=score.over,
        weekend_spread=score.weekend_spread,
        night_spread=score.night_spread,
        lower_bound=lower,
        lp_bound=lp.bound,
        mip_bound=counts.bound,
        gap=gap,
        seconds=time.perf_counter() - t0,
        stages=stages,
        uncovered=uncovered_intervals(problem, score.coverage, reachable_agents(problem, opts),
                                      plan_coverage(problem, counts) if counts.objective is not None else None),
    )


def _greedy_result(problem: Problem, opts: list[Option], t0: float, stages: dict[str, dict], lp: _Counts,
                   counts: _Counts) -> ScheduleResult:
    """The greedy roster (:func:`greedy_schedule`) with the same report: the result when the counting stage has no
    plan and the decomposition from its rounded LP point does worse."""
    t_g = time.perf_counter()
    shifts = greedy_schedule(problem)
    stages["hint"] = {"status": "greedy", "seconds": round(time.perf_counter() - t_g, 3),
                      "reason": "no counts plan (the counting MIP found none in its time): coverage-driven warm start"}
    for name in ("assignment", "repair", "breaks"):
        stages[name] = {"status": "skipped", "reason": "no counts plan to assign, repair or place breaks against; "
                                                       "the greedy roster places its own breaks"}
    rows = schedule_rows(problem, shifts)
    score = sv.score(problem, rows)
    lower = max([b for b in (lp.bound, counts.bound) if b is not None], default=0.0)
    gap = 0.0 if score.objective <= 1e-9 else max(0.0, (score.objective - lower) / score.objective)
    stages["limits"] = {"plan_above_bound": None, "assignment_off_plan": None, "assignment_short_intervals": None,
                        "assignment_extra_intervals": None, "breaks_and_rest": None,
                        "limited_by": "the counting stage: its MIP found no plan in its time (the greedy roster was "
                                      "better than the decomposition from the rounded LP point)"}  # fmt: skip
    return ScheduleResult(
        problem=problem, shifts=shifts, objective=score.objective, under=score.under, over=score.over,
        weekend_spread=score.weekend_spread, night_spread=score.night_spread, lower_bound=lower,
        lp_bound=lp.bound, mip_bound=counts.bound, gap=gap, seconds=time.perf_counter() - t0, stages=stages,
        uncovered=uncovered_intervals(problem, score.coverage, reachable_agents(problem, opts), None),
    )


def _limits(objective: float, lower: float, counts: _Counts, dev: tuple[int, int, int], brk: _Counts,
            target: dict[Group, int]) -> dict:
    """What the gap is made of, in objective units: the counts plan above the bound (the counting stage's own gap:
    0 when its MIP was solved, since the bound is then the plan's value), the assignment's distance from the plan
    (at most its weighted short and extra work intervals), and the rest (break placement and fairness, measured
    on the produced rows). ``limited_by`` names the largest part."""
    plan = counts.objective if counts.objective is not None else None
    rest = None if plan is None else round(objective - plan - (dev[2] if target else 0.0), 1)
    parts = {
        "plan_above_bound": round(plan - lower, 1) if plan is not None else None,
        "assignment_off_plan": dev[2] if target else None,
        "assignment_short_intervals": dev[0] if target else None,
        "assignment_extra_intervals": dev[1] if target else None,
        "breaks_and_rest": rest,  # negative: the assignment's extra shifts cost less than its weighted distance
    }
    named = {"plan_above_bound": f"the counting stage ({counts.status})",
             "assignment_off_plan": "the assignment of named agents to the plan (time-limited search)",
             "breaks_and_rest": f"break placement ({brk.status}) and fairness"}  # fmt: skip
    sizes = {k: v for k, v in parts.items() if k in named and isinstance(v, int | float) and v > 0}
    if objective - lower <= 1e-9:
        parts["limited_by"] = "nothing: the schedule meets the bound"
    elif counts.status == "rounded_lp":
        parts["limited_by"] = ("the counting stage: its MIP found no plan in its time, and the rounded LP point it "
                               "fell back on asks for shift counts the agents' rules cannot give")
    elif plan is None:
        parts["limited_by"] = "the counting stage found no plan in its time (the warm start alone was used)"
    elif not sizes:
        parts["limited_by"] = "the bound itself (a relaxation: break placement and agent rules it leaves out)"
    else:
        parts["limited_by"] = named[max(sizes, key=lambda k: sizes[k])]
    return parts


def reachable_agents(problem: Problem, opts: list[Option]) -> dict[str | None, np.ndarray]:
    """Per queue and interval: how many agents have at least one allowed shift (contract templates, availability,
    time off, skills) that covers the interval - the most that could be there if every rule about the rest of
    their week were waived."""
    n = problem.n_intervals
    seen: dict[str | None, list[set[int]]] = {q: [set() for _ in range(n)] for q in problem.requirements}
    for o in opts:
        if o.queue not in seen:
            continue
        t = problem.templates[o.k]
        s = o.day * DAY_MIN + t.start_minute
        for i in _cover_intervals(problem, s, s + t.length_minutes):
            seen[o.queue][i].add(o.agent)
    return {q: np.array([len(x) for x in sets]) for q, sets in seen.items()}


def plan_coverage(problem: Problem, counts: _Counts) -> dict[str | None, np.ndarray]:
    """Coverage of the counting stage's plan (shift counts minus the breaks it placed): the best the week's
    aggregate rules (agents per day and skill, hours bands) allow at the weights' trade-off."""
    cov = {q: np.zeros(problem.n_intervals, dtype=int) for q in problem.requirements}
    for (d, k, q), c in counts.n.items():
        if q in cov and c:
            t = problem.templates[k]
            s = d * DAY_MIN + t.start_minute
            cov[q][list(_cover_intervals(problem, s, s + t.length_minutes))] += c
    for ((d, k, q), _r), items in counts.placements.items():
        if q in cov:
            s = d * DAY_MIN + problem.templates[k].start_minute
            for off, length, c in items:
                cov[q][list(_cover_intervals(problem, s + off, s + off + length))] -= c
    return cov


def uncovered_intervals(problem: Problem, coverage: dict[str | None, np.ndarray],
                        reachable: dict[str | None, np.ndarray] | None = None,
                        plan: dict[str | None, np.ndarray] | None = None) -> list[dict]:  # fmt: skip
    """Intervals where scheduled agents fall short of the requirement, each with why when it can be told:

    - ``people``: fewer agents can work the interval at all (``reachable``) than it needs;
    - ``contract_rules``: enough could, but the counting plan - which keeps the week's aggregate rules (agents
      per day and skill, weekly hours bands, days off) - falls short there too: covering it would break those
      rules or cost more short intervals elsewhere;
    - ``assignment``: the plan covers it, but naming agents under every individual rule (rest, consecutive
      days, two days off in a row, fairness) within the time limit did not.
    """
    out = []
    for q, req in problem.requirements.items():
        cov = coverage[q]
        for i in np.nonzero(cov < req)[0]:
            row = {
                "interval_start": problem.to_utc(int(i) * problem.interval_minutes).isoformat(),
                "queue": q,
                "required": int(req[i]),
                "scheduled": int(cov[i]),
                "short": int(req[i] - cov[i]),
            }
            if reachable is not None:
                can = int(reachable[q][i])
                row["agents_able"] = can
                if can < req[i]:
                    row["reason"] = "people"
                elif plan is not None and plan[q][i] < req[i]:
                    row["reason"] = "contract_rules"
                elif plan is not None:
                    row["reason"] = "assignment"
            out.append(row)
    return out


def schedule_rows(problem: Problem, shifts: list[Shift]) -> list[dict]:
    """Work/break/lunch rows for each shift and an ``off`` row for each day without a shift start."""
    rows = []
    by_agent: dict[str, list[Shift]] = defaultdict(list)
    for s in shifts:
        by_agent[s.agent_id].append(s)
    for agent in problem.agents:
        mine = sorted(by_agent.get(agent.agent_id, []), key=lambda s: s.start)
        for s in mine:
            cursor = s.start
            for kind, bs, be in sorted(s.breaks, key=lambda b: b[1]):
                if bs > cursor:
                    rows.append(_row(problem, agent.agent_id, "work", cursor, bs, s.queue))
                rows.append(_row(problem, agent.agent_id, kind, bs, be, None))
                cursor = be
            if s.end > cursor:
                rows.append(_row(problem, agent.agent_id, "work", cursor, s.end, s.queue))
        starts = {s.day for s in mine}
        for d in range(DAYS):
            if d in starts:
                continue
            lo = max([d * DAY_MIN, *(s.end for s in mine if s.start < d * DAY_MIN < s.end)])
            nxt = [s.start for s in mine if s.start >= d * DAY_MIN]
            hi = min([(d + 1) * DAY_MIN, *nxt])
            if hi > lo:
                rows.append(_row(problem, agent.agent_id, "off", lo, hi, None))
    return rows


def _row(problem: Problem, agent_id: str, activity: str, start: int, end: int, queue: str | None) -> dict:
    return {
        "agent_id": agent_id,
        "activity": activity,
        "start_at": problem.to_utc(start),
        "end_at": problem.to_utc(end),
        "queue": queue,
    }


def rows_table(rows: list[dict]):
    """The rows as a pyarrow table with the canonical ``schedules`` columns."""
    import pyarrow as pa

    return pa.table(
        {
            "agent_id": pa.array([r["agent_id"] for r in rows], pa.string()),
            "activity": pa.array([r["activity"] for r in rows], pa.string()),
            "start_at": pa.array([r["start_at"] for r in rows], pa.timestamp("us", tz="UTC")),
            "end_at": pa.array([r["end_at"] for r in rows], pa.timestamp("us", tz="UTC")),
            "queue": pa.array([r["queue"] for r in rows], pa.string()),
        }
    )


# ---------------------------------------------------------------- greedy baseline


def greedy_schedule(problem: Problem, per_agent_seconds: float = 2.0) -> list[Shift]:
    """Baseline: agents one by one take the legal week that best fills what is still short.

    Each agent's week is the best reply (a tiny CP-SAT model with all its rules) to the coverage
    left by the agents before it; breaks go where coverage is most above the requirement.
    """
    opts = shift_options(problem)
    by_agent: dict[int, list[Option]] = defaultdict(list)
    for o in opts:
        by_agent[o.agent].append(o)
    step = problem.interval_minutes
    w = problem.weights
    cov = {q: np.zeros(problem.n_intervals, dtype=int) for q in problem.queues}
    shifts = []
    for ai in range(len(problem.agents)):
        mine = by_agent.get(ai, [])
        value = {}
        for o in mine:
            t = problem.templates[o.k]
            s = o.day * DAY_MIN + t.start_minute
            idx = list(_cover_intervals(problem, s, s + t.length_minutes))
            short = problem.requirements[o.queue][idx] > cov[o.queue][idx]
            value[o] = int(w.under * short.sum() - w.over * (~short).sum())
        for o in _best_response(problem, ai, mine, value, per_agent_seconds):
            t = problem.templates[o.k]
            s = o.day * DAY_MIN + t.start_minute
            cov[o.queue][list(_cover_intervals(problem, s, s + t.length_minutes))] += 1
            brks = []
            for rule in t.breaks:
                length = rule.min_minutes
                best, best_off = None, rule.earliest_start
                for off in range(rule.earliest_start, rule.latest_end - length + 1, step):
                    idx = list(_cover_intervals(problem, s + off, s + off + length))
                    slack = int((cov[o.queue][idx] - problem.requirements[o.queue][idx]).sum()) if idx else 0
                    if best is None or slack > best:
                        best, best_off = slack, off
                cov[o.queue][list(_cover_intervals(problem, s + best_off, s + best_off + length))] -= 1
                brks.append((rule.kind, s + best_off, s + best_off + length))
            shifts.append(Shift(problem.agents[ai].agent_id, o.day, t.name, o.queue, s, s + t.length_minutes, brks))
    return shifts
