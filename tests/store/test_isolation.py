"""Tenant isolation: every repository function, called for one tenant, never reads or changes another's rows.

The test enumerates the public functions of the repository modules that take a ``tenant`` and
fails if one is added without being exercised here.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from callops.errors import NotFound
from callops.store import alerts, audit, documents, outbox, users, views
from callops.store.db import Store
from callops.store.models import TENANT_OWNED

from .storetest import T0, add_tenant

MODULES = (users, views, documents, alerts, outbox, audit)
RULES_YAML = "alerts:\n  - name: long-wait\n    measure: longest_wait_s\n    levels: {yellow: 60}\n"


@pytest.fixture(params=[("acme", "beta"), ("t10", "t1")], ids=["acme-beta", "t10-t1"])
def two_tenants(store: Store, request: pytest.FixtureRequest) -> tuple[str, str]:
    """The other tenant and the one whose calls are checked: ``acme`` and ``beta``, then ``t10`` and ``t1``,
    whose name is a prefix of the other's (a filter matching tenant ids by prefix leaks t10 into t1)."""
    other, reader = request.param
    return add_tenant(store, other), add_tenant(store, reader, "Europe/Paris")


def _tenant_functions() -> set[str]:
    found = set()
    for module in MODULES:
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if (
                fn.__module__ == module.__name__
                and not name.startswith("_")
                and "tenant" in inspect.signature(fn).parameters
            ):
                found.add(f"{module.__name__.rsplit('.', 1)[1]}.{name}")
    return found


def _rows_of(store: Store, tenant: str) -> dict[str, list[tuple]]:
    """Every row the tenant owns, table by table (read directly: this is the test's ground truth)."""
    out = {}
    with store.engine.connect() as conn:
        for model in TENANT_OWNED:
            table = model.__table__
            rows = conn.execute(sa.select(table).where(table.c.tenant_id == tenant).order_by(table.c.id)).all()
            out[table.name] = [tuple(r) for r in rows]
    return out


def _populate(store: Store, tenant: str, user: str, suffix: str) -> dict[str, Any]:
    """One of everything for a tenant; returns the ids and names."""
    with store.session() as s:
        u, token = users.create_user(s, tenant, user, "dispatcher", "setup")
        tok = users.list_tokens(s, tenant, u.id)[0]
        v = views.save_view(s, tenant, f"view-{suffix}", "trend", {"metric": "aht"}, "setup", owner_id=u.id)
        documents.save_document(s, tenant, "alert_rules", f"rules-{suffix}", RULES_YAML, "setup")
        documents.save_document(s, tenant, "plans", f"plan-{suffix}", "levels: {1: [move_staff]}\n", "setup")
        a, _ = alerts.raise_alert(
            s,
            tenant,
            key=f"long-wait:queue:{suffix}",
            rule_name="long-wait",
            measure="longest_wait_s",
            scope="queue",
            subject=suffix,
            level="yellow",
            value=70.0,
            at=T0,
        )
        outbox.enqueue(s, tenant, "sms", f"msg-{suffix}", {"text": suffix}, now=T0)
        m = outbox.list_messages(s, tenant)[0]
    with store.session() as s:  # a failed message, so retry() has something to act on
        (c,) = [c for c in outbox.claim_due(s, T0, 100, "w") if c.tenant_id == tenant]
    with store.session() as s:
        outbox.mark_failed(s, c.id, "w", "boom", now=T0, permanent=True)
    return {
        "user": u.id,
        "user_name": user,
        "token": tok.id,
        "plain": token,
        "view": v.id,
        "view_name": v.name,
        "rules": f"rules-{suffix}",
        "plan": f"plan-{suffix}",
        "alert": a.id,
        "key": a.key,
        "message": m.id,
    }


