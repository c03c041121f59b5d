"""Small read-only reports over a tenant's data (all reads via :func:`callops.tenancy.scoped`)."""

from __future__ import annotations

from callops import tenancy
from callops.timezones import to_local
from callops.warehouse import Warehouse


def rejects(
    wh: Warehouse, tenant: str, *, load_id: str | None = None, limit: int | None = 100, warnings: bool = False
) -> list[dict]:
    """Rejected rows of a tenant (newest loads first), optionally of one load.

    With ``warnings``: the fields loads emptied instead (the row loaded), with the raw value each had.
    """
    t = tenancy.get_tenant(wh, tenant)
    r = tenancy.scoped(wh, t, "load_warnings" if warnings else "rejects")
    if load_id is not None:
        r = r.filter(r.load_id == load_id)
    r = r.order_by([r.load_id.desc(), r.file, r.line])
    if limit:
        r = r.limit(limit)
    cols = ["load_id", "table_name", "file", "line", "column_name", "reason", "raw"]
    return r.select(cols).to_pyarrow().to_pylist()


def daily_contacts(wh: Warehouse, tenant: str) -> list[dict]:
    """Contacts offered, answered, abandoned and self-served per local day of the tenant."""
    t = tenancy.get_tenant(wh, tenant)
    c = tenancy.scoped(wh, t, "contacts")
    day = to_local(c.offered_at, t.timezone).date().name("day")
    agg = c.group_by(day).aggregate(
        contacts=c.count(),
        answered=(c.outcome == "answered").sum(),
        abandoned=(c.outcome == "abandoned").sum(),
        self_served=(c.outcome == "self_served").sum(),
    )
    rows = agg.order_by("day").to_pyarrow().to_pylist()
    for row in rows:
        row["day"] = row["day"].isoformat()
    return rows
