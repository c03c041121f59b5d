"""Tenant isolation, route by route: a token of ``acme`` never reads or writes ``beta``'s data.

Every name in ``beta`` contains "beta" (queue, centre, contact ids, users, live alerts and plans), so each
answer given to an ``acme`` token is also checked not to mention it. Each case pairs the ``acme`` request
with a control that shows ``beta``'s data is really there (so the case could fail). ``test_every_route_has_a_case``
fails when a route is added without a case here.
"""

from __future__ import annotations

from typing import Any

import isolation_campaigns  # noqa: F401  (registers the campaign routes' cases)
import isolation_floor  # noqa: F401  (registers the floor routes' cases)
import isolation_journey  # noqa: F401  (registers the journeys routes' cases)
import isolation_knowledge  # noqa: F401  (registers the knowledge routes' cases)
import isolation_offers  # noqa: F401  (registers the offer routes' cases)
import isolation_people  # noqa: F401  (registers the self-service routes' cases)
import isolation_quality  # noqa: F401  (registers the quality routes' cases)
import isolation_value  # noqa: F401  (registers the value routes' cases)
import isolation_views  # noqa: F401  (registers the views, home board and alert rules routes' cases)
import pytest
from apitest import World
from isolation_registry import CASES, PUBLIC, Case, acme, beta, case

from callops.api.deps import iter_routes
from callops.store.roles import Role

pytestmark = pytest.mark.xdist_group("api-isolation")  # one world per module, built once
SQL_ACME = "'acme'"


def beta_alert_id(w: World) -> str:
    """The id of beta's open long-wait alert."""
    alerts = beta(w, "GET", "/api/live/alerts").json()
    assert alerts, "the fixture should have opened an alert in beta"
    return alerts[0]["alert_id"]


def beta_activation_id(w: World) -> str:
    """The id of beta's plan activation."""
    plans = beta(w, "GET", "/api/live/plans").json()
    assert plans, "the fixture should have activated a plan in beta"
    return plans[0]["activation_id"]


# ------------------------------------------------------------------------------------------------ tenant, users
@case("GET", "/api/tenant")
def _tenant(w: World) -> None:
    assert acme(w, "GET", "/api/tenant").json()["tenant_id"] == "acme"
    assert beta(w, "GET", "/api/tenant").json()["tenant_id"] == "beta"


@case("GET", "/api/users")
def _users(w: World) -> None:
    names = [u["name"] for u in acme(w, "GET", "/api/users").json()]
    assert names and all(n.startswith("acme-") for n in names)
    assert any(u["name"].startswith("beta-") for u in beta(w, "GET", "/api/users").json())


@case("POST", "/api/users")
def _create_user(w: World) -> None:
    made = acme(w, "POST", "/api/users", expect=201, json={"name": "acme-isolation", "role": "analyst"}).json()
    assert made["token"].startswith("co_")
    who = w.client.get("/api/tenant", headers={"Authorization": f"Bearer {made['token']}"}).json()
    assert who["tenant_id"] == "acme"  # the new user lands in the creator's tenant, whatever the body says
    assert "acme-isolation" not in {u["name"] for u in beta(w, "GET", "/api/users").json()}


@case("POST", "/api/users/{user_id}/disable")
def _disable(w: World) -> None:
    victim = w.user_ids["beta"][Role.analyst]
    r = acme(w, "POST", f"/api/users/{victim}/disable", expect=404)
    assert "no user" in r.json()["detail"]
    assert beta(w, "GET", "/api/tenant", Role.analyst).status_code == 200  # still works
    assert all(u["disabled_at"] is None for u in beta(w, "GET", "/api/users").json())


@case("POST", "/api/users/{user_id}/tokens")
def _issue_token(w: World) -> None:
    victim = w.user_ids["beta"][Role.admin]
    acme(w, "POST", f"/api/users/{victim}/tokens", expect=404, json={"label": "stolen"})
    own = acme(w, "POST", f"/api/users/{w.user_ids['acme'][Role.analyst]}/tokens", expect=201, json={}).json()
    who = w.client.get("/api/tenant", headers={"Authorization": f"Bearer {own['token']}"}).json()
    assert who["tenant_id"] == "acme"


