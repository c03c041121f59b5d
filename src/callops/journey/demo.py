"""The journeys step of ``make demo``: the hotline's paths, failure reasons and suggestions.

The simulated hotline's journeys have documented causes (``callops.sim.journeys``, ``callops.sim.repeats``):
60 % of contacts whose identity check failed bring the customer to a voice call within 24 h. The views below
read only the loaded ``journey_events`` and should find that failure among those that drive calls. The churn
back-test reads the customer view; churn is announced in the history by fewer purchases and unsubscriptions
(``callops.sim.customer_history``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from callops.errors import CallopsError
from callops.journey import analysis, views
from callops.journey.churn import churn_backtest
from callops.tenancy import Tenant, get_tenant
from callops.warehouse import Warehouse

DEMO_TENANT = "demo"
CHURN_HORIZON_DAYS = 60


def run(wh: Warehouse, console: Console) -> None:
    """Print the demo tenant's journey summary, top paths, failure reasons and suggestions."""
    tenant = get_tenant(wh, DEMO_TENANT)
    s = views.summary(wh, tenant)
    if not s["events"]:
        console.print("[yellow]journeys: no journey events[/]")
        return
    console.print(
        f"journeys: {s['events']:,} steps in {s['sessions']:,} sessions, {s['variants']:,} distinct paths, "
        f"median session {s['median_duration_s'] / 60:.1f} min, rework in {100 * s['rework_share']:.1f}% "
        "(console: /journeys, `callops journey summary --tenant demo`)"
    )
    table = Table(title="most frequent paths")
    for col in ("#", "sessions", "share", "path"):
        table.add_column(col)
    for v in views.variants(wh, tenant, top=5)["top"]:
        table.add_row(str(v["rank"]), f"{v['sessions']:,}", f"{100 * v['share']:.1f}%", " → ".join(v["path"]))
    console.print(table)
    table = Table(title="failure reasons (sessions broken; then a voice call within 24 h)")
    for col in ("reason", "step", "channel", "sessions", "then voice"):
        table.add_column(col)
    for r in analysis.failure_reasons(wh, tenant, top=5):
        table.add_row(r["reason"], r["step"], r["channel"] or "", f"{r['sessions']:,}",
                      f"{r['then_voice_sessions']:,} ({100 * r['then_voice_share']:.0f}%)")
    console.print(table)
    for x in analysis.suggestions(wh, tenant)[:3]:
        console.print(f"  suggestion {x['rank']}: {x['title']} — {x['sessions']:,} sessions at stake")
    _churn(wh, tenant, console)


def _churn(wh: Warehouse, tenant: Tenant, console: Console) -> None:
    """The churn model trained on the 60 days before the last 60, tested on the last 60 (the value history)."""
    split = datetime.now(ZoneInfo(tenant.timezone)).date() - timedelta(days=CHURN_HORIZON_DAYS)
    try:
        doc = churn_backtest(wh, tenant, split, horizon_days=CHURN_HORIZON_DAYS)
    except CallopsError as exc:
        console.print(f"[yellow]churn back-test: {exc}[/]")
        return
    m, b = doc["model"], doc["baseline"]
    console.print(
        f"churn back-test from {split}: {doc['test']['churned']:,} of {doc['test']['customers']:,} customers left "
        f"within {CHURN_HORIZON_DAYS} days; model AUC {m['auc']:.2f} "
        f"(95% CI {m['auc_ci'][0]:.2f}–{m['auc_ci'][1]:.2f}), "
        f"top-decile lift {m['top_decile_lift']:.1f}× against {b['auc']:.2f} and {b['top_decile_lift']:.1f}× for "
        f"{b['feature']} (`callops journey churn --tenant demo --split {split}`)")
