"""SQL snapshot tests: the generated SQL of a few metrics is pinned in tests/metrics/snapshots/*.sql.

A change to the compiler that changes the SQL shows up here as a diff to review. After an
intended change, regenerate with ``CALLOPS_UPDATE_SNAPSHOTS=1 pytest tests/metrics/test_metrics_sql.py``.
A missing snapshot fails (a deleted file must not be silently recreated); that variable also writes new ones.
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
    check_snapshot(SNAPSHOTS / f"{name}.sql", sql)


def check_snapshot(path: Path, sql: str) -> None:
    """``sql`` equals the pinned file; with ``CALLOPS_UPDATE_SNAPSHOTS=1`` the file is (re)written instead."""
    if os.environ.get("CALLOPS_UPDATE_SNAPSHOTS") == "1":
        path.write_text(sql, encoding="utf-8")
    if not path.exists():
        pytest.fail(f"missing snapshot {path}; write it with CALLOPS_UPDATE_SNAPSHOTS=1 and review it")
    assert sql == path.read_text(encoding="utf-8"), f"SQL of {path.stem} changed; review and update the snapshot"


def test_a_missing_snapshot_fails_unless_asked_to_write_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A deleted snapshot is a failure, not recreated; CALLOPS_UPDATE_SNAPSHOTS=1 writes it."""
    path = tmp_path / "gone.sql"
    monkeypatch.delenv("CALLOPS_UPDATE_SNAPSHOTS", raising=False)
    with pytest.raises(pytest.fail.Exception, match="missing snapshot"):
        check_snapshot(path, "SELECT 1\n")
    assert not path.exists()
    monkeypatch.setenv("CALLOPS_UPDATE_SNAPSHOTS", "1")
    check_snapshot(path, "SELECT 1\n")
    assert path.read_text(encoding="utf-8") == "SELECT 1\n"
    monkeypatch.delenv("CALLOPS_UPDATE_SNAPSHOTS")
    check_snapshot(path, "SELECT 1\n")
    with pytest.raises(AssertionError, match="changed"):
        check_snapshot(path, "SELECT 2\n")


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
