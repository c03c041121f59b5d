"""The demo's evaluators carry out a recorded draw: every routine contact the month's plan drew gets an evaluation.

The simulated hotline evaluates a 2% Bernoulli sample of its handled contacts as it runs (``sim/quality.py``):
those evaluations were chosen by no recorded plan, so the ranking cannot weight them. The demo's QA step draws a
stratified plan for the month, records it, and then has the simulated evaluators score the drawn contacts that
have no evaluation yet, with the hotline generator's item model:

* greeting and compliance are facts: read from the contact's transcript when it has one (the greeting is the
  agent's first line, a forbidden phrase is any agent line with one), else missed with the tenant's observed rates;
* solution ``= min(1, level·(1 if resolved else 0.6) + 0.2u + severity)``, the other items
  ``min(1, level + 0.25(u − 0.5) + severity)``, ``u ~ U(0, 1)``;
* the agent's ``level`` is the mean fraction of the judgement items in its simulated evaluations (the generator's
  per-agent draw is not stored), a seeded Beta(8, 2) draw for an agent with none;
* the evaluator is drawn from the scenario's evaluators, each with its ``EVALUATOR_SEVERITY``.

A drawn contact already evaluated keeps its evaluation (the score of a contact does not depend on why it was
picked). The rows are loaded through ingest with the canonical mapping, like any evaluation.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from callops import tenancy
from callops.errors import CallopsError
from callops.quality import data
from callops.quality.forms import Form, load_form
from callops.quality.sampling import stable_seed
from callops.warehouse import Warehouse

JUDGEMENT_ITEMS = ("identity_check", "needs_analysis", "closing")  # the items the generator derives from the level
_SCHEMA = pa.schema([
    ("evaluation_id", pa.string()), ("item", pa.string()), ("contact_id", pa.string()), ("agent_id", pa.string()),
    ("evaluator", pa.string()), ("evaluated_at", pa.timestamp("us", tz="UTC")), ("score", pa.float64()),
    ("max_score", pa.float64()), ("weight", pa.float64())])  # fmt: skip


def agent_levels(evals: Iterable[dict]) -> dict[str, float]:
    """Per agent, the mean fraction of points on the judgement items of its evaluations (rows of
    ``qa_evaluations``)."""
    acc: dict[str, list[float]] = {}
    for r in evals:
        if r.get("item") in JUDGEMENT_ITEMS and r.get("agent_id") and r.get("max_score"):
            acc.setdefault(str(r["agent_id"]), []).append(float(r["score"]) / float(r["max_score"]))
    return {a: float(np.mean(v)) for a, v in acc.items()}


def _level(levels: dict[str, float], agent: str) -> float:
    if agent in levels:
        return levels[agent]
    return float(np.random.default_rng(stable_seed("qa-level", agent)).beta(8.0, 2.0))


def transcript_facts(utterances: Iterable[dict], greetings: Sequence[str], forbidden: Sequence[str]
                     ) -> dict[str, tuple[bool, bool]]:  # fmt: skip
    """Per contact with a transcript: (greeting missed, forbidden phrase said), as the generator wrote them."""
    lines: dict[str, list[dict]] = {}
    for u in utterances:
        if u.get("speaker") == "agent":
            lines.setdefault(str(u["contact_id"]), []).append(u)
    out = {}
    for cid, agent in lines.items():
        agent.sort(key=lambda u: u["seq"])
        first = str(agent[0].get("text") or "")
        said = any(f in str(u.get("text") or "") for u in agent for f in forbidden)
        out[cid] = (not any(g in first for g in greetings), said)
    return out


def simulate_rows(contacts: Sequence[dict], levels: dict[str, float], *, evaluators: Sequence[str],
                  severity: Sequence[float], greeting_missing_p: float, forbidden_p: float, form: Form,
                  period_end: datetime, now: datetime, seed: int,
                  facts: dict[str, tuple[bool, bool]] | None = None) -> list[dict]:  # fmt: skip
    """The ``qa_evaluations`` rows of one evaluation per contact (``contact_id``, ``agent_id``, ``resolved``,
    ``ended_at``), scored with the generator's item model (module docstring); evaluated 0.5–4 days after the
    contact, inside its month and not after ``now``. ``facts``: greeting missed and forbidden phrase said, per
    contact with a transcript (the others draw them with the two rates)."""
    rng = np.random.default_rng(seed)
    cap = min(period_end - timedelta(minutes=1), now)
    rows = []
    for c in sorted(contacts, key=lambda c: str(c["contact_id"])):
        agent, cid = str(c["agent_id"]), str(c["contact_id"])
        k = int(rng.integers(0, len(evaluators)))
        sev = severity[k]
        level = _level(levels, agent)
        ended = c.get("ended_at") or cap  # a handled contact has an end; without one it is evaluated at the cap
        ended = ended if isinstance(ended, datetime) else datetime.fromisoformat(str(ended))
        when = max(ended, min(ended + timedelta(days=float(rng.uniform(0.5, 4.0))), cap))
        greeting_missed = rng.random() < greeting_missing_p
        forbidden_said = rng.random() < forbidden_p
        if facts and cid in facts:  # what the transcript says wins (the draws above keep the stream the same)
            greeting_missed, forbidden_said = facts[cid]
        for item in form.items.values():
            u = float(rng.random())
            if item.id == "greeting":
                frac = 0.0 if greeting_missed else 1.0
            elif item.id == "compliance":
                frac = 0.0 if forbidden_said else 1.0
            elif item.id == "solution":
                frac = min(1.0, level * (1.0 if c.get("resolved") else 0.6) + 0.2 * u + sev)
            else:
                frac = min(1.0, level + 0.25 * (u - 0.5) + sev)
            rows.append({"evaluation_id": f"QD-{cid}", "item": item.id, "contact_id": cid, "agent_id": agent,
                         "evaluator": evaluators[k], "evaluated_at": when,
                         "score": float(round(max(0.0, frac) * item.points)), "max_score": item.points,
                         "weight": item.weight})  # fmt: skip
    return rows


def evaluate_draw(wh: Warehouse, tenant: str, period: str, draw_rows: Sequence[dict], *, seed: int = 14,
                  leave: Iterable[str] = (), now: datetime | None = None) -> dict:  # fmt: skip
    """Evaluate the routine contacts of ``draw_rows`` (the recorded draw of ``period``) that have no evaluation
    yet, except those in ``leave``; returns the counts. ``wh`` must be the writer."""
    from callops.ingest.loader import load_files
    from callops.ingest.mapping import load_mapping
    from callops.sim.quality import EN_FORBIDDEN, EN_GREETING, EVALUATOR_SEVERITY
    from callops.sim.scenario import demo_scenario

    cfg = demo_scenario().quality
    form = load_form()
    ten = tenancy.get_tenant(wh, tenant)
    ev = data.evaluations(wh, tenant)
    done = set(ev["contact_id"].dropna().astype(str))
    skip = set(leave)
    todo = sorted({str(r["contact_id"]) for r in draw_rows if r["stream"] == "routine"} - done - skip)
    result = {"drawn": sum(r["stream"] == "routine" for r in draw_rows), "already_evaluated": 0, "evaluated": 0}
    result["already_evaluated"] = sum(r["stream"] == "routine" and str(r["contact_id"]) in done for r in draw_rows)
    if not todo:
        return result
    t = tenancy.scoped(wh, ten, "contacts")
    contacts = t.filter(t.contact_id.isin(todo)).select("contact_id", "agent_id", "resolved", "ended_at") \
        .to_pyarrow().to_pylist()  # fmt: skip
    levels = agent_levels(ev.astype(object).where(ev.notna(), None).to_dict("records"))
    n_facts = ev[ev["item"].isin(["greeting", "compliance"])]
    missed = {i: float((g["score"] == 0).mean()) if len(g) else p
              for i, p in (("greeting", cfg.greeting_missing_p), ("compliance", cfg.forbidden_p))
              for g in [n_facts[n_facts["item"] == i]]}  # fmt: skip
    _, period_end = data._month_bounds(period, ten.timezone)
    utts = data.transcripts(wh, tenant)  # the whole table (a few % of contacts): an IN list of the draw is slower
    utts = utts[utts["contact_id"].isin(todo)]
    facts = transcript_facts(utts.to_dict("records"), [cfg.greeting, EN_GREETING],
                             [*cfg.forbidden, *EN_FORBIDDEN])  # fmt: skip
    rows = simulate_rows(contacts, levels, evaluators=list(cfg.evaluators),
                         severity=[EVALUATOR_SEVERITY[k % len(EVALUATOR_SEVERITY)] for k in range(len(cfg.evaluators))],
                         greeting_missing_p=missed["greeting"], forbidden_p=missed["compliance"], form=form,
                         period_end=period_end, now=now or datetime.now(UTC),
                         seed=stable_seed(seed, tenant, period), facts=facts)  # fmt: skip
    table = pa.Table.from_pylist(rows, schema=_SCHEMA)
    with tempfile.TemporaryDirectory(prefix="callops-qa-draw-") as tmp:
        path = Path(tmp) / f"qa-draw-{period}.parquet"
        pq.write_table(table, path)
        summary = load_files(wh, ten, "qa_evaluations", [path], load_mapping("canonical", "qa_evaluations"))
    if summary.rejected:
        raise CallopsError(f"the drawn evaluations were rejected by the load: {summary.reject_reasons}")
    result["evaluated"] = len({r["evaluation_id"] for r in rows})
    return result
