"""What the CLI, the API and the console ask of QA for one tenant and period (plans, draws, rankings, coaching)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from callops.errors import CallopsError
from callops.quality import coaching, data, ranking, sampling
from callops.quality import store as qstore
from callops.quality.forms import load_form
from callops.store.db import Store
from callops.warehouse import Warehouse


def pooled_sd(scored_rows: Sequence[dict]) -> float | None:
    """The pooled within-agent SD of evaluation scores (None with too little data)."""
    groups = ranking.group_scores(scored_rows, adjust_evaluators=False)
    try:
        return float(np.sqrt(ranking.components(groups).sigma2))
    except ranking.RankingError:
        return None


def plan(
    wh: Warehouse,
    tenant: str,
    period: str,
    *,
    margin: float | None = None,
    sd: float | None = None,
    confidence: float = 0.95,
    strata: Sequence[str] = ("channel",),
    allocation: str = "proportional",
    seed: int = 0,
    risk_per_agent: int = 2,
) -> dict:
    """Per agent: population of handled contacts in ``period``, ``n`` for the margin, strata and the draw.

    The score SD is ``sd`` if given, else the pooled within-agent SD of the previous month's evaluations (this
    month's when there are none); exempt agents get the reduced rate.
    """
    params = coaching.load_parameters(tenant)
    margin = margin or params.margin
    form = load_form()
    history = data.scored(wh, tenant, data.previous_period(period), form).scored
    current = data.scored(wh, tenant, period, form).scored
    if sd is None:
        sd = pooled_sd(history) or pooled_sd(current)
        if sd is None:
            raise CallopsError("no evaluations to estimate the score SD from; give --sd")
    exempt = coaching.exemption(history + current, params)
    pop = data.contacts(wh, tenant, period)
    cols = ["contact_id", "agent_id", "queue", "channel", "outcome", "business_type", "talk_s", "csat", "repeat"]
    by_agent: dict[str, list[dict]] = defaultdict(list)
    for rec in pa.Table.from_pandas(pop[cols], preserve_index=False).to_pylist():  # NaN becomes None here
        by_agent[rec["agent_id"]].append(rec)
    plans = []
    for agent, recs in sorted(by_agent.items()):
        ex = exempt.get(str(agent), {})
        p = sampling.plan_agent(str(agent), recs, sd=sd, margin=margin, confidence=confidence, strata_by=strata,
                                allocation=allocation, seed=seed, period=period, risk_per_agent=risk_per_agent,
                                rate=ex.get("rate", 1.0) if ex.get("exempt") else 1.0)  # fmt: skip
        p.exempt = bool(ex.get("exempt"))
        plans.append(p.to_dict())
    return {"tenant": tenant, "period": period, "margin": margin, "sd": sd, "confidence": confidence,
            "allocation": allocation, "strata": list(strata), "seed": seed,
            "formula": sampling.SAMPLE_SIZE_FORMULA, "agents": plans}  # fmt: skip


def draw_rows(plan_doc: dict) -> list[dict]:
    """The flat list of contacts to evaluate (routine draws first, then the risk stream)."""
    rows = [d for a in plan_doc["agents"] for d in a["draw"]]
    rows += [{**d, "reasons": ",".join(d["reasons"])} for a in plan_doc["agents"] for d in a["risk"]]
    return rows


def routine_scores(wh: Warehouse, tenant: str, period: str, store: Store | None = None) -> list[dict]:
    """Scored evaluations of ``period`` that may count in agent scores: those of risk-stream contacts (recorded
    draws in ``store``) are left out."""
    rows = data.scored(wh, tenant, period).scored
    drawn = {d["contact_id"]: d for d in qstore.draws(store, tenant)} if store is not None else {}
    for r in rows:  # each score records the plan that chose its contact (None: evaluated outside any plan)
        d = drawn.get(r.get("contact_id"))
        r["plan"] = None if d is None else {"period": d["period"], "stream": d["stream"], "weight": d["weight"]}
    return [r for r in rows if not (r["plan"] and r["plan"]["stream"] == "risk")]


def ranking_report(wh: Warehouse, tenant: str, period: str, *, top: int = 5, threshold: float | None = None,
                   adjust_evaluators: bool = True, store: Store | None = None) -> dict:  # fmt: skip
    """``callops qa ranking``: shrunk means, intervals, ranks (suppressed below the reliability threshold)."""
    params = coaching.load_parameters(tenant)
    rows = routine_scores(wh, tenant, period, store)
    groups = ranking.group_scores(rows, adjust_evaluators=adjust_evaluators)
    rep = ranking.rank_agents(groups, top=top, raw=ranking.group_scores(rows, adjust_evaluators=False),
                              weights=ranking.group_weights(rows),
                              reliability_threshold=params.reliability_threshold if threshold is None else threshold)
    rep.update({"tenant": tenant, "period": period})
    return rep


def coaching_report(wh: Warehouse, tenant: str, period: str, *, top: int = 5, store: Store | None = None) -> dict:
    """Coaching and recognition lists for ``period`` against the month before, with the regression figures."""
    params = coaching.load_parameters(tenant)
    prev = ranking.group_scores(routine_scores(wh, tenant, data.previous_period(period), store))
    cur_rows = routine_scores(wh, tenant, period, store)
    cur = ranking.group_scores(cur_rows)
    rank = ranking.rank_agents(cur, top=top, reliability_threshold=params.reliability_threshold,
                               raw=ranking.group_scores(cur_rows, adjust_evaluators=False),
                               weights=ranking.group_weights(cur_rows))
    changes = coaching.regression_to_mean(prev, cur) if len(prev) >= 2 else []
    lists = coaching.coaching_lists(rank["agents"], changes, params)
    stability = None
    try:
        stability = ranking.rank_stability(prev, cur)
    except ranking.RankingError:
        stability = None
    return {"tenant": tenant, "period": period, "changes": changes, **lists, "stability": stability}


def textqa_report(wh: Warehouse, tenant: str, period: str, rules_ref: str = "hotline_zh") -> dict:
    """Text QA of the transcripts of the contacts evaluated in ``period``, with per-item agreement (κ) against
    the human evaluations of the same contacts; only items above the rule set's threshold count in scores."""
    from callops.quality import textqa

    rules = textqa.load_rules(rules_ref)
    evals = data.evaluations(wh, tenant, period)
    ids = sorted(set(evals["contact_id"].dropna()))
    utts = data.transcripts(wh, tenant, ids)
    rep = textqa.run_text_qa(rules, utts.astype(object).where(utts.notna(), None).to_dict("records"),
                             evals.astype(object).where(evals.notna(), None).to_dict("records"))  # fmt: skip
    pairs = evals[["contact_id", "agent_id"]].dropna().to_dict("records")
    agent_of = {str(r["contact_id"]): str(r["agent_id"]) for r in pairs}
    rep["agents"] = textqa_by_agent(rep["contacts"], agent_of)
    rep.update({"tenant": tenant, "period": period})
    return rep


def textqa_by_agent(contacts: Sequence[dict], agent_of: dict[str, str]) -> list[dict]:
    """Per agent: the contacts checked, the mean automatic score and each item's pass rate (of the contacts where
    the item could be judged). Sets ``agent_id`` on each contact entry too."""
    acc: dict[str, dict] = {}
    for c in contacts:
        agent = c["agent_id"] = agent_of.get(c["contact_id"])
        if agent is None:
            continue
        a = acc.setdefault(agent, {"agent_id": agent, "contacts": 0, "scores": [], "items": defaultdict(list)})
        a["contacts"] += 1
        if c.get("score") is not None:
            a["scores"].append(c["score"])
        for item, res in c["items"].items():
            if res["passed"] is not None:
                a["items"][item].append(bool(res["passed"]))
    return [{"agent_id": k, "contacts": a["contacts"],
             "score": float(np.mean(a["scores"])) if a["scores"] else None,
             "pass_rate": {i: sum(v) / len(v) for i, v in sorted(a["items"].items())}}
            for k, a in sorted(acc.items())]  # fmt: skip
