"""Answers checked against independent values: Erlang formulas, counts of the sample file, event verdicts."""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from apitest import World

from callops.store.roles import Role

SAMPLE = Path(__file__).resolve().parents[2] / "src/callops/samples/contacts.csv.gz"
pytestmark = pytest.mark.xdist_group("api-correctness")  # one world per module, built once


# ---------------------------------------------------------------------------------------------------- queueing
def erlang_b(c: int, a: float) -> float:
    """Erlang B by the textbook recursion B(0)=1, B(k) = a B(k-1) / (k + a B(k-1))."""
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """Probability of waiting from Erlang B: C = c B / (c - a (1 - B))."""
    b = erlang_b(c, a)
    return c * b / (c - a * (1 - b))


def test_erlang_b_matches_the_table(world: World) -> None:
    """B(5 lines, 3 Erlang) = 0.11005 (standard table) and equals the recursion."""
    r = world.client.get("/api/wfm/erlang-b", params={"calls": 60, "interval": 3600, "aht": 180, "agents": 5},
                         headers=world.auth("acme", Role.analyst))  # fmt: skip
    assert r.status_code == 200
    assert r.json()["p_block"] == pytest.approx(0.11005, abs=5e-5)
    assert r.json()["p_block"] == pytest.approx(erlang_b(5, 3.0), rel=1e-9)


@pytest.mark.parametrize(("calls", "aht", "agents"), [(100, 180, 12), (400, 240, 58), (30, 300, 6)])
def test_erlang_c_figures(world: World, calls: float, aht: float, agents: int) -> None:
    """p_wait, service level, ASA and occupancy equal the closed forms (same keys as the CLI's JSON)."""
    a = calls * aht / 1800
    pw = erlang_c(agents, a)
    sl = 1 - pw * math.exp(-(agents - a) * 20 / aht)
    asa = pw * aht / (agents - a)
    r = world.client.get("/api/wfm/erlang-c", params={"calls": calls, "interval": 1800, "aht": aht, "agents": agents},
                         headers=world.auth("acme", Role.team_lead))  # fmt: skip
    got = r.json()
    assert got["p_wait"] == pytest.approx(pw, rel=1e-9)
    assert got["service_level"] == pytest.approx(sl, rel=1e-9)
    assert got["occupancy"] == pytest.approx(a / agents, rel=1e-12)
    # ASA: the CLI reports the mean wait of answered calls (all are answered in Erlang C)
    assert got["asa_s"] == pytest.approx(asa, rel=1e-9)
    assert got["agents"] == agents
    assert {"p_wait", "service_level", "asa_s", "abandon_rate", "occupancy", "agents"} <= set(got)


def test_staff_is_the_smallest_team_meeting_the_target(world: World) -> None:
    """Agents for 80 % in 20 s at 10 Erlang: the first c whose Erlang C service level reaches 0.8."""
    a, aht = 10.0, 180.0
    need = next(c for c in range(11, 100) if 1 - erlang_c(c, a) * math.exp(-(c - a) * 20 / aht) >= 0.8)
    r = world.client.get("/api/wfm/staff", params={"calls": 100, "interval": 1800, "aht": aht, "target_sl": 0.8,
                                                   "shrinkage": 0.3}, headers=world.auth("acme", Role.analyst))
    assert r.json()["agents"] == need
    assert r.json()["staff"] == math.ceil(need / 0.7)


def test_unstable_queue_is_an_answer_not_an_error(world: World) -> None:
    """Fewer agents than Erlangs: 200 with stable false and a note; ASA is null, not NaN or infinity."""
    r = world.client.get("/api/wfm/erlang-c", params={"calls": 100, "interval": 1800, "aht": 180, "agents": 9},
                         headers=world.auth("acme"))  # fmt: skip
    assert r.status_code == 200
    assert r.json()["stable"] is False and r.json()["asa_s"] is None and "unstable" in r.json()["note"]


