"""Tenant-isolation cases of the customer value routes (issue 11: ``/api/customers``, ``/api/decide``,
``/api/value/...``), registered in :data:`isolation_registry.CASES`.

The world has no value data, so :func:`seeded` gives both tenants some, once per world: customer profiles and
account events loaded through ingest (``customers``, ``customer_events``), then, as each tenant's own users
through the API, beta's own rule libraries (a ``beta_loyal`` tag, a strategy rule on it, a commented model),
a value score snapshot per tenant, care tasks and a few beta decisions. Every beta name contains "beta"
(customer ids ``BETA-C…``, the tag, the comments), so an answer to acme that mentions it is a leak.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

from apitest import World
from isolation_registry import acme, beta, case

from callops import tenancy
from callops.ingest.loader import load_files
from callops.ingest.mapping import load_mapping
from callops.store.roles import Role
from callops.value import snapshot

N_CUSTOMERS = {"acme": 24, "beta": 13}  # different counts: a share computed over the other tenant would show
PREFIX = {"acme": "ACME-C", "beta": "BETA-C"}
KINDS = ("model", "tags", "strategies")
BETA_TAG = "beta_loyal"
SHIPPED = {k: (resources.files("callops.value") / f"default_{k}.yaml").read_text(encoding="utf-8") for k in KINDS}
# beta's own libraries: a tag and a strategy rule of its own, and a model that differs only by a comment
BETA_RULES = {
    "model": "# beta's own copy of the value model\n" + SHIPPED["model"],
    "tags": SHIPPED["tags"].rstrip("\n")
    + f"""
  - id: {BETA_TAG}
    when: tenure_months >= 24
    owner: beta-retention
    version: 1
    label: {{en: Loyal beta customer, zh-CN: beta忠诚客户}}
""",
    "strategies": SHIPPED["strategies"].rstrip("\n")
    + f"""
  - {{id: beta_loyal_priority, strategy: priority_routing, priority: 95, tags_any: [{BETA_TAG}],
     owner: beta-retention, version: 1}}
""",
}


@dataclass
class ValueData:
    """What was seeded in one world."""

    customers: dict[str, list[str]] = field(default_factory=dict)  # tenant -> customer ids
    beta_task_id: int = 0


_SEEDED: dict[int, ValueData] = {}


def _csvs(tenant: str, n: int, today: datetime) -> tuple[str, str]:
    """``n`` customers of ``tenant`` and their account events: every one unsubscribed a week ago (so the care rule
    ``unsubscribed_care`` fires for the standard and high-value ones), most bought something over the year."""
    ids = [f"{PREFIX[tenant]}{i:03d}" for i in range(1, n + 1)]
    cust = ["customer_id,plan,arpu,tenure_months,network_generation,status,usage_gb,region,vip_level"]
    events = ["customer_id,ts,kind,amount,product,status_from,status_to,reason"]
    for i, cid in enumerate(ids):
        cust.append(f"{cid},plan-{i % 3},{20 + 7 * i:.2f},{3 * i},{'4G' if i % 2 else '5G'},active,"
                    f"{(i * 5) % 80:.1f},{tenant}-region,{i % 3}")  # fmt: skip
        events.append(f"{cid},{(today - timedelta(days=7)).isoformat()},unsubscribe,,video,,,voluntary")
        for k in range(i % 4):
            events.append(f"{cid},{(today - timedelta(days=20 + 60 * k + i)).isoformat()},purchase,"
                          f"{10 + i + k:.2f},data-pack,,,")  # fmt: skip
    return "\n".join(cust) + "\n", "\n".join(events) + "\n"


def seeded(w: World) -> ValueData:
    """Seed both tenants' value data once per world (see the module docstring) and return what was made."""
    held = _SEEDED.get(id(w))
    if held is not None:
        return held
    data = ValueData()
    res = w.client.app.state.resources
    today = datetime.now(UTC).replace(microsecond=0)
    with res.warehouse_lock:
        wh = res.open_warehouse()
        for name, n in N_CUSTOMERS.items():
            t = tenancy.get_tenant(wh, name)
            cust, events = _csvs(name, n, today)
            for table, text in (("customers", cust), ("customer_events", events)):
                path = w.home / f"value-{name}-{table}.csv"
                path.write_text(text, encoding="utf-8")
                summary = load_files(wh, t, table, [path], load_mapping("canonical", table))
                assert summary.loaded == summary.read > 0 and summary.rejected == 0, summary
            data.customers[name] = [line.split(",")[0] for line in cust.splitlines()[1:]]
    for name in N_CUSTOMERS:  # a world before this one may have left an index of the same version in memory
        snapshot.forget_index(name)
    for kind, text in BETA_RULES.items():
        beta(w, "PUT", f"/api/value/rules/{kind}", json={"text": text, "comment": "beta's own"})
    for name in N_CUSTOMERS:
        r = w.client.post("/api/value/score", json={}, headers=w.auth(name))
        assert r.status_code == 200 and r.json()["customers"] == N_CUSTOMERS[name], r.text
        r = w.client.post("/api/value/care-tasks/generate", headers=w.auth(name))
        assert r.status_code == 200 and r.json()["total"] > 0, r.text
    assert beta(w, "GET", "/api/value/summary").json()["tags"][BETA_TAG] > 0
    tasks = beta(w, "GET", "/api/value/care-tasks").json()["tasks"]
    assert tasks and all(t["customer_id"].startswith("BETA-") for t in tasks)
    data.beta_task_id = tasks[0]["id"]
    for cid in data.customers["beta"][:3]:
        beta(w, "POST", "/api/decide", json={"customer_id": cid, "channel": "voice"})
    _SEEDED[id(w)] = data
    return data


