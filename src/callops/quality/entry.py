"""Entering one evaluation: the contacts a plan drew for evaluation, the score while answering, and the save.

The console's evaluation screen and ``POST /api/qa/evaluations`` both call :func:`save_evaluation`. An evaluation
is saved as ``qa_evaluations`` rows (one per answered item: the points earned, the item's points and weight) loaded
through ingest with the canonical mapping, like any file: loads stay the only writer of canonical tables. Items
answered N/A are not written, which is how the scoring reads N/A back (``forms.score_rows``).
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from callops import tenancy
from callops.errors import CallopsError, NotFound
from callops.quality import store as qstore
from callops.quality.forms import NA, Form, ScoredEvaluation, item_fraction, load_form, score_answers
from callops.store.db import Store
from callops.warehouse import Warehouse

Answer = str | float | None


def preview(form: Form, answers: Mapping[str, Answer]) -> ScoredEvaluation:
    """The score the answers give so far (what the screen shows while the evaluator answers)."""
    return score_answers(form, "preview", answers)


def queue(wh: Warehouse, store: Store, tenant: str, period: str) -> list[dict]:
    """The contacts the recorded draw of ``period`` chose (routine first, then risk), each with ``evaluated``:
    whether an evaluation of it exists already."""
    from callops.quality import data

    drawn = qstore.draws(store, tenant, period)
    done: set[str] = set()
    if drawn:
        ten = tenancy.get_tenant(wh, tenant)
        t = tenancy.scoped(wh, ten, "qa_evaluations")
        # a drawn contact is evaluated after the month began; the distinct ids evaluated since then are read whole
        # and intersected here (an IN list of a month's draw, ~10k literals, took 3 s, this 0.01 s)
        start, _ = data._month_bounds(period, ten.timezone)
        evaluated = t.filter(t.evaluated_at >= start).select("contact_id").distinct().to_pyarrow().column(0)
        done = set(evaluated.to_pylist()) & {d["contact_id"] for d in drawn}
    rows = [{**d, "evaluated": d["contact_id"] in done} for d in drawn]
    return sorted(rows, key=lambda d: (d["stream"] != "routine", d["agent_id"], d["contact_id"]))


def _contact_agent(wh: Warehouse, tenant: str, contact_id: str) -> str:
    t = tenancy.scoped(wh, tenant, "contacts")
    rows = t.filter(t.contact_id == contact_id).select("agent_id").limit(1).to_pyarrow().to_pylist()
    if not rows:
        raise NotFound(f"contact {contact_id!r} not found")
    if not rows[0]["agent_id"]:
        raise CallopsError(f"contact {contact_id!r} has no agent: nobody to evaluate")
    return str(rows[0]["agent_id"])


def evaluation_rows(form: Form, evaluation_id: str, *, contact_id: str, agent_id: str, evaluator: str,
                    evaluated_at: datetime, answers: Mapping[str, Answer]) -> list[dict]:  # fmt: skip
    """The ``qa_evaluations`` rows of one evaluation (N/A items left out); answers are checked first."""
    score_answers(form, evaluation_id, answers)  # raises AnswerError on an unknown item or option
    rows = []
    for item in form.items.values():
        frac = item_fraction(item, answers.get(item.id))
        if frac is None:
            continue
        rows.append({"evaluation_id": evaluation_id, "item": item.id, "contact_id": contact_id,
                     "agent_id": agent_id, "evaluator": evaluator, "evaluated_at": evaluated_at,
                     "score": round(frac * item.points, 6), "max_score": item.points, "weight": item.weight})
    return rows


def save_evaluation(wh: Warehouse, tenant: str, *, contact_id: str, evaluator: str, answers: Mapping[str, Answer],
                    form: Form | None = None, now: datetime | None = None) -> dict:  # fmt: skip
    """Score and save one evaluation of ``contact_id`` (the tenant's; another's is not found) by ``evaluator``.

    ``answers``: item → option name, points earned, or ``na``/None. Returns the scored evaluation with its id
    and the load that wrote it. ``wh`` must be a writer (the API's ``writing``, the console's write slot)."""
    form = form or load_form()
    if not contact_id or not evaluator:
        raise CallopsError("an evaluation needs a contact and an evaluator")
    agent = _contact_agent(wh, tenant, contact_id)
    when = now or datetime.now(UTC)
    eid = f"E{when:%Y%m%d%H%M%S}-{secrets.token_hex(4)}"
    scored = score_answers(form, eid, answers)
    if scored.score is None:
        raise CallopsError("every item is N/A: there is nothing to score")
    rows = evaluation_rows(form, eid, contact_id=contact_id, agent_id=agent, evaluator=evaluator,
                           evaluated_at=when, answers=answers)  # fmt: skip
    from callops.ingest.loader import load_files
    from callops.ingest.mapping import load_mapping

    table = pa.Table.from_pylist(rows, schema=pa.schema([
        ("evaluation_id", pa.string()), ("item", pa.string()), ("contact_id", pa.string()), ("agent_id", pa.string()),
        ("evaluator", pa.string()), ("evaluated_at", pa.timestamp("us", tz="UTC")), ("score", pa.float64()),
        ("max_score", pa.float64()), ("weight", pa.float64())]))  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="callops-qa-") as tmp:
        path = Path(tmp) / f"{eid}.parquet"
        pq.write_table(table, path)
        summary = load_files(wh, tenancy.get_tenant(wh, tenant), "qa_evaluations", [path],
                             load_mapping("canonical", "qa_evaluations"))  # fmt: skip
    if summary.rejected:
        raise CallopsError(f"evaluation {eid} was rejected by the load: {summary.reject_reasons}")
    return {**scored.to_dict(), "evaluation_id": eid, "contact_id": contact_id, "agent_id": agent,
            "evaluator": evaluator, "evaluated_at": when.isoformat(), "load_id": summary.load_id}


__all__ = ["NA", "evaluation_rows", "preview", "queue", "save_evaluation"]
