"""Tenant-isolation cases of the QA routes (``/api/qa/…``), registered in ``isolation_registry.CASES``.

The world has no QA data, so each tenant gets its own, loaded through ``/api/ingest`` as its own planner: two
months of evaluations (the hotline form's items) and transcripts of the evaluated contacts, and, on the first
plan or draw case, handled contacts to sample from. Every name in beta's data contains "beta" (agents,
evaluators, contacts, customers, queue, task owner); acme's contains "acme", so an acme answer is never empty by
accident. The periods (2025-10, 2025-11) lie far from the world's March 2026 contacts, and the extra contacts
are loaded only by the (late-running) POST cases, so the other domains' counts of March contacts stay true.
"""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path
from typing import Any

from apitest import World
from isolation_registry import acme, beta, case

from callops.quality import store as qstore
from callops.store.roles import Role

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "quality"))

PREV, PERIOD = "2025-10", "2025-11"
ITEMS = (("greeting", 10), ("identity_check", 10), ("needs_analysis", 20), ("solution", 30), ("compliance", 20),
         ("closing", 10))  # fmt: skip
AGENTS = 4
EVALS_PER_AGENT = 4
CONTACTS_PER_AGENT = 8
PLAN = {"period": PERIOD, "sd": 10.0, "margin": 5.0, "seed": 7}
_seeded: set[tuple[str, str]] = set()  # (world home, what) already loaded: a home is never reused, an id() may be


def _csv(header: list[str], rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(header)
    out.writerows(rows)
    return buf.getvalue()


def _ingest(w: World, tenant: str, table: str, text: str) -> None:
    """Load ``text`` (canonical CSV) into ``table`` as ``tenant``'s planner, through the product's own route."""
    r = w.client.post(f"/api/ingest/{table}", headers=w.auth(tenant, Role.planner), data={"mapping": "canonical"},
                      files={"files": (f"{tenant}-qa-{table}.csv", text, "text/csv")})  # fmt: skip
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["tenant"], got["rejected"]) == (tenant, 0) and got["loaded"] > 0, got


def _evaluations(tenant: str) -> str:
    """Two months of evaluations of ``tenant``'s agents (scores differ by agent, so the ranking has spread)."""
    up = tenant.upper()
    rows = []
    for month in (PREV, PERIOD):
        for a in range(AGENTS):
            for j in range(EVALS_PER_AGENT):
                frac = min(1.0, 0.45 + 0.12 * a + 0.04 * ((j * 7 + a) % 3))
                for item, points in ITEMS:
                    rows.append([f"{up}-E-{month}-{a}-{j}", item, f"{up}-QA-{month}-{a}-{j}", f"{up}-A{a}",
                                 f"{tenant}-qa{j % 2}", f"{month}-{10 + j:02d}T15:00:00+08:00",
                                 round(frac * points, 2), points, 1.0])  # fmt: skip
    return _csv(["evaluation_id", "item", "contact_id", "agent_id", "evaluator", "evaluated_at", "score",
                 "max_score", "weight"], rows)  # fmt: skip


def _transcripts(tenant: str) -> str:
    """A short zh transcript of each evaluated contact of ``PERIOD``."""
    up = tenant.upper()
    rows = []
    for a in range(AGENTS):
        for j in range(EVALS_PER_AGENT):
            cid = f"{up}-QA-{PERIOD}-{a}-{j}"
            rows += [[cid, 0, "agent", 0.0, 3.0, "您好，很高兴为您服务", "zh"],
                     [cid, 1, "customer", 3.5, 6.0, f"我是{tenant}的客户，宽带断了", "zh"],
                     [cid, 2, "agent", 6.5, 9.0, "请提供机主本人身份证后四位" if j % 2 else "帮您查询一下", "zh"],
                     [cid, 3, "agent", 9.5, 12.0, "感谢您的来电，祝您生活愉快", "zh"]]  # fmt: skip
    return _csv(["contact_id", "seq", "speaker", "start_s", "end_s", "text", "language"], rows)


def _contacts(tenant: str) -> str:
    """Handled contacts of ``PERIOD`` per agent (some complaints and low CSAT for the risk stream)."""
    up = tenant.upper()
    rows = []
    for a in range(AGENTS):
        for j in range(CONTACTS_PER_AGENT):
            day = 3 + j
            at = f"{PERIOD}-{day:02d}T10:00"
            rows.append([f"{up}-QC-{a}-{j}", "voice" if j % 3 else "chat", "inbound", f"{up}-CUST-{(a + j) % 5}",
                         "complaint" if j == 5 else "billing", f"{at}:00+08:00", f"{at}:30+08:00",
                         f"{PERIOD}-{day:02d}T10:12:00+08:00", 600 + 10 * j, "answered", f"{up}-A{a}",
                         "1" if j == 2 else "5", f"{tenant}-qa-q"])  # fmt: skip
    return _csv(["contact_id", "channel", "direction", "customer_id", "business_type", "offered_at", "answered_at",
                 "ended_at", "talk_s", "outcome", "agent_id", "csat", "queue"], rows)  # fmt: skip


