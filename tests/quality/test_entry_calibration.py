"""Entering an evaluation (saved through ingest, scored back the same) and calibration sessions (blind ratings,
agreement and per-item spread checked by hand), on a real warehouse and store."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import qa_world

from callops.errors import CallopsError, NotFound
from callops.quality import calibration, data, entry
from callops.quality import store as qstore
from callops.quality.forms import AnswerError, load_form, parse_form
from callops.store.db import Store
from callops.store.tenants import sync_tenants
from callops.warehouse import Warehouse

FORM_WITH_FATAL = """
form: t
version: 2
sections:
  - id: s
    items:
      - {id: greet, points: 10, weight: 1}
      - {id: fraud, points: 10, weight: 3, fatal: true, options: {ok: 1, breach: 0, na: na}}
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Warehouse, Store]]:
    tmp = tmp_path_factory.mktemp("qa-entry")
    mp = pytest.MonkeyPatch()
    mp.setenv("CALLOPS_HOME", str(tmp / "home"))
    mp.delenv("CALLOPS_WAREHOUSE", raising=False)
    with Warehouse() as wh, Store(f"sqlite:///{tmp / 'store.sqlite3'}") as st:
        qa_world.build(wh, tmp, "t1", seed=1, agents=4)
        (tmp / "t10").mkdir()
        qa_world.build(wh, tmp / "t10", "t10", seed=2, agents=3)
        sync_tenants(st, wh)
        yield wh, st
    mp.undo()


def test_preview_weights_na_and_fatal_by_hand() -> None:
    form = parse_form(FORM_WITH_FATAL)
    assert entry.preview(form, {"greet": 5, "fraud": "ok"}).score == pytest.approx(100 * (1 * 5 + 3 * 10) / 40)
    na = entry.preview(form, {"greet": 5, "fraud": "na"})
    assert na.score == pytest.approx(50.0) and na.not_applicable == 1
    fail = entry.preview(form, {"greet": 10, "fraud": "breach"})
    assert fail.failed and fail.score == 0.0
    with pytest.raises(AnswerError, match="not an option"):
        entry.preview(form, {"fraud": "maybe"})


def test_option_points_read_back_as_the_option() -> None:
    form = parse_form(FORM_WITH_FATAL)
    rows = entry.evaluation_rows(form, "E1", contact_id="c", agent_id="a", evaluator="e", evaluated_at=None,
                                 answers={"greet": 4, "fraud": "breach"})  # fmt: skip
    assert [(r["item"], r["score"]) for r in rows] == [("greet", 4.0), ("fraud", 0.0)]
    back = entry.preview(form, {r["item"]: r["score"] for r in rows})
    assert back.failed and back.score == 0.0
    with pytest.raises(AnswerError, match="not the points of any option"):
        entry.preview(form, {"fraud": 4.0})


def test_saved_evaluation_scores_the_same_when_read_back(world: tuple[Warehouse, Store]) -> None:
    wh, _st = world
    form = load_form()
    cid = "t1-2026-11-A000-059"  # a contact of the world nobody evaluated
    answers = {"greeting": 10, "identity_check": 5, "needs_analysis": "na", "solution": 30, "compliance": 20,
               "closing": 0}  # fmt: skip
    want = entry.preview(form, answers)
    assert want.score == pytest.approx(100 * (0.10 * 10 + 0.15 * 5 + 0.30 * 30 + 0.15 * 20) /
                                       (0.10 * 10 + 0.15 * 10 + 0.30 * 30 + 0.15 * 20 + 0.10 * 10))  # fmt: skip
    saved = entry.save_evaluation(wh, "t1", contact_id=cid, evaluator="qa-lead", answers=answers)
    assert saved["score"] == pytest.approx(want.score) and saved["agent_id"] == "A000"
    back = [r for r in data.scored(wh, "t1").scored
            if r["evaluation_id"] == saved["evaluation_id"]]
    assert len(back) == 1 and back[0]["score"] == pytest.approx(want.score) and back[0]["not_applicable"] == 1
    assert back[0]["contact_id"] == cid and back[0]["evaluator"] == "qa-lead"


def test_save_refuses_bad_input_and_other_tenants_contacts(world: tuple[Warehouse, Store]) -> None:
    wh, _ = world
    with pytest.raises(NotFound):
        entry.save_evaluation(wh, "t1", contact_id="t10-2026-11-A000-001", evaluator="e", answers={"greeting": 1})
    with pytest.raises(AnswerError):
        entry.save_evaluation(wh, "t1", contact_id="t1-2026-11-A000-058", evaluator="e", answers={"nope": 1})
    with pytest.raises(AnswerError, match="outside"):
        entry.save_evaluation(wh, "t1", contact_id="t1-2026-11-A000-058", evaluator="e", answers={"greeting": 11})
    with pytest.raises(CallopsError, match="N/A"):
        entry.save_evaluation(wh, "t1", contact_id="t1-2026-11-A000-058", evaluator="e", answers={})


def test_queue_lists_the_draw_with_what_is_done(world: tuple[Warehouse, Store]) -> None:
    wh, st = world
    rows = [{"contact_id": "t1-2026-11-A001-000", "agent_id": "A001", "stream": "routine", "weight": 2.0},
            {"contact_id": "t1-2026-11-A001-059", "agent_id": "A001", "stream": "risk", "reasons": ["low_csat"]}]
    qstore.save_draw(st, "t1", "2026-11", rows, "hotline_voice@1", 0)
    q = entry.queue(wh, st, "t1", "2026-11")
    assert [(r["contact_id"], r["stream"], r["evaluated"]) for r in q] == [
        ("t1-2026-11-A001-000", "routine", True), ("t1-2026-11-A001-059", "risk", False)]
    assert entry.queue(wh, st, "t10", "2026-11") == []


