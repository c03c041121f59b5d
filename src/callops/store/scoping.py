"""The one place that scopes a store query to a tenant (the store's twin of :func:`callops.tenancy.scoped`).

Repositories never write ``select(Model)`` for a tenant-owned model: they call :func:`scoped`,
which returns a SELECT already filtered to the tenant, or :func:`get_owned` for one row by id.
The few cross-tenant reads (authenticating a token, the notifier claiming due messages) are
named as such in their modules.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from callops import tenancy
from callops.errors import CallopsError, NotFound
from callops.store import models

M = TypeVar("M", bound=models.Base)


def tenant_key(tenant: str | tenancy.Tenant | models.Tenant) -> str:
    """The tenant id of ``tenant`` (a name, a warehouse tenant or a store tenant), validated."""
    if isinstance(tenant, tenancy.Tenant):
        key = tenant.tenant_id
    elif isinstance(tenant, models.Tenant):
        key = tenant.id
    else:
        key = tenant
    if not isinstance(key, str) or not tenancy.TENANT_ID.match(key):
        raise CallopsError(f"invalid tenant {key!r}")
    return key


def scoped(model: type[M], tenant: str | tenancy.Tenant | models.Tenant) -> Select[tuple[M]]:
    """``SELECT model WHERE tenant_id = tenant``: the only way repositories read tenant-owned rows."""
    if not (isinstance(model, type) and issubclass(model, models.TenantOwned)):
        raise TypeError(f"{model!r} is not a tenant-owned model")
    return select(model).where(model.tenant_id == tenant_key(tenant))  # type: ignore[attr-defined]


def get_owned(session: Session, model: type[M], tenant: str | tenancy.Tenant | models.Tenant, id_: Any) -> M:
    """The row ``id_`` of ``model`` if it belongs to ``tenant``; :class:`NotFound` otherwise.

    Another tenant's row is reported exactly like a missing one, so ids leak nothing.
    """
    row = session.scalars(scoped(model, tenant).where(model.id == id_)).one_or_none()  # type: ignore[attr-defined]
    if row is None:
        raise NotFound(
            f"no {model.__tablename__.rstrip('s').replace('_', ' ')} {id_!r} in tenant {tenant_key(tenant)!r}"
        )
    return row
