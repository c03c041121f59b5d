"""The customer-value step of ``make demo``: a year of account history, months of earlier contacts, scores, tags, a
back-test, traffic balancing in the live day, care tasks.

Called as ``run(wh, console)`` after the hotline is loaded (``demo.CAPABILITY_STEPS``). The history of
the demo's customers comes from :mod:`callops.sim.customer_history` (its docstring states how value,
behaviour and outcomes are linked) and is loaded through the normal ingest path; nothing outside the
package is read. Running it again on the same day changes nothing but the snapshot version.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from callops import tenancy
from callops.sim.customer_contacts import PREFIX as PRIOR_PREFIX
from callops.sim.customer_contacts import generate_prior_contacts
from callops.sim.customer_history import generate_history
from callops.sim.records import write_to_warehouse
from callops.sim.scenario import demo_scenario
from callops.warehouse import Warehouse

DEMO_TENANT = "demo"
HISTORY_DAYS = 365
BACKTEST_DAYS = 90  # the back-test scores on data up to 90 days ago and measures what happened since
PRIOR_CONTACT_DAYS = 150  # months of customers' contacts before the simulated weeks (sim.customer_contacts):
# enough for the 90-day contact features at a split 90 days back


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
            "customer_id", "arpu", "status", "tenure_months", "vip_level").order_by("customer_id").to_pyarrow()
        events = generate_history(customers, today, days=HISTORY_DAYS, seed=11, zone=tenant.timezone)
        tables = {"customer_events": events}
        first = _simulated_start(wh, tenant)
        if first is not None:  # months of customers' contacts before the simulated weeks (issue 11, item 9)
            tables["contacts"] = generate_prior_contacts(customers, events, demo_scenario(), first,
                                                         days=PRIOR_CONTACT_DAYS, seed=13, zone=tenant.timezone,
                                                         agents_by_queue=_agents_by_queue(wh, tenant))  # fmt: skip
        summary = write_to_warehouse(wh, tenant, tables)
    s = summary.get("customer_events")
    if s is not None:
        console.print(f"customer history: {events.num_rows:,} events ({s.loaded:,} new, {s.unchanged:,} unchanged)")
    s = summary.get("contacts")
    if s is not None and first is not None:
        console.print(f"customer contacts before {first}: {s.read:,} over {PRIOR_CONTACT_DAYS} days "
                      f"({s.loaded:,} new, {s.unchanged:,} unchanged)")  # fmt: skip
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
    _balance_live_day(tenant, today, console)
    with Store() as store, store.session() as session:
        care = generate_tasks(session, tenant, "make demo")
    console.print(f"care tasks created: {care['total']:,} " + str(care["created"]))
    example = decide(tenant, str(customers.column("customer_id")[0]), "voice", "billing")
    console.print(f"decision for {example['customer_id']}: {example['value_class']} → {example['strategy']} "
                  f"({example['route']})")  # fmt: skip


def _f(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def _simulated_start(wh: Warehouse, tenant: tenancy.Tenant) -> date | None:
    """First local day of the simulated weeks (the earliest contact that is not one of the earlier months')."""
    c = tenancy.scoped(wh, tenant, "contacts")
    first = c.filter(~c.contact_id.startswith(PRIOR_PREFIX)).offered_at.min().to_pyarrow().as_py()
    return None if first is None else first.astimezone(ZoneInfo(tenant.timezone)).date()


def _agents_by_queue(wh: Warehouse, tenant: tenancy.Tenant) -> dict[str, list[str]]:
    """The roster's agents per skill (queue): who may have answered an earlier contact."""
    out: dict[str, list[str]] = {}
    rows = tenancy.scoped(wh, tenant, "agents").select("agent_id", "skills").order_by("agent_id").to_pyarrow()
    for r in rows.to_pylist():
        for part in (r["skills"] or "").split(";"):
            if part:
                out.setdefault(part.split(":", 1)[0], []).append(r["agent_id"])
    return out


def _balance_live_day(tenant: tenancy.Tenant, today: date, console: Console) -> None:
    """Divert today's live contacts the decision routes to self-service (``value.demo_balancing``) and print the
    what-if of the most diverted queue next to it."""
    from callops.realtime.hub import live_dir
    from callops.value.balance import diversion_whatif
    from callops.value.demo_balancing import decision_routes, divert_live_day

    folder = live_dir(tenant.tenant_id)
    if not (folder / "events.jsonl").exists():
        return
    with console.status("traffic balancing in today's live day"):
        d = divert_live_day(folder, decision_routes(tenant.tenant_id, today))
    offered = sum(d["offered"].values())
    routes: dict[str, int] = {}
    for per in d["by_queue"].values():
        for r, n in per.items():
            routes[r] = routes.get(r, 0) + n
    console.print(f"live day: {d['diverted']:,} of {offered:,} contacts diverted from agents before the queue ("
                  + ", ".join(f"{r} {n:,}" for r, n in sorted(routes.items())) + ")")  # fmt: skip
    voice = [q for q in d["by_queue"] if d["channels"].get(q) == "voice"]
    if not voice:
        return
    queue = max(voice, key=lambda q: sum(d["by_queue"][q].values()))
    n_div, n_off = sum(d["by_queue"][queue].values()), d["offered"][queue]
    share = n_div / n_off
    spec = next((q for q in demo_scenario().queues if q.name == queue), None)
    aht = spec.handle.mean_s if spec else 280.0
    patience = spec.patience.mean_s if spec and spec.patience else 150.0
    # a peak half-hour of the queue (about 1/16 of its day) staffed at 95 % occupancy without balancing
    calls = n_off / 16.0
    agents = max(1, round(calls * aht / 1800.0 / 0.95))
    rows = diversion_whatif(calls, 1800.0, aht, agents, patience, [0.0, round(share, 3)], replications=3, seed=1)
    sl = [r["service_level"]["mean"] for r in rows]
    console.print(f"what-if {queue}: {n_div:,} of {n_off:,} diverted ({share:.1%}); a peak half-hour of "
                  f"{calls:.0f} calls on {agents} agents: service level {sl[0]:.1%} without balancing, "
                  f"{sl[1]:.1%} with it (callops value balance)")  # fmt: skip