def test_calibration_is_blind_until_closed_and_results_match_by_hand(world: tuple[Warehouse, Store]) -> None:
    wh, st = world
    contacts = ["t1-2026-11-A002-001", "t1-2026-11-A002-002", "t1-2026-11-A003-001"]
    with pytest.raises(NotFound):
        calibration.create_session(st, "t1", name="x", contacts=["t10-2026-11-A000-001"], evaluators=["a", "b"],
                                   created_by="lead", wh=wh)  # fmt: skip
    with pytest.raises(CallopsError, match="evaluators"):
        calibration.create_session(st, "t1", name="x", contacts=contacts, evaluators=["a"], created_by="lead")
    sess = calibration.create_session(st, "t1", name="Nov calibration", contacts=contacts,
                                      evaluators=["ann", "bob", "cy"], created_by="lead", wh=wh)  # fmt: skip
    sid = sess["id"]
    full = {"greeting": 10, "identity_check": 10, "needs_analysis": 20, "solution": 30, "compliance": 20,
            "closing": 10}  # fmt: skip
    sol = {"ann": [30, 15, 24], "bob": [24, 15, 30], "cy": [27, 0, 30]}  # solution points per contact
    for ev, pts in sol.items():
        for c, p in zip(contacts, pts, strict=True):
            calibration.rate(st, "t1", sid, evaluator=ev, contact_id=c, answers={**full, "solution": p})
    with pytest.raises(CallopsError, match="not an evaluator"):
        calibration.rate(st, "t1", sid, evaluator="eve", contact_id=contacts[0], answers=full)
    with pytest.raises(NotFound):
        calibration.get_session(st, "t10", sid, viewer="ann")
    view = calibration.get_session(st, "t1", sid, viewer="ann")
    assert view["results"] is None and set(view["mine"]) == set(contacts)  # blind: only ann's own
    assert view["progress"] == {"ann": 3, "bob": 3, "cy": 3}
    assert all(m["score"] is not None for m in view["mine"].values())
    calibration.close(st, "t1", sid)
    with pytest.raises(CallopsError, match="closed"):
        calibration.rate(st, "t1", sid, evaluator="ann", contact_id=contacts[0], answers=full)
    res = calibration.get_session(st, "t1", sid, viewer="lead")["results"]
    items = {i["item"]: i for i in res["items"]}
    pct = {ev: [100 * p / 30 for p in pts] for ev, pts in sol.items()}
    sds = [np.std([pct[e][k] for e in sol], ddof=1) for k in range(3)]
    assert items["solution"]["mean_sd"] == pytest.approx(float(np.mean(sds)))
    assert items["solution"]["max_range"] == pytest.approx(50.0)
    assert items["greeting"]["mean_sd"] == 0.0 and items["greeting"]["max_range"] == 0.0
    denom = 0.10 * 10 + 0.15 * 10 + 0.20 * 20 + 0.30 * 30 + 0.15 * 20 + 0.10 * 10
    totals = {ev: [100 * (denom - 0.30 * 30 + 0.30 * p) / denom for p in pts] for ev, pts in sol.items()}
    by_contact = {r["contact_id"]: r for r in res["contacts"]}
    for k, c in enumerate(contacts):
        assert by_contact[c]["scores"] == pytest.approx({e: totals[e][k] for e in sol})
    assert res["agreement"]["units"] == 3 and res["agreement"]["raters"] == 3
    # ICC(2,1) of the totals, from the mean squares worked out here
    x = np.array([[totals[e][k] for e in sorted(sol)] for k in range(3)])
    n, kk = x.shape
    g = x.mean()
    msr = kk * ((x.mean(axis=1) - g) ** 2).sum() / (n - 1)
    msc = n * ((x.mean(axis=0) - g) ** 2).sum() / (kk - 1)
    mse = ((x - x.mean(axis=1, keepdims=True) - x.mean(axis=0, keepdims=True) + g) ** 2).sum() / ((n - 1) * (kk - 1))
    icc21 = (msr - mse) / (msr + (kk - 1) * mse + kk * (msc - mse) / n)
    assert res["agreement"]["icc"]["icc_2_1"] == pytest.approx(icc21)
    assert [s["id"] for s in calibration.list_sessions(st, "t1")] == [sid]
    assert calibration.list_sessions(st, "t10") == []


def test_ranking_uses_the_recorded_draws_design_weights(world: tuple[Warehouse, Store]) -> None:
    from callops.quality import service

    wh, st = world
    rows = [r for r in data.scored(wh, "t1", "2026-11").scored if r["agent_id"] == "A000"]
    assert len(rows) >= 3
    weights = {r["contact_id"]: 1.0 + (k % 3) * 2.5 for k, r in enumerate(rows)}  # strata of unequal π
    draw = [{"contact_id": c, "agent_id": "A000", "stream": "routine", "stratum": f"s{w}", "weight": w,
             "inclusion_probability": 1 / w} for c, w in weights.items()]  # fmt: skip
    qstore.save_draw(st, "t1", "2026-11", draw, "hotline_voice@1", 0)
    rep = service.ranking_report(wh, "t1", "2026-11", store=st)
    a0 = next(a for a in rep["agents"] if a["agent_id"] == "A000")
    others = [a for a in rep["agents"] if a["agent_id"] != "A000"]
    brute = sum(weights[r["contact_id"]] * r["score"] for r in rows) / sum(weights.values())
    w = np.array(list(weights.values()))
    assert a0["weighted"] and a0["mean"] == pytest.approx(brute)
    assert a0["n_effective"] == pytest.approx(w.sum() ** 2 / (w**2).sum()) and a0["n_effective"] < a0["n"]
    assert not any(a["weighted"] for a in others)  # evaluated outside any draw: equal weights
