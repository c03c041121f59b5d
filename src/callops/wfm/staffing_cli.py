"""``callops staffing``: required agents and staff per queue × interval, and the V3 balance model.

``callops staffing --tenant T [--queue Q] --horizon 7d --interval 30 [--model erlang-a|erlang-c]
[--target-sl 0.8 --threshold 20] [--max-occupancy P] [--shrinkage P] [--json] [--xlsx FILE] [--csv FILE]``
forecasts the tenant (storing a forecast snapshot), estimates patience per queue from its abandonment and
sizes every interval. ``callops staffing balance --volume N ... [--solve headcount|workload] [--json]`` solves
the balance model in either direction and compares service with marketing.
"""

from __future__ import annotations

import json
import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from callops.wfm.holidays_calendar import DEFAULT_COUNTRY

staffing_app = typer.Typer(
    help="Required agents per interval from the forecast; the workforce balance model (V3).",
    invoke_without_command=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console()


class Model(StrEnum):
    """Queueing models for interval staffing."""

    erlang_a = "erlang-a"
    erlang_c = "erlang-c"


class Solve(StrEnum):
    """Direction of the balance model."""

    headcount = "headcount"
    workload = "workload"


def _fmt(v: Any, pct: bool = False) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if pct:
        return f"{100 * v:.1f} %"
    return f"{v:,.1f}" if isinstance(v, float) else str(v)


@staffing_app.callback()
def staffing_main(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Option(help="Tenant to staff.")] = None,
    queue: Annotated[str | None, typer.Option(help="Only this queue (default: every queue).")] = None,
    horizon: Annotated[str, typer.Option(help="How far ahead: 7d, 2w, ... (bare number = days).")] = "7d",
    interval: Annotated[str, typer.Option(help="Interval length: 15, 30min, 1h (bare number = minutes).")] = "30",
    model: Annotated[Model, typer.Option("--model", help="Queueing model.")] = Model.erlang_a,
    target_sl: Annotated[float | None, typer.Option("--target-sl", help="Service-level target in (0, 1).")] = 0.8,
    threshold: Annotated[float, typer.Option("--threshold", help="Service-level threshold in seconds.")] = 20.0,
    target_asa: Annotated[float | None, typer.Option("--target-asa", help="ASA target in seconds.")] = None,
    target_abandon: Annotated[float | None, typer.Option("--target-abandon", help="Abandon-rate target.")] = None,
    max_occupancy: Annotated[float, typer.Option("--max-occupancy", help="Occupancy cap in (0, 1].")] = 1.0,
    shrinkage: Annotated[float, typer.Option("--shrinkage", help="Share of paid time off the phones, [0, 1).")] = 0.0,
    min_agents: Annotated[int, typer.Option("--min-agents", help="Agents in every open interval at least.")] = 0,
    patience: Annotated[
        float | None, typer.Option("--patience", help="Mean patience in seconds (default: estimated per queue).")
    ] = None,
    aht: Annotated[float | None, typer.Option("--aht", help="AHT in seconds (default: the forecast's).")] = None,
    sl_definition: Annotated[
        str, typer.Option("--sl-definition", help="offered | answered+abandoned | answered | short-abandons-excluded.")
    ] = "offered",
    folds: Annotated[int, typer.Option(help="Forecast back-test folds.")] = 3,
    holidays: Annotated[str, typer.Option("--holidays", help="Holiday calendar country code, or none.")] = (
        DEFAULT_COUNTRY
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON.")] = False,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="Write an Excel workbook.")] = None,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Write interval_start,required,skill for `callops schedule`.")
    ] = None,
) -> None:
    """Forecast → required agents and staff per queue × interval (Erlang A with estimated patience by default)."""
    if ctx.invoked_subcommand is not None:
        return
    if tenant is None:
        out.print(ctx.get_help())
        raise typer.Exit(0)
    from callops.warehouse import Warehouse
    from callops.wfm.forecast import parse_horizon, parse_interval
    from callops.wfm.staffing import StaffingTargets, plan_for_tenant

    h, iv = parse_horizon(horizon), parse_interval(interval)
    targets = StaffingTargets(
        model=model.value,
        target_sl=target_sl,
        threshold_s=threshold,
        target_asa_s=target_asa,
        target_abandon=target_abandon,
        max_occupancy=max_occupancy,
        shrinkage=shrinkage,
        min_agents=min_agents,
        sl_definition=sl_definition,
    )
    country = None if holidays.lower() == "none" else holidays
    with Warehouse() as wh:
        plan = plan_for_tenant(
            wh, tenant, horizon_days=h, interval_min=iv, targets=targets, queue=queue, patience_s=patience,
            aht_s=aht, folds=folds, country=country,
        )  # fmt: skip
    result = plan.to_dict()
    if xlsx is not None:
        from callops.wfm.staffing_export import write_xlsx

        result["xlsx"] = str(write_xlsx(plan, xlsx))
    if csv_file is not None:
        from callops.wfm.staffing_export import write_requirements_csv

        result["csv"] = str(write_requirements_csv(plan, csv_file))
    if as_json:
        typer.echo(json.dumps(result, default=str, allow_nan=False))
        return
    table = Table(title=f"Staffing {tenant} · {h} days · {iv}-min intervals · {model.value}")
    cols = ("queue", "contacts", "patience (s)", "peak agents", "peak staff", "staff hours", "SL", "abandon")
    for c in cols:
        table.add_column(c, justify="left" if c == "queue" else "right")
    for r in result["summary"]:
        table.add_row(
            r["queue"],
            f"{r['contacts']:,.0f}",
            _fmt(r["patience_s"]),
            str(r["peak_agents"]),
            str(r["peak_staff"]),
            f"{r['staff_hours']:,.1f}",
            _fmt(r["service_level"], pct=True),
            _fmt(r["abandon_rate"], pct=True),
        )
    out.print(table)
    for n in plan.notes:
        out.print(f"[yellow]{n}[/]")
    for key in ("xlsx", "csv"):
        if key in result:
            out.print(f"wrote {result[key]}")


