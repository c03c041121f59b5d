"""Isolation cases of the journey routes (``/api/journeys/...`` and ``/api/customers/{id}/journey``).

The world holds no journey data, so :func:`seed` loads it once per world through ``POST /api/ingest/...`` (the
canonical mapping) as each tenant's planner: beta gets three sessions of two customers whose every name (session,
customer, step, error code, resource, business) contains "beta", and its contact ``BETA-1`` loaded again with a
customer, a low CSAT and a business (an update of the same key: beta's contact count, queues and March totals that
the other cases check stay as they were). acme gets two sessions of two of its sample customers (``C02926`` gave
a CSAT of 1). Beta's cost parameters go to ``$CALLOPS_HOME/tenants/beta/journeys.yaml``. The acme requests assert
acme's own exact counts as well: a route that mixed beta's events in would change them even where no name of
beta's shows.

No customer profiles are loaded: the value cases count each tenant's customers exactly, so the ARPU view (which
needs profiles) is checked only to be empty for both tenants; the churn view counts customers with events.
"""

from __future__ import annotations

from apitest import World
from isolation_registry import acme, beta, case

from callops.store.roles import Role

BETA_EVENTS = """session_id,seq,customer_id,ts,channel,step,outcome,error_code,contact_id,resource
BETA-S1,0,BETA-JRN-C1,2026-03-02T08:50:00+01:00,app,beta_login,ok,,,beta-bot
BETA-S1,1,BETA-JRN-C1,2026-03-02T08:51:00+01:00,app,beta_verify,failed,beta_otp_failed,,beta-bot
BETA-S2,0,BETA-JRN-C1,2026-03-02T09:00:00+01:00,voice,beta_ivr,ok,,BETA-1,beta-ivr
BETA-S2,1,BETA-JRN-C1,2026-03-02T09:00:10+01:00,voice,agent,ok,,BETA-1,BETA-AGENT
BETA-S3,0,BETA-JRN-C2,2026-03-03T09:40:00+01:00,app,beta_login,ok,,,beta-bot
BETA-S3,1,BETA-JRN-C2,2026-03-03T09:41:00+01:00,app,beta_verify,ok,,,beta-bot
BETA-S3,2,BETA-JRN-C2,2026-03-03T09:43:00+01:00,app,beta_self_service,ok,,,beta-bot
"""
# BETA-1 as the world loaded it, now with its customer, a CSAT of 1 and a business (same key: an update)
BETA_CONTACT = """contact_id,center,queue,channel,direction,offered_at,outcome,answered_at,ended_at,customer_id,csat,business_type
BETA-1,beta-center,beta-q,voice,inbound,2026-03-02T09:00:00+01:00,answered,2026-03-02T09:00:10+01:00,2026-03-02T09:03:00+01:00,BETA-JRN-C1,1,beta_billing
"""  # noqa: E501
BETA_COSTS = "parameters: {agent_cost_per_hour: 77.5, channel_cost_per_contact: {voice: 0.77}}\n"
ACME_EVENTS = """session_id,seq,customer_id,ts,channel,step,outcome,error_code,contact_id
ACME-S1,0,C02926,2026-03-02T10:00:00+08:00,app,login,ok,,
ACME-S1,1,C02926,2026-03-02T10:01:00+08:00,app,verify_identity,failed,identity_failed,
ACME-S2,0,C01866,2026-03-03T10:00:00+08:00,web,login,ok,,
ACME-S2,1,C01866,2026-03-03T10:02:00+08:00,web,self_service,ok,,
"""
BETA_CUSTOMER = "BETA-JRN-C1"
_seeded: set[int] = set()


def _load(w: World, tenant: str, table: str, text: str) -> dict:
    r = w.client.post(f"/api/ingest/{table}", headers=w.auth(tenant, Role.planner),
                      files={"files": (f"journey-{table}.csv", text, "text/csv")}, data={"mapping": "canonical"})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["rejected"] == 0, got
    return got


def seed(w: World) -> None:
    """Load both tenants' journey data once per world (see the module's docstring)."""
    if id(w) in _seeded:
        return
    before = beta(w, "GET", "/api/contacts").json()["total"]
    _load(w, "beta", "journey_events", BETA_EVENTS)
    got = _load(w, "beta", "contacts", BETA_CONTACT)
    assert got["loaded"] + got["updated"] + got.get("unchanged", 0) == 1, got
    assert beta(w, "GET", "/api/contacts").json()["total"] == before  # an update, not a new contact
    _load(w, "acme", "journey_events", ACME_EVENTS)
    folder = w.home / "tenants" / "beta"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.yaml").write_text(BETA_COSTS, encoding="utf-8")
    _seeded.add(id(w))


def _get(w: World, path: str, role: Role = Role.analyst, **kw: object) -> tuple[dict | list, dict | list]:
    """acme's answer and beta's control for ``GET path`` (journeys:read is the analyst's)."""
    seed(w)
    return acme(w, "GET", path, role, **kw).json(), beta(w, "GET", path, role, **kw).json()


@case("GET", "/api/journeys/summary")
def _summary(w: World) -> None:
    a, b = _get(w, "/api/journeys/summary")
    assert (a["events"], a["sessions"], a["steps"]) == (4, 2, 3)
    assert (b["events"], b["sessions"], b["steps"]) == (7, 3, 5)
    # acme filtering on beta's customer finds nothing of beta's
    f = acme(w, "GET", "/api/journeys/summary", Role.analyst, params={"where": f"customer_id = '{BETA_CUSTOMER}'"})
    assert (f.json()["events"], f.json()["sessions"]) == (0, 0)


