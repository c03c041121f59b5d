"""``callops campaign …``: campaign benefit evaluation, the sequential test, pause and resume (issue 12)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from callops.api.encode import clean
from callops.cli import date_option

campaign_app = typer.Typer(help="Campaigns: cost, return, benefit score, automatic pause (SPRT), resume.",
                           no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)

out = Console()
err = Console(stderr=True)

TenantOpt = Annotated[str, typer.Option("--tenant", help="Tenant.")]
FromOpt = Annotated[str | None, typer.Option("--from", help="First local day (YYYY-MM-DD); default: the data's.")]
ToOpt = Annotated[str | None, typer.Option("--to", help="Last local day (YYYY-MM-DD); default: the data's.")]
CostsOpt = Annotated[Path | None, typer.Option("--costs", help="Cost file YAML (default: the tenant's, else the "
                                                                "shipped one).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print only JSON.")]


def _emit(doc: Any) -> None:
    print(json.dumps(clean(doc), ensure_ascii=False))


def _num(v: Any, digits: int = 2) -> str:
    if v is None:
        return "—"
    return f"{v:,.{digits}f}"


@campaign_app.command("evaluate")
def evaluate_cmd(
    tenant: TenantOpt,
    from_: FromOpt = None,
    to: ToOpt = None,
    costs: CostsOpt = None,
    apply: Annotated[bool, typer.Option("--apply", help="Pause the campaigns the test says to (audited, "
                                                        "notified). Run it on a schedule.")] = False,
    as_json: AsJson = False,
) -> None:
    """Per campaign: presented, accepted, cost, return, cost/return, benefit score and decision with evidence."""
    from callops.marketing.campaigns import evaluate_tenant, tenant_costs
    from callops.store.db import Store
    from callops.warehouse import Warehouse

    start, end = date_option(from_, "--from"), date_option(to, "--to")
    with Warehouse() as wh, Store() as store:
        from callops import tenancy

        t = tenancy.get_tenant(wh, tenant)
        result = evaluate_tenant(wh, store, t, start, end, costs=tenant_costs(t.tenant_id, costs), apply=apply)
    if as_json:
        _emit(result)
        return
    table = Table(title=f"Campaigns of {tenant}, {result['from']} – {result['to']}")
    for col in ("campaign", "state", "presented", "accepted", "cost", "return", "cost/return", "score", "decision"):
        table.add_column(col, justify="left" if col in ("campaign", "state", "decision") else "right")
    for c in result["campaigns"]:
        table.add_row(c["campaign_id"], c["state"], f"{c['presented']:,}", f"{c['accepted']:,}", _num(c["cost"]),
                      _num(c["return"]), _num(c["cost_return_ratio"]), _num(c["score"], 1), c["decision"])
    out.print(table)
    for c in result["campaigns"]:
        out.print(f"  {c['campaign_id']}: {c['evidence']['reason']}")
    for cid in result["paused_now"]:
        out.print(f"[yellow]paused {cid} (audited, notified)[/]")


@campaign_app.command("test")
def test_cmd(
    p0: Annotated[float, typer.Option("--p0", help="Break-even acceptance rate (H0).")],
    p1: Annotated[float, typer.Option("--p1", help="Target acceptance rate (H1), above p0.")],
    alpha: Annotated[float, typer.Option("--alpha", help="P(continue | p0).")] = 0.05,
    beta: Annotated[float, typer.Option("--beta", help="P(pause | p1).")] = 0.10,
    as_json: AsJson = False,
) -> None:
    """Wald's SPRT between p0 and p1: boundaries, steps and expected sample sizes."""
    from callops.marketing.sprt import Sprt

    s = Sprt(p0, p1, alpha, beta).summary()
    if as_json:
        _emit(s)
        return
    for k, v in s.items():
        out.print(f"{k:<14} {v:.6g}" if isinstance(v, float) else f"{k:<14} {v}")