def test_erlang_a_needs_patience_and_bounds(world: World) -> None:
    """Missing or out-of-range inputs are 422 with the field named; an impossible one from the maths is 400."""
    h = world.auth("acme")
    r = world.client.get("/api/wfm/erlang-a", params={"calls": 100, "interval": 1800, "aht": 180, "agents": 9},
                         headers=h)  # fmt: skip
    assert r.status_code == 422 and "patience" in r.json()["detail"]
    r = world.client.get("/api/wfm/erlang-c", params={"calls": "nan", "interval": 1800, "aht": 180, "agents": 9},
                         headers=h)  # fmt: skip
    assert r.status_code == 422 and "calls" in r.json()["detail"]
    r = world.client.get("/api/wfm/staff", params={"calls": 100, "interval": 1800, "aht": 180, "model": "erlang-a"},
                         headers=h)  # fmt: skip
    assert r.status_code == 400 and "patience" in r.json()["detail"]
    # a load no queue has (1M calls a second, each a day long): refused at once, not searched for hours
    r = world.client.get("/api/wfm/staff", params={"calls": 1e6, "interval": 1, "aht": 86_400, "target_sl": 0.8,
                                                   "model": "erlang-a", "patience": 60}, headers=h)  # fmt: skip
    assert r.status_code == 400 and "erlangs" in r.json()["detail"]


def test_simulation_agrees_with_erlang_c(world: World) -> None:
    """The single-queue what-if lands near the exact Erlang C service level (10 Erlang, 12 agents)."""
    body = {"calls": 100, "interval": 1800, "aht": 180, "agents": 12, "replications": 4, "seed": 3}
    got = world.client.post("/api/sim/single-queue", json=body, headers=world.auth("acme", Role.analyst)).json()
    exact = 1 - erlang_c(12, 10.0) * math.exp(-2 * 20 / 180)
    assert got["service_level"]["mean"] == pytest.approx(exact, abs=0.03)


# ----------------------------------------------------------------------------------------------------- metrics
def _ts(text: str) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def independent_broadband_per_day() -> Counter[str]:
    """Inbound, not self-served broadband contacts per Shanghai day, counted from the sample file itself.

    Rows that cannot load are left out: an unparseable time or times out of order (offered ≤ answered ≤ ended).
    """
    zone = ZoneInfo("Asia/Shanghai")
    days: Counter[str] = Counter()
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            try:
                offered, answered, ended = (_ts(row[k]) for k in ("offered_at", "answered_at", "ended_at"))
            except ValueError:
                continue
            if (answered and answered < offered) or (ended and ended < (answered or offered)):
                continue
            if row["queue"] == "broadband" and row["direction"] == "inbound" and row["outcome"] != "self_served":
                days[offered.astimezone(zone).date().isoformat()] += 1
    return days


def test_offered_per_day_equals_an_independent_count(world: World) -> None:
    """contacts_offered by day for one queue = the count of the sample file's rows, day by day."""
    expected = independent_broadband_per_day()
    r = world.client.get("/api/metrics/query", params={"metric": "contacts_offered", "grain": "day",
                                                       "where": "queue = 'broadband'"}, headers=world.auth("acme"))
    assert r.status_code == 200, r.text
    got = {row["period"]: row["contacts_offered"] for row in r.json()}
    assert got == dict(expected)


def test_csv_and_xlsx_downloads_hold_the_json_rows(world: World) -> None:
    """format=csv and format=xlsx are file downloads with the same rows as the JSON answer."""
    params = {"metric": "contacts_offered,aht_s", "grain": "day", "by": "queue", "from": "2026-03-02",
              "to": "2026-03-03"}  # fmt: skip
    h = world.auth("acme", Role.director)
    rows = world.client.get("/api/metrics/query", params=params, headers=h).json()
    assert rows
    r = world.client.get("/api/metrics/query", params={**params, "format": "csv"}, headers=h)
    assert r.headers["content-type"].startswith("text/csv") and "attachment" in r.headers["content-disposition"]
    parsed = list(csv.DictReader(io.StringIO(r.text)))
    assert [(p["period"], p["queue"], int(p["contacts_offered"])) for p in parsed] == [
        (x["period"], x["queue"], x["contacts_offered"]) for x in rows]  # fmt: skip
    r = world.client.get("/api/metrics/query", params={**params, "format": "xlsx"}, headers=h)
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(r.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0] == ("period", "queue", "contacts_offered", "aht_s")
    assert [v[2] for v in values[1:]] == [x["contacts_offered"] for x in rows]


