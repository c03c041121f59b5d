"""The decision and the customer view over HTTP and the CLI, on tenants t1 and t10 (prefix names)."""

from __future__ import annotations

import pytest

from callops.store.roles import Role
from conftest import ValueWorld


def test_decide_answers_from_the_snapshot(world: ValueWorld) -> None:
    """A known customer gets its class, score, tags, strategy, route, guidance and fired rules."""
    r = world.client.post("/api/decide", json={"customer_id": "A00000001", "channel": "voice", "reason": "billing"},
                          headers=world.auth("t1"))  # fmt: skip
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["known"] is True and d["value_class"] in {"high_value", "low_value", "complex", "standard"}
    assert 0 <= d["score"] <= 100
    assert {"tags", "strategy", "route", "guidance", "rules_fired"} <= set(d)
    assert set(d["guidance"]) == {"en", "zh-CN"}


def test_unknown_customer_gets_the_default_answer(world: ValueWorld) -> None:
    """An id no tenant has: 200 with known=false, the standard strategy and the normal queue."""
    r = world.client.post("/api/decide", json={"customer_id": "NOBODY", "channel": "chat"}, headers=world.auth("t1"))
    assert r.status_code == 200
    d = r.json()
    assert d["known"] is False and d["value_class"] == "unknown" and d["score"] is None
    assert d["strategy"] == "standard_service" and d["route"] == "normal_queue" and "default" in d["note"]


def test_other_tenants_customer_is_404_both_ways(world: ValueWorld) -> None:
    """t1 asking for t10's customer (and back) gets 404 with no data; SHARED is each tenant's own."""
    for tenant, other_id in (("t1", "B00000001"), ("t10", "A00000001")):
        r = world.client.post("/api/decide", json={"customer_id": other_id, "channel": "voice"},
                              headers=world.auth(tenant))  # fmt: skip
        assert r.status_code == 404, r.text
        assert set(r.json()) == {"detail"}
        r = world.client.get(f"/api/customers/{other_id}", headers=world.auth(tenant))
        assert r.status_code == 404
    a = world.client.post("/api/decide", json={"customer_id": "SHARED", "channel": "voice"}, headers=world.auth("t1"))
    b = world.client.post("/api/decide", json={"customer_id": "SHARED", "channel": "voice"}, headers=world.auth("t10"))
    assert a.status_code == b.status_code == 200
    assert a.json()["score"] != b.json()["score"]  # percentiles among 2,000 vs 500 customers


def test_bad_channel_is_a_4xx(world: ValueWorld) -> None:
    """An unknown channel is refused with a message, not a 500."""
    r = world.client.post("/api/decide", json={"customer_id": "A00000001", "channel": "pigeon"},
                          headers=world.auth("t1"))  # fmt: skip
    assert 400 <= r.status_code < 500 and "pigeon" in r.json()["detail"]


def test_customer_view_and_explain(world: ValueWorld) -> None:
    """GET /api/customers/{id}: features, tags, value explanation whose contributions add up, timeline."""
    r = world.client.get("/api/customers/A00000002", headers=world.auth("t1", Role.analyst))
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["features"]["arpu"] is not None and "clv_p_alive" in d["features"]
    v = d["value"]
    assert set(v["dimensions"]) == {"historical", "current", "future", "impact", "elastic"}
    assert sum(x["contribution"] for x in v["dimensions"].values()) == pytest.approx(v["score"])
    assert isinstance(d["timeline"], list)


def test_permissions(world: ValueWorld) -> None:
    """value:manage guards saving rules; a reader role may decide but not save."""
    r = world.client.get("/api/value/rules/tags", headers=world.auth("t1", Role.analyst))
    assert r.status_code == 200 and r.json()["source"] == "shipped"
    r = world.client.put("/api/value/rules/tags", json={"text": r.json()["text"]},
                         headers=world.auth("t1", Role.analyst))
    assert r.status_code == 403