@case("GET", "/api/users/{user_id}/tokens")
def _list_tokens(w: World) -> None:
    acme(w, "GET", f"/api/users/{w.user_ids['beta'][Role.admin]}/tokens", expect=404)
    mine = acme(w, "GET", f"/api/users/{w.user_ids['acme'][Role.analyst]}/tokens").json()
    assert mine and "token_hash" not in mine[0]


@case("POST", "/api/tokens/{token_id}/revoke")
def _revoke_token(w: World) -> None:
    """beta's token ids answer 404 to acme and keep working (issue 21)."""
    beta_tokens = w.client.get(f"/api/users/{w.user_ids['beta'][Role.analyst]}/tokens",
                               headers=w.auth("beta")).json()  # fmt: skip
    acme(w, "POST", f"/api/tokens/{beta_tokens[0]['id']}/revoke", expect=404)
    assert w.client.get("/api/tenant", headers=w.auth("beta", Role.analyst)).status_code == 200


@case("POST", "/api/users/{user_id}/role")
def _set_role(w: World) -> None:
    acme(w, "POST", f"/api/users/{w.user_ids['beta'][Role.analyst]}/role", expect=404, json={"role": "admin"})
    who = w.client.get("/api/tenant", headers=w.auth("beta", Role.analyst)).json()
    assert who["user"]["role"] == "analyst"


@case("GET", "/api/audit")
def _audit(w: World) -> None:
    entries = acme(w, "GET", "/api/audit", params={"limit": 1000}).json()
    assert entries and all((e["after"] or {}).get("tenant_id", "acme") == "acme" for e in entries)
    assert any((e["after"] or {}).get("tenant_id") == "beta" for e in beta(w, "GET", "/api/audit").json())


# ------------------------------------------------------------------------------------------------------- ingest
@case("GET", "/api/mappings")
def _mappings(w: World) -> None:
    assert acme(w, "GET", "/api/mappings").json() == beta(w, "GET", "/api/mappings").json()  # no tenant data


@case("POST", "/api/ingest/{table}")
def _ingest(w: World) -> None:
    before = beta(w, "GET", "/api/contacts").json()["total"]
    csv_text = ("contact_id,channel,direction,offered_at,outcome,queue\n"
                "ACME-ISO-1,voice,inbound,2026-03-05T10:00:00+08:00,abandoned,iso-q\n")  # fmt: skip
    got = acme(w, "POST", "/api/ingest/contacts", Role.planner, files={"files": ("iso.csv", csv_text, "text/csv")},
               data={"mapping": "canonical"}).json()  # fmt: skip
    assert (got["tenant"], got["loaded"]) == ("acme", 1)
    after = beta(w, "GET", "/api/contacts").json()
    assert after["total"] == before and "ACME-ISO" not in str(after)
    assert acme(w, "GET", "/api/contacts", params={"where": "queue = 'iso-q'"}).json()["total"] == 1


@case("GET", "/api/rejects")
def _rejects(w: World) -> None:
    assert acme(w, "GET", "/api/rejects").json()  # acme's own broken sample rows
    assert "beta-broken" in beta(w, "GET", "/api/rejects").text


# ------------------------------------------------------------------------------------------------------ metrics
@case("GET", "/api/metrics")
def _catalog(w: World) -> None:
    assert acme(w, "GET", "/api/metrics").json() == beta(w, "GET", "/api/metrics").json()


@case("GET", "/api/metrics/query")
def _query(w: World) -> None:
    params = {"metric": "contacts_offered", "grain": "month", "by": "queue"}
    queues = {r["queue"] for r in acme(w, "GET", "/api/metrics/query", params=params).json()}
    assert "broadband" in queues
    assert {r["queue"] for r in beta(w, "GET", "/api/metrics/query", params=params).json()} == {"beta-q"}


@case("GET", "/api/metrics/top")
def _top(w: World) -> None:
    def offered(rows: list[dict]) -> Any:
        return next(r["value"] for r in rows if r["metric"] == "contacts_offered")

    a = offered(acme(w, "GET", "/api/metrics/top", params={"period": "month", "at": "2026-03-02"}).json())
    b = offered(beta(w, "GET", "/api/metrics/top", params={"period": "month", "at": "2026-03-02"}).json())
    assert b == 3 and a > 1000  # beta: three valid inbound contacts in March (the fourth row is broken)