def test_drill_down_lists_the_contacts_behind_a_number(world: World) -> None:
    """The contacts of one queue and day: their total equals the metric, pages do not overlap, times are local."""
    expected = independent_broadband_per_day()
    day = sorted(expected)[1]
    params = {"from": day, "to": day, "where": "queue = 'broadband' and direction = 'inbound'", "page_size": 50}
    h = world.auth("acme", Role.analyst)
    first = world.client.get("/api/contacts", params=params, headers=h).json()
    second = world.client.get("/api/contacts", params={**params, "page": 2}, headers=h).json()
    not_self = first["total"] - world.client.get("/api/contacts", params={**params, "outcome": "self_served"},
                                                 headers=h).json()["total"]  # fmt: skip
    assert not_self == expected[day]
    assert len(first["contacts"]) == 50
    assert not {c["contact_id"] for c in first["contacts"]} & {c["contact_id"] for c in second["contacts"]}
    assert all(c["offered_at"].startswith(day) and c["offered_at"].endswith("+08:00") for c in first["contacts"])


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"metric": "no_such_metric"}, 404, "unknown metric"),
        ({"metric": "aht_s", "where": "queue = 'a'; drop table x"}, 400, "where"),
        ({"metric": "aht_s", "grain": "fortnight"}, 400, "grain"),
        ({"metric": "aht_s", "from": "2026-13-01"}, 422, "from"),
        ({"metric": "aht_s", "by": "planet"}, 400, "planet"),
        ({"metric": "aht_s", "compare": "sideways"}, 400, "comparison"),
        ({"metric": "aht_s", "where": "center"}, 400, "must be a condition"),
        ({"metric": "aht_s", "from": "0001-01-01"}, 400, "between"),
    ],
)
def test_bad_queries_get_a_message(world: World, params: dict, status: int, words: str) -> None:
    """Mistakes are 4xx JSON ``{"detail": ...}`` naming the problem, never a 500."""
    r = world.client.get("/api/metrics/query", params=params, headers=world.auth("acme"))
    assert r.status_code == status, r.text
    assert words in r.json()["detail"].lower()


def test_bad_drill_down_filters_get_a_message(world: World) -> None:
    """A filter that is not a condition, or a date beyond the calendar's edge, is a 400 with a message."""
    h = world.auth("acme")
    for params, words in (({"where": "center"}, "not a condition"), ({"from": "0001-01-01"}, "between"),
                          ({"to": "9999-12-31"}, "between")):  # fmt: skip
        r = world.client.get("/api/contacts", params=params, headers=h)
        assert r.status_code == 400 and words in r.json()["detail"], r.text


# ------------------------------------------------------------------------------------------------------ ingest
def test_ingest_upload_accounts_for_every_row(world: World) -> None:
    """An uploaded CSV loads with its bad row rejected (reason kept); a mapping path is refused."""
    text = ("contact_id,channel,direction,offered_at,outcome\n"
            "UP-1,voice,inbound,2026-03-09T10:00:00+08:00,abandoned\n"
            "UP-2,voice,inbound,yesterday,abandoned\n"
            "UP-3,chat,inbound,2026-03-09T11:00:00+08:00,answered\n")  # fmt: skip
    h = world.auth("acme", Role.planner)
    got = world.client.post("/api/ingest/contacts", files=[("files", ("../../up.csv", text, "text/csv"))],
                            headers=h).json()  # fmt: skip
    assert (got["read"], got["loaded"], got["rejected"]) == (3, 2, 1)
    assert got["files"] == ["up.csv"]
    rejects = world.client.get("/api/rejects", params={"load_id": got["load_id"]}, headers=h).json()
    assert [(x["line"], x["column_name"]) for x in rejects] == [(3, "offered_at")]
    r = world.client.post("/api/ingest/contacts", files=[("files", ("a.csv", text, "text/csv"))],
                          data={"mapping": "/etc/passwd.yaml"}, headers=h)  # fmt: skip
    assert r.status_code == 400 and "unknown mapping" in r.json()["detail"]
    r = world.client.post("/api/ingest/planets", files=[("files", ("a.csv", text, "text/csv"))], headers=h)
    assert r.status_code == 400 and "unknown table" in r.json()["detail"]


# -------------------------------------------------------------------------------------------------------- live
def test_live_batch_answers_item_by_item(world: World) -> None:
    """A JSON array and JSON lines: each item accepted or rejected with its index and reason."""
    h = world.auth("acme", Role.dispatcher)
    ok = {"type": "contact.offered", "ts": "2026-03-02T10:00:00+08:00", "tenant": "acme", "contact_id": "L1",
          "queue": "billing", "center": "Hefei", "channel": "voice"}  # fmt: skip
    batch = [ok, {**ok, "channel": None}, {**ok, "tenant": "other"}, {**ok, "type": "contact.teleported"}, ok]
    got = world.client.post("/api/live/events", json=batch, headers=h).json()
    assert (got["received"], got["accepted"], got["rejected"], got["duplicates"]) == (5, 1, 3, 1)
    assert [x["index"] for x in got["rejections"]] == [1, 2, 3]
    assert "other" in got["rejections"][1]["reason"]
    lines = "\n".join([json.dumps({**ok, "contact_id": "L2"}), "{not json", ""])
    got = world.client.post("/api/live/events", content=lines, headers={**h, "Content-Type": "application/x-ndjson"})
    assert (got.json()["accepted"], got.json()["rejected"]) == (1, 1), got.text
    assert "JSON" in got.json()["rejections"][0]["reason"]
    r = world.client.post("/api/live/events", content="", headers=h)
    assert r.status_code == 400 and "empty" in r.json()["detail"]


