"""Metric query exports name the tenant's zone on their time columns (issue 16): an hourly period is a wall-clock
time in the tenant's zone, so its header says which zone; a daily period is a date and says nothing."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pyarrow as pa
import pytest
from metrics_testlib import contact
from typer.testing import CliRunner

from callops.exports import table_headers
from callops.metrics.cli import metrics_app
from callops.warehouse import Warehouse

runner = CliRunner()


@pytest.fixture
def cli_wh(tmp_path, monkeypatch, load_rows):
    """A file warehouse with tenant p (zone Asia/Shanghai by default) that the CLI opens itself."""
    url = f"duckdb://{tmp_path / 'wh.duckdb'}"
    monkeypatch.setenv("CALLOPS_WAREHOUSE", url)
    with Warehouse(url) as wh:
        load_rows(wh, "p", "contacts", [contact("a1", "2026-03-01T09:10:00+08:00", "answered", 5, talk_s=100),
                                        contact("a2", "2026-03-01T10:20:00+08:00", "answered", 9, talk_s=80)])
    return url


def test_table_headers_name_the_zone_on_times_only() -> None:
    t = pa.table({"at": pa.array([datetime(2026, 3, 1, tzinfo=UTC)]), "day": pa.array([date(2026, 3, 1)]),
                  "n": pa.array([1])})  # fmt: skip
    assert table_headers(t, "Asia/Shanghai") == ["at (Asia/Shanghai)", "day", "n"]
    assert table_headers(t, None) == ["at", "day", "n"]


def test_query_csv_and_xlsx_headers_say_the_zone(cli_wh, tmp_path) -> None:
    res = runner.invoke(metrics_app, ["query", "--tenant", "p", "--metric", "contacts_answered", "--grain", "hour",
                                      "--format", "csv"])  # fmt: skip
    assert res.exit_code == 0, res.output
    rows = list(csv.reader(io.StringIO(res.stdout)))
    assert rows[0] == ["period (Asia/Shanghai)", "contacts_answered"]
    assert [r[0][:16] for r in rows[1:]] == ["2026-03-01T09:00", "2026-03-01T10:00"]  # local wall clock
    res = runner.invoke(metrics_app, ["query", "--tenant", "p", "--metric", "contacts_answered", "--grain", "day",
                                      "--format", "csv"])  # fmt: skip
    assert res.stdout.splitlines()[0] == "period,contacts_answered"  # a date names no zone
    openpyxl = pytest.importorskip("openpyxl")
    out = tmp_path / "m.xlsx"
    res = runner.invoke(metrics_app, ["query", "--tenant", "p", "--metric", "contacts_answered", "--grain",
                                      "interval:30", "--format", "xlsx", "--output", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert next(openpyxl.load_workbook(out).active.values) == ("period (Asia/Shanghai)", "contacts_answered")
