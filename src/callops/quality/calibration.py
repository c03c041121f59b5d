"""Calibration sessions: several evaluators score the same contacts blind, then the panel sees how far they agree.

A session lists its contacts and evaluators (user names) and one form. While it is open, each evaluator saves
their own answers per contact and sees only their own; nobody sees the others' scores (blind). Closing the
session reveals the results:

* agreement of the total scores over contacts × evaluators (``agreement.agreement_report``: Krippendorff's alpha
  at four levels, the ICCs when every evaluator scored every contact, Fleiss' and Cohen's kappa, each
  evaluator's bias against the panel);
* per item, the spread of the evaluators' answers on the same contact, in % of the item's points: the mean SD
  across contacts (sample SD, ddof 1), the largest range, and the item's interval alpha; items answered N/A by
  everybody have no spread;
* per contact, the scores side by side and whether the evaluators disagreed on an auto-fail.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np
from sqlalchemy import func, select

from callops import tenancy
from callops.errors import CallopsError, NotFound
from callops.quality import agreement
from callops.quality.forms import Form, item_fraction, load_form, score_answers
from callops.store.db import Store
from callops.store.models_quality import QaCalibrationRating, QaCalibrationSession
from callops.store.scoping import get_owned, scoped, tenant_key
from callops.warehouse import Warehouse

MAX_CONTACTS, MAX_EVALUATORS = 200, 50


def _clean_list(values: Sequence[str], what: str, lo: int, hi: int) -> list[str]:
    out = list(dict.fromkeys(str(v).strip() for v in values if str(v).strip()))
    if not lo <= len(out) <= hi:
        raise CallopsError(f"a calibration session needs {lo} to {hi} distinct {what}, not {len(out)}")
    return out


def create_session(store: Store, tenant: str, *, name: str, contacts: Sequence[str], evaluators: Sequence[str],
                   created_by: str, wh: Warehouse | None = None, form: Form | None = None) -> dict:  # fmt: skip
    """A new open session; with ``wh``, every contact must be one of the tenant's (else not found)."""
    form = form or load_form()
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise CallopsError("a calibration session needs a name of 1 to 200 characters")
    cs = _clean_list(contacts, "contacts", 1, MAX_CONTACTS)
    es = _clean_list(evaluators, "evaluators", 2, MAX_EVALUATORS)
    if wh is not None:
        t = tenancy.scoped(wh, tenant, "contacts")
        found = {r["contact_id"] for r in t.filter(t.contact_id.isin(cs)).select("contact_id").to_pyarrow()
                 .to_pylist()}  # fmt: skip
        missing = [c for c in cs if c not in found]
        if missing:
            raise NotFound(f"contact(s) not found: {', '.join(missing[:5])}")
    with store.session() as s:
        row = QaCalibrationSession(tenant_id=tenant_key(tenant), name=name, form=form.ref, contacts=json.dumps(cs),
                                   evaluators=json.dumps(es), status="open", created_by=created_by)  # fmt: skip
        s.add(row)
        s.flush()
        return _session_dict(row, {})


def _session_dict(row: QaCalibrationSession, done: Mapping[str, int]) -> dict:
    evaluators = json.loads(row.evaluators)
    contacts = json.loads(row.contacts)
    return {"id": row.id, "name": row.name, "form": row.form, "status": row.status, "contacts": contacts,
            "evaluators": evaluators, "created_by": row.created_by, "created_at": row.created_at.isoformat(),
            "progress": {e: int(done.get(e, 0)) for e in evaluators}, "needed": len(contacts)}  # fmt: skip


def _done(s: object, tenant: str, ids: Sequence[int]) -> dict[int, dict[str, int]]:
    q = (select(QaCalibrationRating.session_id, QaCalibrationRating.evaluator, func.count())
         .where(QaCalibrationRating.tenant_id == tenant_key(tenant), QaCalibrationRating.session_id.in_(ids))
         .group_by(QaCalibrationRating.session_id, QaCalibrationRating.evaluator))  # fmt: skip
    out: dict[int, dict[str, int]] = defaultdict(dict)
    for sid, ev, n in s.execute(q):  # type: ignore[attr-defined]
        out[sid][ev] = n
    return out


def list_sessions(store: Store, tenant: str) -> list[dict]:
    """The tenant's sessions (newest first) with each evaluator's progress — never anybody's scores."""
    with store.session() as s:
        rows = list(s.scalars(scoped(QaCalibrationSession, tenant).order_by(QaCalibrationSession.id.desc())))
        done = _done(s, tenant, [r.id for r in rows])
        return [_session_dict(r, done.get(r.id, {})) for r in rows]


