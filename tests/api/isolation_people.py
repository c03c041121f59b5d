"""Tenant-isolation cases of the self-service routes (issue 19: ``/api/me/...``, ``/api/users/{id}/team``),
registered in :data:`isolation_registry.CASES`.

:func:`seeded` gives both tenants, once per world: a roster (acme: ``AC01``/``AC02`` in team ``red``; beta:
``BETA-A1``/``BETA-A2`` in team ``beta-team``), next week's schedule and a flat forecast; the world's ``agent`` user
of each tenant becomes its first agent and its ``team_lead`` user leads its team. Beta files a time-off request
(pending for its lead). Every beta id contains "beta", so an answer to acme that mentions it is a leak.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pandas as pd
from apitest import World
from isolation_registry import acme, beta, case

from callops import tenancy
from callops.ingest.loader import load_files
from callops.ingest.mapping import load_mapping
from callops.people import links
from callops.store import users
from callops.store.roles import Role
from callops.wfm.forecast_io import save_snapshot

ROSTER = {"acme": ("Asia/Shanghai", "red", ["AC01", "AC02"]), "beta": ("Europe/Paris", "beta-team",
                                                                     ["BETA-A1", "BETA-A2"])}


@dataclass
class PeopleData:
    """What was seeded in one world."""

    monday: date
    beta_request_id: int
    beta_user_id: int


_SEEDED: dict[int, PeopleData] = {}


def _monday(zone: str) -> date:
    today = datetime.now(zoneinfo.ZoneInfo(zone)).date()
    return today + timedelta(days=7 - today.weekday())  # next week: in the future, and in "this week and next"


def _load(w: World, tenant: str, folder: Path, monday: date) -> None:
    zone, team, agents = ROSTER[tenant]
    tz = zoneinfo.ZoneInfo(zone)
    roster = ["agent_id,name,center,team,skills,hire_date,contract,emergency_echelon,active"]
    sched = ["agent_id,activity,start_at,end_at,queue"]
    for a in agents:
        roster.append(f"{a},{a},{tenant}-c,{team},{tenant}-q:1,2024-01-01,full-time,,true")
        for d in range(5):
            s = datetime.combine(monday + timedelta(days=d), time(9)).replace(tzinfo=tz)
            sched.append(f"{a},work,{s.isoformat()},{(s + timedelta(hours=8)).isoformat()},{tenant}-q")
    (folder / f"{tenant}-people-agents.csv").write_text("\n".join(roster) + "\n", encoding="utf-8")
    (folder / f"{tenant}-people-schedules.csv").write_text("\n".join(sched) + "\n", encoding="utf-8")
    res = w.client.app.state.resources
    with res.warehouse_lock:
        wh = res.open_warehouse()
        t = tenancy.get_tenant(wh, tenant)
        load_files(wh, t, "agents", [folder / f"{tenant}-people-agents.csv"], load_mapping("canonical", "agents"))
        load_files(wh, t, "schedules", [folder / f"{tenant}-people-schedules.csv"],
                   load_mapping("canonical", "schedules"))  # fmt: skip
        starts = pd.date_range(datetime.combine(monday, time()), periods=7 * 96, freq="15min")
        save_snapshot(tenant, pd.DataFrame({"queue": f"{tenant}-q", "interval_start": starts, "forecast": 2.0,
                                            "aht_s": 200.0, "model": "flat"}), {"interval_min": 15})  # fmt: skip
        with res.store.session() as s:
            agent_user = users.get_user(s, tenant, w.user_ids[tenant][Role.agent])
            links._link(s, tenant, agent_user, agents[0], "test")
            links._set_team(s, tenant, agent_user, team, "test")
            links.set_team(s, wh, tenant, w.user_ids[tenant][Role.team_lead], team, "test")


def seeded(w: World) -> PeopleData:
    """Seed both tenants once per world (see the module docstring)."""
    held = _SEEDED.get(id(w))
    if held is not None:
        return held
    monday = _monday("Europe/Paris")
    for tenant in ("acme", "beta"):
        _load(w, tenant, w.home, monday)
    r = beta(w, "POST", "/api/me/requests", role=Role.agent, json={
        "kind": "time_off", "start": f"{monday + timedelta(days=2)}T00:00:00",
        "end": f"{monday + timedelta(days=3)}T00:00:00", "reason": "beta holiday"}).json()  # fmt: skip
    assert r["status"] == "pending_lead", r
    _SEEDED[id(w)] = PeopleData(monday, r["id"], w.user_ids["beta"][Role.agent])
    return _SEEDED[id(w)]


def _beta_requests(w: World) -> list:
    return beta(w, "GET", "/api/me/team/requests", role=Role.team_lead).json()


@case("GET", "/api/me/schedule")
def _schedule(w: World) -> None:
    d = seeded(w)
    own = acme(w, "GET", "/api/me/schedule", role=Role.agent, params={"week": str(d.monday)}).json()
    assert own["agent_id"] == "AC01" and len(own["days"]) == 5
    acme(w, "GET", "/api/me/schedule", role=Role.agent, expect=404, sent="BETA-A1", params={"agent_id": "BETA-A1"})
    acme(w, "GET", "/api/me/schedule", role=Role.team_lead, expect=404, sent="BETA-A2",
         params={"agent_id": "BETA-A2"})  # fmt: skip
    got = beta(w, "GET", "/api/me/schedule", role=Role.agent, params={"week": str(d.monday)}).json()
    assert got["agent_id"] == "BETA-A1" and len(got["days"]) == 5


@case("GET", "/api/me/schedule.ics")
def _ics(w: World) -> None:
    seeded(w)
    own = acme(w, "GET", "/api/me/schedule.ics", role=Role.agent).text
    assert own.startswith("BEGIN:VCALENDAR")
    acme(w, "GET", "/api/me/schedule.ics", role=Role.agent, expect=404, sent="BETA-A1",
         params={"agent_id": "BETA-A1"})  # fmt: skip
    assert "BETA-A1" in beta(w, "GET", "/api/me/schedule.ics", role=Role.agent).text


@case("GET", "/api/me/kpis")
def _kpis(w: World) -> None:
    seeded(w)
    own = acme(w, "GET", "/api/me/kpis", role=Role.agent).json()
    assert own["agent_id"] == "AC01" and own["team"] == "red"
    acme(w, "GET", "/api/me/kpis", role=Role.agent, expect=404, sent="BETA-A1", params={"agent_id": "BETA-A1"})
    assert beta(w, "GET", "/api/me/kpis", role=Role.agent).json()["team"] == "beta-team"


@case("GET", "/api/me/today")
def _today(w: World) -> None:
    seeded(w)
    own = acme(w, "GET", "/api/me/today", role=Role.agent).json()
    assert own["agent_id"] == "AC01"
    acme(w, "GET", "/api/me/today", role=Role.agent, expect=404, sent="BETA-A1", params={"agent_id": "BETA-A1"})
    assert beta(w, "GET", "/api/me/today", role=Role.agent).json()["agent_id"] == "BETA-A1"


@case("GET", "/api/me/requests")
def _requests(w: World) -> None:
    d = seeded(w)
    assert all(r["id"] != d.beta_request_id for r in acme(w, "GET", "/api/me/requests", role=Role.agent).json())
    assert any(r["id"] == d.beta_request_id for r in beta(w, "GET", "/api/me/requests", role=Role.agent).json())


@case("POST", "/api/me/requests")
def _file(w: World) -> None:
    d = seeded(w)
    before = _beta_requests(w)
    day = d.monday + timedelta(days=3)
    body = {"kind": "swap", "start": f"{day}T00:00:00", "end": f"{day + timedelta(days=1)}T00:00:00",
            "colleague_id": "BETA-A2"}  # fmt: skip
    acme(w, "POST", "/api/me/requests", role=Role.agent, expect=400, sent="BETA-A2", json=body)
    made = acme(w, "POST", "/api/me/requests", role=Role.agent, json={**body, "colleague_id": "AC02"}).json()
    assert made["status"] == "pending_colleague" and made["colleague_id"] == "AC02"
    assert _beta_requests(w) == before


@case("POST", "/api/me/requests/{request_id}/accept")
def _accept(w: World) -> None:
    d = seeded(w)
    acme(w, "POST", f"/api/me/requests/{d.beta_request_id}/accept", role=Role.agent, expect=404)
    assert next(r for r in _beta_requests(w) if r["id"] == d.beta_request_id)["status"] == "pending_lead"


@case("GET", "/api/me/team/requests")
def _team_requests(w: World) -> None:
    d = seeded(w)
    assert all(r["id"] != d.beta_request_id for r in acme(w, "GET", "/api/me/team/requests", role=Role.team_lead)
               .json())  # fmt: skip
    assert any(r["id"] == d.beta_request_id for r in _beta_requests(w))


@case("POST", "/api/me/team/requests/{request_id}/decide")
def _decide(w: World) -> None:
    d = seeded(w)
    acme(w, "POST", f"/api/me/team/requests/{d.beta_request_id}/decide", role=Role.team_lead, expect=404,
         json={"approve": True, "reason": "acme says yes"})  # fmt: skip
    acme(w, "POST", f"/api/me/team/requests/{d.beta_request_id}/decide", role=Role.admin, expect=404,
         json={"approve": False, "reason": "acme says no"})  # fmt: skip
    assert next(r for r in _beta_requests(w) if r["id"] == d.beta_request_id)["status"] == "pending_lead"


@case("POST", "/api/users/{user_id}/team")
def _set_team(w: World) -> None:
    d = seeded(w)
    acme(w, "POST", f"/api/users/{d.beta_user_id}/team", expect=404, json={"team": "red"})
    acme(w, "POST", f"/api/users/{w.user_ids['acme'][Role.analyst]}/team", expect=400, sent="beta-team",
         json={"team": "beta-team"})  # fmt: skip
    got = acme(w, "POST", f"/api/users/{w.user_ids['acme'][Role.analyst]}/team", json={"team": "red"}).json()
    assert got["team"] == "red"
    lead = beta(w, "GET", "/api/users").json()
    assert next(u for u in lead if u["id"] == d.beta_user_id)["team"] == "beta-team"