def _opt(help_text: str) -> Any:
    return typer.Option(help=help_text)


@staffing_app.command("balance")
def balance_cmd(
    solve: Annotated[Solve, typer.Option("--solve", help="headcount: staff for a workload; workload: the reverse.")] = (
        Solve.headcount
    ),
    volume: Annotated[float | None, _opt("话务量 offered contacts in the period.")] = None,
    staff: Annotated[float | None, _opt("人员数 headcount (for --solve workload).")] = None,
    online_utilisation: Annotated[float | None, _opt("在线利用率 online utilisation (0, 1].")] = None,
    attendance: Annotated[float | None, _opt("出勤率 attendance rate (0, 1].")] = None,
    attendance_from: Annotated[str | None, _opt("出勤率 measured: this tenant's attendance rate over the last 28 "
                                                "days of agent states and schedules (issue 19).")] = None,
    scheduled_hours: Annotated[float | None, _opt("排班时长 scheduled hours per person in the period.")] = None,
    marketing_from: Annotated[str | None, _opt("营销实测 measured: this tenant's volume, answer rate, service "
                                               "handle, pop-up, recommendation, marketing handle, success, price "
                                               "and commission from its contacts and campaigns (issue 12); "
                                               "options given here win.")] = None,
    loss: Annotated[float | None, _opt("冗余损耗 redundancy loss [0, 1); the formula uses 1 − loss.")] = None,
    answer_rate: Annotated[float | None, _opt("接通率 answer rate [0, 1].")] = None,
    service_share: Annotated[float | None, _opt("服务话务占比 service share of answered contacts.")] = None,
    service_aht: Annotated[float | None, _opt("服务单通 service handle time, seconds.")] = None,
    popup_rate: Annotated[float | None, _opt("营销弹窗率 marketing pop-up rate.")] = None,
    recommend_rate: Annotated[float | None, _opt("营销推荐率 marketing recommendation rate.")] = None,
    marketing_aht: Annotated[float | None, _opt("营销单通 marketing handle time, seconds.")] = None,
    marketing_contacts: Annotated[
        float | None, _opt("营销基数 contacts the pop-up rate applies to (default: answered).")
    ] = None,
    service_price: Annotated[float | None, _opt("服务结算单价 price per service contact.")] = None,
    marketing_price: Annotated[float | None, _opt("营销业务单价 price per sale.")] = None,
    success_rate: Annotated[float | None, _opt("营销成功率 share of recommendations that sell.")] = None,
    commission: Annotated[float | None, _opt("营销酬金 commission per sale.")] = None,
    cost_per_hour: Annotated[float | None, _opt("人工小时成本 cost of one paid agent hour.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON.")] = False,
) -> None:
    """The V3 balance: staff × utilisation × attendance × hours × (1 − loss) = service + marketing workload."""
    from callops.wfm.balance import make_inputs
    from callops.wfm.balance import solve as solve_balance

    if attendance is None and attendance_from:
        from callops.people.attendance import measured_attendance
        from callops.warehouse import Warehouse

        with Warehouse() as wh:
            attendance = measured_attendance(wh, attendance_from)
    if marketing_from:
        from callops.marketing.campaigns import balance_figures
        from callops.warehouse import Warehouse

        with Warehouse() as wh:
            m = balance_figures(wh, marketing_from)
        volume = m["volume"] if volume is None else volume
        answer_rate = m["answer_rate"] if answer_rate is None else answer_rate
        service_aht = m["service_handle_s"] if service_aht is None else service_aht
        popup_rate = m["marketing_popup_rate"] if popup_rate is None else popup_rate
        recommend_rate = m["marketing_recommend_rate"] if recommend_rate is None else recommend_rate
        marketing_aht = m["marketing_handle_s"] if marketing_aht is None else marketing_aht
        marketing_price = m["marketing_unit_price"] if marketing_price is None else marketing_price
        success_rate = m["marketing_success_rate"] if success_rate is None else success_rate
        commission = m["marketing_commission"] if commission is None else commission
        cost_per_hour = m["agent_cost_per_hour"] if cost_per_hour is None else cost_per_hour
        service_price = m["service_unit_price"] if service_price is None else service_price
    p = make_inputs(
        volume=volume,
        staff=staff,
        online_utilisation=online_utilisation,
        attendance=attendance,
        scheduled_hours=scheduled_hours,
        loss=loss,
        answer_rate=answer_rate,
        service_share=service_share,
        service_handle_s=service_aht,
        marketing_popup_rate=popup_rate,
        marketing_recommend_rate=recommend_rate,
        marketing_handle_s=marketing_aht,
        marketing_contacts=marketing_contacts,
        service_unit_price=service_price,
        marketing_unit_price=marketing_price,
        marketing_success_rate=success_rate,
        marketing_commission=commission,
        agent_cost_per_hour=cost_per_hour,
    )
    result = solve_balance(p, solve.value)
    if as_json:
        typer.echo(json.dumps(result, default=str, ensure_ascii=False))
        return
    res = result["result"]
    t = Table(title=f"Balance model: solve {solve.value}")
    t.add_column("figure")
    t.add_column("value", justify="right")
    for k, v in res.items():
        if k != "solve":
            t.add_row(k, _fmt(v))
    out.print(t)
    if "comparison" in result:
        c = Table(title="Service vs marketing input")
        c.add_column("figure")
        c.add_column("service", justify="right")
        c.add_column("marketing", justify="right")
        svc, mkt = result["comparison"]["service"], result["comparison"]["marketing"]
        for k in [*svc, *(k for k in mkt if k not in svc)]:
            c.add_row(k, _fmt(svc.get(k)), _fmt(mkt.get(k)))
        out.print(c)