def get_session(store: Store, tenant: str, session_id: int, *, viewer: str) -> dict:
    """One session with the progress and ``mine`` (``viewer``'s own ratings); ``results`` once it is closed."""
    with store.session() as s:
        row = get_owned(s, QaCalibrationSession, tenant, session_id)
        out = _session_dict(row, _done(s, tenant, [row.id]).get(row.id, {}))
        ratings = list(s.scalars(scoped(QaCalibrationRating, tenant).where(
            QaCalibrationRating.session_id == row.id).order_by(QaCalibrationRating.id)))  # fmt: skip
    out["mine"] = {r.contact_id: {"answers": json.loads(r.answers), "score": r.score, "failed": r.failed}
                   for r in ratings if r.evaluator == viewer}  # fmt: skip
    out["results"] = results(ratings, out["contacts"], out["evaluators"]) if out["status"] == "closed" else None
    return out


def rate(store: Store, tenant: str, session_id: int, *, evaluator: str, contact_id: str,
         answers: Mapping[str, str | float | None], form: Form | None = None) -> dict:  # fmt: skip
    """Save (or replace) ``evaluator``'s answers for one contact of an open session; returns the score."""
    form = form or load_form()
    with store.session() as s:
        row = get_owned(s, QaCalibrationSession, tenant, session_id)
        if row.status != "open":
            raise CallopsError(f"calibration session {session_id} is closed")
        if evaluator not in json.loads(row.evaluators):
            raise CallopsError(f"{evaluator!r} is not an evaluator of calibration session {session_id}")
        if contact_id not in json.loads(row.contacts):
            raise CallopsError(f"contact {contact_id!r} is not in calibration session {session_id}")
        if row.form != form.ref:
            raise CallopsError(f"calibration session {session_id} uses form {row.form}, not {form.ref}")
        scored = score_answers(form, f"calibration {session_id}", answers)
        old = s.scalars(scoped(QaCalibrationRating, tenant).where(
            QaCalibrationRating.session_id == row.id, QaCalibrationRating.contact_id == contact_id,
            QaCalibrationRating.evaluator == evaluator)).one_or_none()  # fmt: skip
        if old is None:
            old = QaCalibrationRating(tenant_id=tenant_key(tenant), session_id=row.id, contact_id=contact_id,
                                      evaluator=evaluator)  # fmt: skip
            s.add(old)
        old.answers = json.dumps(dict(answers), ensure_ascii=False)
        old.score = scored.score
        old.failed = scored.failed
        s.flush()
    return {"session_id": session_id, "contact_id": contact_id, "evaluator": evaluator, "score": scored.score,
            "critical_score": scored.critical_score, "failed": scored.failed}  # fmt: skip


def close(store: Store, tenant: str, session_id: int) -> dict:
    """Close a session: no more ratings, and the results are shown."""
    with store.session() as s:
        row = get_owned(s, QaCalibrationSession, tenant, session_id)
        row.status = "closed"
        s.flush()
    return {"id": session_id, "status": "closed"}


def _safe(fn: object, *args: object) -> object:
    try:
        return fn(*args)  # type: ignore[operator]
    except (agreement.AgreementError, ValueError, ZeroDivisionError, FloatingPointError):
        return None


def results(ratings: Sequence[QaCalibrationRating], contacts: Sequence[str], evaluators: Sequence[str],
            form: Form | None = None) -> dict:  # fmt: skip
    """Agreement of the total scores, the spread per item and the scores per contact (see the module doc)."""
    form = form or load_form()
    scores = [(r.contact_id, r.evaluator, float(r.score)) for r in ratings if r.score is not None]
    report: dict = {"ratings": len(ratings)}
    report["agreement"] = _safe(agreement.agreement_report, scores) if len(scores) >= 2 else None
    per_item: dict[str, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for r in ratings:
        answers = json.loads(r.answers)
        for item in form.items.values():
            frac = item_fraction(item, answers.get(item.id))
            if frac is not None:
                per_item[item.id][r.contact_id][r.evaluator] = 100.0 * frac
    items = []
    for item in form.items.values():
        by_contact = per_item.get(item.id, {})
        sds = [float(np.std(list(v.values()), ddof=1)) for v in by_contact.values() if len(v) >= 2]
        ranges = [max(v.values()) - min(v.values()) for v in by_contact.values() if len(v) >= 2]
        triples = [(c, e, x) for c, v in by_contact.items() for e, x in v.items()]
        alpha = _safe(agreement.krippendorff_alpha, triples, "interval") if len(triples) >= 2 else None
        items.append({"item": item.id, "label_en": item.label_en, "label_zh": item.label_zh,
                      "contacts": len(sds), "mean_sd": float(np.mean(sds)) if sds else None,
                      "max_range": float(max(ranges)) if ranges else None, "alpha_interval": alpha})  # fmt: skip
    report["items"] = items
    table = []
    for c in contacts:
        row = {e: None for e in evaluators}
        failed = set()
        for r in ratings:
            if r.contact_id == c:
                row[r.evaluator] = r.score
                failed.add(bool(r.failed))
        vals = [v for v in row.values() if v is not None]
        table.append({"contact_id": c, "scores": row, "spread": (max(vals) - min(vals)) if len(vals) >= 2 else None,
                      "fatal_disagreement": len(failed) == 2})  # fmt: skip
    report["contacts"] = table
    return report
