"""The campaigns step of ``make demo``: evaluate the hotline's campaigns, pause the one that does not pay.

Called as ``run(wh, console)`` after the hotline is loaded (``demo.CAPABILITY_STEPS``). It runs what the
schedule runs (``callops campaign evaluate --tenant demo --apply``): cost, return, benefit score and the SPRT's
decision per campaign; a campaign the test says does not pay is paused (audited, notified in the outbox) and
its offers leave the decisions. It then prints service against marketing per agent hour (the V3 balance model
fed with the measured pop-up, recommendation and handle figures). Running it again pauses nothing new.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from callops import tenancy
from callops.warehouse import Warehouse

DEMO_TENANT = "demo"


def run(wh: Warehouse, console: Console) -> None:
    """Evaluate, apply the automatic pause, and show the paying and non-paying campaigns."""
    from callops.marketing.campaigns import evaluate_tenant, service_vs_marketing
    from callops.marketing.state import paused_campaign_ids
    from callops.store import Store

    tenant = tenancy.get_tenant(wh, DEMO_TENANT)
    with Store() as store:
        result = evaluate_tenant(wh, store, tenant, apply=True)
        paused = paused_campaign_ids(tenant.tenant_id, store)
    table = Table(title=f"Campaigns {result['from']} – {result['to']} (cost = agent time + commission + other)")
    for col in ("campaign", "presented", "accepted", "cost", "return", "cost/return", "score", "decision",
                "state"):
        table.add_column(col, justify="left" if col in ("campaign", "decision", "state") else "right")
    for c in result["campaigns"]:
        ratio = c["cost_return_ratio"]
        table.add_row(c["campaign_id"], f"{c['presented']:,}", f"{c['accepted']:,}", f"{c['cost']:,.0f}",
                      f"{c['return']:,.0f}", "—" if ratio is None else f"{ratio:.2f}", f"{c['score']:.1f}",
                      c["decision"], c["state"])
    console.print(table)
    for c in result["campaigns"]:
        t = c["evidence"]["test"]
        if c["decision"] != "undecided" and "p0" in t:
            console.print(f"  {c['campaign_id']}: acceptance {c['acceptance_rate']:.3f}, break-even "
                          f"{t['p0']:.3f}, target {t['p1']:.3f}; SPRT stopped after {t['n']:,} presentations "
                          f"(α {t['false_continue_rate']}, β {t['false_pause_rate']}) → {c['decision']}")
    if result["paused_now"]:
        console.print(f"[yellow]paused automatically: {', '.join(result['paused_now'])} (audited, notified; "
                      f"out of the offer decisions within a minute)[/]")
    console.print(f"paused campaigns now: {', '.join(sorted(paused)) or 'none'}")
    svm = service_vs_marketing(wh, tenant, evaluation=result)
    s, m = svm["comparison"]["service"], svm["comparison"]["marketing"]
    console.print(
        f"service vs marketing per paid agent hour: revenue {_f(s['yield_per_agent_hour'])} vs "
        f"{_f(m['yield_per_agent_hour'])}, contacts {_f(s['contacts_per_agent_hour'])} vs "
        f"{_f(m['contacts_per_agent_hour'])}; marketing takes {svm['result']['marketing_headcount']:.1f} of "
        f"{svm['result']['headcount_exact']:.1f} agents (pop-up rate {svm['measured']['marketing_popup_rate']:.3f},"
        f" recommendation rate {svm['measured']['marketing_recommend_rate']:.2f}, "
        f"{svm['measured']['marketing_handle_s']:.0f} s per recommendation)")


def _f(x: float | None) -> str:
    return "n/a" if x is None else f"{x:,.1f}"
