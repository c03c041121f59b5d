"""``callops live``: replay an event log through the live engine, and write the simulated demo day."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from callops.errors import CallopsError
from callops.realtime.alerts import LEVELS, AlertEvent, load_rules
from callops.realtime.config import load_config, load_roster, load_schedule
from callops.realtime.engine import build_engine
from callops.realtime.events import iter_lines, parse_event
from callops.realtime.plans import load_plans

live_app = typer.Typer(help="Live control room: replay events, alerts, contingency plans.", add_completion=False)

_COLOURS = {1: "yellow", 2: "dark_orange", 3: "red", 4: "bold white on black"}


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


@live_app.command("replay")
def replay(
    events: Annotated[str, typer.Argument(help="JSON-lines event file ('-' for stdin).")],
    tenant: Annotated[str, typer.Option(help="Tenant the events belong to.")],
    rules: Annotated[Path | None, typer.Option(help="Alert rules YAML (default: the packaged rules).")] = None,
    plans: Annotated[Path | None, typer.Option(help="Contingency plans YAML (default: the six-step playbook).")] = None,
    config: Annotated[Path | None, typer.Option(help="live.yaml: queues, centers, targets.")] = None,
    roster: Annotated[Path | None, typer.Option(help="Roster CSV (agents table).")] = None,
    schedule: Annotated[Path | None, typer.Option(help="Today's schedule CSV (schedules table).")] = None,
    speed: Annotated[str, typer.Option(help="Replay speed: 'max', or N times real time.")] = "max",
    as_json: Annotated[bool, typer.Option("--json", help="Print only a JSON summary.")] = False,
) -> None:
    """Feed an event log through the engine, printing alerts and plan recommendations as they happen."""
    if speed != "max":
        try:
            factor = float(speed)
        except ValueError:
            raise CallopsError(f"--speed must be 'max' or a number (got {speed!r})") from None
        if factor <= 0:
            raise CallopsError("--speed must be positive")
    else:
        factor = 0.0
    cfg = load_config(config, tenant)
    eng, pe = build_engine(cfg, load_rules(rules), load_plans(plans), load_roster(roster) if roster else None,
                           load_schedule(schedule) if schedule else None)  # fmt: skip
    console = Console(stderr=as_json, quiet=as_json, soft_wrap=True)
    zone = eng.state.zone

    def clock(t: float) -> str:
        return datetime.fromtimestamp(t, zone).strftime("%H:%M:%S")

    def on_alert(ev: AlertEvent) -> None:
        level = ev.level or ev.prev_level
        val = "" if ev.value is None else f" value {ev.value:.3g} (threshold {ev.threshold:g})"
        console.print(f"[{_COLOURS.get(level, 'white')}]{clock(ev.at)} {ev.kind:<12} {ev.level_name or '-':<6} "
                      f"{ev.rule} {ev.scope}:{ev.key}{val}[/]")  # fmt: skip

    def on_plan(topic: str, msg: dict[str, Any]) -> None:
        if msg.get("event") != "activated":
            console.print(f"  plan {msg.get('event')} {msg.get('activation_id')}")
            return
        rec = msg["recommendation"]
        console.print(f"  [bold]plan {msg['plan']} level {msg['level']} for {msg['queue']}[/]: projected SL "
                      f"{rec['before']['service_level']:.0%} -> {rec['after']['service_level']:.0%} "
                      f"(target {rec['target_sl']:.0%}){'' if rec['meets_target'] else ' [red]not reached[/]'}")
        for s in rec["steps"]:
            who = ", ".join(f"{a['name'] or a['agent_id']} ({a['current_queue']}, L{a['skill_level']}"
                            f"{', echelon ' + str(a['echelon']) if a['echelon'] else ''})" for a in s["agents"][:6])
            more = f" +{len(s['agents']) - 6} more" if len(s["agents"]) > 6 else ""
            proj = s["projected"] or {}
            console.print(f"    {s['kind']:<24} [{s['status']}] {s['note']}{': ' + who + more if who else ''}"
                          f" -> SL {proj.get('service_level', 0):.0%}")  # fmt: skip

    if not as_json:
        eng.listeners.insert(0, on_alert)
        eng.bus.subscribe("plans", on_plan)
    stream = sys.stdin if events == "-" else None
    if stream is None:
        path = Path(events)
        if not path.exists():
            raise CallopsError(f"event file {path} not found")
        stream = path.open()
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    first: float | None = None
    try:
        for where, line in iter_lines(stream):
            if factor:
                try:
                    t = parse_event(line).ts.timestamp()
                    first = t if first is None else first
                    delay = (t - first) / factor - (time.perf_counter() - t0)
                    if delay > 0:
                        time.sleep(delay)
                except Exception:
                    pass
            eng.submit(line, where)
    finally:
        if stream is not sys.stdin:
            stream.close()
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    n = eng.stats.accepted + eng.stats.rejected + eng.stats.duplicates
    changes = [e for e in eng.events if e.latency_s is not None]
    summary = {
        "tenant": tenant,
        "events": n,
        "intake": eng.stats.as_dict(),
        "seconds": round(wall, 3),
        "events_per_s": round(n / wall, 1) if wall else None,
        "events_per_cpu_s": round(n / cpu, 1) if cpu else None,
        "alert_latency_ms": {
            "p50": _percentile([e.latency_s * 1e3 for e in changes], 0.5),  # type: ignore[operator]
            "p99": _percentile([e.latency_s * 1e3 for e in changes], 0.99),  # type: ignore[operator]
            "max": max((e.latency_s * 1e3 for e in changes), default=None),  # type: ignore[operator]
        },
        "alerts": {k: sum(1 for e in eng.events if e.kind == k) for k in ("raised", "escalated", "de-escalated",
                                                                            "cleared")},
        "worst_level": max((LEVELS[e.level - 1] for e in eng.events if e.level), key=LEVELS.index, default=None),
        "plan_activations": len(pe.activations),
        "plan_ms": {"p50": _percentile([s * 1e3 for s in pe.timings], 0.5), "max": max(
            (s * 1e3 for s in pe.timings), default=None)},
        "commands": len(eng.bus.commands),
        "alert_events": [e.as_dict() for e in eng.events],
    }
    if as_json:
        typer.echo(json.dumps(summary))
        return
    console.print(f"{n} events in {wall:.2f} s ({summary['events_per_s']}/s); rejected {eng.stats.rejected}, "
                  f"duplicates {eng.stats.duplicates}, late {eng.stats.late}; alert latency p99 "
                  f"{summary['alert_latency_ms']['p99'] or 0:.2f} ms; {len(pe.activations)} plan activation(s), "
                  f"{len(eng.bus.commands)} command(s)")  # fmt: skip


@live_app.command("demo-events")
def demo_events(
    out: Annotated[Path, typer.Option(help="Folder for events.jsonl, agents.csv, schedules.csv and live.yaml.")],
    scale: Annotated[float, typer.Option(help="Multiply agents and traffic (1: 66 agents; 10: 660).")] = 1.0,
    overload: Annotated[float, typer.Option(help="Extra share of billing traffic during 14:00-15:00.")] = 2.0,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON.")] = False,
) -> None:
    """Simulate the demo tenant's busy day (with an overload hour) and write it as live events."""
    from callops.realtime.demo import write_demo

    if scale <= 0:
        raise CallopsError("--scale must be positive")
    t0 = time.perf_counter()
    info = write_demo(out, scale, overload, seed)
    info["seconds"] = round(time.perf_counter() - t0, 2)
    if as_json:
        typer.echo(json.dumps(info))
        return
    Console().print(f"{info['events']} events ({info['contacts']} contacts, {info['agents']} agents) written to "
                    f"{out} in {info['seconds']} s; replay with: callops live replay {out / 'events.jsonl'} "
                    f"--tenant demo --config {out / 'live.yaml'} --roster {out / 'agents.csv'} "
                    f"--schedule {out / 'schedules.csv'}")  # fmt: skip
