"""Tenant-isolation cases of the floor routes (issue 19: ``/api/floor/...``), registered in
:data:`isolation_registry.CASES`.

:func:`seeded` gives beta, once per world: a break scheduled in its live room for ``BETA-AGENT`` (who is ready:
out of adherence), a recorded exception, an HR case (the world's warehouse schedules BETA-AGENT on 2026-03-02/03
and has no states for it: two absences) and an open overtime offer; acme gets one live event so its own room has
a clock. Every beta id contains "beta", so an answer to acme that mentions it is a leak.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from apitest import World
from isolation_registry import acme, beta, case

from callops.realtime.hub import hub_for
from callops.realtime.state import ScheduleRow
from callops.store.models_floor import FloorOffer
from callops.store.roles import Role
from conftest import T0

PERIOD = {"start": "2026-03-01", "end": "2026-03-04"}


@dataclass
class FloorData:
    """Ids of beta's seeded rows."""

    exception_id: int
    case_id: int
    offer_id: int


_SEEDED: dict[int, FloorData] = {}


def seeded(w: World) -> FloorData:
    """Seed both tenants' floor data once per world (see the module docstring)."""
    held = _SEEDED.get(id(w))
    if held is not None:
        return held
    hub = hub_for("beta")
    with hub.lock:
        t = T0.timestamp()
        hub.engine.state.schedule["BETA-AGENT"] = [ScheduleRow("BETA-AGENT", "break", t, t + 7200)]
    beta(w, "GET", "/api/floor/adherence")  # attaches the watch
    with hub.lock:
        hub.engine.adherence.reschedule("BETA-AGENT")
    exc = beta(w, "POST", "/api/floor/exceptions", json={
        "agent_id": "BETA-AGENT", "kind": "meeting", "note": "beta meeting",
        "start_at": (T0 + timedelta(hours=3)).isoformat(), "end_at": (T0 + timedelta(hours=4)).isoformat()}).json()
    run = beta(w, "POST", "/api/floor/hr-cases/run", json=PERIOD).json()
    assert run["found"] >= 1, run
    case_id = beta(w, "GET", "/api/floor/hr-cases").json()["cases"][0]["id"]
    store = w.client.app.state.resources.store
    with store.session() as s:
        o = FloorOffer(tenant_id="beta", kind="overtime", agent_id="BETA-AGENT", queue="beta-q",
                       start_at=T0 + timedelta(hours=5), end_at=T0 + timedelta(hours=6), sl_before=0.5, sl_after=0.7,
                       reason="beta overtime", status="open", created_by="beta-admin")  # fmt: skip
        s.add(o)
        s.flush()
        offer_id = o.id
    r = w.client.post("/api/live/events", headers=w.auth("acme", Role.dispatcher), json=[{
        "type": "agent.state", "ts": T0.isoformat(), "tenant": "acme", "agent_id": "acme-a1", "state": "ready"}])
    assert r.status_code == 200, r.text
    _SEEDED[id(w)] = FloorData(exc["id"], case_id, offer_id)
    return _SEEDED[id(w)]


def _beta_state(w: World) -> dict:
    return {k: beta(w, "GET", f"/api/floor/{k}").json() for k in ("exceptions", "hr-cases", "offers")}


@case("GET", "/api/floor/adherence")
def _adherence(w: World) -> None:
    seeded(w)
    got = acme(w, "GET", "/api/floor/adherence").json()
    assert all(a["agent_id"] != "BETA-AGENT" for a in got["agents"])
    agents = beta(w, "GET", "/api/floor/adherence").json()["agents"]
    assert [a["agent_id"] for a in agents] == ["BETA-AGENT"] and not agents[0]["in_adherence"]


@case("GET", "/api/floor/exceptions")
def _exceptions(w: World) -> None:
    seeded(w)
    assert acme(w, "GET", "/api/floor/exceptions").json()["exceptions"] == []
    assert beta(w, "GET", "/api/floor/exceptions").json()["exceptions"][0]["agent_id"] == "BETA-AGENT"


