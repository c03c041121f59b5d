"""``callops offers …`` (issue 12): the offer library, training the propensity model, the back-test, outcomes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from callops.api.encode import clean
from callops.cli import date_option

offers_app = typer.Typer(help="Offers at contact time: library, propensity training, back-test, outcomes.",
                         no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)  # fmt: skip

out = Console()
err = Console(stderr=True)

TenantOpt = Annotated[str, typer.Option("--tenant", help="Tenant.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print only JSON.")]


def _emit(doc: Any) -> None:
    print(json.dumps(clean(doc), ensure_ascii=False))


def _tenant(wh: Any, name: str) -> Any:
    from callops import tenancy

    return tenancy.get_tenant(wh, name)


def library_summary(tenant_id: str) -> dict[str, Any]:
    """The tenant's offer library and propensity model, as one document (CLI and API)."""
    from callops.marketing.offers import library
    from callops.marketing.propensity import current_model

    lib = library(tenant_id)
    model = current_model(tenant_id)
    return {
        "library": {"id": lib.id, "version": lib.version, "origin": Path(lib.origin).name},
        "policy": {"max_per_contact": lib.policy.max_per_contact,
                   "max_per_customer_month": lib.policy.max_per_customer_month,
                   "declined_cooldown_days": lib.policy.declined_cooldown_days,
                   "never_reasons": sorted(lib.policy.never_reasons), "max_wait_s": lib.policy.max_wait_s},
        "levers": {"importance": lib.levers.importance, "difficulty": lib.levers.difficulty,
                   "exploration": lib.levers.exploration, "min_score": lib.levers.min_score,
                   "campaigns": lib.levers.campaigns, "offers": lib.levers.offers},
        "offers": [{"offer_id": o.id, "campaign_id": o.campaign, "product": o.product, "unit_price": o.unit_price,
                    "commission": o.commission, "value": o.value, "prior": o.prior, "weight": lib.weight(o)[0],
                    "channels": sorted(o.channels)} for o in lib.offers],
        "model": None if model is None else {"version": model.version, "features": len(model.weights),
                                             **{k: model.meta.get(k) for k in ("trained_at", "rows", "accepted",
                                                                                "from", "to")}},
    }  # fmt: skip


@offers_app.command("list")
def list_cmd(tenant: TenantOpt, as_json: AsJson = False) -> None:
    """The offer library in force (the tenant's or the shipped one), its weights, and the propensity model."""
    from callops.warehouse import Warehouse

    with Warehouse() as wh:
        t = _tenant(wh, tenant)
    doc = library_summary(t.tenant_id)
    if as_json:
        _emit(doc)
        return
    table = Table(title=f"offers of {tenant} ({doc['library']['origin']})")
    for col in ("offer", "campaign", "product", "price", "value", "prior", "weight", "channels"):
        table.add_column(col)
    for o in doc["offers"]:
        table.add_row(o["offer_id"], o["campaign_id"], o["product"], f"{o['unit_price']:g}", f"{o['value']:g}",
                      f"{o['prior']:.2f}", f"{o['weight']:.3f}", ",".join(o["channels"]))  # fmt: skip
    out.print(table)
    m = doc["model"]
    out.print("propensity model: " + ("none yet (rules-only: priors); run `callops offers train`" if m is None else
                                      f"v{m['version']}, {m['rows']:,} offers, trained {m['trained_at']}"))


@offers_app.command("validate")
def validate_cmd(file: Annotated[Path, typer.Argument(help="Offer library YAML.")], tenant: TenantOpt,
                 as_json: AsJson = False) -> None:  # fmt: skip
    """Check an offer library against the tenant's tag library and value classes (errors name the line)."""
    from callops.marketing.offers import load_offers
    from callops.value.decide import libraries
    from callops.warehouse import Warehouse

    with Warehouse() as wh:
        t = _tenant(wh, tenant)
    model, tags, _ = libraries(t.tenant_id)
    lib = load_offers(file, tags=tags, classes=[*model.class_ids, "unknown"])
    doc = {"valid": True, "file": str(file), "campaigns": len(lib.campaigns), "offers": len(lib.offers)}
    if as_json:
        _emit(doc)
    else:
        out.print(f"{file}: valid ({len(lib.campaigns)} campaigns, {len(lib.offers)} offers)")


@offers_app.command("set")
def set_cmd(file: Annotated[Path, typer.Argument(help="Offer library YAML.")], tenant: TenantOpt,
            actor: Annotated[str, typer.Option("--actor", help="Who makes the change (audit).")] = "cli") -> None:
    """Make a validated file the tenant's offer library (audited, with the text before and after)."""
    from callops.marketing.offers import load_offers, marketing_dir
    from callops.store import Store, audit
    from callops.value.decide import libraries
    from callops.warehouse import Warehouse

    with Warehouse() as wh:
        t = _tenant(wh, tenant)
    model, tags, _ = libraries(t.tenant_id)
    load_offers(file, tags=tags, classes=[*model.class_ids, "unknown"])
    target = marketing_dir(t.tenant_id) / "offers.yaml"
    before = target.read_text(encoding="utf-8") if target.exists() else None
    text = file.read_text(encoding="utf-8")
    target.parent.mkdir(parents=True, exist_ok=True)
    with Store() as store, store.session() as s:
        audit.record(s, t.tenant_id, actor, "offers.set", "offer_library", "offers.yaml",
                     before={"text": before}, after={"text": text})  # fmt: skip
        target.write_text(text, encoding="utf-8")
    out.print(f"offer library of {tenant} set from {file}")