def test_rule_preview_save_and_audit(world: ValueWorld) -> None:
    """Preview counts the customers a tag would hold; an invalid file is a 4xx naming the line; a save is audited
    and reaches the decision."""
    cur = world.client.get("/api/value/rules/tags", headers=world.auth("t1")).json()["text"]
    bad = cur.replace("when: usage_gb >= 60", "when: usage_gbx >= 60")
    r = world.client.post("/api/value/rules/tags/preview", json={"text": bad}, headers=world.auth("t1"))
    assert 400 <= r.status_code < 500 and "line" in r.json()["detail"]
    new = cur.replace("when: usage_gb >= 60", "when: usage_gb >= 0")
    r = world.client.post("/api/value/rules/tags/preview", json={"text": new}, headers=world.auth("t1"))
    assert r.status_code == 200, r.text
    assert r.json()["tagged"]["heavy_data_user"] == r.json()["customers"] == 2000
    r = world.client.put("/api/value/rules/tags", json={"text": new, "comment": "everyone"}, headers=world.auth("t1"))
    assert r.status_code == 200, r.text
    assert world.client.get("/api/value/rules/tags", headers=world.auth("t1")).json()["source"] == "tenant"
    assert world.client.get("/api/value/rules/tags", headers=world.auth("t10")).json()["source"] == "shipped"
    from callops.store.audit import list_audit
    from callops.store.db import Store

    with Store(world.store_url) as store, store.session() as s:
        entries = list_audit(s, "t1")
        assert any(getattr(e, "action", None) == "value.tags.save" for e in entries)


def test_care_tasks_once_per_rule_and_customer(world: ValueWorld) -> None:
    """Generating twice creates nothing new while tasks are unresolved; another tenant's task is 404."""
    first = world.client.post("/api/value/care-tasks/generate", headers=world.auth("t1"))
    assert first.status_code == 200, first.text
    again = world.client.post("/api/value/care-tasks/generate", headers=world.auth("t1")).json()
    assert again["total"] == 0
    tasks = world.client.get("/api/value/care-tasks", headers=world.auth("t1")).json()["tasks"]
    assert len(tasks) == first.json()["total"]
    if tasks:
        tid = tasks[0]["id"]
        assert world.client.post(f"/api/value/care-tasks/{tid}/status", json={"status": "contacted"},
                                 headers=world.auth("t10")).status_code == 404  # fmt: skip
        r = world.client.post(f"/api/value/care-tasks/{tid}/status", json={"status": "contacted"},
                              headers=world.auth("t1"))
        assert r.status_code == 200 and r.json()["status"] == "contacted"
        r = world.client.post(f"/api/value/care-tasks/{tid}/status", json={"status": "open"}, headers=world.auth("t1"))
        assert r.status_code == 400


def test_diversions_are_counted_per_tenant(world: ValueWorld) -> None:
    """Each decision is counted by route; a decision routed to self-service or the IVR counts as diverted."""
    before = world.client.get("/api/value/diversions", headers=world.auth("t10")).json()
    other = world.client.get("/api/value/diversions", headers=world.auth("t1")).json()
    r = world.client.post("/api/decide", json={"customer_id": "B00000007", "channel": "app"}, headers=world.auth("t10"))
    route = r.json()["route"]
    after = world.client.get("/api/value/diversions", headers=world.auth("t10")).json()
    assert after["decisions"] == before["decisions"] + 1
    assert after["routes"][route] == before["routes"].get(route, 0) + 1
    assert after["diverted"] == before["diverted"] + (route in {"self_service_first", "ivr_payment"})
    assert world.client.get("/api/value/diversions", headers=world.auth("t1")).json() == other


@pytest.mark.parametrize("as_of", ["3000-01-01", "2263-01-01", "1969-12-31", "0001-01-01", "9999-12-31"])
def test_as_of_outside_the_engine_range_is_400(world: ValueWorld, as_of: str) -> None:
    """An as-of date the engine's nanosecond timestamps cannot hold is refused with a message, not a 500."""
    want = f"as_of {as_of}: expected a date between 1970-01-01 and 2200-12-31"
    r = world.client.get(f"/api/customers/A00000002?as_of={as_of}", headers=world.auth("t1", Role.analyst))
    assert (r.status_code, r.json()["detail"]) == (400, want)
    r = world.client.post("/api/value/score", json={"as_of": as_of}, headers=world.auth("t1"))
    assert (r.status_code, r.json()["detail"]) == (400, want)
    assert world.client.get("/api/customers/A00000002?as_of=2200-12-31",
                            headers=world.auth("t1", Role.analyst)).status_code == 200  # fmt: skip