def seed(w: World) -> None:
    """Both tenants' evaluations and transcripts, and one open coaching task each (once per world)."""
    if (str(w.home), "evals") in _seeded:
        return
    for tenant in ("acme", "beta"):
        _ingest(w, tenant, "qa_evaluations", _evaluations(tenant))
        _ingest(w, tenant, "transcripts", _transcripts(tenant))
        r = w.client.post("/api/qa/tasks", headers=w.auth(tenant, Role.team_lead),
                          json={"agent_id": f"{tenant.upper()}-A0", "owner": f"{tenant}-lead",
                                "reason": f"{tenant} decline", "period": PERIOD})  # fmt: skip
        assert r.status_code == 200, r.text
    _seeded.add((str(w.home), "evals"))


def seed_contacts(w: World) -> None:
    """Both tenants' handled contacts of ``PERIOD`` and beta's recorded draw (once per world)."""
    seed(w)
    if (str(w.home), "contacts") in _seeded:
        return
    for tenant in ("acme", "beta"):
        _ingest(w, tenant, "contacts", _contacts(tenant))
    assert beta(w, "POST", "/api/qa/draw", json=PLAN).json()["contacts"]
    _seeded.add((str(w.home), "contacts"))


def beta_draws(w: World) -> list[dict]:
    """beta's recorded draws, read from the store (no route lists them)."""
    return qstore.draws(w.client.app.state.resources.store, "beta")


def beta_task(w: World) -> dict:
    """beta's seeded coaching task (as beta sees it)."""
    tasks = beta(w, "GET", "/api/qa/tasks", Role.team_lead).json()
    return next(t for t in tasks if t["owner"] == "beta-lead")


# ------------------------------------------------------------------------------------------ pure calculations
@case("GET", "/api/qa/sample-size")
def _sample_size(w: World) -> None:
    params = {"sd": 12, "margin": 3, "population": 400}
    got = acme(w, "GET", "/api/qa/sample-size", Role.analyst, params=params).json()
    assert got == beta(w, "GET", "/api/qa/sample-size", Role.analyst, params=params).json()  # no tenant data
    assert (got["n"], got["n_without_fpc"]) == (54, 62)


@case("POST", "/api/qa/agreement")
def _agreement(w: World) -> None:
    ratings = [{"unit": f"u{u}", "rater": f"r{j}", "value": float((u * (j + 2)) % 5)} for u in range(6)
               for j in range(3)]  # fmt: skip
    got = acme(w, "POST", "/api/qa/agreement", Role.analyst, json={"ratings": ratings}).json()
    assert got == beta(w, "POST", "/api/qa/agreement", Role.analyst, json={"ratings": ratings}).json()


# ------------------------------------------------------------------------------------- evaluations and scores
@case("GET", "/api/qa/scores")
def _scores(w: World) -> None:
    seed(w)
    got = acme(w, "GET", "/api/qa/scores", Role.team_lead, params={"period": PERIOD}).json()
    assert len(got["evaluations"]) == AGENTS * EVALS_PER_AGENT
    assert all(e["agent_id"].startswith("ACME-") for e in got["evaluations"])
    ctl = beta(w, "GET", "/api/qa/scores", Role.team_lead, params={"period": PERIOD}).json()["evaluations"]
    assert len(ctl) == AGENTS * EVALS_PER_AGENT and all(e["agent_id"].startswith("BETA-") for e in ctl)


@case("GET", "/api/qa/ranking")
def _ranking(w: World) -> None:
    seed(w)
    params = {"period": PERIOD, "top": 2}
    agents = acme(w, "GET", "/api/qa/ranking", Role.analyst, params=params).json()["agents"]
    assert {a["agent_id"] for a in agents} == {f"ACME-A{i}" for i in range(AGENTS)}
    ctl = beta(w, "GET", "/api/qa/ranking", Role.analyst, params=params).json()["agents"]
    assert {a["agent_id"] for a in ctl} == {f"BETA-A{i}" for i in range(AGENTS)}


