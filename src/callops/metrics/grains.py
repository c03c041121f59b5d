"""Time grains in a tenant's zone: period keys, date ranges and period shifts.

Intraday grains (``interval:15``, ``interval:30``, ``hour``) are built from the epoch
seconds of the *local* wall-clock time (floor to the bucket, back to a timestamp):
plain arithmetic that every Ibis backend (Spark included) runs the same way.
Calendar grains truncate the local time and return a date (weeks start on Monday).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pandas as pd

from callops.errors import CallopsError
from callops.timezones import to_local

CALENDAR = {"day": "D", "week": "W", "month": "M", "quarter": "Q", "year": "Y"}
GRAINS = ("interval:15", "interval:30", "hour", *CALENDAR)
_INTERVAL = re.compile(r"^interval:(\d+)$")


def bucket_seconds(grain: str) -> int | None:
    """Length in seconds of an intraday grain; None for calendar grains."""
    if grain == "hour":
        return 3600
    m = _INTERVAL.match(grain)
    if m:
        minutes = int(m.group(1))
        if minutes <= 0 or 1440 % minutes:
            raise CallopsError(f"grain {grain!r}: the interval must divide a day (5, 10, 15, 30, 60 ...)")
        return minutes * 60
    return None


def check_grain(grain: str) -> str:
    """Return ``grain`` if valid, else raise with the valid names."""
    if grain in CALENDAR or bucket_seconds(grain) is not None:
        return grain
    raise CallopsError(f"unknown grain {grain!r}; expected one of: {', '.join(GRAINS)} (or interval:N)")


@ibis.udf.scalar.builtin(name="from_utc_timestamp")
def _spark_from_utc(ts: dt.Timestamp(), zone: str) -> dt.Timestamp():  # type: ignore[valid-type]
    """Spark's ``from_utc_timestamp(ts, zone)``: the wall-clock time in ``zone`` of a UTC instant."""


def local_time(ts: ir.TimestampValue, zone: str, backend: str = "duckdb") -> ir.TimestampValue:
    """The local wall-clock time of instant ``ts`` in ``zone`` on the named Ibis backend.

    DuckDB uses :func:`callops.timezones.to_local`; Spark (session time zone UTC) has its own function.
    """
    if backend == "pyspark":
        return _spark_from_utc(ts, zone)
    return to_local(ts, zone)


def period_expr(ts: ir.TimestampValue, zone: str, grain: str, backend: str = "duckdb") -> ir.Value:
    """The period key of instant ``ts`` at ``grain`` in ``zone``: a naive local timestamp or a date."""
    local = local_time(ts, zone, backend)
    size = bucket_seconds(grain)
    if size is not None:
        secs = local.epoch_seconds()
        return ((secs // size) * size).as_timestamp("s")
    if grain == "day":
        return local.date()
    return local.truncate(CALENDAR[grain]).date()


# Dates a query may name: wide enough for any contact history, narrow enough that period arithmetic
# (previous year, the day after the end) never leaves Python's date range.
MIN_DATE, MAX_DATE = date(1900, 1, 1), date(2999, 12, 31)


def local_bounds(start: date | None, end: date | None, zone: str) -> tuple[datetime | None, datetime | None]:
    """UTC instants of local midnight at ``start`` and after ``end`` (inclusive end date)."""
    for d in (start, end):
        if d is not None and not MIN_DATE <= d <= MAX_DATE:
            raise CallopsError(f"date {d.isoformat()} is out of range ({MIN_DATE} to {MAX_DATE})")
    tz = ZoneInfo(zone)
    lo = datetime.combine(start, time(), tz) if start else None
    hi = datetime.combine(end + timedelta(days=1), time(), tz) if end else None
    return lo, hi


def _month_shift(d: date, months: int) -> date:
    total = d.year * 12 + d.month - 1 + months
    return date(total // 12, total % 12 + 1, 1)


def period_start(d: date, grain: str) -> date:
    """First day of the calendar period containing ``d`` (intraday grains: the day itself)."""
    if grain == "week":
        return d - timedelta(days=d.weekday())
    if grain == "month":
        return d.replace(day=1)
    if grain == "quarter":
        return date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)
    if grain == "year":
        return date(d.year, 1, 1)
    return d


def period_end(d: date, grain: str) -> date:
    """Last day of the calendar period containing ``d`` (intraday grains: the day itself)."""
    if grain in ("week",):
        return period_start(d, grain) + timedelta(days=6)
    if grain in ("month", "quarter", "year"):
        months = {"month": 1, "quarter": 3, "year": 12}[grain]
        return _month_shift(period_start(d, grain), months) - timedelta(days=1)
    return d


def shift(period: pd.Timestamp | date, grain: str, compare: str) -> pd.Timestamp | date:
    """The period that ``period`` is compared with: the one before it, or the same one a year earlier."""
    if compare == "year":
        if grain == "week":
            return period - timedelta(weeks=52)  # same weekday a year earlier
        try:
            return period.replace(year=period.year - 1)
        except ValueError:  # 29 February
            return period.replace(year=period.year - 1, day=28)
    size = bucket_seconds(grain)
    if size is not None:
        return period - timedelta(seconds=size)
    if grain == "day":
        return period - timedelta(days=1)
    if grain == "week":
        return period - timedelta(weeks=1)
    months = {"month": 1, "quarter": 3, "year": 12}[grain]
    return _month_shift(period, -months)


def extended_start(start: date, grain: str, compare: str) -> date:
    """First local day to read so the comparison period of the first period is complete."""
    first = period_start(start, grain)
    if compare == "year":
        back = shift(first, grain, "year")
    elif bucket_seconds(grain) is not None:
        back = first - timedelta(days=1)
    else:
        back = shift(first, grain, "previous")
    return back
