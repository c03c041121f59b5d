"""The customer-value step of ``make demo``: a year of account history, scores, tags, a back-test, care tasks.

Called as ``run(wh, console)`` after the hotline is loaded (``demo.CAPABILITY_STEPS``). The history of
the demo's customers comes from :mod:`callops.sim.customer_history` (its docstring states how value,
behaviour and outcomes are linked) and is loaded through the normal ingest path; nothing outside the
package is read. Running it again on the same day changes nothing but the snapshot version.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from callops import tenancy
from callops.sim.customer_history import generate_history
from callops.sim.records import write_to_warehouse
from callops.warehouse import Warehouse

DEMO_TENANT = "demo"
HISTORY_DAYS = 365
BACKTEST_DAYS = 90  # the back-test scores on data up to 90 days ago and measures what happened since


def run(wh: Warehouse, console: Console) -> None:
    """Load the demo customers' history, score and tag them, back-test the model, generate care tasks."""
    from callops.store import Store
    from callops.value.backtest import backtest
    from callops.value.care import generate_tasks
    from callops.value.decide import decide, libraries
    from callops.value.snapshot import score_tenant

    tenant = tenancy.get_tenant(wh, DEMO_TENANT)
    today = datetime.now(ZoneInfo(tenant.timezone)).date()
    with console.status("generating a year of customer history"):
        customers = tenancy.scoped(wh, tenant, "customers").select(
            "customer_id", "arpu", "status", "tenure_months").order_by("customer_id").to_pyarrow()
        events = generate_history(customers, today, days=HISTORY_DAYS, seed=11, zone=tenant.timezone)
        summary = write_to_warehouse(wh, tenant, {"customer_events": events})
    s = summary.get("customer_events")
    if s is not None:
        console.print(f"customer history: {events.num_rows:,} events ({s.loaded:,} new, {s.unchanged:,} unchanged)")
    model, tags, _ = libraries(tenant.tenant_id)
    with console.status("scoring every customer (value model, tags)"):
        result = score_tenant(wh, tenant, model=model, tags=tags)
    table = Table(title=f"Customer value, snapshot v{result['version']} ({result['seconds']:.1f} s)")
    table.add_column("class")
    table.add_column("customers", justify="right")
    for k, v in result["classes"].items():
        table.add_row(k, f"{v:,}")
    console.print(table)
    console.print("tags: " + ", ".join(f"{k} {v:,}" for k, v in result["tags"].items()))
    with console.status("back-testing the value score against an ARPU ranking"):
        bt = backtest(wh, tenant, today - timedelta(days=BACKTEST_DAYS), model=model, tags=tags)
    v, a = bt["value_score"], bt["arpu_baseline"]
    console.print(f"back-test from {bt['split']}: top-decile revenue lift {_f(v['top_decile_lift'])} "
                  f"(ARPU {_f(a['top_decile_lift'])}), churn AUC {_f(v['churn_auc'])} (ARPU {_f(a['churn_auc'])}), "
                  f"purchases expected {bt['purchases']['expected']:,.0f} / "
                  f"actual {bt['purchases']['actual']:,.0f}")  # fmt: skip
    with Store() as store, store.session() as session:
        care = generate_tasks(session, tenant, "make demo")
    console.print(f"care tasks created: {care['total']:,} " + str(care["created"]))
    example = decide(tenant, str(customers.column("customer_id")[0]), "voice", "billing")
    console.print(f"decision for {example['customer_id']}: {example['value_class']} → {example['strategy']} "
                  f"({example['route']})")  # fmt: skip


def _f(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"
