"""Tenants in the store: a mirror of the warehouse ``tenants`` table.

The warehouse is the source of truth: ``callops tenant create`` writes a tenant there (its name
must be valid and its time zone known); :func:`create_tenant` does that and writes the store copy
in the same call, for the CLI and the API to use. :func:`sync_tenants` copies every warehouse tenant into
the store (inserting new ones, updating a changed time zone, deleting nothing), and the user
CLI calls it when it is asked about a tenant the store does not know yet. Store rows reference
``tenants.id`` by foreign key, so a tenant must be synced before it can have users or alerts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from callops import tenancy
from callops.errors import NotFound
from callops.store import models
from callops.store.db import Store
from callops.store.scoping import tenant_key
from callops.warehouse import Warehouse


@dataclass
class SyncResult:
    """What :func:`sync_tenants` changed."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def upsert_tenant(session: Session, tenant: tenancy.Tenant, name: str | None = None) -> tuple[models.Tenant, str]:
    """Insert or refresh the store copy of a warehouse tenant; returns the row and added/updated/unchanged."""
    tenancy.validate_timezone(tenant.timezone)
    row = session.get(models.Tenant, tenant_key(tenant))
    if row is None:
        row = models.Tenant(
            id=tenant.tenant_id, name=name or tenant.tenant_id, timezone=tenant.timezone, created_at=tenant.created_at
        )
        session.add(row)
        session.flush()
        return row, "added"
    if row.timezone != tenant.timezone or (name is not None and row.name != name):
        row.timezone = tenant.timezone
        row.name = name or row.name
        session.flush()
        return row, "updated"
    return row, "unchanged"


def create_tenant(
    store: Store, warehouse: Warehouse, tenant_id: str, timezone: str, name: str | None = None
) -> models.Tenant:
    """Create a tenant in the warehouse and its store copy at once (what ``callops tenant create`` should call)."""
    t = tenancy.create_tenant(warehouse, tenant_id, timezone)  # validates the name and zone, refuses duplicates
    with store.session() as s:
        row, _ = upsert_tenant(s, t, name)
    return row


def sync_tenants(store: Store, warehouse: Warehouse) -> SyncResult:
    """Copy every warehouse tenant into the store (one transaction); nothing is deleted."""
    result = SyncResult()
    with store.session() as s:
        for t in tenancy.list_tenants(warehouse):
            _, what = upsert_tenant(s, t)
            getattr(result, what).append(t.tenant_id)
    return result


def get_tenant(session: Session, tenant: str) -> models.Tenant:
    """The store's tenant ``tenant``; :class:`NotFound` (with the known names) if it is not synced."""
    row = session.get(models.Tenant, tenant_key(tenant))
    if row is None:
        known = ", ".join(t.id for t in list_tenants(session)) or "none yet"
        raise NotFound(f"no tenant {tenant!r} in the store (known: {known}); create it with `callops tenant create`")
    return row


def list_tenants(session: Session) -> list[models.Tenant]:
    """All tenants of the store, by id (an administrator's view: no tenant-owned rows are read)."""
    return list(session.scalars(select(models.Tenant).order_by(models.Tenant.id)))
