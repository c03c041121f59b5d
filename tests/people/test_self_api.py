"""``/api/me/...`` permissions and ownership: on every route an agent reads only their own data and a team lead
only their team's (another agent: 404); refusals are 400 and change nothing; the iCalendar parses."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from self_world import build_template

from callops.api.app import create_app
from callops.api.deps import iter_routes, permission_of
from callops.store.roles import Permission

READS = ["/api/me/schedule", "/api/me/schedule.ics", "/api/me/kpis", "/api/me/today"]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The seeded world, built once (self_world.build_template)."""
    folder = tmp_path_factory.mktemp("people-self-api")
    return folder, build_template(folder)


@pytest.fixture
def api(template: tuple[Path, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    """A fresh copy of the world behind the API."""
    folder = tmp_path / "w"
    shutil.copytree(template[0], folder)
    monkeypatch.setenv("CALLOPS_HOME", str(folder / "home"))
    app = create_app(f"sqlite:///{folder / 'store.sqlite3'}", console=False,
                     warehouse_url=f"duckdb://{folder / 'wh.duckdb'}")  # fmt: skip
    with TestClient(app) as c:
        yield {"client": c, **template[1]}


def h(api: dict, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api['users'][who][1]}"}


def test_every_me_route_is_guarded_by_a_self_service_permission(api: dict) -> None:
    """Each /api/me route requires me:read, me:request or requests:decide."""
    found = {(tuple(sorted(m)), p): permission_of(r) for p, m, r in iter_routes(api["client"].app)
             if p.startswith("/api/me/")}  # fmt: skip
    assert len(found) == 9
    assert set(found.values()) == {Permission.me_read, Permission.me_request, Permission.requests_decide}


@pytest.mark.parametrize("path", READS)
def test_reads_are_own_or_team_only(api: dict, path: str) -> None:
    """An agent: own (200), a colleague (404). A lead: own team's agent (200), another team's (404), and without
    an agent of their own and no agent_id: 404."""
    c = api["client"]
    assert c.get(path, headers=h(api, "A01")).status_code == 200
    assert c.get(path, headers=h(api, "A01"), params={"agent_id": "A01"}).status_code == 200
    assert c.get(path, headers=h(api, "A01"), params={"agent_id": "A02"}).status_code == 404
    assert c.get(path, headers=h(api, "A01"), params={"agent_id": "B01"}).status_code == 404
    assert c.get(path, headers=h(api, "lead-alpha"), params={"agent_id": "A02"}).status_code == 200
    assert c.get(path, headers=h(api, "lead-alpha"), params={"agent_id": "B01"}).status_code == 404
    assert c.get(path, headers=h(api, "lead-alpha"), params={"agent_id": "XA01"}).status_code == 404  # tenant t2
    assert c.get(path, headers=h(api, "lead-alpha")).status_code == 404
    assert c.get(path).status_code == 401


def test_schedule_and_ical(api: dict) -> None:
    """Next week's schedule in local time; the iCalendar document follows RFC 5545's structure (CRLF lines of at
    most 75 octets, one VEVENT per shift with UTC DTSTART/DTEND), parsed here by hand (no parser is installed)."""
    c = api["client"]
    doc = c.get("/api/me/schedule", headers=h(api, "A02"), params={"week": str(api["monday"])}).json()
    assert [d["date"] for d in doc["days"]] == [str(api["monday"] + timedelta(days=i)) for i in range(5)]
    assert doc["days"][1]["activities"][0]["start"].endswith("15:00+08:00")
    assert doc["scheduled_hours"] == pytest.approx(5 * 8.5)
    r = c.get("/api/me/schedule.ics", headers=h(api, "A02"))
    assert r.headers["content-type"].startswith("text/calendar")
    raw = r.content.decode("utf-8")
    lines = raw.split("\r\n")
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-2] == "END:VCALENDAR" and lines[-1] == ""
    assert all(len(x.encode("utf-8")) <= 75 for x in lines)
    unfolded: list[str] = []
    for x in lines[:-1]:
        if x.startswith((" ", "\t")):
            unfolded[-1] += x[1:]
        else:
            unfolded.append(x)
    events, cur = [], None
    for x in unfolded:
        name, _, value = x.partition(":")
        if x == "BEGIN:VEVENT":
            cur = {}
        elif x == "END:VEVENT":
            events.append(cur)
            cur = None
        elif cur is not None:
            cur[name.split(";")[0]] = value
    assert all(k in e for e in events for k in ("UID", "DTSTAMP", "DTSTART", "DTEND"))
    starts = sorted(e["DTSTART"] for e in events)
    assert len(events) == 5  # next week's five shifts (this week is empty in this world)
    assert starts[1].endswith("T070000Z")  # Tuesday 15:00 in Shanghai
    assert all(s.endswith("Z") for s in starts)


def test_requests_round_trip_and_refusals(api: dict) -> None:
    """File, see, accept, decide through the API; refusals are 400 with the reason, and a colleague's or another
    team's request cannot be accepted or decided (404)."""
    c = api["client"]
    m = api["monday"]
    wed = m + timedelta(days=2)
    body = {"kind": "swap", "start": f"{wed}T00:00:00", "end": f"{wed + timedelta(days=1)}T00:00:00",
            "colleague_id": "A03", "reason": "course"}  # fmt: skip
    bad = c.post("/api/me/requests", headers=h(api, "A01"), json={**body, "colleague_id": "B01"})
    assert bad.status_code == 400 and "another team" in bad.json()["detail"]
    past = c.post("/api/me/requests", headers=h(api, "A01"), json={**body, "start": "2020-01-01T00:00:00",
                                                                     "end": "2020-01-02T00:00:00"})  # fmt: skip
    assert past.status_code == 400 and "past" in past.json()["detail"]
    assert c.get("/api/me/requests", headers=h(api, "A01")).json() == []
    r = c.post("/api/me/requests", headers=h(api, "A01"), json=body)
    assert r.status_code == 200, r.text
    req = r.json()
    assert req["status"] == "pending_colleague" and req["checks"]["coverage"]["intervals"] == []  # same blocks
    assert c.post("/api/me/requests", headers=h(api, "lead-alpha"), json=body).status_code == 403
    assert c.post(f"/api/me/requests/{req['id']}/accept", headers=h(api, "A02")).status_code == 404
    assert c.post(f"/api/me/requests/{req['id']}/accept", headers=h(api, "B01")).status_code == 404
    assert any(x["id"] == req["id"] for x in c.get("/api/me/requests", headers=h(api, "A03")).json())
    assert not any(x["id"] == req["id"] for x in c.get("/api/me/requests", headers=h(api, "A02")).json())
    acc = c.post(f"/api/me/requests/{req['id']}/accept", headers=h(api, "A03")).json()
    assert acc["status"] == "pending_lead"
    decide = f"/api/me/team/requests/{req['id']}/decide"
    assert c.post(decide, headers=h(api, "A01"), json={"approve": True, "reason": "x"}).status_code == 403
    assert c.post(decide, headers=h(api, "lead-bravo"), json={"approve": True, "reason": "x"}).status_code == 404
    assert c.get("/api/me/team/requests", headers=h(api, "lead-bravo")).json() == []
    assert c.post(decide, headers=h(api, "lead-alpha"), json={"approve": True, "reason": ""}).status_code == 422
    ok = c.post(decide, headers=h(api, "lead-alpha"), json={"approve": True, "reason": "same shifts"}).json()
    assert ok["status"] == "approved" and ok["schedule_version"] == 1
    again = c.post(decide, headers=h(api, "lead-alpha"), json={"approve": False, "reason": "changed my mind"})
    assert again.status_code == 400 and "approved already" in again.json()["detail"]
    team = c.get("/api/me/team/requests", headers=h(api, "lead-alpha"), params={"status": "approved"}).json()
    assert [x["id"] for x in team] == [req["id"]]


def test_kpis_and_today_shapes(api: dict) -> None:
    """KPIs list handle time, adherence, satisfaction and the QA score next to the team's (no contacts in this
    world: empty values, never an error); today lists adherence, coaching and offers."""
    c = api["client"]
    k = c.get("/api/me/kpis", headers=h(api, "A01")).json()
    assert [x["id"] for x in k["kpis"]] == ["aht_s", "adherence", "csat_mean", "qa_score"]
    t = c.get("/api/me/today", headers=h(api, "A01")).json()
    assert set(t) == {"agent_id", "adherence", "coaching", "offers"} and t["coaching"] == []


def test_kpis_against_brute_force(api: dict, template: tuple[Path, dict]) -> None:
    """With contacts this month: my handle time and satisfaction, and my team's, equal plain means over the rows
    (team alpha = A01..A04 and P01; B01's contacts count for bravo only)."""
    import random
    import zoneinfo
    from datetime import datetime

    from callops import tenancy
    from callops.ingest.loader import load_files
    from callops.ingest.mapping import load_mapping

    tz = zoneinfo.ZoneInfo("Asia/Shanghai")
    first = datetime.now(tz).replace(day=1, hour=1, minute=0, second=0, microsecond=0)
    rng = random.Random(3)
    rows, lines = [], ["contact_id,queue,channel,direction,offered_at,outcome,answered_at,ended_at,agent_id,talk_s,"
                       "hold_s,acw_s,csat"]  # fmt: skip
    for i in range(40):
        agent = rng.choice(["A01", "A02", "P01", "B01"])
        t0 = first + timedelta(minutes=3 * i)
        talk, hold, acw = rng.randint(30, 400), rng.choice([0, 20]), rng.randint(0, 60)
        csat = rng.choice(["", "1", "3", "5"])
        rows.append((agent, talk + hold + acw, int(csat) if csat else None))
        end = t0 + timedelta(seconds=talk + hold + acw + 5)
        lines.append(f"c{i},billing,voice,inbound,{t0.isoformat()},answered,{(t0 + timedelta(seconds=5)).isoformat()},"
                     f"{end.isoformat()},{agent},{talk},{hold},{acw},{csat}")
    folder = template[0]
    res = api["client"].app.state.resources
    (folder / "kpi-contacts.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with res.warehouse_lock:
        wh = res.open_warehouse()
        load_files(wh, tenancy.get_tenant(wh, "t1"), "contacts", [folder / "kpi-contacts.csv"],
                   load_mapping("canonical", "contacts"))  # fmt: skip
    got = {k["id"]: k for k in api["client"].get("/api/me/kpis", headers=h(api, "A01")).json()["kpis"]}
    mean = lambda xs: sum(xs) / len(xs) if xs else None  # noqa: E731
    alpha = {"A01", "A02", "A03", "A04", "P01"}
    assert got["aht_s"]["mine"] == pytest.approx(mean([x for a, x, _ in rows if a == "A01"]))
    assert got["aht_s"]["team"] == pytest.approx(mean([x for a, x, _ in rows if a in alpha]))
    assert got["csat_mean"]["mine"] == pytest.approx(mean([c for a, _, c in rows if a == "A01" and c is not None]))
    assert got["csat_mean"]["team"] == pytest.approx(mean([c for a, _, c in rows if a in alpha and c is not None]))


def test_ical_parses_with_an_independent_parser(api: dict) -> None:
    """``icalendar`` (BSD, test-only) reads the document: five events whose start and end are the shifts'."""
    icalendar = pytest.importorskip("icalendar")
    c = api["client"]
    cal = icalendar.Calendar.from_ical(c.get("/api/me/schedule.ics", headers=h(api, "A02")).content)
    events = [e for e in cal.walk("VEVENT")]
    doc = c.get("/api/me/schedule", headers=h(api, "A02"), params={"week": str(api["monday"])}).json()
    from datetime import datetime

    shifts = []
    for d in doc["days"]:
        acts = d["activities"]
        shifts.append((datetime.fromisoformat(acts[0]["start"]), datetime.fromisoformat(acts[-1]["end"])))
    got = sorted((e.decoded("DTSTART"), e.decoded("DTEND")) for e in events)
    assert got == sorted(shifts)
