"""The QA step of ``make demo``: score the hotline's evaluations, plan and draw next checks, rank agents with
intervals, list coaching and recognition (the simulated evaluators differ in severity; see ``sim/quality.py``)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from callops.errors import CallopsError
from callops.quality import data, service
from callops.quality import store as qstore
from callops.warehouse import Warehouse

DEMO_TENANT = "demo"


def run(wh: Warehouse, console: Console) -> None:
    """Print the demo tenant's QA ranking (top 10) and coaching lists, and record this month's draw."""
    from callops.store.db import Store
    from callops.store.tenants import sync_tenants

    try:
        period = data.latest_period(wh, DEMO_TENANT)
    except CallopsError as exc:
        console.print(f"[yellow]QA: {exc}[/]")
        return
    with Store() as st:
        sync_tenants(st, wh)
        plan = service.plan(wh, DEMO_TENANT, period)
        rows = service.draw_rows(plan)
        qstore.save_draw(st, DEMO_TENANT, period, rows, "hotline_voice@1", plan["seed"])
        rank = service.ranking_report(wh, DEMO_TENANT, period, top=5, store=st)
        coach = service.coaching_report(wh, DEMO_TENANT, period, store=st)
    console.print(f"QA {period}: plan draws {sum(r['stream'] == 'routine' for r in rows)} routine and "
                  f"{sum(r['stream'] == 'risk' for r in rows)} risk contacts (margin ±{plan['margin']:g}, "
                  f"score SD {plan['sd']:.1f})")  # fmt: skip
    table = Table(title=f"QA ranking {period} (empirical Bayes; — = not enough evidence)")
    for col in ("rank", "agent", "n", "mean", "shrunk", "95% interval", "p_top5", "reliability"):
        table.add_column(col)
    for a in rank["agents"][:10]:
        table.add_row("—" if a["rank"] is None else str(a["rank"]), a["agent_id"], str(a["n"]), f"{a['mean']:.1f}",
                      f"{a['shrunk_mean']:.1f}", f"{a['interval'][0]:.1f}–{a['interval'][1]:.1f}",
                      f"{a['p_top']:.2f}", f"{a['reliability']:.2f}")  # fmt: skip
    console.print(table)
    console.print(f"coaching: {len(coach['coaching'])} agents, recognition: {len(coach['recognition'])} agents")
