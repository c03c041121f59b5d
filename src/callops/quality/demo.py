"""The QA step of ``make demo``: score the hotline's evaluations, draw the month's stratified plan (Neyman, seeded)
and record it, have the simulated evaluators score the drawn contacts (``demo_evaluations``), rank agents with
intervals (Hájek means over the drawn contacts with the draw's design weights; ad-hoc evaluations beside), list
coaching and recognition (the simulated evaluators differ in severity; see ``sim/quality.py``), enter one
evaluation of a drawn contact the way the console does, and run a small calibration session (three evaluators,
blind, then agreement and spread per item)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from callops.errors import CallopsError
from callops.quality import calibration, data, demo_evaluations, entry, service
from callops.quality import store as qstore
from callops.warehouse import Warehouse

DEMO_TENANT = "demo"
DEMO_STRATA = ("channel", "risk")  # risk contacts score lower and vary more: Neyman gives them other weights
DEMO_SEED = 14


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
        plan = service.plan(wh, DEMO_TENANT, period, strata=DEMO_STRATA, allocation="neyman", seed=DEMO_SEED)
        rows = service.draw_rows(plan)
        qstore.save_draw(st, DEMO_TENANT, period, rows, "hotline_voice@1", plan["seed"])
        routine = [r for r in rows if r["stream"] == "routine"]
        # the simulated evaluators work through the recorded draw (the first contact is left to the entry screen)
        done = demo_evaluations.evaluate_draw(wh, DEMO_TENANT, period, rows,
                                              leave={routine[0]["contact_id"]} if routine else ())  # fmt: skip
        rank = service.ranking_report(wh, DEMO_TENANT, period, top=5, store=st)
        coach = service.coaching_report(wh, DEMO_TENANT, period, store=st)
    weights = [r["weight"] for r in routine]
    console.print(f"QA {period}: plan ({'+'.join(DEMO_STRATA)} strata, Neyman, seed {DEMO_SEED}) draws "
                  f"{len(routine)} routine and {sum(r['stream'] == 'risk' for r in rows)} risk contacts "
                  f"(margin ±{plan['margin']:g}, score SD {plan['sd']:.1f}; design weights "
                  f"{min(weights, default=0):.1f}–{max(weights, default=0):.1f}); evaluators scored "
                  f"{done['evaluated']} drawn contacts ({done['already_evaluated']} were evaluated already)"
                  )  # fmt: skip
    table = Table(title=f"QA ranking {period} (empirical Bayes; — = not enough evidence)")
    for col in ("rank", "agent", "n", "mean", "shrunk", "95% interval", "p_top5", "reliability"):
        table.add_column(col)
    for a in rank["agents"][:10]:
        table.add_row("—" if a["rank"] is None else str(a["rank"]), a["agent_id"], str(a["n"]), f"{a['mean']:.1f}",
                      f"{a['shrunk_mean']:.1f}", f"{a['interval'][0]:.1f}–{a['interval'][1]:.1f}",
                      f"{a['p_top']:.2f}", f"{a['reliability']:.2f}")  # fmt: skip
    console.print(table)
    console.print(f"coaching: {len(coach['coaching'])} agents, recognition: {len(coach['recognition'])} agents")
    weighted = [a for a in rank["agents"] if a.get("weighted")]
    design = rank["design"]
    if weighted:
        console.print(f"design weights: {len(weighted)} agents' means are Hájek means over their drawn contacts "
                      f"(e.g. {weighted[0]['agent_id']}: n={weighted[0]['n']}, "
                      f"n_eff={weighted[0]['n_effective']:.1f}); {design['unweighted_agents']} agents without "
                      f"drawn evaluations keep equal weights; {design['adhoc_evaluations']} ad-hoc evaluations "
                      f"reported beside the scores, not in them")  # fmt: skip
    if routine:
        _entry_and_calibration(wh, console, routine)


def _entry_and_calibration(wh: Warehouse, console: Console, routine: list[dict]) -> None:
    """One evaluation saved through the entry service, and a three-evaluator calibration session."""
    import numpy as np

    from callops.quality.forms import load_form
    from callops.store.db import Store

    form = load_form()
    full = {i.id: i.points for i in form.items.values()}
    saved = entry.save_evaluation(wh, DEMO_TENANT, contact_id=routine[0]["contact_id"], evaluator="demo-qa-lead",
                                  answers={**full, "solution": 20, "closing": "na"})  # fmt: skip
    console.print(f"evaluation entry: {saved['evaluation_id']} of {saved['contact_id']} ({saved['agent_id']}) "
                  f"scored {saved['score']:.1f}, saved through ingest")  # fmt: skip
    rng = np.random.default_rng(14)
    contacts = [r["contact_id"] for r in routine[1:6]]
    evaluators = ["demo-qa1", "demo-qa2", "demo-qa3"]
    with Store() as st:
        sess = calibration.create_session(st, DEMO_TENANT, name="demo calibration", contacts=contacts,
                                          evaluators=evaluators, created_by="demo", wh=wh)  # fmt: skip
        quality = dict(zip(contacts, rng.uniform(0.4, 1.0, len(contacts)), strict=True))  # each call's level
        for k, ev in enumerate(evaluators):
            for c in contacts:  # evaluator 3 is strict on the solution; the rest differ by a point or two
                ans = {i: float(np.clip(round(p * quality[c]) - rng.integers(0, 2)
                                        - (8 if k == 2 and i == "solution" else 0), 0, p))
                       for i, p in full.items()}  # fmt: skip
                calibration.rate(st, DEMO_TENANT, sess["id"], evaluator=ev, contact_id=c, answers=ans)
        calibration.close(st, DEMO_TENANT, sess["id"])
        res = calibration.get_session(st, DEMO_TENANT, sess["id"], viewer="demo")["results"]
    agr = res["agreement"] or {}
    widest = max((i for i in res["items"] if i["mean_sd"] is not None), key=lambda i: i["mean_sd"])
    icc = (agr.get("icc") or {}).get("icc_2_1")
    console.print(f"calibration: {len(contacts)} contacts × {len(evaluators)} evaluators, alpha (interval) "
                  f"{agr['alpha']['interval']:.2f}, ICC(2,1) {icc:.2f}; widest spread: {widest['item']} "
                  f"(mean SD {widest['mean_sd']:.1f}% of its points)")  # fmt: skip
