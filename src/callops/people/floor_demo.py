"""Demo step of the floor (issue 19): adherence on the live day, attendance, an HR case and an overtime proposal.

Runs on the simulated hotline the demo has just loaded: the live day's files (``live/demo``: roster, today's
schedule, events) and the warehouse's history. The live day is fed up to 14:20 (into the billing overload) into
a hub of its own (not the served one, which ``make demo --serve`` starts afterwards from the same files: the
accepted offer's schedule version is in them).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rich.console import Console

from callops import tenancy
from callops.cli import print_rows
from callops.people import adherence, attendance, hr_cases, overtime
from callops.people.floor_settings import load_settings
from callops.realtime.config import load_config, load_roster, load_schedule
from callops.realtime.hub import LiveHub, live_dir
from callops.store.db import Store
from callops.warehouse import Warehouse

TENANT = "demo"


def number(v: float | None) -> str:
    """A share as a percentage ('—' without one)."""
    return "—" if v is None else f"{v:.1%}"
FED_UNTIL = time(14, 20)  # twenty minutes into the billing overload (14:00-15:00): the live rate shows it


def run(wh: Warehouse, console: Console) -> None:
    """Print adherence now (with an exception recorded), the last days' attendance per team, the HR cases the
    rules raise and the overtime/VTO proposal for the billing overload, one offer accepted."""
    folder = live_dir(TENANT)
    if not (folder / "events.jsonl").exists():
        console.print("floor: no live day to show (run the full demo)")
        return
    zone = ZoneInfo(tenancy.get_tenant(wh, TENANT).timezone)
    # no contingency plans: this hub only shows adherence and the intraday picture (the served one runs them)
    hub = LiveHub(load_config(folder / "live.yaml", TENANT), plans=[], roster=load_roster(folder / "agents.csv"),
                  schedule=load_schedule(folder / "schedules.csv"))  # fmt: skip
    watch = adherence.attach_watch(hub.engine, load_settings(TENANT).adherence.threshold_s)
    lines = (folder / "events.jsonl").read_text(encoding="utf-8").splitlines()
    day = datetime.fromisoformat(json.loads(lines[0])["ts"]).astimezone(zone).date() if lines else None
    if day is None:
        return
    cut = datetime.combine(day, FED_UNTIL, zone)
    fed = [x for x in lines if datetime.fromisoformat(json.loads(x)["ts"]) < cut]
    for i in range(0, len(fed), 5000):
        hub.submit(fed[i:i + 5000], "floor-demo")
    now = adherence.adherence_now(hub)
    console.print(f"floor: live day {day} fed to {FED_UNTIL:%H:%M} ({len(fed):,} events): "
                  f"{now['out_of_adherence']} of {len(now['agents'])} scheduled agents out of adherence, "
                  f"{sum(1 for e in hub.engine.events if e.rule == adherence.RULE and e.kind == 'raised')} "
                  f"adherence alerts raised today (threshold {now['threshold_s']:g} s)")  # fmt: skip
    print_rows([{k: r[k] for k in ("agent_id", "team", "state", "scheduled_now", "out_s", "alert_level",
                                   "adherence_today")} for r in now["agents"][:5]],
               title="Adherence now: worst five")  # fmt: skip
    with Store() as store:
        worst = next((r for r in now["agents"] if not r["in_adherence"]), None)
        if worst is not None:
            at = datetime.fromtimestamp(hub.engine.state.now, UTC)
            adherence.record_exception(store, TENANT, worst["agent_id"], "system", at - timedelta(minutes=10),
                                       at + timedelta(minutes=20), "demo", "softphone down")  # fmt: skip
            with hub.lock:
                watch.add_exception(worst["agent_id"], (at - timedelta(minutes=10)).timestamp(),
                                    (at + timedelta(minutes=20)).timestamp(), "system")  # fmt: skip
            after = watch.agent_now(worst["agent_id"])
            console.print(f"floor: exception 'system' recorded for {worst['agent_id']}: in adherence now "
                          f"{after['in_adherence']}, alert {after['alert_level'] or 'cleared'}")
        end = day - timedelta(days=1)
        cfg = load_settings(TENANT).attendance
        rep = attendance.attendance_report(wh, TENANT, end - timedelta(days=2), end, cfg.late_grace_s,
                                           cfg.early_grace_s)  # fmt: skip
        lowest = sorted(rep["teams"], key=lambda t: t["attendance_rate"] or 0.0)[:5]
        print_rows([{"team": t["team"], "attendance_rate": t["attendance_rate"], "adherence": t["adherence"],
                     "conformance": t["conformance"], "late_starts": t["late_starts"],
                     "early_leaves": t["early_leaves"], "absences": t["absences"]} for t in lowest],
                   title=f"Attendance {rep['start']}..{rep['end']}: the five lowest of {len(rep['teams'])} teams "
                         f"(tenant {number(rep['total']['attendance_rate'])})")  # fmt: skip
        fired = hr_cases.open_cases(store, TENANT, hr_cases.matches(hr_cases.load_rules(TENANT), rep["incidents"]),
                                    "demo")  # fmt: skip
        cases = hr_cases.list_cases(store, TENANT)
        console.print(f"floor: HR rules found {fired['found']} case(s), {fired['new']} new; e.g. "
                      f"{cases[0]['summary'] if cases else 'none'}")
        prop = overtime.propose(store, hub, "demo", horizon_h=1.0)
        worst = sorted(prop["blocks"], key=lambda b: b["service_level"])[:4]
        print_rows([{**b, "start": b["start"][11:16], "end": b["end"][11:16]} for b in worst],
                   title=f"Intraday picture, worst blocks ({prop['source']}, target {prop['target_sl']:.0%})")
        print_rows([{k: o[k] for k in ("id", "kind", "queue", "agent_id", "sl_before", "sl_after")}
                    for o in prop["offers"]], title="Overtime / VTO offers")  # fmt: skip
        if prop["offers"]:
            o = overtime.accept_offer(store, wh, hub, prop["offers"][0]["id"], "demo", None)
            console.print(f"floor: offer {o['id']} accepted for {o['agent_id']} on {day}: the tenant's schedule "
                          f"version {o['schedule_version']} (warehouse and live room updated)")