def test_person_actions_are_audited(world: World) -> None:
    """Acknowledge and resolve change the alert and land in the store's audit log under the caller's name."""
    aid = world.client.get("/api/live/alerts", headers=world.auth("beta")).json()[0]["alert_id"]
    lead = world.auth("beta", Role.team_lead)
    r = world.client.post(f"/api/live/alerts/{aid}/acknowledge", headers=lead)
    assert r.status_code == 200 and r.json()["acknowledged_by"] == "beta-team_lead"
    r = world.client.post(f"/api/live/alerts/{aid}/resolve", json={"note": "two agents moved"}, headers=lead)
    assert r.json()["status"] == "resolved"
    again = world.client.post(f"/api/live/alerts/{aid}/resolve", headers=lead)
    assert again.status_code == 400 and "already" in again.json()["detail"]
    log = world.client.get("/api/audit", params={"object_type": "live_alert"}, headers=world.auth("beta")).json()
    assert [(e["action"], e["actor"], e["object_id"]) for e in log] == [
        ("live_alert.resolve", "beta-team_lead", aid), ("live_alert.acknowledge", "beta-team_lead", aid)]
    assert log[0]["after"]["note"] == "two agents moved"
    act = world.client.get("/api/live/plans", headers=lead).json()[0]["activation_id"]
    director = world.auth("beta", Role.director)
    r = world.client.post(f"/api/live/plans/{act}/steps/no_such_step/approve", headers=director)
    assert r.status_code == 400  # nothing waits for approval under that name: a message, no crash


# -------------------------------------------------------------------------------------------- service endpoints
def test_docs_are_served_from_the_package(world: World) -> None:
    """/docs loads Swagger UI from /api/_static (no CDN) and the schema declares bearer auth."""
    html = world.client.get("/docs").text
    assert "/api/_static/swagger-ui/swagger-ui-bundle.js" in html and "cdn" not in html.lower()
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert world.client.get(f"/api/_static/swagger-ui/{asset}").status_code == 200
    spec = world.client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_prometheus_counts_requests_errors_and_live_events(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """/metrics counts requests by route template and tenant, errors, and the live engine's events and alerts."""
    h = world.auth("acme", Role.analyst)
    for _ in range(3):
        world.client.get("/api/live/alerts/nope-123", headers=h)
    monkeypatch.setenv("CALLOPS_METRICS_TOKEN", "scrape-secret")  # tenant labels only for the scraper (issue 21)
    text = world.client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"}).text
    line = next(x for x in text.splitlines() if x.startswith("callops_http_errors_total{")
                and 'route="/api/live/alerts/{alert_id}"' in x and 'tenant="acme"' in x)  # fmt: skip
    assert float(line.rsplit(" ", 1)[1]) >= 3
    assert 'callops_http_request_seconds_bucket{' in text
    assert 'callops_live_events{outcome="accepted",tenant="beta"} 41.0' in text


def test_concurrent_requests_share_the_warehouse_safely(world: World) -> None:
    """Queries and loads from many threads at once (handlers run in a thread pool) all succeed and agree."""
    params = {"metric": "contacts_offered", "grain": "day", "where": "queue = 'broadband'"}
    h = world.auth("acme", Role.planner)
    expected = world.client.get("/api/metrics/query", params=params, headers=h).json()

    def one(i: int) -> tuple[int, object]:
        if i % 4 == 0:
            text = ("contact_id,channel,direction,offered_at,outcome,queue\n"
                    f"CONC-{i},voice,inbound,2026-03-04T10:00:00+08:00,abandoned,conc-q\n")
            r = world.client.post("/api/ingest/contacts", files=[("files", ("c.csv", text, "text/csv"))], headers=h)
            return r.status_code, r.json()["loaded"]
        r = world.client.get("/api/metrics/query", params=params, headers=h)
        return r.status_code, r.json()

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, range(24)))
    assert all(status == 200 for status, _ in results)
    assert all(body == (1 if i % 4 == 0 else expected) for i, (_, body) in enumerate(results))
    conc = world.client.get("/api/contacts", params={"where": "queue = 'conc-q'"}, headers=h).json()
    assert conc["total"] == 6
