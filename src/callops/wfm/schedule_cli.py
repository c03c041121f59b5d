"""`callops schedule`: build a week's schedule for a tenant, save it to the warehouse and export it."""

from __future__ import annotations

import csv
import json
import tempfile
import zoneinfo
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from callops import tenancy
from callops.errors import CallopsError
from callops.settings import tenant_file
from callops.warehouse import Warehouse
from callops.wfm import schedule_validator
from callops.wfm.rules import WEEK_MIN, Agent, Workforce, default_workforce, load_workforce, problem_from_workforce
from callops.wfm.scheduling import rows_table, solve_schedule

if TYPE_CHECKING:
    from callops.ingest.loader import Replace

schedule_app = typer.Typer(help="Weekly shift scheduling (CP-SAT).", no_args_is_help=False)
err = Console(stderr=True)


_WHY = {"people": "not enough people", "contract_rules": "contract rules", "assignment": "assignment time limit",
        "unknown": "unknown"}

def workforce_for(tenant: str) -> tuple[Workforce, str]:
    """The tenant's workforce rules ($CALLOPS_HOME/tenants/<T>/workforce.yaml) or the shipped default."""
    path = tenant_file(tenant, "workforce.yaml")
    if path.is_file():
        return load_workforce(path), str(path)
    return default_workforce(), "built-in default workforce rules"


def roster(rows: list[dict], wf: Workforce) -> list[Agent]:
    """Agents from `agents` table rows (inactive ones left out); skills 'billing:3;vip:1' become names."""
    default_contract = wf.contracts[0].name
    out = []
    for r in rows:
        if r.get("active") is False:
            continue
        skills = [s.split(":")[0].strip() for s in (r.get("skills") or "").split(";") if s.strip()]
        out.append(
            Agent(
                agent_id=r["agent_id"],
                name=r.get("name"),
                contract=r.get("contract") or default_contract,
                skills=skills,
            )
        )
    if not out:
        raise CallopsError("the tenant has no active agents; load the `agents` table first")
    return out


def planned_agents(agents: list[Agent], req: dict[str | None, np.ndarray]) -> list[Agent]:
    """The agents this plan is for: with per-skill requirements, those who hold at least one required skill.

    Agents without any of the skills belong to other plans (other queues); including them would
    make their contracts impossible to meet in this one.
    """
    skills = {k for k in req if k is not None}
    if not skills:
        return agents
    chosen = [a for a in agents if skills & set(a.skills)]
    if not chosen:
        raise CallopsError(f"no agent on the roster has any of the required skills: {', '.join(sorted(skills))}")
    return chosen


MAX_HORIZON_DAYS = 62  # furthest a default plan forecasts ahead


def requirements_from_staffing(wh: Warehouse, tenant: tenancy.Tenant, monday: date, interval: int,
                               folder: Path) -> Path:  # fmt: skip
    """Forecast and staff ``tenant`` through the week of ``monday`` (default targets); the requirements CSV."""
    from callops.wfm.staffing import StaffingTargets, plan_for_tenant
    from callops.wfm.staffing_export import write_requirements_csv

    today = datetime.now(zoneinfo.ZoneInfo(tenant.timezone)).date()
    horizon = min(max(7, (monday + timedelta(days=7) - today).days + 1), MAX_HORIZON_DAYS)
    plan = plan_for_tenant(wh, tenant.tenant_id, horizon_days=horizon, interval_min=interval,
                           targets=StaffingTargets())  # fmt: skip
    return write_requirements_csv(plan, folder / "requirements.csv")


