"""``callops live``: replay an event log (a file, stdin or a NATS JetStream stream) through the live engine, put
an event file on a stream, serve a tenant's live room, and write the simulated demo day."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from callops.errors import CallopsError
from callops.realtime.alerts import LEVELS, AlertEvent, load_rules
from callops.realtime.cluster_cli import cluster_app
from callops.realtime.config import load_config, load_roster, load_schedule
from callops.realtime.engine import build_engine
from callops.realtime.events import EventPacer, event_lines
from callops.realtime.plans import load_plans

live_app = typer.Typer(help="Live control room: replay events, alerts, contingency plans.", add_completion=False)
live_app.add_typer(cluster_app, name="cluster")  # the partitioned live room (issue 17, part 4)

_COLOURS = {1: "yellow", 2: "dark_orange", 3: "red", 4: "bold white on black"}


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def _parse_speed(speed: str) -> float:
    """0 for 'max', else a positive factor."""
    if speed == "max":
        return 0.0
    try:
        factor = float(speed)
    except ValueError:
        raise CallopsError(f"--speed must be 'max' or a number (got {speed!r})") from None
    if not factor > 0:
        raise CallopsError("--speed must be positive")
    return factor


class _Paced:
    """An engine sink that holds each event back until its event time, at ``factor`` × real time (0: no wait);
    with a landing, every accepted event also goes to the warehouse's micro-batches."""

    def __init__(self, engine: Any, factor: float, landing: Any = None) -> None:
        self.engine = engine
        self.pacer = EventPacer(factor)
        self.landing = landing

    def submit(self, raw: str | bytes, where: str = "") -> bool:
        """Wait for the event's turn, then submit it."""
        delay = self.pacer.delay(raw)
        if delay > 0:
            time.sleep(delay)
        accepted = bool(self.engine.submit(raw, where))
        if accepted and self.landing is not None:
            self.landing.add(raw)
        return accepted


def _open_landing(tenant: str, cfg: Any, land: bool | None, console: Console) -> tuple[Any, Any]:
    """(warehouse, landing) for a replay, or (None, None): ``land`` None lands when the warehouse already exists
    and has the tenant; True requires both; False never lands."""
    from callops import tenancy
    from callops.errors import NotFound
    from callops.realtime.hub import live_dir
    from callops.realtime.landing import BATCH_DIR, ReplayLanding
    from callops.settings import warehouse_url
    from callops.warehouse import Warehouse

    if land is False:
        return None, None
    path = warehouse_url().removeprefix("duckdb://")
    if land is None and not (path == ":memory:" or Path(path).exists()):
        console.print("[dim]no warehouse yet: the replay is not landed (--land creates it)[/]")
        return None, None
    try:
        wh = Warehouse()
    except CallopsError as exc:  # e.g. a running service holds the file: land only when asked to
        if land:
            raise
        console.print(f"[dim]{exc}: the replay is not landed[/]")
        return None, None
    try:
        tenancy.get_tenant(wh, tenant)
    except NotFound as exc:
        wh.close()
        if land:
            raise
        console.print(f"[dim]{exc}: the replay is not landed[/]")
        return None, None
    return wh, ReplayLanding(wh, cfg, live_dir(tenant) / BATCH_DIR)


