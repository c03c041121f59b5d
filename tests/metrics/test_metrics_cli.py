"""The `metrics` Typer app: list, show, query in every format, top, docs."""

from __future__ import annotations

import json

import pytest
from metrics_testlib import contact
from typer.testing import CliRunner

from callops.metrics.cli import metrics_app
from callops.warehouse import Warehouse

runner = CliRunner()


@pytest.fixture
def cli_wh(tmp_path, monkeypatch, load_rows):
    """A file warehouse with tenant p (two days of contacts) that the CLI opens itself."""
    url = f"duckdb://{tmp_path / 'wh.duckdb'}"
    monkeypatch.setenv("CALLOPS_WAREHOUSE", url)
    with Warehouse(url) as wh:
        load_rows(wh, "p", "contacts", [
            contact("a1", "2026-03-01T09:00:00+08:00", "answered", 5, talk_s=100, csat=5),
            contact("a2", "2026-03-02T09:00:00+08:00", "answered", 30, talk_s=200, csat=2),
            contact("b1", "2026-03-02T09:10:00+08:00", "abandoned", 40),
            contact("a3", "2026-03-02T10:00:00+08:00", "answered", 10, queue="q2", channel="chat", talk_s=50),
        ])
    return url


def test_list_json_and_table() -> None:
    """`list --format json` prints only JSON with every metric; the table shows base metrics."""
    res = runner.invoke(metrics_app, ["list", "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert len(rows) >= 300 and {"id", "label_en", "label_zh", "unit", "direction", "formula"} <= set(rows[0])
    res = runner.invoke(metrics_app, ["list"])
    assert res.exit_code == 0 and "service_level" in res.output


def test_show_prints_formula_parameters_and_sql() -> None:
    """`show` prints the measures, the parameters and the SQL."""
    res = runner.invoke(metrics_app, ["show", "service_level__voice"])
    assert res.exit_code == 0, res.output
    assert "sl_threshold_s = 20.0" in res.output and "SELECT" in res.output and "channel = 'voice'" in res.output
    res = runner.invoke(metrics_app, ["show", "nope"])
    assert res.exit_code != 0 and "unknown metric" in str(res.exception)


def test_query_json(cli_wh) -> None:
    """JSON rows carry period, the dimensions and one key per metric; compare adds previous/change."""
    res = runner.invoke(metrics_app, [
        "query", "--tenant", "p", "--metric", "contacts_answered,service_level,aht_s", "--grain", "day",
        "--by", "queue", "--from", "2026-03-02", "--to", "2026-03-02", "--compare", "previous", "--format", "json",
    ])
    assert res.exit_code == 0, res.output
    rows = {r["queue"]: r for r in json.loads(res.stdout)}
    assert rows["q1"]["period"] == "2026-03-02"
    assert rows["q1"]["contacts_answered"] == 1
    assert rows["q1"]["service_level"] == 0  # a2 waited 30 s, b1 abandoned: 0 of 2 within 20 s
    assert rows["q1"]["aht_s"] == 200
    assert rows["q1"]["contacts_answered__previous"] == 1 and rows["q1"]["aht_s__change"] == 100
    assert rows["q2"]["service_level"] == 1 and rows["q2"]["aht_s__previous"] is None


def test_query_csv_top_where_and_xlsx(cli_wh, tmp_path) -> None:
    """CSV output, a filter, TOP-N, and xlsx to a file."""
    res = runner.invoke(metrics_app, [
        "query", "--tenant", "p", "--metric", "contacts_answered", "--grain", "month", "--by", "queue",
        "--top", "1", "--format", "csv",
    ])
    assert res.exit_code == 0, res.output
    lines = res.stdout.strip().splitlines()
    assert lines[0] == "period,rank,queue,contacts_answered" and lines[1] == "2026-03-01,1,q1,2"
    res = runner.invoke(metrics_app, [
        "query", "--tenant", "p", "--metric", "contacts_answered", "--where", "channel = 'chat'", "--format", "json",
    ])
    assert [r["contacts_answered"] for r in json.loads(res.stdout)] == [1]
    res = runner.invoke(metrics_app, ["query", "--tenant", "p", "--metric", "x", "--where", "drop table contacts"])
    assert res.exit_code != 0
    res = runner.invoke(metrics_app, ["query", "--tenant", "p", "--metric", "contacts_answered", "--where", "center"])
    assert res.exit_code != 0 and "must be a condition" in str(res.exception)  # main() prints it as one line
    openpyxl = pytest.importorskip("openpyxl")
    out = tmp_path / "m.xlsx"
    res = runner.invoke(metrics_app, ["query", "--tenant", "p", "--metric", "contacts_answered,csat_top2",
                                      "--format", "xlsx", "--output", str(out)])
    assert res.exit_code == 0, res.output
    sheet = openpyxl.load_workbook(out).active
    values = list(sheet.values)
    assert values[0] == ("period", "contacts_answered", "csat_top2")
    assert [v[1] for v in values[1:]] == [1, 2] and values[1][2] == 1 and values[2][2] == 0


def test_top_indicators(cli_wh) -> None:
    """`top` prints the default TOP view with previous period, change and target status."""
    res = runner.invoke(metrics_app, ["top", "--tenant", "p", "--period", "day", "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["metric"]: r for r in json.loads(res.stdout)}
    assert rows["contacts_answered"]["value"] == 2 and rows["contacts_answered"]["previous"] == 1
    assert rows["contacts_answered"]["change"] == 1
    sl = rows["service_level"]  # 2026-03-02: a3 within 20 s; a2 not; b1 abandoned -> 1/3, target 0.8
    assert sl["value"] == pytest.approx(1 / 3) and sl["previous"] == 1 and sl["status"] == "missed"
    res = runner.invoke(metrics_app, ["top", "--tenant", "p", "--period", "month"])
    assert res.exit_code == 0 and "service_level" in res.output


def test_tenant_top_override(cli_wh, metrics_home) -> None:
    """A tenant's top.yaml replaces the default list and its targets."""
    path = metrics_home / "tenants" / "p" / "top.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("indicators:\n  - {metric: asa_s, target: 30}\n", encoding="utf-8")
    try:
        res = runner.invoke(metrics_app, ["top", "--tenant", "p", "--json"])
        rows = json.loads(res.stdout)
        assert [r["metric"] for r in rows] == ["asa_s"]
        assert rows[0]["value"] == pytest.approx(20) and rows[0]["status"] == "met"  # (30 + 10) / 2 <= 30
        path.write_text("indicators:\n  - {metric: asa_z}\n", encoding="utf-8")
        res = runner.invoke(metrics_app, ["top", "--tenant", "p"])
        assert res.exit_code != 0 and "asa_s" in str(res.exception)
    finally:
        path.unlink()


def test_docs_command(tmp_path) -> None:
    """`docs` writes the reference (the committed one is checked in test_metrics_catalog)."""
    out = tmp_path / "metrics.md"
    res = runner.invoke(metrics_app, ["docs", "--output", str(out)])
    assert res.exit_code == 0, res.output
    text = out.read_text(encoding="utf-8")
    assert "### service_level" in text and "within_t_over_offered" in text and "服务水平" in text


def test_dates_out_of_range_are_a_clear_error(cli_wh) -> None:
    """A far date is refused by name instead of overflowing in period arithmetic."""
    res = runner.invoke(metrics_app, ["query", "--tenant", "p", "--metric", "contacts_answered",
                                      "--from", "0001-01-01", "--compare", "year"])
    assert res.exit_code != 0 and "out of range" in str(res.exception)
