"""SQL snapshot tests: the generated SQL of a few metrics is pinned in tests/metrics/snapshots/*.sql.

A change to the compiler that changes the SQL shows up here as a diff to review. After an
intended change, regenerate with ``CALLOPS_UPDATE_SNAPSHOTS=1 pytest tests/metrics/test_metrics_sql.py``.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime
from pathlib import Path

import ibis
import pytest

from callops.metrics.catalog import build_catalog, package_files
from callops.metrics.compiler import compile_query
from callops.metrics.spec import Parameters
from callops.tenancy import Tenant
from callops.warehouse import Warehouse

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
CASES = {
    "service_level_day": (["service_level"], "day", [], None),
    "aht_s__voice_interval15_by_queue": (["aht_s__voice"], "interval:15", ["queue"], None),
    "abandon_rate_week_where": (["abandon_rate", "contacts_offered"], "week", ["center"], "queue in ('a', 'b')"),
    "adherence_month_by_team": (["adherence", "occupancy"], "month", ["team"], None),
    "repeat_rate_quarter": (["repeat_rate", "fcr_rate"], "quarter", [], None),
    "nps_derived_year": (["nps"], "year", ["channel"], None),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_sql_snapshot(name: str) -> None:
    """The SQL for a fixed tenant, range and default parameters equals the pinned file."""
    metrics, grain, by, where = CASES[name]
    cat = build_catalog(package_files())
    tenant = Tenant("snap", "Asia/Shanghai", datetime(2026, 1, 1, tzinfo=UTC))
    with Warehouse("duckdb://:memory:") as wh:
        expr = compile_query(wh, tenant, cat, metrics, grain=grain, by=by, start=date(2026, 1, 1),
                             end=date(2026, 3, 31), where=where, params=Parameters())
        sql = ibis.to_sql(expr).strip() + "\n"
    # every read of a table is scoped to the tenant
    assert len(re.findall(r'FROM "\w+" AS', sql)) == len(re.findall(r"\"tenant_id\" = 'snap'", sql))
    path = SNAPSHOTS / f"{name}.sql"
    if os.environ.get("CALLOPS_UPDATE_SNAPSHOTS") == "1" or not path.exists():
        if not path.exists() and os.environ.get("CI"):
            pytest.fail(f"missing snapshot {path}")
        path.write_text(sql, encoding="utf-8")
    assert sql == path.read_text(encoding="utf-8"), f"SQL of {name} changed; review and update the snapshot"


def test_shared_conditions_and_one_contacts_scan() -> None:
    """Shared row conditions are computed once, and contact + repeat measures share one scan of contacts."""
    cat = build_catalog(package_files())
    tenant = Tenant("snap", "Asia/Shanghai", datetime(2026, 1, 1, tzinfo=UTC))
    with Warehouse("duckdb://:memory:") as wh:
        # asa_s and contacts_answered both aggregate under "inbound and answered": one condition column
        sql = ibis.to_sql(compile_query(wh, tenant, cat, ["asa_s", "contacts_answered"], params=Parameters()))
        assert len(re.findall(r'AS "_c\d+"', sql)) == 1
        sql = ibis.to_sql(compile_query(wh, tenant, cat, ["contacts_offered", "repeat_rate"], params=Parameters()))
    assert len(re.findall(r'FROM "contacts"', sql)) == 1 and "UNION" not in sql