@case("GET", "/api/qa/coaching")
def _coaching(w: World) -> None:
    seed(w)
    got = acme(w, "GET", "/api/qa/coaching", Role.analyst, params={"period": PERIOD}).json()
    assert "ACME-A" in str(got["changes"])  # acme's own agents, against its own previous month
    ctl = beta(w, "GET", "/api/qa/coaching", Role.analyst, params={"period": PERIOD}).json()
    assert {c["agent_id"] for c in ctl["changes"]} == {f"BETA-A{i}" for i in range(AGENTS)}


@case("GET", "/api/qa/textqa")
def _textqa(w: World) -> None:
    seed(w)
    got = acme(w, "GET", "/api/qa/textqa", params={"period": PERIOD}).json()
    assert len(got["contacts"]) == AGENTS * EVALS_PER_AGENT
    assert all(c["contact_id"].startswith("ACME-QA-") for c in got["contacts"])
    ctl = beta(w, "GET", "/api/qa/textqa", params={"period": PERIOD}).json()["contacts"]
    assert len(ctl) == AGENTS * EVALS_PER_AGENT and all(c["contact_id"].startswith("BETA-QA-") for c in ctl)


# ------------------------------------------------------------------------------------------- plans and draws
@case("POST", "/api/qa/plan")
def _plan(w: World) -> None:
    seed_contacts(w)
    got = acme(w, "POST", "/api/qa/plan", json=PLAN).json()
    assert {a["agent_id"] for a in got["agents"]} == {f"ACME-A{i}" for i in range(AGENTS)}
    assert all(a["population"] == CONTACTS_PER_AGENT for a in got["agents"])
    ctl = beta(w, "POST", "/api/qa/plan", json=PLAN).json()["agents"]
    assert {a["agent_id"] for a in ctl} == {f"BETA-A{i}" for i in range(AGENTS)}


@case("POST", "/api/qa/draw")
def _draw(w: World) -> None:
    """acme's draw of the same period neither returns nor replaces beta's recorded draw."""
    seed_contacts(w)
    before = beta_draws(w)
    assert before and all(d["contact_id"].startswith("BETA-QC-") for d in before)
    got = acme(w, "POST", "/api/qa/draw", json={**PLAN, "seed": 8}).json()
    assert got["contacts"] and all(c["contact_id"].startswith("ACME-QC-") for c in got["contacts"])
    xlsx = acme(w, "POST", "/api/qa/draw", params={"format": "xlsx"}, json={**PLAN, "seed": 8})
    assert xlsx.content[:2] == b"PK"
    assert beta_draws(w) == before
    assert all(d["contact_id"].startswith("ACME-QC-") for d in qstore.draws(w.client.app.state.resources.store,
                                                                            "acme"))  # fmt: skip


# ------------------------------------------------------------------------------------------- coaching tasks
@case("GET", "/api/qa/tasks")
def _tasks(w: World) -> None:
    seed(w)
    got = acme(w, "GET", "/api/qa/tasks", Role.team_lead).json()
    assert got and all(t["agent_id"].startswith("ACME-") for t in got)
    assert beta_task(w)["agent_id"] == "BETA-A0"


@case("POST", "/api/qa/tasks")
def _create_task(w: World) -> None:
    seed(w)
    before = beta(w, "GET", "/api/qa/tasks", Role.team_lead).json()
    made = acme(w, "POST", "/api/qa/tasks", Role.team_lead,
                json={"agent_id": "ACME-A3", "owner": "acme-lead", "reason": "iso"}).json()  # fmt: skip
    assert made["id"] in {t["id"] for t in acme(w, "GET", "/api/qa/tasks", Role.team_lead).json()}
    assert beta(w, "GET", "/api/qa/tasks", Role.team_lead).json() == before  # landed in acme only


@case("PATCH", "/api/qa/tasks/{task_id}")
def _update_task(w: World) -> None:
    seed(w)
    task = beta_task(w)
    assert task["status"] == "open"
    acme(w, "PATCH", f"/api/qa/tasks/{task['id']}", Role.team_lead, expect=404,
         json={"status": "done", "outcome": "closed by acme"})  # fmt: skip
    assert beta_task(w) == task  # still open, no outcome


# ------------------------------------------------------------------------------------- evaluation entry
FULL = {"greeting": 10, "identity_check": 10, "needs_analysis": 20, "solution": 30, "compliance": 20, "closing": 10}


