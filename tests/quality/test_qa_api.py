"""`/api/qa/…` on a real store and warehouse: permissions, keys, 4xx for bad input, tenants t1/t10 isolated."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parent))
import qa_world

from callops.api.app import create_app
from callops.store.db import Store
from callops.store.roles import Role
from callops.store.tenants import sync_tenants
from callops.store.users import create_user
from callops.warehouse import Warehouse


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict]]:
    tmp = tmp_path_factory.mktemp("qa-api")
    mp = pytest.MonkeyPatch()
    mp.setenv("CALLOPS_HOME", str(tmp / "home"))
    mp.delenv("CALLOPS_WAREHOUSE", raising=False)
    mp.delenv("CALLOPS_STORE_URL", raising=False)
    url = f"sqlite:///{tmp / 'store.sqlite3'}"
    tokens: dict = {}
    with Warehouse() as wh, Store(url) as st:
        qa_world.build(wh, tmp, "t1", seed=1)
        (tmp / "t10").mkdir()
        qa_world.build(wh, tmp / "t10", "t10", seed=2, agents=5)
        sync_tenants(st, wh)
        with st.session() as s:
            for tenant in ("t1", "t10"):
                for role in (Role.admin, Role.team_lead, Role.analyst):
                    _, plain = create_user(s, tenant, f"{tenant}-{role.value}", role, "test")
                    tokens[(tenant, role)] = {"Authorization": f"Bearer {plain}"}
    with TestClient(create_app(url, console=False), raise_server_exceptions=False) as client:
        yield client, tokens
    mp.undo()


def test_ranking_keys_and_permissions(api: tuple[TestClient, dict]) -> None:
    client, tok = api
    r = client.get("/api/qa/ranking?period=2026-11&top=3", headers=tok[("t1", Role.analyst)])
    assert r.status_code == 200, r.text
    agents = r.json()["agents"]
    assert len(agents) == 12
    assert {"agent_id", "n", "mean", "shrunk_mean", "interval", "rank_interval", "p_top", "reliability"} <= set(
        agents[0])
    t10 = client.get("/api/qa/ranking?period=2026-11", headers=tok[("t10", Role.analyst)]).json()["agents"]
    assert {a["agent_id"] for a in t10} == {f"A{i:03d}" for i in range(5)}
    # the analyst reads but may not plan (qa:manage) or work tasks (qa:evaluate)
    assert client.post("/api/qa/plan", json={"period": "2026-11"}, headers=tok[("t1", Role.analyst)]).status_code == 403
    assert client.get("/api/qa/tasks", headers=tok[("t1", Role.analyst)]).status_code == 403
    assert client.get("/api/qa/ranking?period=2026-13", headers=tok[("t1", Role.analyst)]).status_code == 422
    assert client.get("/api/qa/ranking?period=2026-11").status_code == 401


def test_plan_draw_and_xlsx(api: tuple[TestClient, dict]) -> None:
    client, tok = api
    r = client.post("/api/qa/plan", json={"period": "2026-11", "margin": 5}, headers=tok[("t1", Role.admin)])
    assert r.status_code == 200, r.text
    assert all(a["population"] == 60 for a in r.json()["agents"])
    x = client.post("/api/qa/draw?format=xlsx", json={"period": "2026-11", "margin": 5},
                    headers=tok[("t1", Role.admin)])  # fmt: skip
    assert x.status_code == 200 and x.content[:2] == b"PK"
    bad = client.post("/api/qa/plan", json={"period": "2026-11", "allocation": "random"},
                      headers=tok[("t1", Role.admin)])  # fmt: skip
    assert bad.status_code == 422


def test_tasks_are_isolated_between_t1_and_t10(api: tuple[TestClient, dict]) -> None:
    client, tok = api
    lead1, lead10 = tok[("t1", Role.team_lead)], tok[("t10", Role.team_lead)]
    r = client.post("/api/qa/tasks", json={"agent_id": "A001", "owner": "lead", "reason": "decline"}, headers=lead1)
    assert r.status_code == 200, r.text
    task = r.json()
    assert client.get("/api/qa/tasks", headers=lead10).json() == []
    assert client.patch(f"/api/qa/tasks/{task['id']}", json={"status": "done"}, headers=lead10).status_code == 404
    done = client.patch(f"/api/qa/tasks/{task['id']}", json={"status": "done", "outcome": "ok"}, headers=lead1)
    assert done.status_code == 200 and done.json()["status"] == "done"


def test_agreement_and_sample_size(api: tuple[TestClient, dict]) -> None:
    from test_agreement import SF1979, SF1979_ICC

    client, tok = api
    ratings = [{"unit": str(u), "rater": str(j), "value": float(v)} for u, row in enumerate(SF1979)
               for j, v in enumerate(row)]  # fmt: skip
    r = client.post("/api/qa/agreement", json={"ratings": ratings}, headers=tok[("t1", Role.analyst)])
    assert r.status_code == 200, r.text
    assert {k: round(v, 2) for k, v in r.json()["icc"].items()} == SF1979_ICC
    s = client.get("/api/qa/sample-size?sd=12&margin=3&population=400", headers=tok[("t1", Role.analyst)])
    assert (s.json()["n"], s.json()["n_without_fpc"]) == (54, 62)
    assert client.get("/api/qa/sample-size?sd=12&margin=0", headers=tok[("t1", Role.analyst)]).status_code == 422


@pytest.mark.parametrize("period", ["3000-01", "2263-01", "1969-12", "0001-01", "9999-12"])
def test_periods_outside_the_engine_range_answer_400(api: tuple[TestClient, dict], period: str) -> None:
    """A month the engine cannot hold (found by the fuzzer: 3000-01 overflowed pandas' nanoseconds) is a clear 400."""
    client, tok = api
    admin = tok[("t1", Role.admin)]
    answers = [
        client.post("/api/qa/plan", json={"period": period}, headers=admin),
        client.post("/api/qa/draw", json={"period": period}, headers=admin),
        client.get(f"/api/qa/scores?period={period}", headers=admin),
        client.get(f"/api/qa/ranking?period={period}", headers=admin),
        client.get(f"/api/qa/coaching?period={period}", headers=admin),
        client.get(f"/api/qa/textqa?period={period}", headers=admin),
    ]
    for r in answers:
        assert r.status_code == 400, (r.request.url, r.text)
        assert r.json()["detail"] == f"period {period!r}: expected a month of the years 1970 to 2200"
    # the edges of the range are served (no evaluations there: an empty answer)
    for edge in ("1970-01", "2200-12"):
        r = client.get(f"/api/qa/scores?period={edge}", headers=admin)
        assert r.status_code == 200 and r.json()["evaluations"] == [], r.text


def test_evaluation_entry_through_the_api(api: tuple[TestClient, dict]) -> None:
    client, tok = api
    lead = tok[("t1", Role.team_lead)]
    answers = {"greeting": 10, "identity_check": 10, "needs_analysis": None, "solution": 15, "compliance": 20,
               "closing": "na"}  # fmt: skip
    r = client.post("/api/qa/evaluations", json={"contact_id": "t1-2026-11-A003-058", "answers": answers}, headers=lead)
    assert r.status_code == 200, r.text
    got = r.json()
    w = {"greeting": (0.10, 10), "identity_check": (0.15, 10), "solution": (0.30, 30), "compliance": (0.15, 20)}
    earned = {"greeting": 10, "identity_check": 10, "solution": 15, "compliance": 20}
    want = 100 * sum(w[k][0] * earned[k] for k in w) / sum(wt * p for wt, p in w.values())
    assert got["score"] == pytest.approx(want) and got["evaluator"] == "t1-team_lead" and got["agent_id"] == "A003"
    scores = client.get("/api/qa/scores?period=" + got["evaluated_at"][:7], headers=lead).json()["evaluations"]
    assert [e["score"] for e in scores if e["evaluation_id"] == got["evaluation_id"]] == [pytest.approx(want)]
    # another tenant's contact is not found; a bad answer is a 400; the analyst may not evaluate
    assert client.post("/api/qa/evaluations", json={"contact_id": "t10-2026-11-A000-001", "answers": answers},
                       headers=lead).status_code == 404  # fmt: skip
    bad = client.post("/api/qa/evaluations", json={"contact_id": "t1-2026-11-A003-058", "answers": {"x": 1}},
                      headers=lead)  # fmt: skip
    assert bad.status_code == 400 and "not on form" in bad.json()["detail"]
    assert client.post("/api/qa/evaluations", json={"contact_id": "t1-2026-11-A003-058", "answers": answers},
                       headers=tok[("t1", Role.analyst)]).status_code == 403  # fmt: skip
    q = client.get("/api/qa/evaluation-queue?period=2026-11", headers=lead)
    assert q.status_code == 200 and all("evaluated" in d for d in q.json())


def test_calibration_session_through_the_api(api: tuple[TestClient, dict]) -> None:
    client, tok = api
    admin, lead = tok[("t1", Role.admin)], tok[("t1", Role.team_lead)]
    body = {"name": "Nov", "contacts": ["t1-2026-11-A001-001", "t1-2026-11-A002-001"],
            "evaluators": ["t1-admin", "t1-team_lead"]}  # fmt: skip
    assert client.post("/api/qa/calibrations", json=body, headers=lead).status_code == 403  # qa:manage only
    r = client.post("/api/qa/calibrations", json=body, headers=admin)
    assert r.status_code == 200, r.text
    sid = r.json()["id"]
    full = {"greeting": 10, "identity_check": 10, "needs_analysis": 20, "solution": 30, "compliance": 20,
            "closing": 10}  # fmt: skip
    for who, sol in ((admin, 30), (lead, 0)):
        for c in body["contacts"]:
            rr = client.post(f"/api/qa/calibrations/{sid}/ratings", json={"contact_id": c,
                             "answers": {**full, "solution": sol}}, headers=who)  # fmt: skip
            assert rr.status_code == 200, rr.text
    open_view = client.get(f"/api/qa/calibrations/{sid}", headers=lead).json()
    assert open_view["results"] is None  # blind: the lead sees their own scores only
    assert [m["score"] for m in open_view["mine"].values()] == [pytest.approx(100 * 10.5 / 19.5)] * 2
    assert client.get(f"/api/qa/calibrations/{sid}", headers=tok[("t10", Role.admin)]).status_code == 404
    assert client.post(f"/api/qa/calibrations/{sid}/close", headers=admin).status_code == 200
    res = client.get(f"/api/qa/calibrations/{sid}", headers=lead).json()["results"]
    assert {i["item"]: i["max_range"] for i in res["items"]}["solution"] == pytest.approx(100.0)
    assert client.get("/api/qa/calibrations", headers=tok[("t10", Role.admin)]).json() == []


def test_draw_weights_and_adhoc_recounted_through_the_api(api: tuple[TestClient, dict]) -> None:
    """After a recorded draw: every score carries the draw that chose its contact, each agent's drawn and ad-hoc
    evaluations add up to its routine evaluations, and the coaching report has each evaluator's drift."""
    client, tok = api
    admin, analyst = tok[("t1", Role.admin)], tok[("t1", Role.analyst)]
    body = {"period": "2026-11", "margin": 5, "strata": ["channel", "risk"], "allocation": "neyman", "seed": 3}
    drawn = client.post("/api/qa/draw", json=body, headers=admin)
    assert drawn.status_code == 200, drawn.text
    by_contact = {d["contact_id"]: d for d in drawn.json()["contacts"]}
    scores = client.get("/api/qa/scores?period=2026-11", headers=tok[("t1", Role.team_lead)]).json()["evaluations"]
    for e in scores:
        d = by_contact.get(e["contact_id"])
        assert (e["plan"] is None) == (d is None)
        if d is not None:
            assert (e["plan"]["stream"], e["plan"]["weight"], e["plan"]["seed"]) == (d["stream"], d["weight"], 3)
    routine = [e for e in scores if not (e["plan"] and e["plan"]["stream"] == "risk")]
    rep = client.get("/api/qa/ranking?period=2026-11", headers=analyst).json()
    for a in rep["agents"]:
        mine = [e for e in routine if e["agent_id"] == a["agent_id"]]
        in_draw = {e["contact_id"] for e in mine if e["plan"]}
        assert a["weighted"] is bool(in_draw)
        if in_draw:  # one score per drawn contact; the others reported as ad-hoc
            assert a["n"] == len(in_draw) and (a["adhoc"] or {"n": 0})["n"] == len(mine) - len(in_draw)
        else:
            assert a["n"] == len(mine) and a["adhoc"] is None
    assert rep["design"]["weighted_agents"] == sum(a["weighted"] for a in rep["agents"]) > 0
    coach = client.get("/api/qa/coaching?period=2026-11", headers=analyst).json()
    assert set(coach["drift"]) == {e["evaluator"] for e in routine}
    assert all({"ewma", "cusum"} <= set(v) for v in coach["drift"].values())
