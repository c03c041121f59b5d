"""The ``callops`` command line (Typer + rich).

Every command turns user mistakes into one clear line on stderr and a
non-zero exit code; tracebacks are shown only with ``CALLOPS_DEBUG=1``.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer
import typer.core
import typer.main
from rich.console import Console

from callops.errors import CallopsError
from callops.settings import DEFAULT_TIMEZONE

# Start-up: `callops --help` and `callops queue …` must not import DuckDB, Ibis, pandas or the ingest stack,
# so those are imported inside the commands that use them (tests/test_cli_startup.py checks).
if TYPE_CHECKING:
    from callops.ingest.loader import LoadSummary

# Command groups imported only when used: `callops ingest` need not load pandas, FastAPI or the solvers.
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "simulate": ("callops.sim.cli", "simulate_app"),
    "forecast": ("callops.wfm.forecast_cli", "forecast_app"),
    "queue": ("callops.wfm.cli", "queue_app"),
    "metrics": ("callops.metrics.cli", "metrics_app"),
    "staffing": ("callops.wfm.staffing_cli", "staffing_app"),
    "schedule": ("callops.wfm.schedule_cli", "schedule_app"),
    "user": ("callops.store.cli", "user_app"),
    "live": ("callops.realtime.cli", "live_app"),
    "serve": ("callops.api.cli", "serve"),
    "value": ("callops.value.cli", "value_app"),
    "customer": ("callops.value.cli", "customer_app"),
    "decide": ("callops.value.cli", "decide_cmd"),
    "kb": ("callops.knowledge.cli", "kb_app"),
    "qa": ("callops.quality.cli", "qa_app"),
    "journey": ("callops.journey.cli", "journey_app"),
    "lake": ("callops.lake.cli", "lake_app"),
    "offers": ("callops.marketing.cli_offers", "offers_app"),
    "campaign": ("callops.marketing.cli_campaign", "campaign_app"),
    "floor": ("callops.people.floor_cli", "floor_app"),
}

# One line of help per lazy command, so `callops --help` lists them without importing them; a command missing
# here is imported for its help (correct, only slower; tests/test_cli_startup.py names the missing ones).
LAZY_HELP: dict[str, str] = {
    "simulate": "Simulate a queue (what-if) or a scenario.",
    "forecast": "Forecast contact volume per queue and interval; back-test models on any interval series.",
    "queue": "Erlang B/C/A calculator and agent requirements.",
    "metrics": "Indicators: the metric catalog and queries over it.",
    "staffing": "Required agents per interval from the forecast; the workforce balance model (V3).",
    "schedule": "Weekly shift scheduling (CP-SAT).",
    "user": "Users of a tenant and their API tokens.",
    "live": "Live control room: replay events, alerts, contingency plans.",
    "serve": "Serve the HTTP API (docs at /docs, Prometheus at /metrics) over the store and warehouse of CALLOPS_HOME.",
    "value": "Customer value: scores, explanations, CLV, back-test, rule libraries.",
    "customer": "One view per customer.",
    "decide": "The decision at contact time: value class, score, tags, strategy, route, guidance, fired rules.",
    "kb": "Knowledge base: articles, search, evaluation, hot topics.",
    "qa": "Quality inspection: agreement, sampling plans, scores, rankings, coaching.",
    "journey": "Journeys across channels: variants, flows, funnels, failure reasons.",
    "lake": "Export the warehouse to a Parquet lake, verify it, point a tenant's screens at it.",
    "offers": "Offers at contact time: library, propensity training, back-test, outcomes.",
    "campaign": "Campaigns: cost, return, benefit score, automatic pause (SPRT), resume.",
    "floor": "The team lead's floor: live adherence and exceptions, attendance, HR cases, overtime/VTO offers.",
}


class LazyGroup(typer.core.TyperGroup):
    """The top-level group: lists every command, imports a lazy one's module when it is looked up."""

    def list_commands(self, ctx: Any) -> list[str]:
        """Eager commands, then the lazy ones."""
        return [*super().list_commands(ctx), *(n for n in LAZY_COMMANDS if n not in self.commands)]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        """As Typer's, listing the lazy commands by their ``LAZY_HELP`` line instead of importing them."""
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """The command ``cmd_name``, importing its module on first use (not while only listing help)."""
        if getattr(self, "_listing", False) and cmd_name not in self.commands and cmd_name in LAZY_HELP:
            return typer.core.TyperCommand(name=cmd_name, help=LAZY_HELP[cmd_name])
        if cmd_name not in self.commands and cmd_name in LAZY_COMMANDS:
            module, attr = LAZY_COMMANDS[cmd_name]
            target = getattr(importlib.import_module(module), attr)
            if isinstance(target, typer.Typer):
                cmd: Any = typer.main.get_group(target)
            else:  # a plain command function
                single = typer.Typer()
                single.command(cmd_name)(target)
                cmd = typer.main.get_command(single)
            cmd.name = cmd_name
            self.commands[cmd_name] = cmd
        return super().get_command(ctx, cmd_name)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        """As Typer's, with the lazy commands among the suggestions for a mistyped name."""
        try:
            return super().resolve_command(ctx, args)
        except Exception as exc:  # Typer's own (vendored) click UsageError
            if not isinstance(getattr(exc, "message", None), str):
                raise
            import difflib

            matches = difflib.get_close_matches(args[0], self.list_commands(ctx)) if args else []
            if matches and "Did you mean" not in exc.message:
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {', '.join(repr(m) for m in matches)}?"
            raise