@case("GET", "/api/metrics/{metric_id}")
def _describe(w: World) -> None:
    sql = acme(w, "GET", "/api/metrics/contacts_offered").json()["sql"]
    assert SQL_ACME in sql
    assert "'beta'" in beta(w, "GET", "/api/metrics/contacts_offered").json()["sql"]


@case("GET", "/api/contacts")
def _contacts(w: World) -> None:
    a = acme(w, "GET", "/api/contacts", params={"page_size": 1000}).json()
    assert a["total"] > 4000 and not any(c["contact_id"].startswith("BETA") for c in a["contacts"])
    ids = [c["contact_id"] for c in beta(w, "GET", "/api/contacts", params={"page_size": 1000}).json()["contacts"]]
    assert {"BETA-1", "BETA-2", "BETA-3"} <= set(ids)  # other domains' cases may add beta contacts of their own
    # drilling into a metric (the contacts it counts against) stays within the tenant: beta abandoned one
    a = acme(w, "GET", "/api/contacts", params={"metric": "abandon_rate", "page_size": 1000}).json()
    assert a["total"] > 0 and {c["outcome"] for c in a["contacts"]} == {"abandoned"}
    b = beta(w, "GET", "/api/contacts", params={"metric": "abandon_rate"}).json()
    assert [c["contact_id"] for c in b["contacts"]] == ["BETA-2"]


# ---------------------------------------------------------------------------------------------------------- wfm
def _same_for_both(path: str, params: dict[str, Any]) -> Case:
    def run(w: World) -> None:
        assert acme(w, "GET", path, params=params).json() == beta(w, "GET", path, params=params).json()

    return run


CALC = {"calls": 100, "interval": 1800, "aht": 180}
case("GET", "/api/wfm/erlang-b")(_same_for_both("/api/wfm/erlang-b", {**CALC, "agents": 12}))
case("GET", "/api/wfm/erlang-c")(_same_for_both("/api/wfm/erlang-c", {**CALC, "agents": 12}))
case("GET", "/api/wfm/erlang-a")(_same_for_both("/api/wfm/erlang-a", {**CALC, "agents": 12, "patience": 120}))
case("GET", "/api/wfm/staff")(_same_for_both("/api/wfm/staff", {**CALC, "target_sl": 0.8}))


@case("POST", "/api/wfm/forecast")
def _forecast(w: World) -> None:
    body = {"horizon_days": 7, "folds": 1, "holidays": None, "queue": "broadband"}
    queues = {q["queue"] for q in acme(w, "POST", "/api/wfm/forecast", Role.planner, json=body).json()["queues"]}
    assert "broadband" in queues


@case("POST", "/api/wfm/staffing")
def _staffing(w: World) -> None:
    body = {"horizon_days": 7, "folds": 1, "holidays": None, "queue": "broadband"}
    got = acme(w, "POST", "/api/wfm/staffing", Role.planner, json=body).json()
    assert {r["queue"] for r in got["summary"]} == {"broadband"}
    # beta's queue is unknown to acme: asking for it finds no history rather than beta's
    r = w.client.post("/api/wfm/staffing", json={**body, "queue": "beta-q"}, headers=w.auth("acme", Role.planner))
    assert r.status_code in (400, 404) and "beta-q" in r.json()["detail"]


@case("GET", "/api/wfm/schedules")
def _schedules(w: World) -> None:
    assert acme(w, "GET", "/api/wfm/schedules", params={"week": "2026-03-02"}).json()["blocks"] == []
    assert len(beta(w, "GET", "/api/wfm/schedules", params={"week": "2026-03-04"}).json()["blocks"]) == 2


# --------------------------------------------------------------------------------------------------------- live
@case("POST", "/api/live/events")
def _events(w: World) -> None:
    before = beta(w, "GET", "/api/live/intake").json()
    ev = {"type": "contact.offered", "ts": "2026-03-02T17:30:00+01:00", "tenant": "beta", "contact_id": "X-1",
          "queue": "intruder-q", "center": "c", "channel": "voice"}  # fmt: skip
    r = w.client.post("/api/live/events", json=[ev], headers=w.auth("acme", Role.dispatcher))
    assert r.status_code == 200
    got = r.json()
    assert (got["accepted"], got["rejected"]) == (0, 1)
    assert "sent to 'acme'" in got["rejections"][0]["reason"]
    assert beta(w, "GET", "/api/live/intake").json()["accepted"] == before["accepted"]
    assert "intruder-q" not in beta(w, "GET", "/api/live/state").text


