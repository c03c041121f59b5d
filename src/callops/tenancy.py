"""Tenants and the one place that scopes a query to a tenant.

Every read of a tenant's data goes through :func:`scoped`. It is the only
function in callops that turns a table name into an Ibis expression, and the
expression it returns is already filtered to one tenant.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from callops import schema
from callops.errors import CallopsError, NotFound
from callops.settings import DEFAULT_TIMEZONE
from callops.warehouse import Warehouse

if TYPE_CHECKING:
    import ibis

# \Z, not $: "$" also matches before a final newline, which let "t1\n" through as a tenant name
TENANT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}\Z")
# Tables whose rows belong to a tenant (canonical ones plus load bookkeeping).
SCOPED_TABLES = (*schema.TABLES, "loads", "rejects", "load_warnings")


@dataclass(frozen=True)
class Tenant:
    """A tenant: an isolated set of data with its own time zone."""

    tenant_id: str
    timezone: str
    created_at: datetime


def validate_timezone(zone: str) -> str:
    """Return ``zone`` if it is a known IANA zone, else raise a clear error."""
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise CallopsError(f"unknown time zone {zone!r}; use an IANA name such as Asia/Shanghai") from None
    return zone


def create_tenant(wh: Warehouse, tenant_id: str, timezone: str = DEFAULT_TIMEZONE) -> Tenant:
    """Create a tenant; raise if the name is invalid or already taken."""
    if not TENANT_ID.match(tenant_id):
        raise CallopsError(
            f"invalid tenant name {tenant_id!r}: use lower-case letters, digits, '-' and '_' (at most 63)"
        )
    validate_timezone(timezone)
    con = wh.writer()
    if con.execute("SELECT 1 FROM tenants WHERE tenant_id = ?", [tenant_id]).fetchall():
        raise CallopsError(f"tenant {tenant_id!r} already exists")
    now = datetime.now(UTC)
    con.execute("INSERT INTO tenants VALUES (?, ?, ?)", [tenant_id, timezone, now])
    return Tenant(tenant_id, timezone, now)


def list_tenants(wh: Warehouse) -> list[Tenant]:
    """All tenants, by name (an administrator's view: no tenant data is read)."""
    if wh.external:  # Spark or the lake: the tenants table is a view of the backend
        t = wh.backend.table("tenants").select("tenant_id", "timezone", "created_at").order_by("tenant_id")
        return [Tenant(**r) for r in t.to_pyarrow().to_pylist()]
    rows = wh.writer().execute("SELECT tenant_id, timezone, created_at FROM tenants ORDER BY tenant_id").fetchall()
    return [Tenant(*r) for r in rows]


def get_tenant(wh: Warehouse, tenant_id: str) -> Tenant:
    """The tenant ``tenant_id``; raise :class:`NotFound` with the known names if absent."""
    if wh.external:
        row = [(t.tenant_id, t.timezone, t.created_at) for t in list_tenants(wh) if t.tenant_id == tenant_id]
    else:
        row = wh.writer().execute(
            "SELECT tenant_id, timezone, created_at FROM tenants WHERE tenant_id = ?", [tenant_id]
        ).fetchall()
    if not row:
        known = ", ".join(t.tenant_id for t in list_tenants(wh)) or "none yet"
        raise NotFound(f"no tenant {tenant_id!r} (known: {known}); create it with `callops tenant create`")
    return Tenant(*row[0])


def scoped(wh: Warehouse, tenant: Tenant | str, table: str) -> ibis.Table:
    """The Ibis table ``table`` filtered to one tenant: the only way to read tenant data."""
    tenant_id = tenant.tenant_id if isinstance(tenant, Tenant) else get_tenant(wh, tenant).tenant_id
    if table not in SCOPED_TABLES:
        raise NotFound(f"unknown table {table!r}; expected one of: {', '.join(SCOPED_TABLES)}")
    expr = wh.backend.table(table)
    return expr.filter(expr.tenant_id == tenant_id)