@case("GET", "/api/journeys/variants")
def _variants(w: World) -> None:
    a, b = _get(w, "/api/journeys/variants", params={"top": 100})
    assert (a["sessions"], a["variants"]) == (2, 2)
    assert {tuple(v["path"]) for v in a["top"]} == {("login", "verify_identity"), ("login", "self_service")}
    assert (b["sessions"], b["variants"]) == (3, 3) and ["beta_ivr", "agent"] in [v["path"] for v in b["top"]]


@case("GET", "/api/journeys/dfg")
def _dfg(w: World) -> None:
    a, b = _get(w, "/api/journeys/dfg")
    assert a["start_steps"] == {"login": 2} and sum(e["count"] for e in a["edges"]) == 2
    assert b["start_steps"] == {"beta_login": 2, "beta_ivr": 1} and sum(e["count"] for e in b["edges"]) == 4


@case("GET", "/api/journeys/failures")
def _failures(w: World) -> None:
    a, b = _get(w, "/api/journeys/failures", params={"within_hours": 48})
    assert [(r["reason"], r["sessions"]) for r in a] == [("identity_failed", 1)]
    assert [(r["reason"], r["sessions"], r["then_voice_sessions"]) for r in b] == [("beta_otp_failed", 1, 1)]


@case("GET", "/api/journeys/channels")
def _channels(w: World) -> None:
    a, b = _get(w, "/api/journeys/channels")
    assert {r["channel"]: r["sessions"] for r in a} == {"app": 1, "web": 1}
    assert {r["channel"]: r["sessions"] for r in b} == {"app": 2, "voice": 1}


@case("GET", "/api/journeys/related")
def _related(w: World) -> None:
    a, b = _get(w, "/api/journeys/related", params={"min_support": 0})
    # acme's baskets: its two customers; login is in both, so no rule ends there
    assert {(r["if"], r["then"]) for r in a} == {("step:login", "step:verify_identity"),
                                                 ("step:login", "step:self_service")}
    assert "business:beta_billing" in {r["then"] for r in b}


@case("GET", "/api/journeys/suggestions")
def _suggestions(w: World) -> None:
    a, b = _get(w, "/api/journeys/suggestions")
    assert [(s["kind"], s["target"]) for s in a] == [("fallout", "verify_identity")]
    assert {(s["kind"], s["target"]) for s in b} == {("fallout", "beta_verify"),
                                                      ("failure_drives_calls", "beta_otp_failed")}


@case("POST", "/api/journeys/funnels")
def _funnels(w: World) -> None:
    seed(w)
    theirs = {"name": "probe", "per": "customer", "steps": ["beta_login", "agent"]}
    ours = {"name": "own", "steps": ["login", "self_service"]}
    a = acme(w, "POST", "/api/journeys/funnels", Role.analyst, sent="beta_login",
             json={"funnels": [theirs, ours]}).json()  # fmt: skip
    assert (a[0]["units"], [s["reached"] for s in a[0]["steps"]]) == (2, [0, 0])  # beta's steps: none in acme
    assert (a[1]["units"], [s["reached"] for s in a[1]["steps"]]) == (2, [2, 1])
    b = beta(w, "POST", "/api/journeys/funnels", Role.analyst, json={"funnels": [theirs]}).json()
    assert (b[0]["units"], [s["reached"] for s in b[0]["steps"]]) == (2, [2, 1])


@case("GET", "/api/customers/{customer_id}/journey")
def _customer(w: World) -> None:
    seed(w)
    path = f"/api/customers/{BETA_CUSTOMER}/journey"
    acme(w, "GET", path, Role.analyst, expect=404, sent=BETA_CUSTOMER)
    own = acme(w, "GET", "/api/customers/C02926/journey", Role.analyst).json()
    assert (own["steps"], own["contacts"]) == (2, 3)  # C02926's three sample contacts
    b = beta(w, "GET", path, Role.analyst).json()
    assert (b["sessions"], b["steps"], b["contacts"]) == (2, 4, 1) and b["timeline"][0]["step"] == "beta_login"


@case("GET", "/api/journeys/perception/{view}")
def _perception(w: World) -> None:
    a, b = _get(w, "/api/journeys/perception/churn")
    assert (a["churned"], a["retained"]) == (0, 2) and (b["churned"], b["retained"]) == (0, 2)
    a, b = _get(w, "/api/journeys/perception/arpu")
    assert (a["high"], a["others"]) == (0, 0) and (b["high"], b["others"]) == (0, 0)  # no profiles (docstring)
    a, b = _get(w, "/api/journeys/perception/dissatisfied")
    assert a["sessions"] == 1 and [p["item"] for p in a["paths"]] == ["login -> verify_identity"]
    assert b["customers_sample"] == [BETA_CUSTOMER] and b["sessions"] == 2


@case("GET", "/api/journeys/cost")
def _cost(w: World) -> None:
    a, b = _get(w, "/api/journeys/cost")
    acme_contacts = acme(w, "GET", "/api/contacts").json()["total"]
    assert a["contacts"] == acme_contacts and a["parameters"]["costs"]["agent_cost_per_hour"] == 60.0
    # acme's customers have no answered contact within 24 h after their sessions (the sample's calls of C02926
    # are on 03-02 08:10, 03-04 and 03-09; C01866's on 03-02 00:25)
    assert (a["containment"]["self_service_sessions"], a["containment"]["contained"]) == (2, 2)
    beta_contacts = beta(w, "GET", "/api/contacts").json()["total"]
    assert b["contacts"] == beta_contacts and b["parameters"]["costs"]["agent_cost_per_hour"] == 77.5
    # beta's self-service sessions: BETA-S1 (its customer's call BETA-1 was answered 9 min later) and BETA-S3
    assert (b["containment"]["self_service_sessions"], b["containment"]["contained"]) == (2, 1)
