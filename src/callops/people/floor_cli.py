"""``callops floor …``: live adherence and exceptions, attendance, HR cases, overtime/VTO offers (issue 19)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console

from callops.errors import CallopsError

floor_app = typer.Typer(
    help="The team lead's floor: live adherence and exceptions, attendance, HR cases, overtime/VTO offers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console()

AsJson = Annotated[bool, typer.Option("--json", help="Print only JSON.")]
TenantOpt = Annotated[str, typer.Option("--tenant", help="Tenant.")]
TeamOpt = Annotated[str | None, typer.Option("--team", help="Only this team.")]
StartOpt = Annotated[str | None, typer.Option("--start", help="First local day YYYY-MM-DD (default: 1st of month).")]
EndOpt = Annotated[str | None, typer.Option("--end", help="Last local day YYYY-MM-DD (default: yesterday).")]
ACTOR = "cli"


def _emit(doc: Any, as_json: bool, title: str, rows_key: str | None = None) -> None:
    from callops.api.encode import clean
    from callops.cli import print_rows

    doc = clean(doc)
    if as_json:
        typer.echo(json.dumps(doc, ensure_ascii=False, default=str))
        return
    rows = doc.get(rows_key, []) if rows_key else [doc]
    print_rows([{k: v for k, v in r.items() if not isinstance(v, dict | list)} for r in rows], title=title)


def _store() -> Any:
    from callops.store.db import Store

    return Store()


def _period(tenant: str, start: str | None, end: str | None) -> tuple[date, date]:
    from callops import tenancy
    from callops.cli import date_option
    from callops.warehouse import Warehouse

    with Warehouse() as wh:
        zone = ZoneInfo(tenancy.get_tenant(wh, tenant).timezone)
    hi = date_option(end, "--end") or datetime.now(zone).date() - timedelta(days=1)
    lo = date_option(start, "--start") or hi.replace(day=1)
    if hi < lo:
        raise CallopsError("--end is before --start")
    return lo, hi


def _time(text: str, flag: str) -> datetime:
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        raise CallopsError(f"{flag}: expected an ISO time like 2026-12-06T10:00+08:00, got {text!r}") from None
    if ts.tzinfo is None:
        raise CallopsError(f"{flag}: give the zone offset (e.g. +08:00)")
    return ts


@floor_app.command("adherence")
def adherence_cmd(tenant: TenantOpt, team: TeamOpt = None, as_json: AsJson = False) -> None:
    """Real-time adherence of every scheduled agent of the tenant's live room (worst first)."""
    from callops.people.adherence import adherence_now
    from callops.realtime.hub import hub_for

    with _store() as st:
        doc = adherence_now(hub_for(tenant), st, team)
    _emit(doc, as_json, f"Adherence now ({tenant}), threshold {doc['threshold_s']:g} s", "agents")


@floor_app.command("exception")
def exception_cmd(
    tenant: TenantOpt,
    agent: Annotated[str, typer.Option("--agent", help="Roster agent id.")],
    kind: Annotated[str, typer.Option("--kind", help="meeting, coaching, training, system or other.")],
    start: Annotated[str, typer.Option("--start", help="Start, ISO time with offset.")],
    end: Annotated[str, typer.Option("--end", help="End, ISO time with offset.")],
    note: Annotated[str | None, typer.Option("--note")] = None,
    as_json: AsJson = False,
) -> None:
    """Record an adherence exception (audited)."""
    from callops.people.adherence import record_exception

    with _store() as st:
        doc = record_exception(st, tenant, agent, kind, _time(start, "--start"), _time(end, "--end"), ACTOR, note)
    _emit(doc, as_json, "Exception recorded")


@floor_app.command("exceptions")
def exceptions_cmd(tenant: TenantOpt, day: Annotated[str | None, typer.Option("--day")] = None,
                   as_json: AsJson = False) -> None:  # fmt: skip
    """Recorded adherence exceptions (of one day)."""
    from callops.cli import date_option
    from callops.people.adherence import list_exceptions

    with _store() as st:
        doc = {"exceptions": list_exceptions(st, tenant, date_option(day, "--day"))}
    _emit(doc, as_json, f"Adherence exceptions ({tenant})", "exceptions")


