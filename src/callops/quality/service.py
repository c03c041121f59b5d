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
    records = pa.Table.from_pandas(pop[cols], preserve_index=False).to_pylist()  # NaN becomes None here
    for rec in records:
        by_agent[rec["agent_id"]].append(rec)
    sds = _stratum_sds(wh, tenant, period, history or current, records, strata) if allocation == "neyman" else {}
    plans = []
    for agent, recs in sorted(by_agent.items()):
        ex = exempt.get(str(agent), {})
        p = sampling.plan_agent(str(agent), recs, sd=sd, margin=margin, confidence=confidence, strata_by=strata,
                                allocation=allocation, stratum_sds=sds, seed=seed, period=period,
                                risk_per_agent=risk_per_agent,
                                rate=ex.get("rate", 1.0) if ex.get("exempt") else 1.0)  # fmt: skip
        p.exempt = bool(ex.get("exempt"))
        plans.append(p.to_dict())
    return {"tenant": tenant, "period": period, "margin": margin, "sd": sd, "confidence": confidence,
            "allocation": allocation, "strata": list(strata), "stratum_sds": sds, "seed": seed,
            "formula": sampling.SAMPLE_SIZE_FORMULA, "agents": plans}  # fmt: skip


def _stratum_sds(wh: Warehouse, tenant: str, period: str, scored_rows: Sequence[dict], records: Sequence[dict],
                 strata: Sequence[str]) -> dict[str, float]:  # fmt: skip
    """Neyman's per-stratum score SDs: the pooled within-agent SD of the evaluations in ``scored_rows`` by the
    stratum of their contact (looked up in this month's and last month's contacts)."""
    prev = data.contacts(wh, tenant, data.previous_period(period))
    prev_cols = ["contact_id", "agent_id", "queue", "channel", "outcome", "business_type", "talk_s", "csat", "repeat"]
    lookup = {str(c["contact_id"]): c for c in pa.Table.from_pandas(prev[prev_cols], preserve_index=False).to_pylist()}
    lookup.update({str(c["contact_id"]): c for c in records})
    rows = [(sampling.stratum_key(lookup[r["contact_id"]], strata), str(r["agent_id"]), float(r["score"]))
            for r in scored_rows if r.get("score") is not None and r.get("contact_id") in lookup]  # fmt: skip
    return sampling.stratum_sds(rows)


def draw_rows(plan_doc: dict) -> list[dict]:
    """The flat list of contacts to evaluate (routine draws first, then the risk stream)."""
    rows = [d for a in plan_doc["agents"] for d in a["draw"]]
    rows += [{**d, "reasons": ",".join(d["reasons"])} for a in plan_doc["agents"] for d in a["risk"]]
    return rows


def draw_summary(wh: Warehouse, store: Store, tenant: str, period: str) -> dict | None:
    """The recorded draw of ``period`` (None when none is recorded): its seed and form, how many contacts per
    stream and how many are evaluated, and per stratum the contacts drawn with their inclusion probabilities and
    design weights (π and 1/π vary by agent: each agent's stratum sizes differ)."""
    from callops.quality import entry

    rows = entry.queue(wh, store, tenant, period)
    if not rows:
        return None
    strata: dict[str, dict] = {}
    for r in rows:
        if r["stream"] != "routine":
            continue
        s = strata.setdefault(r["stratum"] or "", {"stratum": r["stratum"] or "", "contacts": 0, "evaluated": 0,
                                                   "pi": [], "weight": []})  # fmt: skip
        s["contacts"] += 1
        s["evaluated"] += bool(r["evaluated"])
        s["pi"].append(r["inclusion_probability"])
        s["weight"].append(r["weight"])
    table = [{"stratum": s["stratum"], "contacts": s["contacts"], "evaluated": s["evaluated"],
              "pi_min": min(s["pi"]), "pi_max": max(s["pi"]), "weight_min": min(s["weight"]),
              "weight_max": max(s["weight"]), "weight_sum": float(sum(s["weight"]))}
             for s in sorted(strata.values(), key=lambda s: s["stratum"])]  # fmt: skip
    routine = [r for r in rows if r["stream"] == "routine"]
    return {"period": period, "seed": rows[0]["seed"], "form": rows[0]["form"],
            "agents": len({r["agent_id"] for r in rows}), "routine": len(routine),
            "risk": len(rows) - len(routine), "evaluated": sum(bool(r["evaluated"]) for r in routine),
            "risk_evaluated": sum(bool(r["evaluated"]) for r in rows if r["stream"] == "risk"),
            "strata": table}  # fmt: skip


