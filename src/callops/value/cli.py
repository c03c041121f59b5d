"""``callops value …``, ``callops customer show`` and ``callops decide`` (issue 11)."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from callops.api.encode import clean
from callops.cli import date_option
from callops.errors import CallopsError
from callops.lake.source import EngineOpt, LakeOpt, source

value_app = typer.Typer(help="Customer value: scores, explanations, CLV, back-test, rule libraries.",
                        no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)  # fmt: skip
customer_app = typer.Typer(help="One view per customer.", no_args_is_help=True, pretty_exceptions_enable=False,
                           add_completion=False)  # fmt: skip

out = Console()
err = Console(stderr=True)

TenantOpt = Annotated[str, typer.Option("--tenant", help="Tenant.")]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Date (YYYY-MM-DD); default today (tenant zone).")]
AsJson = Annotated[bool, typer.Option("--json", help="Print only JSON.")]
LAKE_ENGINES = ("duckdb",)  # the customer features are DuckDB SQL: DuckDB over the lake, as the API's value routes



def _emit(doc: Any) -> None:
    print(json.dumps(clean(doc), ensure_ascii=False))


def _tenant(wh: Any, name: str) -> Any:
    from callops import tenancy

    return tenancy.get_tenant(wh, name)


@value_app.command("score")
def score_cmd(
    tenant: TenantOpt,
    as_of: AsOfOpt = None,
    model: Annotated[Path | None, typer.Option("--model", help="Value model YAML (default: the tenant's).")] = None,
    tags: Annotated[Path | None, typer.Option("--tags", help="Tag library YAML.")] = None,
    lake: LakeOpt = None, engine: EngineOpt = None,
    as_json: AsJson = False,
) -> None:
    """Score and tag every customer in one batch and keep a versioned snapshot (from the warehouse, or with
    --lake from the tenant's Parquet lake, as the API does for a tenant whose lake.yaml names one)."""
    from callops.value.decide import libraries
    from callops.value.model import load_model
    from callops.value.rules import load_tags
    from callops.value.snapshot import score_tenant

    day = date_option(as_of, "--as-of")
    with source(lake, engine, engines=LAKE_ENGINES) as wh:
        t = _tenant(wh, tenant)
        m, tg, _ = libraries(t.tenant_id)
        m = load_model(model) if model else m
        tg = load_tags(tags) if tags else tg
        if as_json:
            summary = score_tenant(wh, t, day, model=m, tags=tg)
        else:
            with err.status(f"scoring the customers of {tenant}"):
                summary = score_tenant(wh, t, day, model=m, tags=tg)
    if as_json:
        _emit(summary)
        return
    out.print(f"{summary['customers']:,} customers scored as of {summary['as_of']} in {summary['seconds']:.1f} s "
              f"(snapshot v{summary['version']})")  # fmt: skip
    for k, v in summary["classes"].items():
        out.print(f"  {k:<12} {v:>10,}")


@value_app.command("explain")
def explain_cmd(customer: Annotated[str, typer.Argument(help="Customer id.")], tenant: TenantOpt,
                as_json: AsJson = False) -> None:  # fmt: skip
    """Why a customer has its score: dimensions and indicators with their contributions."""
    from callops.value.decide import explain
    from callops.warehouse import Warehouse

    with Warehouse() as wh:
        t = _tenant(wh, tenant)
    doc = explain(t, customer)
    if as_json:
        _emit(doc)
        return
    out.print(f"[bold]{customer}[/]  score {doc['score']:.1f}  class {doc['class']}  route {doc['route']}")
    for name, d in doc["dimensions"].items():
        out.print(f"  {name:<11} score {d['score']:5.1f} × weight {d['weight']:.2f} = {d['contribution']:5.2f}")
        for i in d["indicators"]:
            out.print(f"      {i['id']:<18} value {i['value']!s:>10}  n {i['normalised']:.3f}  "
                      f"+{i['contribution']:.2f}")


class Period(StrEnum):
    """Time unit of the customer-base model."""

    week = "week"
    day = "day"


@value_app.command("clv")
def clv_cmd(
    file: Annotated[Path, typer.Argument(help="Transactions (CSV or Parquet).")],
    customer_col: Annotated[str, typer.Option("--customer-col", help="Customer id column.")],
    date_col: Annotated[str, typer.Option("--date-col", help="Transaction date column.")],
    calibration_end: Annotated[str, typer.Option("--calibration-end", help="Last day of calibration (YYYY-MM-DD).")],
    amount_col: Annotated[str | None, typer.Option("--amount-col", help="Amount column (fits Gamma-Gamma).")] = None,
    horizon: Annotated[float, typer.Option("--horizon", help="Hold-out length in periods.")] = 39.0,
    period: Annotated[Period, typer.Option("--period", help="Time unit.")] = Period.week,
    as_json: AsJson = False,
) -> None:
    """Fit BG/NBD (and Gamma-Gamma) by maximum likelihood and predict each customer."""
    from callops.value.clv import fit_clv, read_transactions

    end = date_option(calibration_end, "--calibration-end")
    if horizon <= 0:
        raise CallopsError("--horizon must be positive")
    tx = read_transactions(str(file), customer_col, date_col, amount_col)
    result = fit_clv(tx, end, horizon=horizon, period_days=7.0 if period == Period.week else 1.0,  # type: ignore[arg-type]
                     amount=amount_col is not None)  # fmt: skip
    doc = result.to_dict(customers=True)
    if as_json:
        _emit(doc)
        return
    b = doc["bgnbd"]
    out.print(f"BG/NBD  r={b['r']:.4f} alpha={b['alpha']:.4f} a={b['a']:.4f} b={b['b']:.4f}  LL={b['loglik']:.2f}")
    if "gamma_gamma" in doc:
        g = doc["gamma_gamma"]
        out.print(f"Gamma-Gamma  p={g['p']:.4f} q={g['q']:.4f} gamma={g['gamma']:.4f}  LL={g['loglik']:.2f}")
    out.print(f"{doc['n_customers']:,} customers; expected purchases in {horizon:g} {period.value}s: "
              f"{doc['expected_total']:,.1f}, actual {doc['actual_total']:,.0f}")  # fmt: skip


@value_app.command("backtest")
def backtest_cmd(tenant: TenantOpt,
                 split: Annotated[str, typer.Option("--split", help="Score on data before this date.")],
                 end: Annotated[str | None, typer.Option("--end", help="End of the hold-out; default today.")] = None,
                 lake: LakeOpt = None, engine: EngineOpt = None,
                 as_json: AsJson = False) -> None:  # fmt: skip
    """Score on data before --split, measure lift and churn AUC after it, against a plain ARPU ranking."""
    from callops.value.backtest import backtest
    from callops.value.decide import libraries

    with source(lake, engine, engines=LAKE_ENGINES) as wh:
        t = _tenant(wh, tenant)
        m, tg, _ = libraries(t.tenant_id)
        doc = backtest(wh, t, date_option(split, "--split"), date_option(end, "--end"), model=m, tags=tg)  # type: ignore[arg-type]
    if as_json:
        _emit(doc)
        return
    v, a = doc["value_score"], doc["arpu_baseline"]
    out.print(f"{doc['customers']:,} customers active at {doc['split']}; {doc['churned_after_split']} churned after")
    out.print(f"top-decile lift of later revenue: value {_f(v['top_decile_lift'])}  ARPU {_f(a['top_decile_lift'])}")
    out.print(f"churn AUC: value {_f(v['churn_auc'])}  ARPU {_f(a['churn_auc'])}")
    p = doc["purchases"]
    out.print(f"purchases over {p['horizon_days']:g} days: expected {p['expected']:,.0f}, actual {p['actual']:,.0f}")


def _f(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


class Kind(StrEnum):
    """Kinds of definition files."""

    model = "model"
    tags = "tags"
    strategies = "strategies"


@value_app.command("validate")
def validate_cmd(file: Annotated[Path, typer.Argument(help="A definition file.")],
                 kind: Annotated[Kind, typer.Option("--kind", help="What the file is.")],
                 as_json: AsJson = False) -> None:  # fmt: skip
    """Check a value model, tag or strategy library; errors name the file and line."""
    from callops.value.model import load_model
    from callops.value.rules import load_strategies, load_tags

    if kind == Kind.model:
        m = load_model(file)
        doc = {"ok": True, "id": m.id, "version": m.version, "classes": m.class_ids}
    elif kind == Kind.tags:
        t = load_tags(file)
        doc = {"ok": True, "id": t.id, "version": t.version, "tags": [x.id for x in t.tags]}
    else:
        s = load_strategies(file)
        doc = {"ok": True, "id": s.id, "version": s.version, "rules": [r.id for r in s.rules]}
    if as_json:
        _emit(doc)
    else:
        out.print(f"{file}: valid ({doc['id']} v{doc['version']})")


@customer_app.command("show")
def show_cmd(customer: Annotated[str, typer.Argument(help="Customer id.")], tenant: TenantOpt,
             as_of: AsOfOpt = None, lake: LakeOpt = None, engine: EngineOpt = None,
             as_json: AsJson = False) -> None:  # fmt: skip
    """A customer's profile features, tags, value and timeline as of a date (from the warehouse, or the lake)."""
    from callops.value.decide import customer_profile

    with source(lake, engine, engines=LAKE_ENGINES) as wh:
        doc = customer_profile(wh, _tenant(wh, tenant), customer, date_option(as_of, "--as-of"))
    if as_json:
        _emit(doc)
        return
    out.print(f"[bold]{customer}[/] as of {doc['as_of']}")
    for k, v in doc["features"].items():
        out.print(f"  {k:<26} {v}")
    out.print("tags: " + (", ".join(t["id"] for t in doc["tags"]) or "none"))
    if doc["value"]:
        out.print(f"value: score {doc['value']['score']:.1f}, class {doc['value']['class']}")
    for e in doc["timeline"][:15]:
        out.print(f"  {e['ts'][:16]}  {e['kind']:<13} {e['channel']:<6} {e['what']} {e['detail']}")


def decide_cmd(customer: Annotated[str, typer.Argument(help="Customer id.")], tenant: TenantOpt,
               channel: Annotated[str, typer.Option("--channel", help="Channel of the contact.")] = "voice",
               reason: Annotated[str | None, typer.Option("--reason", help="Reason for contact.")] = None,
               queue: Annotated[str | None, typer.Option("--queue", help="Queue.")] = None,
               ivr_path: Annotated[str | None, typer.Option("--ivr-path", help="IVR path so far.")] = None,
               wait: Annotated[float | None, typer.Option("--wait", help="Seconds the customer waited.")] = None,
               contact: Annotated[str | None, typer.Option("--contact", help="Contact id (one offer each).")] = None,
               as_json: AsJson = False) -> None:  # fmt: skip
    """The decision at contact time: value class, score, tags, strategy, route, guidance, fired rules."""
    from callops.value.decide import decide
    from callops.warehouse import Warehouse

    with Warehouse() as wh:
        t = _tenant(wh, tenant)
    doc = decide(t, customer, channel, reason, queue, ivr_path, wait_s=wait, contact_id=contact)
    if as_json:
        _emit(doc)
        return
    score = "n/a" if doc["score"] is None else f"{doc['score']:.1f}"
    out.print(f"[bold]{customer}[/]  class {doc['value_class']}  score {score}  tags {', '.join(doc['tags']) or '-'}")
    out.print(f"strategy {doc['strategy']} → route {doc['route']}")
    out.print(f"guidance: {doc['guidance']['zh-CN']} / {doc['guidance']['en']}")
    for r in doc["rules_fired"]:
        out.print(f"  fired {r['rule']} (priority {r['priority']:g}){' ← chosen' if r['won'] else ''}")
    offer = doc.get("offer")
    if offer:
        out.print(f"offer {offer['offer_id']} ({offer['product']}): score {offer['score']['score']:.2f} = propensity "
                  f"{offer['score']['propensity']:.3f} × value {offer['score']['value']:g} × weight "
                  f"{offer['score']['weight']:.3f}; chosen with p={offer['probability']:.3f}")  # fmt: skip
        for lang in ("zh-CN", "en"):
            g = offer["guidance"][lang]
            out.print(f"  [{lang}] {g['remind']} {g['offer']} “{g['phrase']}”".replace("  ", " "))
    else:
        out.print(f"no offer: {doc.get('offer_why')}")
    if doc.get("note"):
        out.print(doc["note"])


@value_app.command("balance")
def balance_cmd(
    calls: Annotated[float, typer.Option("--calls", help="Offered contacts in the interval.")],
    aht: Annotated[float, typer.Option("--aht", help="Average handle time, seconds.")],
    agents: Annotated[int, typer.Option("--agents", help="Agents on the queue.")],
    interval: Annotated[float, typer.Option("--interval", help="Interval length, seconds.")] = 1800.0,
    patience: Annotated[float | None, typer.Option("--patience", help="Mean patience, seconds (Erlang A).")] = None,
    shares: Annotated[str, typer.Option("--shares", help="Diversion shares, comma-separated.")] = "0,0.1,0.2,0.3",
    tenant: Annotated[str | None, typer.Option("--tenant", help="Add the tenant's own diversion share.")] = None,
    take_up: Annotated[float, typer.Option("--take-up", help="Share of diverted demand that self-serves.")] = 0.5,
    as_json: AsJson = False,
) -> None:
    """What-if: the queue's service level when low-value demand is diverted to self-service (simulated)."""
    from callops.value.balance import diversion_whatif, tenant_diversion_share

    try:
        wanted = [float(x) for x in shares.split(",") if x.strip()]
    except ValueError:
        raise CallopsError(f"--shares: not a list of numbers: {shares!r}") from None
    own = tenant_diversion_share(tenant, take_up) if tenant else None
    if own:
        wanted = sorted({*wanted, round(own["diversion_share"], 4)})
    doc = {"tenant_share": own, "whatif": diversion_whatif(calls, interval, aht, agents, patience, wanted)}
    if as_json:
        _emit(doc)
        return
    for row in doc["whatif"]:
        out.print(f"diversion {row['share']:.0%}: service level {row['service_level']['mean']:.1%}, "
                  f"abandon {row['abandon_rate']['mean']:.1%}")  # fmt: skip