def beta_state(w: World) -> dict[str, Any]:
    """Everything of beta's value data a write could change: snapshot, rules, tasks, one customer's decision."""
    d = seeded(w)
    return {
        "summary": beta(w, "GET", "/api/value/summary").json(),
        "rules": {k: beta(w, "GET", f"/api/value/rules/{k}").json()["text"] for k in KINDS},
        "tasks": beta(w, "GET", "/api/value/care-tasks").json()["tasks"],
        "explain": beta(w, "GET", f"/api/value/customers/{d.customers['beta'][0]}/explain").json(),
    }


# ----------------------------------------------------------------------------------------- customers, decisions
@case("POST", "/api/decide")
def _decide(w: World) -> None:
    d = seeded(w)
    victim = d.customers["beta"][0]
    acme(w, "POST", "/api/decide", expect=404, sent=victim, json={"customer_id": victim, "channel": "voice"})
    own = acme(w, "POST", "/api/decide", json={"customer_id": d.customers["acme"][0], "channel": "voice"}).json()
    assert own["known"] is True and BETA_TAG not in own["tags"]
    got = beta(w, "POST", "/api/decide", json={"customer_id": victim, "channel": "voice"}).json()
    assert got["known"] is True and got["customer_id"] == victim


@case("GET", "/api/customers/{customer_id}")
def _customer(w: World) -> None:
    d = seeded(w)
    victim = d.customers["beta"][-1]
    acme(w, "GET", f"/api/customers/{victim}", expect=404, sent=victim)
    own = acme(w, "GET", f"/api/customers/{d.customers['acme'][-1]}").json()
    assert own["value"] is not None and own["features"]["region"] == "acme-region"
    got = beta(w, "GET", f"/api/customers/{victim}").json()
    assert got["features"]["region"] == "beta-region" and got["value"]["customer_id"] == victim
    assert BETA_TAG in {t["id"] for t in got["tags"]}  # tenure 36 months: beta's own tag, from beta's library


@case("GET", "/api/value/customers/{customer_id}/explain")
def _explain(w: World) -> None:
    d = seeded(w)
    victim = d.customers["beta"][1]
    acme(w, "GET", f"/api/value/customers/{victim}/explain", expect=404, sent=victim)
    acme(w, "GET", f"/api/value/customers/{d.customers['acme'][1]}/explain")
    assert beta(w, "GET", f"/api/value/customers/{victim}/explain").json()["customer_id"] == victim


@case("GET", "/api/value/summary")
def _summary(w: World) -> None:
    seeded(w)
    a = acme(w, "GET", "/api/value/summary").json()
    assert a["customers"] == N_CUSTOMERS["acme"] and a["tenant"] == "acme"
    b = beta(w, "GET", "/api/value/summary").json()
    assert b["customers"] == N_CUSTOMERS["beta"] and b["tags"][BETA_TAG] > 0


@case("POST", "/api/value/score")
def _score(w: World) -> None:
    seeded(w)
    before = beta_state(w)
    got = acme(w, "POST", "/api/value/score", role=Role.admin, json={}).json()
    assert got["tenant"] == "acme" and got["customers"] == N_CUSTOMERS["acme"] and BETA_TAG not in got["tags"]
    assert beta_state(w) == before  # beta's snapshot version, counts and rows untouched


