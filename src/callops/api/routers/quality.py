"""``/api/qa/…``: sample sizes, plans and draws, scores, rankings, coaching lists and tasks, agreement.

The tenant is always the caller's (``Principal.tenant_id``); another tenant's task answers 404.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from callops.api.deps import StoreDep, WarehouseDep, require, resources, writing
from callops.api.encode import clean
from callops.errors import CallopsError
from callops.exports import workbook_bytes
from callops.quality import agreement, calibration, entry, sampling, service
from callops.quality import data as qdata
from callops.quality import store as qstore
from callops.store.roles import Permission
from callops.store.users import Principal

router = APIRouter(prefix="/qa", tags=["quality"])
Reader = Annotated[Principal, Depends(require(Permission.qa_read))]
Evaluator = Annotated[Principal, Depends(require(Permission.qa_evaluate))]
Manager = Annotated[Principal, Depends(require(Permission.qa_manage))]
Period = Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="Month YYYY-MM.")]


@router.get("/sample-size", summary="Contacts to evaluate for a margin of error")
def sample_size(
    _who: Reader,
    sd: Annotated[float, Query(ge=0, le=1000)],
    margin: Annotated[float, Query(gt=0, le=1000)],
    confidence: Annotated[float, Query(gt=0, lt=1)] = 0.95,
    population: Annotated[int | None, Query(ge=0, le=10_000_000)] = None,
) -> dict[str, Any]:
    """``n`` and ``n_without_fpc`` (the keys of ``callops qa sample-size --json``)."""
    return clean(sampling.sample_size(sd, margin, confidence, population))


class PlanIn(BaseModel):
    """A sampling plan for the caller's tenant."""

    period: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    margin: float | None = Field(default=None, gt=0, le=100)
    sd: float | None = Field(default=None, ge=0, le=1000)
    confidence: float = Field(default=0.95, gt=0, lt=1)
    strata: list[str] = Field(default=["channel"], max_length=5)
    allocation: str = Field(default="proportional", pattern="^(proportional|neyman)$")
    seed: int = Field(default=0, ge=0, le=2**62)


@router.post("/plan", summary="Per-agent sampling plan and draw")
def plan(body: PlanIn, who: Manager, wh: WarehouseDep) -> dict[str, Any]:
    """The keys of ``callops qa plan --json``."""
    qdata.check_period(body.period)
    return clean(service.plan(wh, who.tenant_id, body.period, margin=body.margin, sd=body.sd,
                              confidence=body.confidence, strata=body.strata, allocation=body.allocation,
                              seed=body.seed))  # fmt: skip


