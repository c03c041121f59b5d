"""The floor through the API (issue 19): an out-of-adherence alert after the tenant threshold, its in-app note to
the team lead, an exception recorded by the team lead that clears it, team scoping, and agents accepting only
their own offers - on a real store, warehouse and live hub."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from callops.api.app import create_app
from callops.ingest.loader import load_files
from callops.ingest.mapping import load_mapping
from callops.people import links
from callops.realtime.hub import reset_hubs
from callops.store import outbox
from callops.store.db import Store
from callops.store.models_floor import FloorOffer
from callops.store.tenants import create_tenant
from callops.tenancy import get_tenant

D = "2026-11-02"
AT = datetime.fromisoformat(f"{D}T09:00:00+08:00")


@pytest.fixture
def api(home, tmp_path):
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    store = Store(url)
    create_tenant(store, home, "t", "Asia/Shanghai")
    roster = tmp_path / "agents.csv"
    roster.write_text("agent_id,name,team\na1,A1,red\na2,A2,red\nb1,B1,blue\n", encoding="utf-8")
    load_files(home, get_tenant(home, "t"), "agents", [roster], load_mapping("canonical", "agents"))
    live = tmp_path / "home" / "live" / "t"
    live.mkdir(parents=True)
    (live / "agents.csv").write_text(roster.read_text(), encoding="utf-8")
    (live / "schedules.csv").write_text(
        "agent_id,activity,start_at,end_at,queue\n"
        f"a1,work,{D}T09:00:00+08:00,{D}T10:00:00+08:00,q\n"
        f"a1,break,{D}T10:00:00+08:00,{D}T10:15:00+08:00,\n"
        f"a1,work,{D}T10:15:00+08:00,{D}T12:00:00+08:00,q\n"
        f"a2,work,{D}T09:00:00+08:00,{D}T12:00:00+08:00,q\n", encoding="utf-8")
    (live / "live.yaml").write_text("tenant: t\ntimezone: Asia/Shanghai\n", encoding="utf-8")
    tokens = {}
    with store.session() as s:
        for name, role, kw in (("admin", "admin", {}), ("lead", "team_lead", {"team": "red"}),
                               ("blue-lead", "team_lead", {"team": "blue"}), ("u-a1", "agent", {"agent_id": "a1"}),
                               ("u-a2", "agent", {"agent_id": "a2"})):  # fmt: skip
            _, tokens[name] = links.create_user(s, home, "t", name, role, "test", **kw)
    store.close()
    app = create_app(url, console=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, {k: {"Authorization": f"Bearer {v}"} for k, v in tokens.items()}, url
    reset_hubs()


def _state(agent: str, minutes: float, state: str) -> dict:
    return {"type": "agent.state", "ts": (AT + timedelta(minutes=minutes)).isoformat(), "tenant": "t",
            "agent_id": agent, "state": state}  # fmt: skip


def test_alert_to_the_team_lead_then_cleared_by_an_exception(api) -> None:
    client, h, url = api
    client.get("/api/floor/adherence", headers=h["lead"])  # the room and its watch exist before the events
    r = client.post("/api/live/events", headers=h["admin"],
                    json=[_state("a1", 0, "ready"), _state("a2", 0, "ready"), _state("a2", 66, "busy")])
    assert r.status_code == 200 and r.json()["accepted"] == 3, r.text
    now = client.get("/api/floor/adherence", headers=h["lead"]).json()
    a1 = next(a for a in now["agents"] if a["agent_id"] == "a1")
    assert (a1["scheduled_now"], a1["in_adherence"], a1["out_s"], a1["alert_level"]) == ("break", False, 360.0,
                                                                                          "yellow")
    alerts = client.get("/api/live/alerts", headers=h["lead"]).json()
    assert [(a["rule"], a["key"], a["level"]) for a in alerts] == [("out-of-adherence", "a1", "yellow")]
    store = Store(url)
    with store.session() as s:
        msgs = outbox.list_messages(s, "t")
    assert [m.payload["to"] for m in msgs] == ["lead"]  # red's lead user, not blue's
    store.close()
    # the blue lead sees nothing of team red and cannot excuse a1
    assert client.get("/api/floor/adherence", headers=h["blue-lead"]).json()["agents"] == []
    body = {"agent_id": "a1", "kind": "meeting", "start_at": (AT + timedelta(minutes=58)).isoformat(),
            "end_at": (AT + timedelta(minutes=80)).isoformat(), "note": "team meeting"}
    assert client.post("/api/floor/exceptions", headers=h["blue-lead"], json=body).status_code == 404
    r = client.post("/api/floor/exceptions", headers=h["lead"], json=body)
    assert r.status_code == 200, r.text
    a1 = next(a for a in client.get("/api/floor/adherence", headers=h["lead"]).json()["agents"]
              if a["agent_id"] == "a1")  # fmt: skip
    assert (a1["in_adherence"], a1["exception"], a1["alert_level"]) == (True, "meeting", None)
    assert client.get("/api/live/alerts", headers=h["lead"]).json() == []
    # bad input: 4xx with a reason, nothing stored
    bad = {**body, "end_at": body["start_at"]}
    r = client.post("/api/floor/exceptions", headers=h["lead"], json=bad)
    assert r.status_code == 400 and "end after" in r.json()["detail"]
    assert client.post("/api/floor/exceptions", headers=h["lead"], json={**body, "kind": "nap"}).status_code == 422
    assert len(client.get("/api/floor/exceptions", headers=h["lead"]).json()["exceptions"]) == 1


def test_agents_accept_only_their_own_offers(api) -> None:
    client, h, url = api
    client.post("/api/live/events", headers=h["admin"], json=[_state("a1", 0, "ready")])
    store = Store(url)
    ids = {}
    with store.session() as s:
        for agent in ("a1", "a2"):
            o = FloorOffer(tenant_id="t", kind="overtime", agent_id=agent, start_at=AT + timedelta(hours=3),
                           end_at=AT + timedelta(hours=4), sl_before=0.6, sl_after=0.75, reason="test",
                           status="open", created_by="lead")  # fmt: skip
            s.add(o)
            s.flush()
            ids[agent] = o.id
    store.close()
    assert client.post(f"/api/floor/offers/{ids['a1']}/accept", headers=h["u-a2"]).status_code == 404
    assert client.post(f"/api/floor/offers/{ids['a1']}/decline", headers=h["u-a2"]).status_code == 404
    r = client.post(f"/api/floor/offers/{ids['a1']}/accept", headers=h["u-a1"])
    assert r.status_code == 200 and r.json()["status"] == "accepted" and r.json()["schedule_version"] == 1, r.text
    assert client.post(f"/api/floor/offers/{ids['a1']}/accept", headers=h["u-a1"]).status_code == 400
    assert client.get("/api/floor/offers", headers=h["u-a1"]).status_code == 403  # agents: own offers only
    now = client.get("/api/floor/adherence", headers=h["lead"]).json()
    assert "a1" in {a["agent_id"] for a in now["agents"]}
