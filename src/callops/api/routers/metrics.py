"""``/api/metrics...`` and ``/api/contacts``: the indicator catalog, queries, TOP indicators and drill-down.

Every route that reads tenant data reads the tenant's history source (issue 17, part 2): its Parquet lake when
``lake.yaml`` names one (:data:`~callops.api.deps.HistoryDep`, :meth:`~callops.api.deps.Resources.read_history`),
else the warehouse. The catalog reads only canonical tables (and ``tenants``), which the lake exports.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import ibis
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from callops import tenancy
from callops.api.deps import HistoryDep, require, resources
from callops.api.errors import check_dates
from callops.errors import CallopsError
from callops.exports import csv_cell, table_headers, workbook_bytes
from callops.lake.tenant import history_lake
from callops.metrics.catalog import load_catalog
from callops.metrics.compiler import compile_query, parse_where, plan_query
from callops.metrics.describe import formula_text, measure_text
from callops.metrics.drill import drill_columns, drill_condition
from callops.metrics.exprs import column_names, to_ibis
from callops.metrics.grains import local_bounds
from callops.metrics.parameters import load_parameters
from callops.metrics.query import plain
from callops.metrics.query import query as run_query
from callops.metrics.sources import SOURCES, build_source
from callops.metrics.top import PERIODS, top_indicators
from callops.store.roles import Permission
from callops.store.users import Principal

router = APIRouter(tags=["metrics"])
MAX_ANSWER_ROWS = 100_000  # rows of one /api/metrics/query answer (issue 21)
Reader = Annotated[Principal, Depends(require(Permission.metrics_read))]
CONTACT_COLUMNS = ("contact_id", "channel", "direction", "center", "queue", "business_type", "agent_id",
                   "customer_id", "offered_at", "answered_at", "ended_at", "outcome")  # fmt: skip


class QueryFormat(StrEnum):
    """Answer formats of ``/api/metrics/query``."""

    json = "json"
    csv = "csv"
    xlsx = "xlsx"


def split(text: str | None) -> list[str]:
    """``a, b`` → ``["a", "b"]``."""
    return [x.strip() for x in (text or "").split(",") if x.strip()]


def metric_row(cat: Any, m: Any) -> dict[str, Any]:
    """Catalog entry of one metric."""
    s = m.spec
    return {"id": m.id, "label_en": m.label.en, "label_zh": m.label.zh, "type": s.type.value, "unit": s.unit,
            "direction": s.direction.value, "version": s.version, "formula": formula_text(cat, m)}  # fmt: skip


@router.get("/metrics", summary="The metric catalog")
def catalog(_who: Reader, all_scopes: bool = False) -> list[dict[str, Any]]:
    """Base metrics (``all_scopes=true``: also each per-channel/direction variant)."""
    cat = load_catalog()
    chosen = list(cat.metrics.values()) if all_scopes else cat.base_metrics()
    return [metric_row(cat, m) for m in chosen]


@router.get("/metrics/query", summary="Metrics per period and dimensions")
def query(
    who: Reader,
    wh: HistoryDep,
    metric: Annotated[str, Query(min_length=1, max_length=2000, description="Metric id(s), comma-separated.")],
    grain: str = "day",
    by: Annotated[str | None, Query(description="Dimensions, comma-separated: center, queue, channel, ...")] = None,
    from_: Annotated[date | None, Query(alias="from", description="First local date.")] = None,
    to: Annotated[date | None, Query(description="Last local date, inclusive.")] = None,
    where: Annotated[str | None, Query(max_length=2000, description="Filter, e.g. queue in ('PS', 'NE').")] = None,
    compare: Annotated[str | None, Query(description="previous or year.")] = None,
    top: Annotated[int | None, Query(ge=1, le=10_000)] = None,
    rank_by: str | None = None,
    format: QueryFormat = QueryFormat.json,
) -> Any:
    """Rows of ``period``, the ``by`` dimensions and one column per metric; csv/xlsx come as a file download."""
    check_dates(**{"from": from_, "to": to})
    ids = split(metric)
    if not ids:
        raise CallopsError("no metric given; see GET /api/metrics")
    table = run_query(wh, who.tenant_id, ids, grain=grain, by=split(by), start=from_, end=to, where=where,
                      compare=compare, top=top, rank_by=rank_by)  # fmt: skip
    if table.num_rows > MAX_ANSWER_ROWS:  # a day × agent × queue answer over years would exhaust the server
        raise CallopsError(f"the answer would have {table.num_rows:,} rows (at most {MAX_ANSWER_ROWS:,}); "
                           "narrow the dates, use a coarser grain, fewer dimensions or top")  # fmt: skip
    rows = [{k: plain(v) for k, v in r.items()} for r in table.to_pylist()]
    columns = table.column_names
    if format == QueryFormat.json:
        return rows
    headers = table_headers(table, tenancy.get_tenant(wh, who.tenant_id).timezone)  # files name their zone
    if format == QueryFormat.csv:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow([csv_cell(c) for c in headers])
        for r in rows:
            w.writerow(["" if r[c] is None else csv_cell(r[c]) for c in columns])
        return Response(buf.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="metrics.csv"'})  # fmt: skip
    xlsx = workbook_bytes([("metrics", headers, [[r[c] for c in columns] for r in rows])])
    return Response(xlsx, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="metrics.xlsx"'})  # fmt: skip


@router.get("/metrics/top", summary="The TOP indicators of a period")
async def top_view(
    request: Request,
    who: Reader,
    period: Annotated[str, Query(description=f"One of: {', '.join(PERIODS)}.")] = "day",
    at: Annotated[date | None, Query(description="A date in the period (default: latest day with contacts).")] = None,
) -> list[dict[str, Any]]:
    """Each TOP indicator with its value, the previous period, the change, the target and its status.

    The wall dashboard's question: identical concurrent asks share one computation (issue 21). On a tenant's
    lake the latest day is the latest exported one.
    """
    check_dates(at=at)
    res = resources(request)
    lake = history_lake(who.tenant_id)  # a small file: `lake use` applies to the next ask, not after the TTL
    key = ("top", who.tenant_id, res.generation.get(who.tenant_id, 0), lake, period, at)
    return await res.shared.get(key, lambda: res.read_history(who.tenant_id, _top, who.tenant_id, period, at))


def _top(wh: Any, tenant_id: str, period: str, at: date | None) -> list[dict[str, Any]]:
    return [{k: plain(v) for k, v in r.items()} for r in top_indicators(wh, tenant_id, period, at)]


@router.get("/metrics/{metric_id}", summary="One metric: formula, measures, parameters and SQL")
def describe(metric_id: str, who: Reader, wh: HistoryDep, grain: str = "day") -> dict[str, Any]:
    """Labels, formula, the measures it is computed from, the tenant's parameters and the SQL it runs."""
    cat = load_catalog()
    m = cat.metric(metric_id)
    t = tenancy.get_tenant(wh, who.tenant_id)
    params = load_parameters(t.tenant_id)
    sql = ibis.to_sql(compile_query(wh, t, cat, [metric_id], grain=grain, params=params))
    plan = plan_query(cat, [metric_id], params)
    values = params.model_dump()
    measures = []
    for use in plan.uses.values():
        scope = "".join(f" and {d} = '{v}'" for d, v in use.scope)
        measures.append({"measure": use.measure, "definition": measure_text(cat.measures[use.measure]) + scope})
    return {**metric_row(cat, m), "description": m.spec.description, "measures": measures,
            "parameters": {p: plain(values[p]) for p in (m.spec.parameters or ())}, "grain": grain,
            "sql": str(sql)}  # fmt: skip