def _change(action: str, campaign_id: str, tenant: str, reason: str, as_json: bool) -> None:
    from callops.marketing.campaigns import set_state
    from callops.store.cli import cli_actor
    from callops.store.db import Store
    from callops.warehouse import Warehouse

    with Warehouse() as wh, Store() as store:
        result = set_state(wh, store, tenant, campaign_id, action, actor=cli_actor(), reason=reason)
    if as_json:
        _emit(result)
        return
    verb = "paused" if action == "pause" else "resumed"
    out.print(f"{campaign_id}: {verb}" if result["changed"] else f"{campaign_id}: already {result['state']}")


@campaign_app.command("pause")
def pause_cmd(campaign_id: Annotated[str, typer.Argument(help="Campaign id.")], tenant: TenantOpt,
              reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit log).")],
              as_json: AsJson = False) -> None:
    """Pause a campaign by hand: its offers leave the decisions within a minute."""
    _change("pause", campaign_id, tenant, reason, as_json)


@campaign_app.command("resume")
def resume_cmd(campaign_id: Annotated[str, typer.Argument(help="Campaign id.")], tenant: TenantOpt,
               reason: Annotated[str, typer.Option("--reason", help="Why (kept in the audit log).")],
               as_json: AsJson = False) -> None:
    """Resume a paused campaign, giving a reason; its test restarts on the presentations after now."""
    _change("resume", campaign_id, tenant, reason, as_json)


@campaign_app.command("show")
def show_cmd(campaign_id: Annotated[str, typer.Argument(help="Campaign id.")], tenant: TenantOpt,
             from_: FromOpt = None, to: ToOpt = None, costs: CostsOpt = None,
             grain: Annotated[str, typer.Option("--grain", help="day or week.")] = "week",
             as_json: AsJson = False) -> None:
    """One campaign: evaluation, trend per day or week, the test's path and its pause history."""
    from callops import tenancy
    from callops.marketing.campaigns import tenant_costs, trend
    from callops.store.db import Store
    from callops.warehouse import Warehouse

    start, end = date_option(from_, "--from"), date_option(to, "--to")
    with Warehouse() as wh, Store() as store:
        t = tenancy.get_tenant(wh, tenant)
        result = trend(wh, store, t, campaign_id, start, end, costs=tenant_costs(t.tenant_id, costs), grain=grain)
    if as_json:
        _emit(result)
        return
    c = result["campaign"]
    out.print(f"{c['campaign_id']} ({c['state']}): {c['decision']} — {c['evidence']['reason']}")
    table = Table(title=f"per {grain}")
    for col in ("period", "presented", "accepted", "cost", "return", "cost/return"):
        table.add_column(col, justify="left" if col == "period" else "right")
    for p in c["trend"]["points"]:
        table.add_row(p["period"], f"{p['presented']:,}", f"{p['accepted']:,}", _num(p["cost"]),
                      _num(p["return"]), _num(p["cost_return_ratio"]))
    out.print(table)
    for h in c["history"]:
        out.print(f"  {h['at']} {h['kind']} by {h['actor']}: {h['reason']}")


@campaign_app.command("balance")
def balance_cmd(tenant: TenantOpt, from_: FromOpt = None, to: ToOpt = None, costs: CostsOpt = None,
                as_json: AsJson = False) -> None:
    """Service against marketing: the V3 balance model fed with the period's measured pop-up, recommendation
    and handle figures; headcount and yield per agent hour of each."""
    from callops import tenancy
    from callops.marketing.campaigns import service_vs_marketing, tenant_costs
    from callops.warehouse import Warehouse

    start, end = date_option(from_, "--from"), date_option(to, "--to")
    with Warehouse() as wh:
        t = tenancy.get_tenant(wh, tenant)
        result = service_vs_marketing(wh, t, start, end, costs=tenant_costs(t.tenant_id, costs))
    if as_json:
        _emit(result)
        return
    for k, v in result["measured"].items():
        out.print(f"{k:<26} {_num(v, 4)}")
    c = Table(title="Service vs marketing per agent hour")
    c.add_column("figure")
    c.add_column("service", justify="right")
    c.add_column("marketing", justify="right")
    svc, mkt = result["comparison"]["service"], result["comparison"]["marketing"]
    for k in [*svc, *(k for k in mkt if k not in svc)]:
        c.add_row(k, _num(svc.get(k)), _num(mkt.get(k)))
    out.print(c)