@router.post("/draw", summary="Draw and record the contacts to evaluate")
def draw(body: PlanIn, who: Manager, wh: WarehouseDep, st: StoreDep,
         fmt: Annotated[str, Query(alias="format", pattern="^(json|xlsx)$")] = "json") -> Any:  # fmt: skip
    """Records the draw (routine and risk streams) and returns it as JSON or an Excel workbook."""
    qdata.check_period(body.period)
    doc = service.plan(wh, who.tenant_id, body.period, margin=body.margin, sd=body.sd, confidence=body.confidence,
                       strata=body.strata, allocation=body.allocation, seed=body.seed)  # fmt: skip
    rows = service.draw_rows(doc)
    qstore.save_draw(st, who.tenant_id, body.period, rows, "hotline_voice@1", body.seed)
    if fmt == "xlsx":
        cols = ["contact_id", "agent_id", "stream", "stratum", "inclusion_probability", "weight", "reasons"]
        content = workbook_bytes([("draw", cols, [[r.get(c) for c in cols] for r in rows])])
        return Response(content, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="qa-draw-{body.period}.xlsx"'})
    return clean({"period": body.period, "contacts": rows})


@router.get("/scores", summary="Evaluations scored under the form")
def scores(who: Evaluator, wh: WarehouseDep, st: StoreDep, period: Period) -> dict[str, Any]:
    """Each evaluation's score, critical score and failure, its form version and the recorded draw that chose its
    contact (``plan``, null outside any draw); evaluations that do not fit the form as rejects."""
    run = qdata.scored(wh, who.tenant_id, qdata.check_period(period))
    evaluations = service.attach_plans(run.scored, st, who.tenant_id)
    return clean({"period": period, "evaluations": evaluations, "rejects": run.rejects})


@router.get("/ranking", summary="Empirical-Bayes agent ranking")
def ranking(who: Reader, wh: WarehouseDep, st: StoreDep, period: Period,
            top: Annotated[int, Query(ge=1, le=1000)] = 5) -> dict[str, Any]:  # fmt: skip
    """The keys of ``callops qa ranking --json``."""
    return clean(service.ranking_report(wh, who.tenant_id, qdata.check_period(period), top=top, store=st))


@router.get("/coaching", summary="Coaching and recognition lists")
def coaching(who: Reader, wh: WarehouseDep, st: StoreDep, period: Period) -> dict[str, Any]:
    """Lists with the regression-to-the-mean figures, and rank stability against the month before."""
    return clean(service.coaching_report(wh, who.tenant_id, qdata.check_period(period), store=st))


@router.get("/textqa", summary="Text QA of transcripts with agreement against humans")
def textqa(who: Manager, wh: WarehouseDep, period: Period) -> dict[str, Any]:
    """Per contact and item: passed and the evidence; per item: kappa against human evaluations."""
    return clean(service.textqa_report(wh, who.tenant_id, qdata.check_period(period)))


class TaskIn(BaseModel):
    """A coaching task."""

    agent_id: str = Field(min_length=1, max_length=200)
    owner: str = Field(min_length=1, max_length=200)
    reason: str = Field(default="", max_length=2000)
    period: str = Field(default="", max_length=7)
    follow_up_days: int = Field(default=14, ge=0, le=365)


class TaskUpdate(BaseModel):
    """Closing or cancelling a task."""

    status: str = Field(pattern="^(open|done|cancelled)$")
    outcome: str | None = Field(default=None, max_length=2000)


@router.get("/tasks", summary="Coaching tasks")
def tasks(who: Evaluator, st: StoreDep) -> list[dict[str, Any]]:
    """The tenant's coaching tasks by follow-up date."""
    return qstore.list_tasks(st, who.tenant_id)


@router.post("/tasks", summary="Create a coaching task")
def create_task(body: TaskIn, who: Evaluator, st: StoreDep) -> dict[str, Any]:
    """A new open task with its owner and follow-up date."""
    return qstore.create_task(st, who.tenant_id, agent_id=body.agent_id, owner=body.owner, reason=body.reason,
                              period=body.period, follow_up_on=date.today() + timedelta(days=body.follow_up_days))


@router.patch("/tasks/{task_id}", summary="Close, cancel or reopen a coaching task")
def update_task(task_id: int, body: TaskUpdate, who: Evaluator, st: StoreDep) -> dict[str, Any]:
    """Another tenant's task answers 404."""
    return qstore.update_task(st, who.tenant_id, task_id, status=body.status, outcome=body.outcome)


class Rating(BaseModel):
    """One rating of long-format agreement data."""

    unit: str = Field(min_length=1, max_length=200)
    rater: str = Field(min_length=1, max_length=200)
    value: float | str


class AgreementIn(BaseModel):
    """Ratings: one per unit and rater (missing ratings are simply absent)."""

    ratings: list[Rating] = Field(min_length=2, max_length=100_000)


@router.post("/agreement", summary="Agreement statistics of ratings")
def agreement_stats(body: AgreementIn, _who: Reader) -> dict[str, Any]:
    """Alpha (4 levels), ICCs (complete tables), Fleiss' and Cohen's kappa, rater bias."""
    for r in body.ratings:
        if isinstance(r.value, float) and not math.isfinite(r.value):
            raise CallopsError(f"rating of unit {r.unit!r} by {r.rater!r}: {r.value} is not a finite number")
    if len({(r.unit, r.rater) for r in body.ratings}) != len(body.ratings):
        raise CallopsError("each unit may be rated once by each rater")
    return clean(agreement.agreement_report([(r.unit, r.rater, r.value) for r in body.ratings]))


Answers = Annotated[dict[str, float | str | None], Field(max_length=200)]


class EvaluationIn(BaseModel):
    """One evaluation of a contact on the tenant's form: item → option, points earned, or null/"na" (N/A)."""

    contact_id: str = Field(min_length=1, max_length=200)
    answers: Answers


@router.get("/evaluation-queue", summary="Contacts the recorded draw chose, and which are evaluated")
def evaluation_queue(who: Evaluator, wh: WarehouseDep, st: StoreDep, period: Period) -> list[dict[str, Any]]:
    """The draw of ``period`` (routine first, then risk), each with ``evaluated``."""
    return clean(entry.queue(wh, st, who.tenant_id, qdata.check_period(period)))


@router.post("/evaluations", summary="Score and save an evaluation")
async def save_evaluation(body: EvaluationIn, who: Evaluator, request: Request) -> dict[str, Any]:
    """Saved as ``qa_evaluations`` rows through ingest (the evaluator is the caller); returns the score, critical
    score, failure and the evaluation id. Another tenant's contact answers 404."""
    async with writing(resources(request), who.tenant_id) as wh:
        out = await run_in_threadpool(lambda: entry.save_evaluation(
            wh, who.tenant_id, contact_id=body.contact_id, evaluator=who.user_name, answers=body.answers))
    return clean(out)


class CalibrationIn(BaseModel):
    """A calibration session: contacts every evaluator scores, blind."""

    name: str = Field(min_length=1, max_length=200)
    contacts: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(min_length=1, max_length=200)
    evaluators: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(min_length=2, max_length=50)


class CalibrationRatingIn(BaseModel):
    """The caller's answers for one contact of a calibration session."""

    contact_id: str = Field(min_length=1, max_length=200)
    answers: Answers


@router.get("/calibrations", summary="Calibration sessions")
def calibrations(who: Reader, st: StoreDep) -> list[dict[str, Any]]:
    """The tenant's sessions with each evaluator's progress (never the scores)."""
    return calibration.list_sessions(st, who.tenant_id)


@router.post("/calibrations", summary="Create a calibration session")
def create_calibration(body: CalibrationIn, who: Manager, wh: WarehouseDep, st: StoreDep) -> dict[str, Any]:
    """Every contact must be the tenant's (404 otherwise)."""
    return calibration.create_session(st, who.tenant_id, name=body.name, contacts=body.contacts,
                                      evaluators=body.evaluators, created_by=who.user_name, wh=wh)  # fmt: skip


@router.get("/calibrations/{session_id}", summary="A calibration session (results once closed)")
def get_calibration(session_id: int, who: Reader, st: StoreDep) -> dict[str, Any]:
    """Progress and the caller's own ratings; agreement and per-item spread once closed (blind until then)."""
    return clean(calibration.get_session(st, who.tenant_id, session_id, viewer=who.user_name))


@router.post("/calibrations/{session_id}/ratings", summary="Rate a contact of a calibration session")
def rate_calibration(session_id: int, body: CalibrationRatingIn, who: Evaluator, st: StoreDep) -> dict[str, Any]:
    """The caller must be one of the session's evaluators; a second rating of the same contact replaces the first."""
    return clean(calibration.rate(st, who.tenant_id, session_id, evaluator=who.user_name, contact_id=body.contact_id,
                                  answers=body.answers))  # fmt: skip


@router.post("/calibrations/{session_id}/close", summary="Close a calibration session and reveal the results")
def close_calibration(session_id: int, who: Manager, st: StoreDep) -> dict[str, Any]:
    """No more ratings after this."""
    return calibration.close(st, who.tenant_id, session_id)
