"""Helpers shared by the store tests (a uniquely named module: test folders are not packages)."""

from __future__ import annotations

from datetime import UTC, datetime

from callops import tenancy
from callops.store import tenants
from callops.store.db import Store

T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


def add_tenant(store: Store, tenant_id: str, timezone: str = "Asia/Shanghai") -> str:
    """Put a tenant into the store the way a warehouse sync does."""
    with store.session() as s:
        tenants.upsert_tenant(s, tenancy.Tenant(tenant_id, timezone, T0))
    return tenant_id