@router.get("/contacts", summary="Drill-down: the contacts behind a number")
def contacts(
    who: Reader,
    wh: HistoryDep,
    from_: Annotated[date | None, Query(alias="from", description="First local date.")] = None,
    to: Annotated[date | None, Query(description="Last local date, inclusive.")] = None,
    where: Annotated[str | None, Query(max_length=2000, description="Same filter language as metrics.")] = None,
    outcome: Annotated[str | None, Query(max_length=40, description="answered, abandoned, ...")] = None,
    metric: Annotated[str | None, Query(max_length=200, description="Only the contacts this metric counts "
                                        "against it (abandon_rate: the abandoned; service_level: the late).")] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Contacts offered between ``from`` and ``to`` (tenant's local dates) matching ``where``, by arrival time."""
    check_dates(**{"from": from_, "to": to})
    if from_ and to and to < from_:
        raise CallopsError(f"to {to} is before from {from_}")
    t = tenancy.get_tenant(wh, who.tenant_id)
    tree = parse_where(where)
    needs = column_names(tree) if tree is not None else set()
    missing = sorted(needs - set(SOURCES["contacts"].dimensions))
    if missing:
        raise CallopsError(f"dimension {missing[0]!r} is not available for contacts")
    params = load_parameters(t.tenant_id)
    cat = load_catalog() if metric else None
    if cat is not None:
        cat.metric(metric)  # unknown id: 404 naming close ids
        needs = needs | drill_columns(cat, metric, params)
    rel = build_source(wh, t, "contacts", needs, params.repeat_window_days)
    if cat is not None and (cond := drill_condition(rel, cat, metric, params)) is not None:
        rel = rel.filter(cond)
    lo, hi = local_bounds(from_, to, t.timezone)
    if lo is not None:
        rel = rel.filter(rel.offered_at >= lo)
    if hi is not None:
        rel = rel.filter(rel.offered_at < hi)
    if tree is not None:
        condition = to_ibis(tree, lambda name, r=rel: r[name], what="where")
        if not condition.type().is_boolean():
            raise CallopsError(f"where {where!r} is not a condition (e.g. queue = 'billing')")
        rel = rel.filter(condition.fill_null(False))
    if outcome:
        rel = rel.filter(rel.outcome == outcome)
    total = int(rel.count().to_pyarrow().as_py())
    rows = (rel.order_by([rel.offered_at, rel.contact_id]).select(*CONTACT_COLUMNS)
            .limit(page_size, offset=(page - 1) * page_size).to_pyarrow().to_pylist())  # fmt: skip
    zone = ZoneInfo(t.timezone)  # times shown in the tenant's zone (ISO with its offset)
    local = [{k: plain(v.astimezone(zone) if isinstance(v, datetime) and v.tzinfo else v) for k, v in r.items()}
             for r in rows]  # fmt: skip
    return {"total": total, "page": page, "page_size": page_size, "timezone": t.timezone, "contacts": local}
