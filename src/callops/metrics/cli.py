"""``callops metrics ...``: list, show, query, top and docs (a Typer app the main CLI mounts)."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import ibis
import typer
from rich.console import Console
from rich.table import Table

from callops import tenancy
from callops.cli import date_option
from callops.errors import CallopsError
from callops.exports import csv_cell, table_headers, workbook_bytes
from callops.metrics.catalog import build_catalog, load_catalog, package_files
from callops.metrics.compiler import compile_query, plan_query
from callops.metrics.describe import formula_text, measure_text, write_docs
from callops.metrics.parameters import load_parameters
from callops.metrics.query import plain
from callops.metrics.query import query as run_query
from callops.metrics.top import PERIODS, top_indicators
from callops.settings import DEFAULT_TIMEZONE
from callops.tenancy import Tenant
from callops.warehouse import Warehouse

metrics_app = typer.Typer(
    name="metrics", help="Indicators: the metric catalog and queries over it.", no_args_is_help=True
)

out = Console()
text_out = Console(soft_wrap=True)  # long formulas and SQL stay on their lines (copy-paste)
DOCS_PATH = Path(__file__).resolve().parents[3] / "docs" / "metrics.md"


class ListFormat(StrEnum):
    """Formats of ``metrics list``."""

    table = "table"
    json = "json"


class QueryFormat(StrEnum):
    """Formats of ``metrics query``."""

    table = "table"
    csv = "csv"
    json = "json"
    xlsx = "xlsx"


def _split(text: str | None) -> list[str]:
    return [x.strip() for x in (text or "").split(",") if x.strip()]



def _print_table(rows: list[dict], title: str) -> None:
    if not rows:
        out.print(f"{title}: no rows")
        return
    grid = Table(title=title)
    for i, col in enumerate(rows[0]):
        grid.add_column(col, overflow="fold", no_wrap=i == 0)  # ids stay whole
    for r in rows:
        grid.add_row(*("" if v is None else (f"{v:.4g}" if isinstance(v, float) else str(v)) for v in r.values()))
    out.print(grid)


@metrics_app.command("list")
def list_metrics(
    format: Annotated[ListFormat, typer.Option("--format", help="table or json.")] = ListFormat.table,
    all_scopes: Annotated[bool, typer.Option("--all", help="Also scoped metrics (aht_s__voice...).")] = False,
) -> None:
    """List the metrics of the catalog (base metrics; --all for every scoped one)."""
    cat = load_catalog()
    chosen = list(cat.metrics.values()) if (all_scopes or format == ListFormat.json) else cat.base_metrics()
    rows = [
        {
            "id": m.id,
            "label_en": m.label.en,
            "label_zh": m.label.zh,
            "type": m.spec.type.value,
            "unit": m.spec.unit,
            "direction": m.spec.direction.value,
            "version": m.spec.version,
            "formula": formula_text(cat, m),
        }
        for m in chosen
    ]
    if format == ListFormat.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    _print_table([{k: r[k] for k in ("id", "label_en", "label_zh", "type", "unit", "direction")} for r in rows],
                 f"{len(rows)} of {len(cat.metrics)} metrics")


@metrics_app.command("show")
def show(
    metric_id: Annotated[str, typer.Argument(help="Metric id.")],
    tenant: Annotated[str | None, typer.Option(help="Use this tenant's parameters and zone for the SQL.")] = None,
    grain: Annotated[str, typer.Option(help="Grain of the SQL shown.")] = "day",
) -> None:
    """Show a metric: labels, formula, measures, parameters and the SQL it runs."""
    cat = load_catalog()
    m = cat.metric(metric_id)
    s = m.spec
    text_out.print(f"[bold]{m.id}[/]  {m.label.en} / {m.label.zh}")
    text_out.print(s.description, highlight=False)
    text_out.print(f"type: {s.type.value}   unit: {s.unit}   better: {s.direction.value}   version: {s.version}")
    text_out.print(f"formula: {formula_text(cat, m)}", highlight=False)
    if tenant:
        with Warehouse(read_only=True) as wh:
            t = tenancy.get_tenant(wh, tenant)
            params = load_parameters(t.tenant_id)
            sql = ibis.to_sql(compile_query(wh, t, cat, [metric_id], grain=grain, params=params))
    else:
        params = load_parameters("")
        with Warehouse("duckdb://:memory:") as wh:
            t = Tenant("<tenant>", DEFAULT_TIMEZONE, datetime.now())
            sql = ibis.to_sql(compile_query(wh, t, cat, [metric_id], grain=grain, params=params))
    plan = plan_query(cat, [metric_id], params)
    text_out.print("measures:")
    for use in plan.uses.values():
        scope = "".join(f" and {d} = '{v}'" for d, v in use.scope)
        text_out.print(f"  {use.measure} = {measure_text(cat.measures[use.measure])}{scope}", highlight=False)
    values = params.model_dump()
    shown = s.parameters or ()
    if shown:
        text_out.print("parameters: " + ", ".join(f"{p} = {values[p]}" for p in shown), highlight=False)
    text_out.print(f"SQL ({grain}{', tenant ' + tenant if tenant else ''}):")
    print(sql)


@metrics_app.command("query")
def query_cmd(
    tenant: Annotated[str, typer.Option(help="Tenant.")],
    metric: Annotated[str, typer.Option("--metric", help="Metric id(s), comma-separated.")],
    grain: Annotated[str, typer.Option(help="interval:15|interval:30|hour|day|week|month|quarter|year.")] = "day",
    by: Annotated[str | None, typer.Option(help="Dimensions, comma-separated: center, queue, channel, ...")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="First local date (YYYY-MM-DD).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last local date, inclusive.")] = None,
    where: Annotated[str | None, typer.Option(help="Filter on dimensions, e.g. \"queue in ('PS', 'NE')\".")] = None,
    compare: Annotated[str | None, typer.Option(help="previous or year.")] = None,
    top: Annotated[int | None, typer.Option(help="Keep the N best rows of each period.")] = None,
    rank_by: Annotated[str | None, typer.Option(help="Metric that ranks rows for --top.")] = None,
    format: Annotated[QueryFormat, typer.Option("--format", help="table, csv, json or xlsx.")] = QueryFormat.table,
    output: Annotated[Path | None, typer.Option(help="File to write (required for xlsx).")] = None,
    engine: Annotated[str | None, typer.Option(
        help="duckdb or spark: run on the Parquet lake given by --lake instead of the warehouse.")] = None,
    lake: Annotated[str | None, typer.Option(
        help="Lake root (folder or s3:// URL) written by `callops lake export`.")] = None,
    spark_master: Annotated[str | None, typer.Option(
        help="With --engine spark: local[N] (default local[2]), spark://host:port or sc://host:port.")] = None,
) -> None:
    """Compute metrics per period and dimensions."""
    if format == QueryFormat.xlsx and output is None:
        raise CallopsError("--format xlsx needs --output FILE.xlsx")
    if (engine is None) != (lake is None):
        raise CallopsError("--engine and --lake go together: --engine duckdb|spark --lake DIR")
    if spark_master and engine != "spark":
        raise CallopsError("--spark-master needs --engine spark")
    with _source(engine, lake, spark_master) as wh:
        table = run_query(
            wh, tenant, _split(metric), grain=grain, by=_split(by), start=date_option(from_, "--from"),
            end=date_option(to, "--to"), where=where, compare=compare, top=top, rank_by=rank_by,
        )
        zone = tenancy.get_tenant(wh, tenant).timezone
    rows = [{k: plain(v) for k, v in r.items()} for r in table.to_pylist()]
    headers = table_headers(table, zone)  # files name the zone of their times
    if format == QueryFormat.json:
        text = json.dumps(rows, ensure_ascii=False, indent=2)
        if output:
            output.write_text(text + "\n", encoding="utf-8")
        else:
            print(text)
    elif format == QueryFormat.csv:
        handle = output.open("w", newline="", encoding="utf-8") if output else sys.stdout
        writer = csv.writer(handle)
        writer.writerow([csv_cell(c) for c in headers])
        for r in rows:
            writer.writerow(["" if v is None else csv_cell(v) for v in r.values()])
        if output:
            handle.close()
    elif format == QueryFormat.xlsx:
        _write_xlsx(rows, table.column_names, output, headers)  # type: ignore[arg-type]
        out.print(f"wrote {len(rows)} rows to {output}")
    else:
        _print_table(rows, f"{tenant}: {metric} by {grain}")


@contextmanager
def _source(engine: str | None, lake: str | None, spark_master: str | None) -> Iterator[Warehouse]:
    """The warehouse, or the lake on the chosen engine (issue 17)."""
    if engine is None or lake is None:
        with Warehouse(read_only=True) as wh:
            yield wh
        return
    from callops.lake.read import open_lake

    with open_lake(lake, engine, spark_master) as wh:
        yield wh


def _write_xlsx(rows: list[dict], columns: list[str], path: Path, headers: list[str] | None = None) -> None:
    path.write_bytes(workbook_bytes([("metrics", headers or columns, [[r[c] for c in columns] for r in rows])]))


@metrics_app.command("top")
def top_cmd(
    tenant: Annotated[str, typer.Option(help="Tenant.")],
    period: Annotated[str, typer.Option(help=f"Period: {', '.join(PERIODS)}.")] = "day",
    at: Annotated[str | None, typer.Option(help="A date in the period (default: latest day with contacts).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the tenant's TOP indicators with the previous period, the change and the target status."""
    with Warehouse(read_only=True) as wh:
        rows = top_indicators(wh, tenant, period, date_option(at, "--at"))
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    shown = [
        {k: r[k] for k in ("metric", "label", "label_zh", "value", "previous", "change", "target", "status")}
        for r in rows
    ]
    _print_table(shown, f"TOP indicators: {tenant}, {period} from {rows[0]['period'] if rows else '?'}")


