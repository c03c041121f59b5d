"""``callops simulate``: the single-queue what-if, or a whole scenario run written into a tenant."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from callops.errors import CallopsError
from callops.sim.single_queue import simulate_single_queue

simulate_app = typer.Typer(
    help="Simulate a queue (what-if) or a scenario.", invoke_without_command=True, add_completion=False
)


@simulate_app.callback(invoke_without_command=True)
def simulate(
    calls: Annotated[float | None, typer.Option(help="Contacts offered per interval.")] = None,
    interval: Annotated[float, typer.Option(help="Interval length in seconds.")] = 1800.0,
    aht: Annotated[float | None, typer.Option(help="Mean handle time in seconds (exponential).")] = None,
    agents: Annotated[int | None, typer.Option(help="Agents staffed.")] = None,
    patience: Annotated[
        float | None, typer.Option(help="Mean patience in seconds (exponential); leave out for no abandonment.")
    ] = None,
    threshold: Annotated[float, typer.Option(help="Service-level threshold in seconds.")] = 20.0,
    replications: Annotated[int, typer.Option(help="Independent replications (for the confidence intervals).")] = 10,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same result).")] = 0,
    scenario: Annotated[Path | None, typer.Option(help="Scenario YAML file (scenario runner).")] = None,
    days: Annotated[int | None, typer.Option(help="Days to simulate (scenario runs).")] = None,
    tenant: Annotated[str | None, typer.Option(help="Tenant to write a scenario run into.")] = None,
    start: Annotated[
        str | None, typer.Option(help="First local day of a scenario run (YYYY-MM-DD; default: ending yesterday).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON.")] = False,
) -> None:
    """Simulate one queue (Poisson arrivals, exponential handle time and patience) and print its figures."""
    if scenario is not None or days is not None or tenant is not None or start is not None:
        run_scenario_command(scenario, days, tenant, seed, start, as_json)
        return
    missing = [name for name, v in (("--calls", calls), ("--aht", aht), ("--agents", agents)) if v is None]
    if missing:
        raise CallopsError(f"missing {', '.join(missing)} (e.g. callops simulate --calls 100 --aht 180 --agents 14)")
    assert calls is not None and aht is not None and agents is not None  # narrowed by the check above
    result = simulate_single_queue(calls, interval, aht, agents, patience, threshold, replications, seed)
    if as_json:
        typer.echo(json.dumps(result.as_dict()))
        return
    table = Table(title=f"{calls:g} contacts / {interval:g} s, AHT {aht:g} s, {agents} agents"
                  + (f", patience {patience:g} s" if patience else ", no abandonment"))
    table.add_column("figure")
    table.add_column("mean", justify="right")
    table.add_column("95% CI", justify="right")
    rows = (
        (f"service level ({threshold:g} s)", result.service_level, True),
        ("probability of waiting", result.p_wait, True),
        ("ASA (s)", result.asa_s, False),
        ("abandon rate", result.abandon_rate, True),
        ("occupancy", result.occupancy, True),
    )
    for label, est, pct in rows:
        fmt = (lambda v: f"{v:.1%}") if pct else (lambda v: f"{v:.1f}")
        table.add_row(label, fmt(est.mean), f"{fmt(est.ci_low)} - {fmt(est.ci_high)}")
    console = Console()
    console.print(table)
    console.print(
        f"{replications} replications of {result.measured_s:,.0f} s after a {result.warmup_s:,.0f} s warm-up; "
        f"simulated in {result.elapsed_s:.2f} s"
    )


def _parse_start(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CallopsError(f"--start {text!r} is not a date; use YYYY-MM-DD (e.g. 2024-03-01)") from None


def run_scenario_command(scenario: Path | None, days: int | None, tenant: str | None, seed: int,
                         start: str | None, as_json: bool) -> None:
    """``callops simulate --scenario FILE --days N --tenant T``: run a scenario and load it into a tenant."""
    from callops.sim.runner import generate_demo
    from callops.sim.scenario import load_scenario
    from callops.warehouse import Warehouse

    missing = [name for name, v in (("--scenario", scenario), ("--days", days), ("--tenant", tenant)) if v is None]
    if missing:
        raise CallopsError(f"a scenario run needs {', '.join(missing)} (e.g. callops simulate "
                           "--scenario scenarios/provincial_hotline.yaml --days 28 --tenant demo)")
    assert scenario is not None and days is not None and tenant is not None  # narrowed by the check above
    if days < 1:
        raise CallopsError("--days must be at least 1")
    first = _parse_start(start)
    sc = load_scenario(scenario)
    console = Console(stderr=True)
    t0 = time.perf_counter()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
               TimeElapsedColumn())
    with Progress(*columns, console=console, disable=as_json) as bar, Warehouse() as wh:
        task = bar.add_task("preparing", total=days, rate="")

        def progress(stage: str, done: int, total: int, contacts: int) -> None:
            elapsed = time.perf_counter() - t0
            rate = f"{contacts:,} contacts, {contacts / elapsed:,.0f}/s" if stage == "simulating" and contacts else ""
            label = "days simulated" if stage == "simulating" else stage
            bar.update(task, description=label, completed=done, total=total, rate=rate)

        summaries = generate_demo(wh, tenant, sc, days=days, seed=seed, start_date=first, progress=progress)
    elapsed = time.perf_counter() - t0
    if as_json:
        typer.echo(json.dumps({"tenant": tenant, "scenario": sc.name, "days": days, "seed": seed,
                               "elapsed_s": round(elapsed, 2),
                               "tables": {k: v.as_dict() for k, v in summaries.items()}}, default=str))
        return
    out = Console()
    table = Table(title=f"scenario {sc.name}: {days} days into tenant {tenant} (seed {seed})")
    for col in ("table", "read", "loaded", "updated", "unchanged", "rejected"):
        table.add_column(col, justify="left" if col == "table" else "right")
    for name, s in summaries.items():
        table.add_row(name, *(f"{v:,}" for v in (s.read, s.loaded, s.updated, s.unchanged, s.rejected)))
    out.print(table)
    contacts = summaries["contacts"].read if "contacts" in summaries else 0
    out.print(f"{contacts:,} contacts in {elapsed:.1f} s ({contacts / elapsed:,.0f} contacts/s end to end)")