@live_app.command("replay")
def replay(
    events: Annotated[str | None, typer.Argument(help="JSON-lines file ('-' for stdin); none with --nats.")] = None,
    tenant: Annotated[str, typer.Option(help="Tenant the events belong to.")] = "",
    rules: Annotated[Path | None, typer.Option(help="Alert rules YAML (default: the packaged rules).")] = None,
    plans: Annotated[Path | None, typer.Option(help="Contingency plans YAML (default: the six-step playbook).")] = None,
    config: Annotated[Path | None, typer.Option(help="live.yaml: queues, centers, targets.")] = None,
    roster: Annotated[Path | None, typer.Option(help="Roster CSV (agents table).")] = None,
    schedule: Annotated[Path | None, typer.Option(help="Today's schedule CSV (schedules table).")] = None,
    speed: Annotated[str, typer.Option(help="Replay speed: 'max', or N times real time.")] = "max",
    as_json: Annotated[bool, typer.Option("--json", help="Print only a JSON summary.")] = False,
    nats_url: Annotated[str | None, typer.Option("--nats", help="Read from NATS JetStream at this URL.")] = None,
    stream: Annotated[str | None, typer.Option(help="JetStream stream to read (with --nats).")] = None,
    durable: Annotated[
        str | None,
        typer.Option(
            help="Durable consumer name (default callops-<tenant>); a second run resumes after what it acknowledged."
        ),
    ] = None,
    land: Annotated[
        bool | None,
        typer.Option(
            "--land/--no-land",
            help="Load finished contacts and agent states into the warehouse in micro-batches (default: when the "
            "warehouse has the tenant).",
        ),
    ] = None,
) -> None:
    """Feed an event log through the engine, printing alerts and plan recommendations as they happen.

    With ``--nats URL --stream NAME`` the events come from a durable JetStream consumer instead of a file; the
    replay ends when the stream has nothing more for it."""
    if not tenant:
        raise CallopsError("--tenant is required")
    factor = _parse_speed(speed)
    if nats_url is not None:
        if events is not None:
            raise CallopsError("give an event file or --nats, not both")
        if not stream:
            raise CallopsError("--nats needs --stream")
    elif events is None:
        raise CallopsError("give an event file ('-' for stdin) or --nats URL --stream NAME")
    elif stream or durable:
        raise CallopsError("--stream and --durable go with --nats")
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
        console.print(
            f"  [bold]plan {msg['plan']} level {msg['level']} for {msg['queue']}[/]: projected SL "
            f"{rec['before']['service_level']:.0%} -> {rec['after']['service_level']:.0%} "
            f"(target {rec['target_sl']:.0%}){'' if rec['meets_target'] else ' [red]not reached[/]'}"
        )
        for s in rec["steps"]:
            who = ", ".join(
                f"{a['name'] or a['agent_id']} ({a['current_queue']}, L{a['skill_level']}"
                f"{', echelon ' + str(a['echelon']) if a['echelon'] else ''})"
                for a in s["agents"][:6]
            )
            more = f" +{len(s['agents']) - 6} more" if len(s["agents"]) > 6 else ""
            proj = s["projected"] or {}
            console.print(f"    {s['kind']:<24} [{s['status']}] {s['note']}{': ' + who + more if who else ''}"
                          f" -> SL {proj.get('service_level', 0):.0%}")  # fmt: skip

    if not as_json:
        eng.listeners.insert(0, on_alert)
        eng.bus.subscribe("plans", on_plan)
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    wh, landing = _open_landing(tenant, cfg, land, Console(stderr=True, quiet=as_json))
    sink = _Paced(eng, factor, landing)
    if nats_url is not None:
        from callops.realtime.nats_source import consume

        consume(nats_url, stream or "", durable or f"callops-{tenant}", sink, idle_s=1.0)
    else:
        with event_lines(events or "") as lines:
            for where, line in lines:
                sink.submit(line, where)
    landed = None
    if landing is not None:
        try:
            landing.flush()
            landed = landing.summary()
        finally:
            wh.close()
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
        "alerts": {
            k: sum(1 for e in eng.events if e.kind == k) for k in ("raised", "escalated", "de-escalated", "cleared")
        },
        "worst_level": max((LEVELS[e.level - 1] for e in eng.events if e.level), key=LEVELS.index, default=None),
        "plan_activations": len(pe.activations),
        "plan_ms": {
            "p50": _percentile([s * 1e3 for s in pe.timings], 0.5),
            "max": max((s * 1e3 for s in pe.timings), default=None),
        },
        "commands": len(eng.bus.commands),
        "alert_events": [e.as_dict() for e in eng.events],
        "landed": landed,
    }
    if as_json:
        typer.echo(json.dumps(summary))
        return
    console.print(f"{n} events in {wall:.2f} s ({summary['events_per_s']}/s); rejected {eng.stats.rejected}, "
                  f"duplicates {eng.stats.duplicates}, late {eng.stats.late}; alert latency p99 "
                  f"{summary['alert_latency_ms']['p99'] or 0:.2f} ms; {len(pe.activations)} plan activation(s), "
                  f"{len(eng.bus.commands)} command(s)")  # fmt: skip
    if landed is not None:
        c, a = landed.get("contacts", {}), landed.get("agent_states", {})
        console.print(f"landed in the warehouse: {c.get('read', 0)} contact(s), {a.get('read', 0)} agent state(s) "
                      f"in {len(landed['load_ids'])} load(s); {landed['open_contacts']} contact(s) still open")


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


@live_app.command("publish")
def publish(
    events: Annotated[str, typer.Argument(help="JSON-lines event file ('-' for stdin).")],
    nats_url: Annotated[str, typer.Option("--nats", help="NATS server URL, e.g. nats://127.0.0.1:4222.")],
    stream: Annotated[str, typer.Option(help="JetStream stream (created when missing).")],
    subject: Annotated[str | None, typer.Option(help="Subject to publish on (default <stream>.events).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print only JSON.")] = False,
) -> None:
    """Put an event file on a JetStream stream, one message per line, in file order (lines sent as they are:
    the consumer validates them, exactly as a file replay does)."""
    from callops.realtime.nats_source import publish_events

    t0 = time.perf_counter()
    with event_lines(events) as lines:
        n = publish_events(nats_url, stream, subject, (line for _, line in lines))
    info = {"stream": stream, "published": n, "seconds": round(time.perf_counter() - t0, 3)}
    if as_json:
        typer.echo(json.dumps(info))
        return
    Console().print(f"{n} event(s) published to stream {stream} in {info['seconds']} s")


def _nats_feed(hub: Any, url: str, stream: str, durable: str, stop: Any, console: Console) -> None:
    """Feed ``hub`` from the durable consumer until ``stop`` is set; reconnect after a failure."""
    from callops.realtime.nats_source import consume

    while not stop.is_set():
        try:
            consume(url, stream, durable, hub, until_idle=False, idle_s=1.0, stop=stop)
        except Exception as exc:  # the broker went away: keep the room alive and try again
            console.print(f"[yellow]NATS feed interrupted ({exc}); retrying in 2 s[/]")
            stop.wait(2.0)