def _instant(text: str | None) -> datetime | None:
    """``--at``: an ISO date-time (naive = the tenant's local time) or a date (its local midnight)."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise CallopsError(f"--at {text!r}: expected a date-time such as 2026-03-02T10:00 (+08:00)") from None


@metrics_app.command("alerts")
def alerts_cmd(
    tenant: Annotated[str, typer.Option(help="Tenant.")],
    at: Annotated[str | None, typer.Option(help="Evaluation time, ISO (naive = tenant's local time); default now.")]
    = None,
    rules: Annotated[Path | None, typer.Option(help="Rules file (default: the tenant's alerts.yaml, else the "
                                                    "shipped default, plus the rules saved in the console).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the alerts as JSON.")] = False,
    store: Annotated[bool, typer.Option("--store/--no-store", help="Store fired alerts under "
                                                                   "$CALLOPS_HOME/alerts/<tenant>/.")] = True,
) -> None:
    """Evaluate alert rules on indicators; print and store the alerts that fired, with their inputs."""
    from callops.metrics.alerts import alerts_dir, evaluate, load_rules

    cat = load_catalog()
    with Warehouse(read_only=True) as wh:
        t = tenancy.get_tenant(wh, tenant)
        ruleset = load_rules(t.tenant_id, rules, cat)
        if rules is None:  # the rules managers saved (console, /api/rules) run beside the tenant's file
            from callops.rules.service import with_saved

            ruleset = with_saved(ruleset, t.tenant_id)
        rows = evaluate(wh, t.tenant_id, _instant(at), ruleset, store=store, catalog=cat)
    if as_json:
        print(json.dumps([{k: plain(v) for k, v in r.items()} for r in rows], ensure_ascii=False, indent=2))
        return
    shown = [
        {k: plain(r[k]) for k in ("level", "rule", "metric", "scope", "period", "value", "comparison",
                                   "comparison_value", "threshold")}
        for r in rows
    ]
    _print_table(shown, f"alerts for {tenant} ({len(ruleset.rules)} rules from {ruleset.origin})")
    if rows and store:
        out.print(f"stored under {alerts_dir(t.tenant_id)}")


@metrics_app.command("docs")
def docs_cmd(
    output: Annotated[Path, typer.Option(help="Where to write the reference.")] = DOCS_PATH,
) -> None:
    """Regenerate docs/metrics.md from the shipped catalog."""
    path = write_docs(build_catalog(package_files()), output)
    out.print(f"wrote {path}")
