"""``callops journey ...``: process views, funnels, failure reasons, channel KPIs and one customer's replay."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from callops.cli import date_option
from callops.errors import CallopsError
from callops.journey.events import Selection
from callops.lake.source import EngineOpt, LakeOpt, source
from callops.tenancy import get_tenant

journey_app = typer.Typer(
    name="journey", help="Journeys across channels: variants, flows, funnels, failure reasons.", no_args_is_help=True
)
out = Console()

Tenant = Annotated[str, typer.Option("--tenant", help="Tenant.")]
From = Annotated[str | None, typer.Option("--from", help="First local date of session starts (YYYY-MM-DD).")]
To = Annotated[str | None, typer.Option("--to", help="Last local date, inclusive.")]
Where = Annotated[str | None, typer.Option(
    "--where", help="Keep sessions with an event matching, e.g. \"channel = 'app'\" or \"plan = 'gold'\".")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
LAKE_ENGINES = ("duckdb",)  # every journey view is DuckDB SQL (windows, ordered lists): DuckDB over the lake



def _sel(from_: str | None, to: str | None, where: str | None) -> Selection:
    return Selection(date_option(from_, "--from"), date_option(to, "--to"), where)


def _emit(doc: Any, as_json: bool, rows: list[dict] | None = None, title: str = "") -> None:
    if as_json:
        print(json.dumps(doc, ensure_ascii=False, indent=2, default=str))
        return
    rows = rows if rows is not None else [doc]
    if not rows:
        out.print(f"{title}: nothing")
        return
    table = Table(title=title)
    for col in rows[0]:
        table.add_column(str(col))
    for r in rows:
        table.add_row(*[_cell(v) for v in r.values()])
    out.print(table)


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.3f}"
    if isinstance(v, list):
        return " → ".join(map(str, v))
    return "" if v is None else str(v)


@journey_app.command("summary")
def summary_cmd(tenant: Tenant, from_: From = None, to: To = None, where: Where = None, as_json: Json = False,
                lake: LakeOpt = None, engine: EngineOpt = None) -> None:
    """Events, sessions, steps, variants, edges, durations and rework of the selected sessions."""
    from callops.journey.views import summary

    with source(lake, engine, engines=LAKE_ENGINES) as wh:
        doc = summary(wh, get_tenant(wh, tenant), _sel(from_, to, where))
    _emit(doc, as_json, [{"measure": k, "value": v} for k, v in doc.items()], f"{tenant}: journeys")


@journey_app.command("variants")
def variants_cmd(
    tenant: Tenant,
    top: Annotated[int, typer.Option("--top", min=1, help="How many variants, most frequent first.")] = 20,
    from_: From = None, to: To = None, where: Where = None, as_json: Json = False,
    lake: LakeOpt = None, engine: EngineOpt = None,
) -> None:
    """The distinct step sequences with sessions, share and durations."""
    from callops.journey.views import variants

    with source(lake, engine, engines=LAKE_ENGINES) as wh:
        doc = variants(wh, get_tenant(wh, tenant), _sel(from_, to, where), top=top)
    rows = [{k: v for k, v in r.items() if k in ("rank", "sessions", "share", "path")} for r in doc["top"]]
    _emit(doc, as_json, rows, f"{tenant}: {doc['variants']} variants of {doc['sessions']} sessions")


@journey_app.command("dfg")
def dfg_cmd(tenant: Tenant, from_: From = None, to: To = None, where: Where = None, as_json: Json = False,
            lake: LakeOpt = None, engine: EngineOpt = None) -> None:
    """The directly-follows graph: edges with counts and waits (mean, median, p90), start and end steps."""
    from callops.journey.views import dfg

    with source(lake, engine, engines=LAKE_ENGINES) as wh:
        doc = dfg(wh, get_tenant(wh, tenant), _sel(from_, to, where))
    _emit(doc, as_json, doc["edges"], f"{tenant}: directly-follows graph")


@journey_app.command("funnel")
def funnel_cmd(
    tenant: Tenant,
    definition: Annotated[Path, typer.Argument(help="Funnel YAML file.")],
    from_: From = None, to: To = None, where: Where = None, as_json: Json = False,
    lake: LakeOpt = None, engine: EngineOpt = None,
) -> None:
    """Fallout per step of each funnel declared in a YAML file."""
    from callops.journey.funnels import evaluate, load_funnels

    funnels = load_funnels(definition)
    with source(lake, engine, engines=LAKE_ENGINES) as wh:
        doc = [evaluate(wh, get_tenant(wh, tenant), f, _sel(from_, to, where)) for f in funnels]
    rows = [{"funnel": d["name"], **s} for d in doc for s in d["steps"]]
    _emit(doc, as_json, rows, f"{tenant}: funnels")


@journey_app.command("failures")
def failures_cmd(
    tenant: Tenant,
    within_h: Annotated[float, typer.Option("--within-hours", help="A voice call this soon after counts.")] = 24,
    top: Annotated[int, typer.Option("--top", min=1)] = 20,
    from_: From = None, to: To = None, where: Where = None, as_json: Json = False,
    lake: LakeOpt = None, engine: EngineOpt = None,
) -> None:
    """Failure reasons ranked by the sessions they break, with the voice calls that followed."""
    from callops.journey.analysis import failure_reasons

    with source(lake, engine, engines=LAKE_ENGINES) as wh:
        doc = failure_reasons(wh, get_tenant(wh, tenant), _sel(from_, to, where), within_h=within_h, top=top)
    _emit(doc, as_json, doc, f"{tenant}: failure reasons")


@journey_app.command("channels")
def channels_cmd(tenant: Tenant, from_: From = None, to: To = None, where: Where = None, as_json: Json = False,
                 lake: LakeOpt = None, engine: EngineOpt = None) -> None:
    """Per channel: sessions, completion, failure, escalation to an agent, time to resolution."""
    from callops.journey.analysis import channel_kpis

    with source(lake, engine, engines=LAKE_ENGINES) as wh:
        doc = channel_kpis(wh, get_tenant(wh, tenant), _sel(from_, to, where))
    _emit(doc, as_json, doc, f"{tenant}: channels")


@journey_app.command("related")
def related_cmd(
    tenant: Tenant,
    min_support: Annotated[float, typer.Option("--min-support")] = 0.01,
    top: Annotated[int, typer.Option("--top", min=1)] = 20,
    from_: From = None, to: To = None, where: Where = None, as_json: Json = False,
    lake: LakeOpt = None, engine: EngineOpt = None,
) -> None:
    """Businesses and steps that go together in a customer's sessions: support, confidence, lift."""
    from callops.journey.analysis import related

    with source(lake, engine, engines=LAKE_ENGINES) as wh:
        doc = related(wh, get_tenant(wh, tenant), _sel(from_, to, where), min_support=min_support, top=top)
    _emit(doc, as_json, doc, f"{tenant}: related businesses and steps")