@offers_app.command("train")
def train_cmd(tenant: TenantOpt,
              end: Annotated[str | None, typer.Option("--end", help="Train on offers before this day.")] = None,
              days: Annotated[int, typer.Option("--days", min=1, help="Days of history.")] = 365,
              as_json: AsJson = False) -> None:  # fmt: skip
    """Batch re-training of the propensity model on the presented/accepted history (a new model version)."""
    from callops.marketing.propensity import train
    from callops.warehouse import Warehouse

    day = date_option(end, "--end")
    with Warehouse() as wh:
        t = _tenant(wh, tenant)
        doc = train(wh, t, end=day, days=days)
    if as_json:
        _emit(doc)
        return
    out.print(f"propensity model v{doc['version']} of {tenant}: {doc['rows']:,} presented offers "
              f"({doc['accepted']:,} accepted), {doc['features']} features, {doc['seconds']:.1f} s")  # fmt: skip


@offers_app.command("backtest")
def backtest_cmd(tenant: TenantOpt,
                 split: Annotated[str, typer.Option("--split", help="Train before this day, evaluate from it.")],
                 end: Annotated[str | None, typer.Option("--end", help="Evaluate up to this day (exclusive).")] = None,
                 reps: Annotated[int, typer.Option("--reps", min=50, max=10000, help="Bootstrap draws.")] = 500,
                 as_json: AsJson = False) -> None:  # fmt: skip
    """AUC of the propensity model; acceptance and revenue per contact, learned vs rules-only, with 95 % CIs."""
    from callops.marketing.backtest import backtest, save_result
    from callops.warehouse import Warehouse

    day = date_option(split, "--split")
    last = date_option(end, "--end")
    with Warehouse() as wh:
        t = _tenant(wh, tenant)
        doc = backtest(wh, t, day, last, reps=reps)  # type: ignore[arg-type]
    save_result(t.tenant_id, doc)  # the console's offers page shows the latest one
    if as_json:
        _emit(doc)
        return
    out.print(f"back-test of {tenant} from {doc['split']}: {doc['train_offers']:,} offers to train, "
              f"{doc['holdout_offers']:,} held out; AUC {doc['auc']:.3f}")  # fmt: skip
    table = Table(title="per offered contact (doubly robust, 95 % bootstrap interval)")
    for col in ("policy", "acceptance rate", "revenue per contact"):
        table.add_column(col)
    for name in ("rules", "learned", "lift"):
        a, r = doc[name]["acceptance_rate"], doc[name]["revenue_per_contact"]
        table.add_row(name, f"{a['dr']:.3f} [{a['dr_ci95'][0]:.3f}, {a['dr_ci95'][1]:.3f}]",
                      f"{r['dr']:.2f} [{r['dr_ci95'][0]:.2f}, {r['dr_ci95'][1]:.2f}]")  # fmt: skip
    out.print(table)


@offers_app.command("outcome")
def outcome_cmd(decision: Annotated[str, typer.Argument(help="Decision id (from the decision's offer).")],
                result: Annotated[str, typer.Argument(help="accepted or declined.")], tenant: TenantOpt,
                as_json: AsJson = False) -> None:  # fmt: skip
    """Record what the customer said to an offer (counts for the 'no repeat of a declined offer' limit)."""
    from callops.marketing.decisionlog import record_outcome
    from callops.store import Store

    with Store() as store:
        doc = record_outcome(store, tenant, decision, result, datetime.now(UTC))
    if as_json:
        _emit(doc)
    else:
        out.print(f"decision {decision}: {result}")


@offers_app.command("decisions")
def decisions_cmd(tenant: TenantOpt, limit: Annotated[int, typer.Option("--limit", min=1, max=10000)] = 20,
                  as_json: AsJson = False) -> None:  # fmt: skip
    """The latest decisions: offer, score parts, the probability it was chosen with, outcome."""
    from zoneinfo import ZoneInfo

    from callops.marketing.decisionlog import decisions
    from callops.store import Store
    from callops.warehouse import Warehouse

    with Warehouse() as wh:
        zone = ZoneInfo(_tenant(wh, tenant).timezone)
    with Store() as store:
        rows = decisions(store, tenant, limit)
    if as_json:
        _emit({"decisions": rows})
        return
    table = Table(title=f"latest decisions of {tenant}")
    for col in ("time", "customer", "offer", "p(chosen)", "score", "policy", "outcome / why"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["decided_at"].astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"), r["customer_id"],
                      r["offer_id"] or "—",
                      "—" if r["probability"] is None else f"{r['probability']:.3f}",
                      "—" if r["score"] is None else f"{r['score']:.2f}", r["policy"],
                      r["outcome"] or r["why"] or "")  # fmt: skip
    out.print(table)