@floor_app.command("attendance")
def attendance_cmd(tenant: TenantOpt, start: StartOpt = None, end: EndOpt = None, team: TeamOpt = None,
                   by: Annotated[str, typer.Option("--by", help="agents or teams.")] = "teams",
                   as_json: AsJson = False) -> None:  # fmt: skip
    """Lateness, early leaving, absence, attendance rate, adherence and conformance per agent or team."""
    from callops.people.attendance import attendance_report
    from callops.people.floor_settings import load_settings
    from callops.warehouse import Warehouse

    if by not in ("agents", "teams"):
        raise CallopsError("--by must be agents or teams")
    lo, hi = _period(tenant, start, end)
    cfg = load_settings(tenant).attendance
    with Warehouse() as wh:
        doc = attendance_report(wh, tenant, lo, hi, cfg.late_grace_s, cfg.early_grace_s, team)
    _emit(doc, as_json, f"Attendance {lo}..{hi} ({tenant}), total rate {doc['total']['attendance_rate']}", by)


@floor_app.command("hr-run")
def hr_run_cmd(tenant: TenantOpt, start: StartOpt = None, end: EndOpt = None, as_json: AsJson = False) -> None:
    """Evaluate the HR rules on the period's attendance and open the new cases."""
    from callops.people.hr_cases import fire_rules
    from callops.warehouse import Warehouse

    lo, hi = _period(tenant, start, end)
    with _store() as st, Warehouse() as wh:
        doc = fire_rules(st, wh, tenant, lo, hi, ACTOR)
    _emit(doc, as_json, f"HR rules {lo}..{hi}: {doc['found']} found, {doc['new']} new", "cases")


@floor_app.command("hr-cases")
def hr_cases_cmd(tenant: TenantOpt, status: Annotated[str | None, typer.Option("--status")] = None,
                 team: TeamOpt = None, as_json: AsJson = False) -> None:  # fmt: skip
    """HR cases (newest first)."""
    from callops.people.hr_cases import list_cases

    with _store() as st:
        doc = {"cases": list_cases(st, tenant, status, team)}
    _emit(doc, as_json, f"HR cases ({tenant})", "cases")


@floor_app.command("hr-update")
def hr_update_cmd(
    tenant: TenantOpt,
    case_id: Annotated[int, typer.Argument(help="Case id.")],
    status: Annotated[str | None, typer.Option("--status", help="open, in_progress, closed, dismissed.")] = None,
    owner: Annotated[str | None, typer.Option("--owner")] = None,
    note: Annotated[str | None, typer.Option("--note")] = None,
    as_json: AsJson = False,
) -> None:
    """Change an HR case's status, owner or note (audited)."""
    from callops.people.hr_cases import update_case

    with _store() as st:
        doc = update_case(st, tenant, case_id, ACTOR, status, owner, note)
    _emit(doc, as_json, f"HR case {case_id}")


@floor_app.command("propose")
def propose_cmd(tenant: TenantOpt, horizon: Annotated[float, typer.Option("--horizon", help="Hours ahead.")] = 4.0,
                queue: Annotated[str | None, typer.Option("--queue")] = None,
                dry_run: Annotated[bool, typer.Option("--dry-run", help="Show, do not store.")] = False,
                as_json: AsJson = False) -> None:  # fmt: skip
    """Propose overtime/VTO offers from the live room's coming hours."""
    from callops.people.overtime import propose
    from callops.realtime.hub import hub_for

    with _store() as st:
        doc = propose(st, hub_for(tenant), ACTOR, horizon, queue, save=not dry_run)
    if not as_json:
        _emit(doc, False, f"Intraday blocks ({doc['source']}, target {doc['target_sl']:.0%})", "blocks")
    _emit(doc, as_json, "Offers", "offers")


@floor_app.command("offers")
def offers_cmd(tenant: TenantOpt, status: Annotated[str | None, typer.Option("--status")] = None,
               as_json: AsJson = False) -> None:  # fmt: skip
    """Overtime and VTO offers (newest first)."""
    from callops.people.overtime import list_offers

    with _store() as st:
        doc = {"offers": list_offers(st, tenant, status)}
    _emit(doc, as_json, f"Offers ({tenant})", "offers")


@floor_app.command("accept")
def accept_cmd(tenant: TenantOpt, offer_id: Annotated[int, typer.Argument(help="Offer id.")],
               as_json: AsJson = False) -> None:  # fmt: skip
    """Accept an offer on the agent's behalf: a new schedule version, the live room follows."""
    from callops.people.overtime import accept_offer
    from callops.realtime.hub import hub_for
    from callops.warehouse import Warehouse

    with _store() as st, Warehouse() as wh:
        doc = accept_offer(st, wh, hub_for(tenant), offer_id, ACTOR, None)
    _emit(doc, as_json, f"Offer {offer_id}")