@journey_app.command("suggest")
def suggest_cmd(tenant: Tenant, from_: From = None, to: To = None, where: Where = None, as_json: Json = False,
                lake: LakeOpt = None, engine: EngineOpt = None) -> None:
    """Optimisation suggestions ranked by the sessions at stake, each with its evidence."""
    from callops.journey.analysis import suggestions

    with source(lake, engine, engines=LAKE_ENGINES) as wh:
        doc = suggestions(wh, get_tenant(wh, tenant), _sel(from_, to, where))
    _emit(doc, as_json, [{k: v for k, v in s.items() if k != "evidence"} for s in doc], f"{tenant}: suggestions")


@journey_app.command("replay")
def replay_cmd(
    tenant: Tenant, customer: Annotated[str, typer.Option("--customer", help="Customer id.")], as_json: Json = False,
    lake: LakeOpt = None, engine: EngineOpt = None,
) -> None:
    """One customer's timeline of steps and contacts across channels."""
    from callops.journey.replay import customer_journey

    with source(lake, engine, engines=LAKE_ENGINES) as wh:
        doc = customer_journey(wh, get_tenant(wh, tenant), customer)
    _emit(doc, as_json, doc["timeline"], f"{tenant}: customer {customer}")


@journey_app.command("perception")
def perception_cmd(
    tenant: Tenant,
    view: Annotated[str, typer.Argument(help="churn, dissatisfied or arpu.")] = "churn",
    from_: From = None, to: To = None, where: Where = None, as_json: Json = False,
    lake: LakeOpt = None, engine: EngineOpt = None,
) -> None:
    """Churned vs retained (effect sizes, CIs), dissatisfied customers' paths and reasons, high-ARPU behaviour."""
    from callops.journey import perception

    funcs = {"churn": perception.churn_comparison, "dissatisfied": perception.dissatisfied,
             "arpu": perception.high_arpu}
    if view not in funcs:
        raise CallopsError(f"unknown perception view {view!r}; expected one of: {', '.join(funcs)}")
    with source(lake, engine, engines=LAKE_ENGINES) as wh:
        doc = funcs[view](wh, get_tenant(wh, tenant), _sel(from_, to, where))
    rows = doc.get("features") or doc.get("reasons") or []
    _emit(doc, as_json, [{k: v for k, v in r.items() if not isinstance(v, list)} for r in rows], f"{tenant}: {view}")


@journey_app.command("churn")
def churn_cmd(
    tenant: Tenant,
    split: Annotated[str, typer.Option("--split", help="First local date of the hold-out (YYYY-MM-DD).")],
    horizon: Annotated[int, typer.Option("--horizon", help="Days of each window (training and hold-out).")] = 60,
    as_json: Json = False, lake: LakeOpt = None, engine: EngineOpt = None,
) -> None:
    """Back-test a churn model: trained on the window before --split, tested on the window after (AUC, lift)."""
    from callops.journey.churn import churn_backtest

    day = date_option(split, "--split")
    if day is None:
        raise CallopsError("--split: expected a date as YYYY-MM-DD")
    with source(lake, engine, engines=LAKE_ENGINES) as wh:
        doc = churn_backtest(wh, get_tenant(wh, tenant), day, horizon_days=horizon)
    rows = [{"ranking": "model", **{k: doc["model"][k] for k in ("auc", "top_decile_lift")}},
            {"ranking": f"baseline: {doc['baseline']['feature']}",
             **{k: doc["baseline"][k] for k in ("auc", "top_decile_lift")}}]
    _emit(doc, as_json, rows, f"{tenant}: churn back-test, hold-out {doc['test']['as_of']} + {horizon} days "
                              f"({doc['test']['churned']:,} of {doc['test']['customers']:,} churned)")


@journey_app.command("cost")
def cost_cmd(tenant: Tenant, as_json: Json = False, lake: LakeOpt = None, engine: EngineOpt = None) -> None:
    """Cost per contact per channel, e-channel share, true containment, diversion per week."""
    from callops.journey import cost

    with source(lake, engine, engines=LAKE_ENGINES) as wh:
        t = get_tenant(wh, tenant)
        doc = {**cost.channel_costs(wh, t), "containment": cost.containment(wh, t), "weeks": cost.diversion(wh, t)}
    share, contained = doc["e_channel_share"] or 0.0, doc["containment"]["containment"] or 0.0
    _emit(doc, as_json, doc["channels"], f"{tenant}: cost per channel (e-channel share {100 * share:.1f}%, "
          f"true containment {100 * contained:.1f}%)")