# ------------------------------------------------------------------------------------------------------- rules
@case("GET", "/api/value/rules/{kind}")
def _rules(w: World) -> None:
    seeded(w)
    for kind in KINDS:
        a = acme(w, "GET", f"/api/value/rules/{kind}").json()
        assert a["text"].strip()
        b = beta(w, "GET", f"/api/value/rules/{kind}").json()
        assert b["source"] == "tenant" and b["text"] == BETA_RULES[kind]


@case("POST", "/api/value/rules/{kind}/preview")
def _preview(w: World) -> None:
    seeded(w)
    a = acme(w, "POST", "/api/value/rules/tags/preview", json={"text": SHIPPED["tags"]}).json()
    assert a["customers"] == N_CUSTOMERS["acme"] and BETA_TAG not in a["tagged"]
    # beta's strategy library names beta's tag, which acme's tag library lacks: refused, not read from beta
    borrowed = BETA_RULES["strategies"].replace("beta_loyal_priority", "x").replace("beta-", "x-")
    r = acme(w, "POST", "/api/value/rules/strategies/preview", expect=400, sent=BETA_TAG, json={"text": borrowed})
    assert BETA_TAG in r.json()["detail"]
    b = beta(w, "POST", "/api/value/rules/tags/preview", json={"text": BETA_RULES["tags"]}).json()
    assert b["customers"] == N_CUSTOMERS["beta"] and b["tagged"][BETA_TAG] > 0
    beta(w, "POST", "/api/value/rules/strategies/preview", json={"text": BETA_RULES["strategies"]})


@case("PUT", "/api/value/rules/{kind}")
def _save(w: World) -> None:
    seeded(w)
    before = beta_state(w)
    for kind in KINDS:
        text = f"# acme's copy of the {kind}\n" + SHIPPED[kind]
        assert acme(w, "PUT", f"/api/value/rules/{kind}", json={"text": text, "comment": "acme"}).json()["saved"]
        assert acme(w, "GET", f"/api/value/rules/{kind}").json()["text"] == text
    assert beta_state(w) == before


# -------------------------------------------------------------------------------------------------- care tasks
@case("GET", "/api/value/care-tasks")
def _care_tasks(w: World) -> None:
    seeded(w)
    for params in ({}, {"team": "retention"}, {"status": "open"}):
        tasks = acme(w, "GET", "/api/value/care-tasks", params=params).json()["tasks"]
        assert tasks and all(t["customer_id"].startswith("ACME-") for t in tasks)
    assert any(t["customer_id"].startswith("BETA-") for t in beta(w, "GET", "/api/value/care-tasks").json()["tasks"])


@case("POST", "/api/value/care-tasks/{task_id}/status")
def _update_task(w: World) -> None:
    d = seeded(w)
    before = beta_state(w)
    for status in ("contacted", "resolved"):
        acme(w, "POST", f"/api/value/care-tasks/{d.beta_task_id}/status", expect=404,
             json={"status": status, "note": "not yours"})  # fmt: skip
    after = beta_state(w)
    assert after == before
    assert next(t for t in after["tasks"] if t["id"] == d.beta_task_id)["status"] == "open"


@case("POST", "/api/value/care-tasks/generate")
def _generate(w: World) -> None:
    seeded(w)
    before = beta_state(w)
    got = acme(w, "POST", "/api/value/care-tasks/generate").json()
    assert got["total"] == 0  # acme's own tasks are all still open: nothing new, and nothing of beta's
    assert beta_state(w) == before


# ----------------------------------------------------------------------------------------- diversions, balance
@case("GET", "/api/value/diversions")
def _diversions(w: World) -> None:
    d = seeded(w)
    a = acme(w, "GET", "/api/value/diversions").json()
    b = beta(w, "GET", "/api/value/diversions").json()
    assert b["decisions"] >= 3
    beta(w, "POST", "/api/decide", json={"customer_id": d.customers["beta"][4], "channel": "app"})
    assert acme(w, "GET", "/api/value/diversions").json() == a  # beta's decision is not counted for acme
    assert beta(w, "GET", "/api/value/diversions").json()["decisions"] == b["decisions"] + 1


@case("GET", "/api/value/balance")
def _balance(w: World) -> None:
    seeded(w)
    params = {"calls": 60, "aht": 120, "agents": 5, "take_up": 1.0}
    a = acme(w, "GET", "/api/value/balance", params=params).json()["tenant_share"]
    b = beta(w, "GET", "/api/value/balance", params=params).json()["tenant_share"]
    assert a["customers"] == N_CUSTOMERS["acme"] and b["customers"] == N_CUSTOMERS["beta"]
