"""The audit log: who changed what in a tenant, with the object before and after."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from callops.store import models
from callops.store.scoping import scoped, tenant_key

# Columns never copied into the audit log.
SECRET_COLUMNS = frozenset({"token_hash"})


def snapshot(row: models.Base | None, exclude: frozenset[str] = frozenset()) -> dict[str, Any] | None:
    """A JSON-safe dict of a row's columns (secrets left out), for the audit log."""
    if row is None:
        return None
    out: dict[str, Any] = {}
    for attr in inspect(row).mapper.column_attrs:
        if attr.key in SECRET_COLUMNS or attr.key in exclude:
            continue
        out[attr.key] = _jsonable(getattr(row, attr.key))
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def record(
    session: Session,
    tenant: str,
    actor: str,
    action: str,
    object_type: str,
    object_id: object | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> models.AuditEntry:
    """Append an entry to the tenant's audit log (in the caller's transaction)."""
    entry = models.AuditEntry(
        tenant_id=tenant_key(tenant),
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        before=before,
        after=after,
        at=models.utcnow(),
    )
    session.add(entry)
    session.flush()
    return entry


def list_audit(
    session: Session,
    tenant: str,
    *,
    object_type: str | None = None,
    object_id: object | None = None,
    limit: int = 100,
) -> list[models.AuditEntry]:
    """The tenant's newest audit entries first, optionally for one object type or object."""
    q = scoped(models.AuditEntry, tenant)
    if object_type is not None:
        q = q.where(models.AuditEntry.object_type == object_type)
    if object_id is not None:
        q = q.where(models.AuditEntry.object_id == str(object_id))
    q = q.order_by(models.AuditEntry.at.desc(), models.AuditEntry.id.desc()).limit(limit)
    return list(session.scalars(q))