@live_app.command("serve")
def serve(
    tenant: Annotated[str, typer.Option(help="Tenant whose live room this serves.")],
    nats_url: Annotated[str | None, typer.Option("--nats", help="Also consume events from NATS at this URL.")] = None,
    stream: Annotated[str | None, typer.Option(help="JetStream stream (with --nats).")] = None,
    durable: Annotated[str | None, typer.Option(help="Durable consumer name (default callops-<tenant>).")] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP port.")] = 8000,
    replay_file: Annotated[Path | None, typer.Option("--replay", help="Also replay this event file.")] = None,
    speed: Annotated[float, typer.Option(help="Replay speed (N × real time; 0: as fast as it can).")] = 1.0,
    timezone: Annotated[str | None, typer.Option(help="Tenant zone (default: live.yaml, else Asia/Shanghai).")] = None,
) -> None:
    """Run the tenant's live room: the durable hub (rebuilt from its event log), fed by the HTTP endpoint and by
    NATS when given, the notification sender of ``notify.yaml``, and the web service (API and console)."""
    import os
    import threading

    from callops.realtime.hub import hub_for, live_dir
    from callops.realtime.notify import build_adapters, load_notify, run_sender

    if nats_url is not None and not stream:
        raise CallopsError("--nats needs --stream")
    if nats_url is None and (stream or durable):
        raise CallopsError("--stream and --durable go with --nats")
    if speed < 0:
        raise CallopsError("--speed must be 0 or positive")
    if replay_file is not None and not replay_file.exists():
        raise CallopsError(f"event file {replay_file} not found")
    try:
        import uvicorn

        from callops.api.app import create_app
    except ImportError as exc:
        raise CallopsError(f"the web service is not available ({exc})") from None
    if nats_url is not None:
        from callops.realtime.nats_source import check_stream

        check_stream(nats_url, stream or "")  # fail now, with one line, if the broker or stream is missing
    from callops.realtime.follower import member_runs

    if member_runs(tenant):
        raise CallopsError(f"tenant {tenant!r}'s live room is run by cluster members (cluster.json in its live "
                           "folder): run `callops live cluster run`, or give the tenant a home of its own")  # fmt: skip
    console = Console(soft_wrap=True)
    t0 = time.perf_counter()
    hub = hub_for(tenant, timezone)
    rebuilt = hub.rebuilt.as_dict() if hub.rebuilt else {}
    console.print(f"{tenant}: {rebuilt.get('events', 0)} logged event(s) rebuilt in {time.perf_counter() - t0:.2f} s")
    stop = threading.Event()
    threads: list[threading.Thread] = []
    store = None
    notify_path = live_dir(tenant) / "notify.yaml"
    if notify_path.exists():
        from callops.store.db import Store

        cfg = load_notify(notify_path)
        adapters = build_adapters(cfg.channels)
        store = Store()
        caught_up = hub.attach_notifier(store, notify_path)
        worker = f"serve-{tenant}-{os.getpid()}"
        threads.append(threading.Thread(target=run_sender, args=(store, adapters, worker), name="notify-sender",
                                        kwargs={"stop": stop, "poll_s": 1.0}, daemon=True))  # fmt: skip
        console.print(f"notifications: {len(cfg.notify)} route(s), channels {', '.join(sorted(adapters))}; "
                      f"{caught_up} caught up")  # fmt: skip
    from callops.rules.live import attach_saved_rules
    from callops.store.db import Store

    store = store or Store()
    attach_saved_rules(hub, store)  # the tenant's saved live rules, polled for changes as events arrive
    from callops.people.data import follow_schedule_changes

    follow_schedule_changes(hub, store)  # approved requests and accepted offers, from any process (issue 19)
    if nats_url is not None:
        threads.append(
            threading.Thread(
                target=_nats_feed,
                name="nats-feed",
                daemon=True,
                args=(hub, nats_url, stream, durable or f"callops-{tenant}", stop, console),
            )
        )
        console.print(f"consuming {nats_url} stream {stream}")
    for th in threads:
        th.start()
    if replay_file is not None:
        hub.start_replay(replay_file, speed)
        console.print(f"replaying {replay_file} at {speed:g}×" if speed else f"replaying {replay_file}")
    from callops.realtime.landing import DEFAULT_INTERVAL_S, land_served_hubs

    app = create_app()
    stop_landing = land_served_hubs(app.state.resources)
    console.print(f"landing finished contacts and agent states in the warehouse every {DEFAULT_INTERVAL_S:g} s")
    from callops.api.routers.health import watch_background

    watch_background(app, landing=True, threads=threads, nats_url=nats_url, nats_stream=stream)  # for /readyz
    console.print(f"[bold]live room: http://{host}:{port}[/]   events: POST /api/live/events   (Ctrl-C stops)")
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        stop.set()
        hub.stop()
        stop_landing()
        for th in threads:
            th.join(timeout=5)
        if store is not None:
            store.close()