def test_every_repository_function_is_scoped(store: Store, two_tenants: tuple[str, str]) -> None:
    acme, beta = two_tenants
    a = _populate(store, acme, "ann", "a")
    b = _populate(store, beta, "bob", "b")
    exercised: set[str] = set()

    def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        exercised.add(f"{fn.__module__.rsplit('.', 1)[1]}.{fn.__name__}")
        with store.session() as s:
            return fn(s, *args, **kwargs)

    def refused(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        with pytest.raises(NotFound):
            call(fn, *args, **kwargs)

    before = _rows_of(store, acme)

    # Readers called for beta return beta's rows only.
    def only_beta(rows: list[Any]) -> None:
        assert rows and all(r.tenant_id == beta for r in rows)

    only_beta(call(users.list_users, beta))
    only_beta(call(users.list_tokens, beta))
    assert call(users.list_tokens, beta, a["user"]) == []
    only_beta(call(views.list_views, beta))
    assert [v.name for v in call(views.list_views, beta, visible_to=a["user"])] == []
    assert [d.name for d in call(documents.list_documents, beta, "alert_rules")] == ["rules-b"]
    assert [d.name for d in call(documents.list_documents, beta, "plans")] == ["plan-b"]
    only_beta(call(alerts.list_alerts, beta, statuses=None))
    only_beta(call(outbox.list_messages, beta))
    only_beta(call(audit.list_audit, beta))
    assert call(audit.list_audit, beta, object_type="user", object_id=a["user"]) == []
    assert call(alerts.get_open_alert, beta, a["key"]) is None
    assert call(users.get_user, beta, b["user"]).tenant_id == beta  # own rows still work

    # By id or by name, another tenant's object is "not found" — for reads and for changes alike.
    refused(users.get_user, beta, a["user"])
    refused(users.get_user_by_name, beta, "ann")
    refused(users.set_role, beta, a["user"], "admin", "mallory")
    refused(users.set_locale, beta, a["user"], "zh-CN", "mallory")
    refused(users.disable_user, beta, a["user"], "mallory")
    refused(users.issue_token, beta, a["user"], "mallory")
    refused(users.revoke_token, beta, a["token"], "mallory")
    refused(views.get_view, beta, a["view"])
    refused(views.get_view_by_name, beta, a["view_name"])
    refused(views.delete_view, beta, a["view"], "mallory")
    refused(views.save_view, beta, "x", "trend", {}, "mallory", owner_id=a["user"])
    refused(documents.get_document, beta, "alert_rules", a["rules"])
    refused(documents.list_versions, beta, "plans", a["plan"])
    refused(documents.set_enabled, beta, "plans", a["plan"], False, "mallory")
    refused(alerts.get_alert, beta, a["alert"])
    refused(alerts.alert_history, beta, a["alert"])
    refused(alerts.acknowledge, beta, a["alert"], "mallory")
    refused(alerts.resolve, beta, a["alert"], "mallory")
    refused(outbox.get_message, beta, a["message"])
    refused(outbox.retry, beta, a["message"], "mallory")

    # Writers called for beta with acme's names and keys make beta rows and leave acme's alone.
    assert call(users.create_user, beta, "ann", "analyst", "setup")[0].tenant_id == beta
    assert call(views.save_view, beta, a["view_name"], "top", {}, "setup").tenant_id == beta
    doc = call(documents.save_document, beta, "alert_rules", a["rules"], RULES_YAML + "# v2\n", "setup")
    assert doc.version == 1
    alert, kind = call(
        alerts.raise_alert,
        beta,
        key=a["key"],
        rule_name="long-wait",
        measure="longest_wait_s",
        scope="queue",
        subject="a",
        level="red",
        value=999.0,
        at=T0 + timedelta(minutes=1),
    )
    assert (alert.tenant_id, kind) == (beta, "raised")
    assert call(alerts.clear_alert, beta, a["key"], T0 + timedelta(minutes=2)).tenant_id == beta
    assert call(outbox.enqueue, beta, "sms", "msg-a", {"text": "beta"}, now=T0)
    assert call(audit.record, beta, "setup", "test", "thing", 1).tenant_id == beta

    assert _rows_of(store, acme) == before, "a call for tenant beta changed tenant acme's rows"
    missing = _tenant_functions() - exercised
    assert not missing, f"repository functions not covered by the isolation test: {sorted(missing)}"


def test_token_resolves_to_its_own_tenant(store: Store, two_tenants: tuple[str, str]) -> None:
    acme, beta = two_tenants
    a = _populate(store, acme, "ann", "a")
    b = _populate(store, beta, "ann", "b")  # same user name in both tenants
    with store.session() as s:
        assert users.authenticate(s, a["plain"]).tenant_id == acme
        assert users.authenticate(s, b["plain"]).tenant_id == beta