app = typer.Typer(
    name="callops",
    help="Operations intelligence for large contact centers.",
    cls=LazyGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
tenant_app = typer.Typer(help="Create and list tenants.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")

out = Console()
err = Console(stderr=True)


class OutputFormat(StrEnum):
    """Formats for tabular output."""

    table = "table"
    csv = "csv"
    json = "json"


@tenant_app.command("create")
def tenant_create(
    name: Annotated[str, typer.Argument(help="Tenant name: lower-case letters, digits, '-' and '_'.")],
    timezone: Annotated[str, typer.Option(help="IANA time zone of the tenant.")] = DEFAULT_TIMEZONE,
) -> None:
    """Create a tenant with its own time zone."""
    from callops.store import Store
    from callops.store.tenants import create_tenant
    from callops.warehouse import Warehouse

    with Warehouse() as wh, Store() as store:
        t = create_tenant(store, wh, name, timezone)
    out.print(f"created tenant [bold]{t.id}[/] ({t.timezone})")


@tenant_app.command("list")
def tenant_list(
    format: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.table,
) -> None:
    """List tenants."""
    from callops import tenancy
    from callops.warehouse import Warehouse

    with Warehouse() as wh:
        tenants = tenancy.list_tenants(wh)
    rows = [{"tenant": t.tenant_id, "timezone": t.timezone, "created_at": t.created_at.isoformat()} for t in tenants]
    _emit(rows, format, title="Tenants")


@app.command()
def ingest(
    table: Annotated[str, typer.Argument(help="Canonical table: contacts, agent_states, agents, ...")],
    files: Annotated[list[Path], typer.Argument(help="Files to load (CSV/TSV, gzip, Parquet, JSON lines).")],
    tenant: Annotated[str, typer.Option(help="Tenant to load into.")],
    mapping: Annotated[str, typer.Option(help="Built-in mapping name or a mapping YAML path.")] = "canonical",
    as_json: Annotated[bool, typer.Option("--json", help="Print the load summary as JSON.")] = False,
) -> None:
    """Load files into a canonical table: atomic, idempotent, every row accounted for."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from callops import tenancy
    from callops.ingest.loader import load_files
    from callops.ingest.mapping import load_mapping
    from callops.warehouse import Warehouse

    spec = load_mapping(mapping, table)
    with Warehouse() as wh:
        t = tenancy.get_tenant(wh, tenant)
        show = not as_json and err.is_terminal
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err, transient=True,
            disable=not show,
        ) as progress:
            task = progress.add_task("starting", total=None)
            summary = load_files(wh, t, table, files, spec, progress=lambda msg: progress.update(task, description=msg))
    if as_json:
        print(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2))
    else:
        print_summary(summary)


SUMMARY_COLUMNS = ("read", "loaded", "updated", "unchanged", "rejected", "skipped", "warned", "seconds")


def print_summary(s: LoadSummary) -> None:
    """Print a load summary with skip and reject reasons."""
    from rich.table import Table

    grid = Table(title=f"Load {s.load_id} → {s.tenant}.{s.table} ({s.mapping})", show_header=True)
    for col in SUMMARY_COLUMNS:
        grid.add_column(col, justify="right")
    grid.add_row(*(_cell(getattr(s, c)) for c in SUMMARY_COLUMNS))
    out.print(grid)
    for reason, n in s.skip_reasons.items():
        out.print(f"  skipped {n:>8} × {reason}")
    for reason, n in s.reject_reasons.items():
        out.print(f"  [red]rejected[/] {n:>7} × {reason}")
    for reason, n in s.warn_reasons.items():
        out.print(f"  [yellow]emptied[/] {n:>8} × {reason}")
    if s.rejected:
        out.print(f"  see why: callops rejects --tenant {s.tenant} --load {s.load_id}")
    if s.warned:
        out.print(f"  emptied fields: callops rejects --warnings --tenant {s.tenant} --load {s.load_id}")


@app.command()
def rejects(
    tenant: Annotated[str, typer.Option(help="Tenant.")],
    load: Annotated[str | None, typer.Option(help="Only this load id.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows (0: all).", min=0)] = 100,
    format: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.table,
    warnings: Annotated[bool, typer.Option("--warnings", help="Fields emptied in loaded rows instead.")] = False,
) -> None:
    """Show rejected rows (or, with --warnings, fields emptied in rows that loaded): file, line, column, reason."""
    from callops.warehouse import Warehouse

    with Warehouse() as wh:
        from callops import reports  # imports Ibis: only for the commands that read

        rows = reports.rejects(wh, tenant, load_id=load, limit=limit or None, warnings=warnings)
    _emit(rows, format, title="Emptied fields (rows loaded)" if warnings else "Rejected rows")


@app.command()
def daily(
    tenant: Annotated[str, typer.Option(help="Tenant.")],
    format: Annotated[OutputFormat, typer.Option("--format", help="Output format.")] = OutputFormat.table,
) -> None:
    """Contacts, answered and abandoned per day in the tenant's time zone."""
    from callops.warehouse import Warehouse

    with Warehouse() as wh:
        from callops import reports

        rows = reports.daily_contacts(wh, tenant)
    _emit(rows, format, title=f"Contacts per day ({tenant})")


@app.command()
def demo(
    sample: Annotated[bool, typer.Option("--sample", help="Load the small bundled sample instead.")] = False,
    days: Annotated[int, typer.Option(help="Days of the simulated hotline, ending yesterday.", min=1, max=366)] = 28,
    serve: Annotated[bool, typer.Option("--serve", help="Then serve the console with today's live replay.")] = False,
    port: Annotated[int, typer.Option(help="Port of the console (with --serve).", min=1, max=65535)] = 8000,
    speed: Annotated[float, typer.Option(help="Live replay speed, × real time (with --serve).", min=0.1)] = 10.0,
) -> None:
    """Build the tenant "demo": weeks of a simulated provincial hotline (or the small sample)."""
    from callops.demo import run_demo

    run_demo(out, sample=sample, days=days, serve=serve, port=port, speed=speed)


@app.command()
def mappings() -> None:
    """List the built-in ingest mappings."""
    from callops.ingest.mapping import builtin_mapping_names

    for name in builtin_mapping_names():
        out.print(name)


def _emit(rows: list[dict], format: OutputFormat, title: str) -> None:
    if format == OutputFormat.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    if format == OutputFormat.csv:
        import csv

        from callops.exports import csv_cell

        writer = csv.writer(sys.stdout)
        if rows:
            writer.writerow(rows[0].keys())
        for r in rows:
            writer.writerow(["" if v is None else csv_cell(v) for v in r.values()])
        return
    print_rows(rows, title)


def print_rows(rows: list[dict], title: str, zone: str | None = None) -> None:
    """Print rows (dicts with the same keys) as a rich table; instants in ``zone`` when given."""
    from rich.table import Table

    grid = Table(title=title)
    if not rows:
        out.print(f"{title}: none")
        return
    for col in rows[0]:
        grid.add_column(col, overflow="fold")
    for r in rows:
        grid.add_row(*(_cell(v, zone) for v in r.values()))
    out.print(grid)


def date_option(text: str | None, flag: str) -> date | None:
    """The date of a ``YYYY-MM-DD`` option (None when not given); a clear error naming ``flag`` otherwise."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CallopsError(f"{flag} {text!r}: expected a date as YYYY-MM-DD") from None


def _cell(value: object, zone: str | None = None) -> str:
    """Table cell text people read: "—" for missing (None, NaN), thousands separators, never scientific notation;
    an instant in ``zone`` (the tenant's) when given."""
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        digits = 1 if abs(value) >= 100 else 2 if abs(value) >= 1 else 4
        return f"{value:,.{digits}f}"
    if zone and isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def main() -> None:
    """Entry point of the ``callops`` command."""
    run_guarded(app)


def run_guarded(fn: Callable[[], object]) -> None:
    """Run ``fn``, turning errors into one clear line on stderr and a non-zero exit code."""
    try:
        fn()
    except CallopsError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # a bug: say so plainly, keep the traceback behind a switch
        if os.environ.get("CALLOPS_DEBUG"):
            raise
        message = f"{type(exc).__name__}: {exc} (set CALLOPS_DEBUG=1 for details)"
        err.print(f"[bold red]internal error:[/] {message}", soft_wrap=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