@case("POST", "/api/floor/exceptions")
def _add_exception(w: World) -> None:
    seeded(w)
    before = _beta_state(w)
    made = acme(w, "POST", "/api/floor/exceptions", json={
        "agent_id": "acme-a1", "kind": "system", "start_at": T0.isoformat(),
        "end_at": (T0 + timedelta(minutes=30)).isoformat()}).json()  # fmt: skip
    assert made["agent_id"] == "acme-a1"
    assert _beta_state(w) == before


@case("DELETE", "/api/floor/exceptions/{exception_id}")
def _delete_exception(w: World) -> None:
    d = seeded(w)
    acme(w, "DELETE", f"/api/floor/exceptions/{d.exception_id}", expect=404)
    assert any(e["id"] == d.exception_id for e in beta(w, "GET", "/api/floor/exceptions").json()["exceptions"])


@case("GET", "/api/floor/attendance")
def _attendance(w: World) -> None:
    seeded(w)
    got = acme(w, "GET", "/api/floor/attendance", params=PERIOD).json()
    assert all(a["agent_id"] != "BETA-AGENT" for a in got["agents"])
    mine = beta(w, "GET", "/api/floor/attendance", params=PERIOD).json()
    assert mine["agents"][0]["agent_id"] == "BETA-AGENT" and mine["agents"][0]["absences"] == 2


@case("GET", "/api/floor/hr-cases")
def _cases(w: World) -> None:
    seeded(w)
    assert acme(w, "GET", "/api/floor/hr-cases").json()["cases"] == []
    assert beta(w, "GET", "/api/floor/hr-cases").json()["cases"]


@case("POST", "/api/floor/hr-cases/run")
def _run(w: World) -> None:
    seeded(w)
    before = _beta_state(w)
    assert acme(w, "POST", "/api/floor/hr-cases/run", json=PERIOD).json()["cases"] == []
    assert _beta_state(w) == before


@case("POST", "/api/floor/hr-cases/{case_id}")
def _update_case(w: World) -> None:
    d = seeded(w)
    before = _beta_state(w)
    acme(w, "POST", f"/api/floor/hr-cases/{d.case_id}", expect=404, json={"status": "dismissed"})
    assert _beta_state(w) == before


@case("GET", "/api/floor/offers")
def _offers(w: World) -> None:
    seeded(w)
    assert acme(w, "GET", "/api/floor/offers").json()["offers"] == []
    assert beta(w, "GET", "/api/floor/offers").json()["offers"][0]["agent_id"] == "BETA-AGENT"


@case("POST", "/api/floor/offers/propose")
def _propose(w: World) -> None:
    seeded(w)
    before = _beta_state(w)
    got = acme(w, "POST", "/api/floor/offers/propose", json={"horizon_h": 1, "save": True}).json()
    assert all(o["agent_id"] != "BETA-AGENT" for o in got["offers"])
    assert _beta_state(w) == before


@case("POST", "/api/floor/offers/{offer_id}/accept")
def _accept(w: World) -> None:
    d = seeded(w)
    before = _beta_state(w)
    acme(w, "POST", f"/api/floor/offers/{d.offer_id}/accept", expect=404)
    assert _beta_state(w) == before


@case("POST", "/api/floor/offers/{offer_id}/decline")
def _decline(w: World) -> None:
    d = seeded(w)
    before = _beta_state(w)
    acme(w, "POST", f"/api/floor/offers/{d.offer_id}/decline", expect=404)
    assert _beta_state(w) == before


@case("POST", "/api/floor/offers/{offer_id}/withdraw")
def _withdraw(w: World) -> None:
    d = seeded(w)
    before = _beta_state(w)
    acme(w, "POST", f"/api/floor/offers/{d.offer_id}/withdraw", expect=404)
    assert _beta_state(w) == before