def _live_read(path: str) -> Case:
    def run(w: World) -> None:
        acme(w, "GET", path, params={"active_only": "false"} if path.endswith(("alerts", "plans")) else None)
        assert "beta" in beta(w, "GET", path).text.lower() or path.endswith("intake")

    return run


for _p in ("tiles", "state", "intake", "alerts", "plans", "commands"):
    case("GET", f"/api/live/{_p}")(_live_read(f"/api/live/{_p}"))


@case("GET", "/api/live/alerts/{alert_id}")
def _alert(w: World) -> None:
    aid = beta_alert_id(w)
    acme(w, "GET", f"/api/live/alerts/{aid}", expect=404, sent=aid)
    assert beta(w, "GET", f"/api/live/alerts/{aid}").json()["alert_id"] == aid


@case("POST", "/api/live/alerts/{alert_id}/acknowledge")
def _ack(w: World) -> None:
    aid = beta_alert_id(w)
    acme(w, "POST", f"/api/live/alerts/{aid}/acknowledge", expect=404, sent=aid)
    assert beta(w, "GET", f"/api/live/alerts/{aid}").json()["status"] == "open"


@case("POST", "/api/live/alerts/{alert_id}/resolve")
def _resolve(w: World) -> None:
    aid = beta_alert_id(w)
    acme(w, "POST", f"/api/live/alerts/{aid}/resolve", expect=404, sent=aid, json={"note": "not yours"})
    assert beta(w, "GET", f"/api/live/alerts/{aid}").json()["status"] == "open"


def _decide(verb: str) -> Case:
    def run(w: World) -> None:
        act = beta_activation_id(w)
        before = beta(w, "GET", "/api/live/plans").json()
        step = before[0]["recommendation"]["steps"][0]["kind"]
        acme(w, "POST", f"/api/live/plans/{act}/steps/{step}/{verb}", expect=404, sent=act)
        assert beta(w, "GET", "/api/live/plans").json() == before

    return run


case("POST", "/api/live/plans/{activation_id}/steps/{step}/approve")(_decide("approve"))
case("POST", "/api/live/plans/{activation_id}/steps/{step}/reject")(_decide("reject"))


# ---------------------------------------------------------------------------------------------------------- sim
@case("POST", "/api/sim/single-queue")
def _sim(w: World) -> None:
    body = {"calls": 100, "interval": 1800, "aht": 180, "agents": 12, "replications": 2}
    a = acme(w, "POST", "/api/sim/single-queue", json=body).json()
    b = beta(w, "POST", "/api/sim/single-queue", json=body).json()
    a.pop("elapsed_s"), b.pop("elapsed_s")
    assert a == b  # a pure what-if: same seed, same answer, nothing stored


# -------------------------------------------------------------------------------------------------------- tests
def api_routes(app: Any) -> set[tuple[str, str]]:
    """(method, path) of every route of the app, HEAD left out, static files left out."""
    out = set()
    for path, methods, _route in iter_routes(app):
        for m in methods - {"HEAD"}:
            out.add((m, path))
    return out


def test_every_route_has_a_case(world: World) -> None:
    """A route added without an isolation case (or a public one not listed) fails here."""
    routes = api_routes(world.client.app)
    assert routes - PUBLIC == set(CASES), (
        f"routes without an isolation case: {sorted(routes - PUBLIC - set(CASES))}; "
        f"cases without a route: {sorted(set(CASES) - routes)}"
    )


@pytest.mark.parametrize("key", sorted(CASES), ids=lambda k: f"{k[0]} {k[1]}")
def test_isolation(world: World, key: tuple[str, str]) -> None:
    """Tenant ``acme`` neither sees nor changes ``beta``'s data through this route."""
    CASES[key](world)


def test_public_routes_carry_no_tenant_data(world: World) -> None:
    """/docs and /openapi.json name no tenant; /metrics names tenants only as labels (operators' view)."""
    for path in ("/docs", "/openapi.json", "/healthz", "/readyz"):
        r = world.client.get(path)
        assert r.status_code == 200 and "beta" not in r.text and "acme" not in r.text
    text = world.client.get("/metrics").text
    assert "beta-q" not in text and "BETA" not in text  # no queue, contact or agent names