def read_requirements(path: Path, week: date, zone: str, interval: int) -> dict[str | None, np.ndarray]:
    """CSV interval_start,required[,skill]: naive times are tenant-local, times with an offset are converted."""
    if not path.is_file():
        raise CallopsError(f"requirements file {path} does not exist")
    tz = zoneinfo.ZoneInfo(zone)
    week0 = datetime.combine(week, datetime.min.time())
    n = WEEK_MIN // interval
    out: dict[str | None, np.ndarray] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        cols = set(reader.fieldnames or ())
        if not {"interval_start", "required"} <= cols:
            raise CallopsError(f"{path}: needs columns interval_start,required[,skill]; found {sorted(cols)}")
        for line, r in enumerate(reader, start=2):
            try:
                ts = datetime.fromisoformat(r["interval_start"])
                need = float(r["required"])
            except (TypeError, ValueError):
                raise CallopsError(f"{path}:{line}: bad interval_start or required value") from None
            if ts.tzinfo is not None:
                ts = ts.astimezone(tz).replace(tzinfo=None)
            minute = (ts - week0).total_seconds() / 60
            if minute < 0 or minute >= WEEK_MIN:
                continue  # outside the planned week
            if minute % interval:
                raise CallopsError(f"{path}:{line}: {r['interval_start']} is not on the {interval}-minute grid")
            q = (r.get("skill") or "").strip() or None
            arr = out.setdefault(q, np.zeros(n))
            arr[int(minute // interval)] += need
    if not out:
        raise CallopsError(f"{path}: no rows fall in the week starting {week} (forecasts start where the history "
                           "ends; pass --requirements for another week)")  # fmt: skip
    if None in out and len(out) > 1:
        raise CallopsError(f"{path}: rows with and without a skill; give all with a skill or none")
    return out


def save_schedule(wh: Warehouse, tenant: tenancy.Tenant, rows: list[dict], replace: Replace | None = None):
    """Load the rows into `schedules` through the normal ingest path (a temporary Parquet file).

    ``replace``: the stored blocks these rows take the place of (a changed schedule), removed in the same load.
    """
    import pyarrow.parquet as pq

    from callops.ingest.loader import load_files
    from callops.ingest.mapping import load_mapping

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "schedule.parquet"
        pq.write_table(rows_table(rows), path)
        return load_files(wh, tenant, "schedules", [path], load_mapping("canonical", "schedules"), replace=replace)


@schedule_app.callback(invoke_without_command=True)
def schedule(
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant to schedule.")],
    week: Annotated[str, typer.Option("--week", help="A date in the week to plan (the Monday is used).")],
    requirements: Annotated[
        Path | None,
        typer.Option(
            "--requirements",
            help="CSV interval_start,required[,skill] of required agents (default: forecast and staff the tenant "
            "through the week with the default targets, Erlang A 80 % in 20 s).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON.")] = False,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="Write an Excel workbook.")] = None,
    ics: Annotated[
        Path | None, typer.Option("--ics", help="Write one .ics calendar per agent into this folder.")
    ] = None,
    time_limit: Annotated[float, typer.Option("--time-limit", help="Solver time limit in seconds.")] = 60.0,
    workers: Annotated[int | None, typer.Option("--workers", help="Solver threads (default: CPU count).")] = None,
    save: Annotated[bool, typer.Option("--save/--no-save", help="Write the schedule to the warehouse.")] = True,
) -> None:
    """Schedule a week for a tenant: hard rules always hold, shortfalls are reported per interval."""
    try:
        day = date.fromisoformat(week)
    except ValueError:
        raise CallopsError(f"--week {week!r}: expected a date YYYY-MM-DD") from None
    monday = day - timedelta(days=day.weekday())
    wf, wf_origin = workforce_for(tenant)
    with Warehouse() as wh, tempfile.TemporaryDirectory() as tmp:
        t = tenancy.get_tenant(wh, tenant)
        agent_rows = tenancy.scoped(wh, t, "agents").to_pyarrow().to_pylist()
        if requirements is None:
            requirements = requirements_from_staffing(wh, t, monday, wf.interval_minutes, Path(tmp))
        req = read_requirements(requirements, monday, t.timezone, wf.interval_minutes)
        agents = planned_agents(roster(agent_rows, wf), req)
        problem = problem_from_workforce(wf, agents, monday, t.timezone, req)
        result = solve_schedule(problem, time_limit=time_limit, workers=workers)
        rows = result.rows()
        violations = schedule_validator.validate(problem, rows)
        if violations:  # never expected: the validator is an independent second opinion
            v = violations[0]
            raise CallopsError(f"internal error: schedule breaks rule {v.rule} for {v.agent_id}: {v.detail}")
        load = save_schedule(wh, t, rows) if save else None
    summary = result.summary()
    summary.update({"tenant": tenant, "workforce": wf_origin, "rows": len(rows), "agents_planned": len(agents),
                    "agents_on_roster": len(agent_rows)})
    if load is not None:
        summary["load_id"] = load.load_id
    if xlsx:
        from callops.wfm.schedule_export import write_xlsx

        write_xlsx(problem, rows, schedule_validator.score(problem, rows).coverage, summary, xlsx)
        summary["xlsx"] = str(xlsx)
    if ics:
        from callops.wfm.schedule_export import write_ics

        summary["ics_files"] = len(write_ics(problem, rows, ics))
    # why the week falls short, in agent-intervals (see scheduling.uncovered_intervals)
    summary["short_by_reason"] = {}
    for u in result.uncovered:
        key = u.get("reason", "unknown")
        summary["short_by_reason"][key] = summary["short_by_reason"].get(key, 0) + u["short"]
    if as_json:
        typer.echo(json.dumps({**summary, "uncovered": result.uncovered}, default=str))
        return
    from callops.cli import _cell  # the CLI's readable cells: separators, "—" for missing, no 1e+06
    from callops.ui.i18n import local_time

    out = Console()
    table = Table(title=f"Schedule {tenant}, week of {monday} (times in {t.timezone})")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for k in (
        "agents",
        "shifts",
        "objective",
        "lower_bound",
        "gap",
        "under_coverage",
        "over_coverage",
        "weekend_spread",
        "night_spread",
        "uncovered_intervals",
        "seconds",
    ):
        v = summary[k]
        table.add_row(k, f"{v:.2%}" if k == "gap" and isinstance(v, float) and v == v else _cell(v))
    out.print(table)
    if result.uncovered:
        worst = sorted(result.uncovered, key=lambda u: -u["short"])[:10]
        out.print(f"[yellow]intervals short of agents (worst 10, local time in {t.timezone}):[/]")
        for u in worst:
            why = f" ({_WHY[u['reason']]}, {u['agents_able']} able)" if u.get("reason") else ""
            at = local_time(u["interval_start"], t.timezone, "%a %Y-%m-%d %H:%M")  # stored and --json: UTC
            out.print(f"  {at} {u['queue'] or 'all'}: {u['scheduled']}/{u['required']}{why}")
        by = summary["short_by_reason"]
        out.print("short agent-intervals by reason: " + ", ".join(f"{_WHY[k]} {v}" for k, v in by.items()))
