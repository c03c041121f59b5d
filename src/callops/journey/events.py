"""The events a journey view reads: one tenant, a period and a filter, through :func:`callops.tenancy.scoped`.

A view selects **whole sessions**: those that start in the period (local dates of the tenant, end inclusive) and
have at least one event matching ``--where``. Cutting sessions at the period edge or dropping the events that do
not match would invent paths that no customer took.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import ibis
import ibis.expr.types as ir

from callops.errors import CallopsError
from callops.metrics.exprs import column_names, parse_checked, to_ibis
from callops.metrics.grains import local_bounds
from callops.tenancy import Tenant, scoped
from callops.warehouse import Warehouse

EVENT_COLUMNS = ("session_id", "seq", "customer_id", "ts", "channel", "step", "outcome", "error_code", "contact_id")
# Columns a filter may name: the event's own, the customer's segment, the business of the contact.
CUSTOMER_COLUMNS = ("plan", "region", "vip_level", "status", "network_generation", "arpu", "tenure_months")
CONTACT_COLUMNS = ("business_type",)
FILTER_COLUMNS = (*EVENT_COLUMNS[2:], "resource", *CUSTOMER_COLUMNS, *CONTACT_COLUMNS)


@dataclass(frozen=True)
class Selection:
    """Which sessions a view reads: local dates ``start``..``end`` (inclusive) and a ``where`` condition."""

    start: date | None = None
    end: date | None = None
    where: str | None = None


def events(wh: Warehouse, tenant: Tenant, sel: Selection | None = None) -> ir.Table:
    """The tenant's journey events of the selected sessions (all their events), as an Ibis expression."""
    sel = sel or Selection()
    ev = scoped(wh, tenant, "journey_events")
    if sel.start and sel.end and sel.end < sel.start:
        raise CallopsError(f"--to {sel.end} is before --from {sel.start}")
    lo, hi = local_bounds(sel.start, sel.end, tenant.timezone)
    if lo is not None or hi is not None:
        starts = ev.group_by("session_id").aggregate(_start=ev.ts.min())
        if lo is not None:
            starts = starts.filter(starts._start >= lo)
        if hi is not None:
            starts = starts.filter(starts._start < hi)
        ev = ev.semi_join(starts.select("session_id"), "session_id")
    if sel.where and sel.where.strip():
        tree = parse_checked(sel.where, FILTER_COLUMNS, what="--where")
        names = column_names(tree)
        rel = ev
        need_cust = [c for c in CUSTOMER_COLUMNS if c in names]
        if need_cust:
            cu = scoped(wh, tenant, "customers").select("customer_id", *need_cust)
            rel = rel.left_join(cu, "customer_id").select(rel, *[cu[c] for c in need_cust])
        if "business_type" in names:
            co = scoped(wh, tenant, "contacts").select("contact_id", "business_type")
            rel = rel.left_join(co, "contact_id").select(rel, co.business_type)
        cond = to_ibis(tree, lambda name: rel[name], what="--where")
        if not isinstance(cond, ir.BooleanValue):
            raise CallopsError(f"--where must be a condition (e.g. channel = 'app'), not {sel.where!r}")
        hits = rel.filter(cond.fill_null(False)).select("session_id").distinct()
        ev = ev.semi_join(hits, "session_id")
    return ev


def run_sql(wh: Warehouse, relations: dict[str, ir.Table], sql: str, params: list[Any] | None = None) -> list[dict]:
    """Run ``sql`` with each Ibis expression of ``relations`` bound as a CTE of that name; rows as dicts.

    The expressions come from :func:`callops.tenancy.scoped`, so their SQL carries the tenant filter: this is
    how views that need window functions and list aggregates read tenant data without naming a table.
    """
    ctes = ", ".join(f"{name} AS ({ibis.to_sql(expr, dialect='duckdb')})" for name, expr in relations.items())
    query = f"WITH {ctes} {sql}" if ctes else sql
    wh.backend.raw_sql("SET enable_progress_bar = false")  # DuckDB would draw it on the terminal (--json output)
    cur = wh.backend.raw_sql(query, parameters=params) if params else wh.backend.raw_sql(query)
    # DuckDB's execute returns the connection itself: fetch, never close it
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
