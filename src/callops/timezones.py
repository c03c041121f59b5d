"""Converting stored UTC instants to a tenant's local wall-clock time inside queries."""

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir


@ibis.udf.scalar.builtin(name="timezone")
def _duckdb_timezone(zone: str, ts: dt.Timestamp(timezone="UTC")) -> dt.Timestamp():  # type: ignore[valid-type]
    """DuckDB's ``timezone(zone, timestamptz)``: the local wall-clock time in ``zone``."""


def to_local(ts: "ir.TimestampValue", zone: str) -> "ir.TimestampValue":
    """The wall-clock time of instant ``ts`` in ``zone`` (DST-aware), as a naive timestamp."""
    return _duckdb_timezone(zone, ts)
