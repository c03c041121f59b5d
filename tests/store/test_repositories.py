"""Alerts, versioned documents, saved views, the audit trail and the tenant mirror."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from callops import tenancy
from callops.errors import CallopsError, NotFound
from callops.store import alerts, audit, documents, tenants, users, views
from callops.store.db import Store
from callops.store.models import Alert, Tenant
from callops.warehouse import Warehouse

from .storetest import T0

KEY = "long-wait:queue:billing"


def _raise(s, tenant: str, level: str, minute: int, value: float):
    return alerts.raise_alert(
        s,
        tenant,
        key=KEY,
        rule_name="long-wait",
        measure="longest_wait_s",
        scope="queue",
        subject="billing",
        level=level,
        value=value,
        at=T0 + timedelta(minutes=minute),
        rule_version=1,
    )


def test_alert_life_cycle(store: Store, two_tenants: tuple[str, str]) -> None:
    acme, _ = two_tenants
    with store.session() as s:
        steps = [("yellow", 0, 70), ("yellow", 1, 80), ("orange", 2, 130), ("red", 3, 200), ("orange", 4, 150)]
        kinds = [_raise(s, acme, level, minute, value)[1] for level, minute, value in steps]
        assert kinds == ["raised", None, "escalated", "escalated", "deescalated"]
        alert = alerts.get_open_alert(s, acme, KEY)
        assert (alert.level, alert.value, alert.status) == ("orange", 150, "open")
        alerts.clear_alert(s, acme, KEY, T0 + timedelta(minutes=5), value=40)
        assert alerts.clear_alert(s, acme, KEY, T0 + timedelta(minutes=6)).cleared_at == T0 + timedelta(minutes=5)
        # back over the threshold before anyone resolved it: the same alert is raised again
        again, kind = _raise(s, acme, "yellow", 7, 65)
        assert (again.id, kind, again.cleared_at) == (alert.id, "raised", None)
        alerts.acknowledge(s, acme, alert.id, "user:ann", note="on it", at=T0 + timedelta(minutes=8))
        alerts.acknowledge(s, acme, alert.id, "user:bob")  # second acknowledgement changes nothing
        alerts.resolve(s, acme, alert.id, "user:ann", resolution="moved 3 agents", at=T0 + timedelta(minutes=9))
        with pytest.raises(CallopsError, match="already resolved"):
            alerts.acknowledge(s, acme, alert.id, "user:bob")
        assert alerts.get_open_alert(s, acme, KEY) is None
        fresh, kind = _raise(s, acme, "red", 10, 190)  # the key is free again: a new alert
        assert fresh.id != alert.id and kind == "raised"
    with store.session() as s:
        history = [(e.kind, e.level, e.actor) for e in alerts.alert_history(s, acme, alert.id)]
        assert history == [
            ("raised", "yellow", None),
            ("escalated", "orange", None),
            ("escalated", "red", None),
            ("deescalated", "orange", None),
            ("cleared", "orange", None),
            ("raised", "yellow", None),
            ("acknowledged", "yellow", "user:ann"),
            ("resolved", "yellow", "user:ann"),
        ]
        done = alerts.get_alert(s, acme, alert.id)
        assert (done.status, done.acknowledged_by, done.resolved_by, done.resolution) == (
            "resolved",
            "user:ann",
            "user:ann",
            "moved 3 agents",
        )
        assert done.opened_at == T0 and done.resolved_at.tzinfo is not None
        assert [a.id for a in alerts.list_alerts(s, acme)] == [fresh.id]
        assert {a.id for a in alerts.list_alerts(s, acme, statuses=None)} == {alert.id, fresh.id}
        trail = [(e.action, e.actor) for e in audit.list_audit(s, acme, object_type="alert")]
        assert trail == [("alert.resolve", "user:ann"), ("alert.acknowledge", "user:ann")]
        with pytest.raises(CallopsError, match="unknown alert level 'purple'"):
            _raise(s, acme, "purple", 11, 1)


def test_one_unresolved_alert_per_key(store: Store, two_tenants: tuple[str, str]) -> None:
    """The database itself refuses a second unresolved alert for a key (open_key is unique per tenant)."""
    acme, _ = two_tenants
    with store.session() as s:
        _raise(s, acme, "yellow", 0, 70)
    with pytest.raises(sa.exc.IntegrityError), store.session() as s:
        s.add(
            Alert(
                tenant_id=acme,
                key=KEY,
                open_key=KEY,
                rule_name="r",
                measure="m",
                scope="queue",
                subject="x",
                level="red",
                status="open",
                details={},
                opened_at=T0,
                updated_at=T0,
            )
        )
        s.flush()


def test_alerts_by_severity(store: Store, two_tenants: tuple[str, str]) -> None:
    acme, _ = two_tenants
    with store.session() as s:
        for i, level in enumerate(["orange", "black", "yellow", "red"]):
            alerts.raise_alert(
                s,
                acme,
                key=f"k{i}",
                rule_name="r",
                measure="m",
                scope="queue",
                subject=str(i),
                level=level,
                value=1.0,
                at=T0 + timedelta(minutes=i),
            )
        assert [a.level for a in alerts.list_alerts(s, acme)] == ["black", "red", "orange", "yellow"]


def test_documents_are_versioned(store: Store, two_tenants: tuple[str, str]) -> None:
    acme, _ = two_tenants
    v1 = "# rules for the hotline\nalerts:\n  - name: long-wait\n    levels: {yellow: 60, red: 180}\n"
    v2 = v1.replace("180", "150")
    with store.session() as s:
        d1 = documents.save_document(s, acme, "alert_rules", "hotline", v1, "user:ann")
        assert (d1.version, d1.spec) == (1, {"alerts": [{"name": "long-wait", "levels": {"yellow": 60, "red": 180}}]})
        assert documents.save_document(s, acme, "alert_rules", "hotline", v1, "user:bob").version == 1  # unchanged
        d2 = documents.save_document(s, acme, "alert_rules", "hotline", v2, "user:bob")
        assert (d2.version, d2.spec["alerts"][0]["levels"]["red"], d2.created_by) == (2, 150, "user:bob")
        assert documents.get_document(s, acme, "alert_rules", "hotline").yaml_text == v2
        old = documents.get_document(s, acme, "alert_rules", "hotline", version=1)
        assert (old.yaml_text, old.current_version) == (v1, 2)  # comments kept as written
        assert [d.version for d in documents.list_versions(s, acme, "alert_rules", "hotline")] == [1, 2]
        documents.save_document(s, acme, "plans", "six-step", "levels:\n  1: [move_within_region]\n", "user:ann")
        documents.set_enabled(s, acme, "plans", "six-step", False, "user:ann")
        assert documents.list_documents(s, acme, "plans", enabled_only=True) == []
        assert [d.name for d in documents.list_documents(s, acme, "plans")] == ["six-step"]
        with pytest.raises(NotFound, match="no version 9"):
            documents.get_document(s, acme, "alert_rules", "hotline", version=9)
        with pytest.raises(CallopsError, match="invalid YAML at line 2"):
            documents.save_document(s, acme, "plans", "bad", "a: 1\n b: [\n", "user:ann")
        with pytest.raises(CallopsError, match="must be a mapping"):
            documents.save_document(s, acme, "plans", "bad", "- 1\n- 2\n", "user:ann")

        def strict(spec: dict) -> dict:
            if "levels" not in spec:
                raise CallopsError("a plan needs levels")
            return spec

        with pytest.raises(CallopsError, match="needs levels"):
            documents.save_document(s, acme, "plans", "bad", "steps: []\n", "user:ann", validate=strict)
        trail = [(e.action, e.actor) for e in audit.list_audit(s, acme, object_type="alert_rules")]
        assert trail == [("alert_rules.update", "user:bob"), ("alert_rules.create", "user:ann")]
        update = audit.list_audit(s, acme, object_type="alert_rules")[0]
        assert (update.before["yaml_text"], update.after["yaml_text"]) == (v1, v2)


def test_saved_views(store: Store, two_tenants: tuple[str, str]) -> None:
    acme, _ = two_tenants
    with store.session() as s:
        ann, _ = users.create_user(s, acme, "ann", "analyst", "test")
        bob, _ = users.create_user(s, acme, "bob", "analyst", "test")
        views.save_view(s, acme, "mine", "trend", {"metric": "aht", "grain": "day"}, "user:ann", owner_id=ann.id)
        views.save_view(s, acme, "shared", "top", {"period": "month"}, "user:ann")
        views.save_view(s, acme, "bobs", "trend", {}, "user:bob", owner_id=bob.id)
        assert [v.name for v in views.list_views(s, acme, visible_to=ann.id)] == ["mine", "shared"]
        updated = views.save_view(s, acme, "mine", "trend", {"metric": "sl"}, "user:ann", owner_id=ann.id)
        assert views.get_view_by_name(s, acme, "mine").spec == {"metric": "sl"} and updated.id
        views.delete_view(s, acme, updated.id, "user:ann")
        with pytest.raises(NotFound):
            views.get_view(s, acme, updated.id)
        with pytest.raises(CallopsError, match="JSON object"):
            views.save_view(s, acme, "x", "trend", [1, 2], "user:ann")  # type: ignore[arg-type]
        trail = [e.action for e in audit.list_audit(s, acme, object_type="saved_view", object_id=updated.id)]
        assert trail == ["view.delete", "view.update", "view.create"]
        deleted = audit.list_audit(s, acme, object_type="saved_view", object_id=updated.id)[0]
        assert (deleted.before["spec"], deleted.after) == ({"metric": "sl"}, None)


def test_timestamps_round_trip_in_utc(store: Store, two_tenants: tuple[str, str]) -> None:
    acme, _ = two_tenants
    shanghai = datetime(2024, 3, 1, 16, 0, tzinfo=tenancy.zoneinfo.ZoneInfo("Asia/Shanghai"))
    with store.session() as s:
        alerts.raise_alert(
            s,
            acme,
            key="k",
            rule_name="r",
            measure="m",
            scope="queue",
            subject="q",
            level="yellow",
            value=None,
            at=shanghai,
        )
    with store.session() as s:
        a = alerts.get_open_alert(s, acme, "k")
        assert a.opened_at == T0 and a.opened_at.tzinfo == UTC  # 16:00 Shanghai is 08:00 UTC
        with pytest.raises(sa.exc.StatementError, match="naive datetime"):
            alerts.raise_alert(
                s,
                acme,
                key="k2",
                rule_name="r",
                measure="m",
                scope="queue",
                subject="q",
                level="yellow",
                value=None,
                at=datetime(2024, 3, 1),
            )


def test_sync_tenants_from_warehouse(store: Store, home: Warehouse) -> None:
    tenancy.create_tenant(home, "acme", "Asia/Shanghai")
    tenancy.create_tenant(home, "beta", "Europe/Paris")
    first = tenants.sync_tenants(store, home)
    assert (first.added, first.updated, first.unchanged) == (["acme", "beta"], [], [])
    home.writer().execute("UPDATE tenants SET timezone = 'UTC' WHERE tenant_id = 'beta'")
    second = tenants.sync_tenants(store, home)
    assert (second.added, second.updated, second.unchanged) == ([], ["beta"], ["acme"])
    with store.session() as s:
        got = [(t.id, t.name, t.timezone) for t in tenants.list_tenants(s)]
        assert got == [("acme", "acme", "Asia/Shanghai"), ("beta", "beta", "UTC")]
        created = s.get(Tenant, "acme").created_at
        assert created == tenancy.get_tenant(home, "acme").created_at
        with pytest.raises(NotFound, match=r"no tenant 'gamma' in the store \(known: acme, beta\)"):
            tenants.get_tenant(s, "gamma")


def test_create_tenant_in_both(store: Store, home: Warehouse) -> None:
    row = tenants.create_tenant(store, home, "gamma", "America/New_York", name="Gamma Corp")
    assert (row.id, row.name, row.timezone) == ("gamma", "Gamma Corp", "America/New_York")
    assert tenancy.get_tenant(home, "gamma").timezone == "America/New_York"
    with pytest.raises(CallopsError, match="already exists"):
        tenants.create_tenant(store, home, "gamma", "UTC")
    with pytest.raises(CallopsError, match="unknown time zone"):
        tenants.create_tenant(store, home, "delta", "Mars/Olympus")
    with store.session() as s:
        assert [t.id for t in tenants.list_tenants(s)] == ["gamma"]