def routine_scores(wh: Warehouse, tenant: str, period: str, store: Store | None = None) -> list[dict]:
    """Scored evaluations of ``period`` that may count in agent scores: those of risk-stream contacts (recorded
    draws in ``store``) are left out."""
    rows = attach_plans(data.scored(wh, tenant, period).scored, store, tenant)
    return [r for r in rows if not (r["plan"] and r["plan"]["stream"] == "risk")]


def attach_plans(rows: list[dict], store: Store | None, tenant: str) -> list[dict]:
    """Set each scored evaluation's ``plan``: the recorded draw that chose its contact (``period``, ``stream``,
    ``stratum``, ``inclusion_probability``, ``weight``, ``seed``), None for a contact evaluated outside any draw."""
    drawn = {d["contact_id"]: d for d in qstore.draws(store, tenant)} if store is not None else {}
    keys = ("period", "stream", "stratum", "inclusion_probability", "weight", "seed")
    for r in rows:
        d = drawn.get(r.get("contact_id"))
        r["plan"] = None if d is None else {k: d[k] for k in keys}
    return rows


def ranking_report(wh: Warehouse, tenant: str, period: str, *, top: int = 5, threshold: float | None = None,
                   adjust_evaluators: bool = True, store: Store | None = None) -> dict:  # fmt: skip
    """``callops qa ranking``: shrunk means, intervals, ranks (suppressed below the reliability threshold).

    An agent with evaluations of ``period``'s recorded routine draw is scored on those alone (Hájek mean with the
    draw's design weights); their other evaluations are reported in ``adhoc`` and left out
    (:func:`ranking.design_groups`)."""
    params = coaching.load_parameters(tenant)
    rows = routine_scores(wh, tenant, period, store)
    rep = rank_rows(rows, period, top=top, adjust_evaluators=adjust_evaluators,
                threshold=params.reliability_threshold if threshold is None else threshold)  # fmt: skip
    rep.update({"tenant": tenant, "period": period})
    return rep


DESIGN_RULE = ("agents with evaluations of the month's recorded routine draw are scored on those alone (Hájek mean, "
               "design weights 1/π); their other evaluations are reported in 'adhoc' and left out of the score; "
               "agents without drawn evaluations keep equal weights")  # fmt: skip


def rank_rows(rows: list[dict], period: str, *, top: int, threshold: float, adjust_evaluators: bool = True) -> dict:
    """The ranking of routine-score rows under the drawn/ad-hoc rule, with each agent's ``adhoc`` and the
    report's ``design`` summary."""
    split = ranking.design_groups(rows, period, adjust_evaluators=adjust_evaluators)
    rep = ranking.rank_agents(split.groups, top=top, raw=split.raw, weights=split.weights,
                              reliability_threshold=threshold)  # fmt: skip
    for a in rep["agents"]:
        a["adhoc"] = split.adhoc.get(a["agent_id"])
    weighted = [a for a, w in split.weights.items() if w is not None]
    rep["design"] = {"period": period, "weighted_agents": len(weighted),
                     "unweighted_agents": len(split.weights) - len(weighted),
                     "drawn_contacts": sum(len(split.contacts[a]) for a in weighted),
                     "adhoc_evaluations": sum(v["n"] for v in split.adhoc.values()), "rule": DESIGN_RULE}  # fmt: skip
    return rep


def coaching_report(wh: Warehouse, tenant: str, period: str, *, top: int = 5, store: Store | None = None) -> dict:
    """Coaching and recognition lists for ``period`` against the month before, with the regression figures, rank
    stability and each evaluator's drift charts (``drift``: deviations, EWMA and CUSUM)."""
    params = coaching.load_parameters(tenant)
    prev_period = data.previous_period(period)
    prev_split = ranking.design_groups(routine_scores(wh, tenant, prev_period, store), prev_period)
    cur_rows = routine_scores(wh, tenant, period, store)
    cur_split = ranking.design_groups(cur_rows, period)
    prev, cur = prev_split.groups, cur_split.groups
    rank = rank_rows(cur_rows, period, top=top, threshold=params.reliability_threshold)
    changes = coaching.regression_to_mean(prev, cur, prev_split.weights, cur_split.weights) if len(prev) >= 2 else []
    lists = coaching.coaching_lists(rank["agents"], changes, params)
    stability = None
    try:
        stability = ranking.rank_stability(prev, cur)
    except ranking.RankingError:
        stability = None
    drift = coaching.evaluator_drift(cur_rows)  # per evaluator EWMA and CUSUM (the console's drift charts)
    return {"tenant": tenant, "period": period, "changes": changes, **lists, "stability": stability, "drift": drift}


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
