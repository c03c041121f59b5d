"""The query API for notebooks, the CLI and the console: metrics as an Arrow table.

>>> from callops.metrics.query import query
>>> t = query(wh, "bank", ["service_level", "asa_s"], grain="day", by=["queue"],
...           start=date(1999, 1, 1), end=date(1999, 1, 31), compare="previous")
>>> t.to_pandas()

Period comparison adds ``<id>__previous`` (the value of the period before, or of the
same period a year earlier) and ``<id>__change`` (value − previous). TOP-N keeps the
``top`` best rows of each period by ``rank_by`` (best = the metric's direction).
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

import pandas as pd
import pyarrow as pa

from callops import tenancy
from callops.errors import CallopsError
from callops.metrics.catalog import Catalog, load_catalog
from callops.metrics.compiler import PERIOD, compile_query
from callops.metrics.grains import check_grain, extended_start, shift
from callops.metrics.parameters import load_parameters
from callops.metrics.spec import Direction, Parameters
from callops.warehouse import Warehouse

COMPARES = ("previous", "year")


def query(
    wh: Warehouse,
    tenant: str,
    metrics: list[str] | str,
    grain: str = "day",
    by: list[str] | tuple[str, ...] = (),
    start: date | None = None,
    end: date | None = None,
    where: str | None = None,
    compare: str | None = None,
    top: int | None = None,
    rank_by: str | None = None,
    *,
    params: dict[str, Any] | Parameters | None = None,
    catalog: Catalog | None = None,
) -> pa.Table:
    """Metrics of ``tenant`` per period (and ``by`` dimensions) as a ``pyarrow.Table``.

    ``start``/``end`` are inclusive local dates in the tenant's zone; ``params``
    override the tenant's metric parameters for this query.
    """
    metric_ids = [m.strip() for m in metrics.split(",")] if isinstance(metrics, str) else list(metrics)
    cat = catalog or load_catalog()
    t = tenancy.get_tenant(wh, tenant)
    p = load_parameters(t.tenant_id, params)
    check_grain(grain)
    by = list(by)
    if compare not in (None, *COMPARES):
        raise CallopsError(f"unknown comparison {compare!r}; expected previous or year")
    if top is not None:
        if top <= 0:
            raise CallopsError("--top must be a positive number")
        rank_by = rank_by or metric_ids[0]
    if rank_by is not None and rank_by not in metric_ids:
        metric_ids.append(rank_by)
    read_from = extended_start(start, grain, compare) if (compare and start) else start
    expr = compile_query(wh, t, cat, metric_ids, grain=grain, by=by, start=read_from, end=end, where=where, params=p)
    table = expr.to_pyarrow()
    if compare is None and top is None:
        return table
    df = table.to_pandas()
    if compare:
        df = _compare(df, metric_ids, by, grain, compare)
        if start is not None:
            df = df[pd.Series([_day(v) >= start for v in df[PERIOD]], index=df.index, dtype=bool)]
    if top is not None:
        higher = cat.metric(rank_by).spec.direction != Direction.LOWER
        df = _top(df, rank_by or metric_ids[0], top, higher)
    return pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)


def _day(value: Any) -> date:
    return value.date() if hasattr(value, "date") and callable(value.date) else value


def _compare(df: pd.DataFrame, metric_ids: list[str], by: list[str], grain: str, compare: str) -> pd.DataFrame:
    """Add ``<id>__previous`` and ``<id>__change`` by looking up the shifted period with the same dimensions."""
    lookup = df.set_index([PERIOD, *by])[metric_ids]
    prev_keys = [(shift(row[PERIOD], grain, compare), *(row[d] for d in by)) for _, row in df.iterrows()]
    index = pd.MultiIndex.from_tuples(prev_keys, names=[PERIOD, *by]) if by else pd.Index(
        [k[0] for k in prev_keys], name=PERIOD
    )
    if not by:
        lookup.index = pd.Index(lookup.index.get_level_values(0) if isinstance(lookup.index, pd.MultiIndex)
                                else lookup.index, name=PERIOD)
    previous = lookup.reindex(index)
    for mid in metric_ids:
        df[f"{mid}__previous"] = previous[mid].to_numpy()
        df[f"{mid}__change"] = df[mid] - df[f"{mid}__previous"]
    return df


def _top(df: pd.DataFrame, rank_by: str, n: int, higher: bool) -> pd.DataFrame:
    """The ``n`` best rows of each period by ``rank_by`` (rows with no value last), with their rank."""
    ordered = df.sort_values([PERIOD, rank_by], ascending=[True, not higher], na_position="last", kind="stable")
    ordered = ordered.groupby(PERIOD, sort=False).head(n).copy()
    ordered.insert(1, "rank", ordered.groupby(PERIOD, sort=False).cumcount() + 1)
    return ordered


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """Convenience for notebooks: the result as a pandas DataFrame."""
    return table.to_pandas()


def plain(value: Any) -> Any:
    """JSON/CSV-ready value of a result cell: dates as ISO text, NaN as null, numpy scalars as Python."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        return plain(value.item())
    return value