@case("GET", "/api/qa/evaluation-queue")
def _evaluation_queue(w: World) -> None:
    seed_contacts(w)
    acme(w, "POST", "/api/qa/draw", json={**PLAN, "seed": 8})
    got = acme(w, "GET", "/api/qa/evaluation-queue", Role.team_lead, params={"period": PERIOD}).json()
    assert got and all(d["contact_id"].startswith("ACME-QC-") for d in got)
    ctl = beta(w, "GET", "/api/qa/evaluation-queue", Role.team_lead, params={"period": PERIOD}).json()
    assert ctl and all(d["contact_id"].startswith("BETA-QC-") for d in ctl)


@case("POST", "/api/qa/evaluations")
def _save_evaluation(w: World) -> None:
    """acme cannot evaluate beta's contact (404); its own evaluation lands in acme only."""
    seed_contacts(w)
    acme(w, "POST", "/api/qa/evaluations", Role.team_lead, expect=404, sent="BETA-QC-1-1",
         json={"contact_id": "BETA-QC-1-1", "answers": FULL})  # fmt: skip
    made = acme(w, "POST", "/api/qa/evaluations", Role.team_lead,
                json={"contact_id": "ACME-QC-1-1", "answers": FULL}).json()  # fmt: skip
    assert made["agent_id"] == "ACME-A1" and made["score"] == 100.0
    month = made["evaluated_at"][:7]
    ctl = beta(w, "GET", "/api/qa/scores", Role.team_lead, params={"period": month}).json()["evaluations"]
    assert made["evaluation_id"] not in {e["evaluation_id"] for e in ctl}
    beta(w, "POST", "/api/qa/evaluations", Role.team_lead, json={"contact_id": "BETA-QC-1-1", "answers": FULL})


# ------------------------------------------------------------------------------------- calibration sessions
def beta_calibration(w: World) -> dict:
    """beta's calibration session over two of its contacts, rated by both its evaluators (once per world)."""
    seed_contacts(w)
    sessions = beta(w, "GET", "/api/qa/calibrations").json()
    if sessions:
        return sessions[0]
    body = {"name": "beta calibration", "contacts": ["BETA-QC-0-0", "BETA-QC-1-0"],
            "evaluators": ["beta-admin", "beta-team_lead"]}  # fmt: skip
    made = beta(w, "POST", "/api/qa/calibrations", json=body).json()
    beta(w, "POST", f"/api/qa/calibrations/{made['id']}/ratings", json={"contact_id": "BETA-QC-0-0", "answers": FULL})
    return made


@case("GET", "/api/qa/calibrations")
def _calibrations(w: World) -> None:
    sid = beta_calibration(w)["id"]
    got = acme(w, "GET", "/api/qa/calibrations", Role.analyst).json()
    assert sid not in {s["id"] for s in got}
    assert sid in {s["id"] for s in beta(w, "GET", "/api/qa/calibrations", Role.analyst).json()}


@case("POST", "/api/qa/calibrations")
def _create_calibration(w: World) -> None:
    beta_calibration(w)
    body = {"name": "acme calibration", "contacts": ["ACME-QC-0-0", "BETA-QC-0-0"],
            "evaluators": ["acme-admin", "acme-team_lead"]}  # fmt: skip
    acme(w, "POST", "/api/qa/calibrations", json=body, expect=404, sent="BETA-QC-0-0")  # beta's contact
    made = acme(w, "POST", "/api/qa/calibrations", json={**body, "contacts": ["ACME-QC-0-0"]}).json()
    assert made["id"] not in {s["id"] for s in beta(w, "GET", "/api/qa/calibrations").json()}


@case("GET", "/api/qa/calibrations/{session_id}")
def _get_calibration(w: World) -> None:
    sid = beta_calibration(w)["id"]
    acme(w, "GET", f"/api/qa/calibrations/{sid}", Role.analyst, expect=404, sent=str(sid))
    assert beta(w, "GET", f"/api/qa/calibrations/{sid}").json()["mine"]


@case("POST", "/api/qa/calibrations/{session_id}/ratings")
def _rate_calibration(w: World) -> None:
    made = beta_calibration(w)
    sid = made["id"]
    before = beta(w, "GET", f"/api/qa/calibrations/{sid}").json()
    acme(w, "POST", f"/api/qa/calibrations/{sid}/ratings", expect=404, sent=str(sid),
         json={"contact_id": "BETA-QC-1-0", "answers": FULL})  # fmt: skip
    assert beta(w, "GET", f"/api/qa/calibrations/{sid}").json() == before


@case("POST", "/api/qa/calibrations/{session_id}/close")
def _close_calibration(w: World) -> None:
    sid = beta_calibration(w)["id"]
    acme(w, "POST", f"/api/qa/calibrations/{sid}/close", expect=404, sent=str(sid))
    assert beta(w, "GET", f"/api/qa/calibrations/{sid}").json()["status"] == "open"
