"""The journeys step of ``make demo``: the hotline's paths, failure reasons and suggestions.

The simulated hotline's journeys have documented causes (``callops.sim.journeys``, ``callops.sim.repeats``):
60 % of contacts whose identity check failed bring the customer to a voice call within 24 h. The views below
read only the loaded ``journey_events`` and should find that failure among those that drive calls.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from callops.journey import analysis, views
from callops.tenancy import get_tenant
from callops.warehouse import Warehouse

DEMO_TENANT = "demo"


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
