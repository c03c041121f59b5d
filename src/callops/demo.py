"""`make demo` / `callops demo`: the tenant "demo" with weeks of a simulated provincial hotline.

By default it runs the provincial hotline scenario shipped in the package
(`callops.sim`) for four weeks ending yesterday, loads every table through the
normal ingest path and prints the load summaries, contacts per day and the TOP
indicators, forecasts and staffs next week and rosters the billing agents. ``make demo``
(``--serve``) then simulates today's busy day for the live room, prints a sign-in
token for the user ``director`` and serves the console at http://127.0.0.1:8000
while the afternoon replays (an overload on billing from 14:00). ``--sample`` loads
the small bundled sample instead (a few thousand canonical contacts and an Asterisk
queue_log excerpt). Everything it reads is inside the package; running it again
changes nothing.
"""

from __future__ import annotations

import importlib
from datetime import time
from importlib import resources
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from callops import reports, tenancy
from callops.errors import NotFound
from callops.ingest.loader import LoadSummary, load_files
from callops.ingest.mapping import load_mapping
from callops.store import Store
from callops.store.tenants import create_tenant
from callops.warehouse import Warehouse

DEMO_TENANT = "demo"
DEMO_TIMEZONE = "Asia/Shanghai"
DEMO_DAYS = 28
DEMO_USER = "director"
DEMO_SPEED = 10.0  # live replay speed: the 14:00 overload arrives about 3 minutes after the console is up
FAST_UNTIL = time(13, 30)  # live events before this local time are fed at once
# (table, sample file, mapping) for --sample
SAMPLE_LOADS = (
    ("contacts", "contacts.csv.gz", "canonical"),
    ("contacts", "queue_log.txt", "asterisk_queue_log"),
    ("agent_states", "queue_log.txt", "asterisk_queue_log"),
)


def sample_path(name: str) -> Path:
    """Path of a sample file shipped in the package."""
    return Path(str(resources.files("callops.samples") / name))


def ensure_demo_tenant(wh: Warehouse) -> tenancy.Tenant:
    """The demo tenant, created in the warehouse and the store if it does not exist yet."""
    try:
        return tenancy.get_tenant(wh, DEMO_TENANT)
    except NotFound:
        with Store() as store:
            create_tenant(store, wh, DEMO_TENANT, DEMO_TIMEZONE)
        return tenancy.get_tenant(wh, DEMO_TENANT)


def load_sample(wh: Warehouse, tenant: tenancy.Tenant) -> list[LoadSummary]:
    """Load the small bundled sample into ``tenant``."""
    return [
        load_files(wh, tenant, table, [sample_path(name)], load_mapping(mapping, table))
        for table, name, mapping in SAMPLE_LOADS
    ]


def generate_hotline(wh: Warehouse, console: Console, days: int = DEMO_DAYS) -> list[LoadSummary]:
    """Simulate the provincial hotline for ``days`` days into the demo tenant, with a progress bar."""
    from callops.sim.demo import generate_demo_tenant

    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[detail]}"),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("simulating", total=days, detail="")

        def on_progress(stage: str, done: int, total: int, contacts: int) -> None:
            progress.update(task, description=stage, completed=done, total=total, detail=f"{contacts:,} contacts")

        from callops.realtime.hub import live_dir

        # today is simulated in the same run and kept for the live room (see start_live_day)
        summaries = generate_demo_tenant(wh, days=days, seed=7, progress=on_progress,
                                         live_folder=live_dir(DEMO_TENANT))  # fmt: skip
    return list(summaries.values())


def plan_workforce(console: Console, queue: str = "billing") -> None:
    """Forecast and staff the next week for every queue, then roster one queue's agents for that week.

    Files land in ``$CALLOPS_HOME/demo/``: the staffing workbook, the requirements CSV and the
    schedule workbook; the schedule itself is written to the warehouse (``schedules``).
    """
    import csv
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from callops.cli import print_rows
    from callops.settings import callops_home
    from callops.wfm.schedule_cli import schedule
    from callops.wfm.staffing import StaffingTargets, plan_for_tenant
    from callops.wfm.staffing_export import write_requirements_csv, write_xlsx

    folder = callops_home() / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    # the planned week is a whole calendar week (Monday to Sunday, as the schedule and the workforce page take
    # it): the next one that starts after today
    today = datetime.now(ZoneInfo(DEMO_TIMEZONE)).date()
    monday = today + timedelta(days=7 - today.weekday())
    horizon = (monday - today).days + 6
    with console.status(f"forecasting and staffing the next {horizon} days"), Warehouse() as wh:
        plan = plan_for_tenant(wh, DEMO_TENANT, horizon_days=horizon, interval_min=30, targets=StaffingTargets())
    summary = plan.summary().to_dict("records")
    print_rows(summary, title=f"Staffing plan, next {horizon} days (Erlang A, 80 % in 20 s)")
    write_xlsx(plan, folder / "staffing.xlsx")
    every = write_requirements_csv(plan, folder / "requirements.csv")
    with every.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["skill"] == queue and r["interval_start"][:10] >= str(monday)]
    one = folder / f"requirements-{queue}.csv"
    with one.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["interval_start", "required", "skill"])
        writer.writeheader()
        writer.writerows(rows)
    console.print(f"scheduling the {queue} agents for the week of {monday} (30 s limit)")
    schedule(tenant=DEMO_TENANT, week=str(monday), requirements=one, as_json=False,
             xlsx=folder / f"schedule-{queue}.xlsx", ics=None, time_limit=30.0, workers=None, save=True)
    console.print(f"workbooks: {folder}")


def demo_credentials(user_name: str = DEMO_USER) -> str:
    """A fresh sign-in token for the demo's administrator (created on first use); only its hash is stored."""
    from callops.store.roles import Role
    from callops.store.users import create_user, get_user_by_name, issue_token

    with Store() as store, store.session() as s:
        try:
            user = get_user_by_name(s, DEMO_TENANT, user_name)
        except NotFound:
            _, token = create_user(s, DEMO_TENANT, user_name, Role.admin, "make demo", display_name="运营总监 Director",
                                   locale="zh-CN", token_label="make demo")  # fmt: skip
            return token
        return issue_token(s, DEMO_TENANT, user.id, "make demo", label="make demo")


def start_live_day(console: Console, speed: float = DEMO_SPEED, fast_until: time = FAST_UNTIL) -> dict[str, object]:
    """Start today's live day: feed it up to ``fast_until`` at once and replay the rest in the background at
    ``speed`` × real time.

    The day is the one :func:`generate_hotline` simulated with the history (same agents, queues and calendar,
    an overload on billing from 14:00); without it (``--sample``), the small three-center day of
    :mod:`callops.realtime.demo` is simulated here."""
    import json
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from callops.realtime.demo import write_demo
    from callops.realtime.eventlog import log_files
    from callops.realtime.hub import hub_for, live_dir

    folder = live_dir(DEMO_TENANT)
    # a new live day: forget the last run's event log, or its events would be rebuilt and counted twice
    for old in log_files(DEMO_TENANT):
        old.unlink()
    for stale in ("landing.json", "snapshot.pkl"):  # the landing and the hub start from the new log
        (folder / stale).unlink(missing_ok=True)
    zone = ZoneInfo(DEMO_TIMEZONE)
    today = datetime.now(zone).date()
    day_file = folder / "events.jsonl"
    first = day_file.read_text(encoding="utf-8").split("\n", 1)[0] if day_file.exists() else ""
    if first and datetime.fromisoformat(json.loads(first)["ts"]).astimezone(zone).date() == today:
        info: dict[str, object] = {"events": sum(1 for _ in day_file.open(encoding="utf-8")), "folder": str(folder)}
    else:
        with console.status("simulating today's live day"):
            info = write_demo(folder, day=today)
    cut = datetime.combine(today, fast_until, zone)
    lines = (folder / "events.jsonl").read_text(encoding="utf-8").splitlines()
    split = next((i for i, line in enumerate(lines) if datetime.fromisoformat(json.loads(line)["ts"]) >= cut),
                 len(lines))  # fmt: skip
    hub = hub_for(DEMO_TENANT, DEMO_TIMEZONE)
    for i in range(0, split, 2000):
        hub.submit(lines[i:min(i + 2000, split)], "demo")
    rest = folder / "replay.jsonl"
    rest.write_text("".join(line + "\n" for line in lines[split:]), encoding="utf-8")
    hub.start_replay(rest, speed)
    return {**info, "fed": split, "replaying": len(lines) - split, "from": cut.isoformat(), "speed": speed}


def serve_demo(console: Console, host: str = "127.0.0.1", port: int = 8000, speed: float = DEMO_SPEED) -> None:
    """Print the demo's sign-in, start today's live replay and serve the console until Ctrl-C."""
    import uvicorn

    from callops.api.app import create_app

    token = demo_credentials()
    live = start_live_day(console, speed)
    console.print(f"live day: {live['fed']:,} events up to {str(live['from'])[11:16]} fed, {live['replaying']:,} "
                  f"replaying at {speed:g}× (overload on billing from 14:00)")  # fmt: skip
    # soft_wrap: the token must stay on one line to be copied whole
    console.print(f"[bold]console: http://{host}:{port}[/]   user [bold]{DEMO_USER}[/]   token [bold]{token}[/]",
                  soft_wrap=True)  # fmt: skip
    console.print(f"API docs: http://{host}:{port}/docs   (Ctrl-C stops)", soft_wrap=True)
    from callops.realtime.landing import land_served_hubs

    app = create_app()
    # the live day lands in the warehouse as it happens: today's TOP indicators and trends include it
    stop_landing = land_served_hubs(app.state.resources)
    from callops.knowledge.push import push_hot_topics

    stop_push = push_hot_topics(app.state.resources)  # hot topics reach the front line without a command
    from callops.api.routers.health import watch_background

    watch_background(app, landing=True)  # /readyz watches the landing and push threads
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        stop_push()
        stop_landing()


# What each domain package adds to the demo after the hotline is loaded: "module:function", called as
# function(wh, console) in this order (customer value before marketing, which builds on it).
CAPABILITY_STEPS: tuple[str, ...] = ("callops.value.demo:run", "callops.marketing.demo_offers:run",
                                      "callops.marketing.demo_campaigns:run",
                                      "callops.quality.demo:run", "callops.journey.demo:run",
                                      "callops.knowledge.demo:run", "callops.views.demo:run",
                                      "callops.people.floor_demo:run",  # issue 19: the floor
                                      "callops.wfm.demo_intraday:run", "callops.people.demo:run")


def run_capabilities(wh: Warehouse, console: Console) -> None:
    """Run every domain package's demo step on the demo tenant (value, marketing, journeys, QA, knowledge...)."""
    for target in CAPABILITY_STEPS:
        module, func = target.split(":")
        getattr(importlib.import_module(module), func)(wh, console)


def run_demo(
    console: Console | None = None,
    *,
    sample: bool = False,
    days: int = DEMO_DAYS,
    serve: bool = False,
    port: int = 8000,
    speed: float = DEMO_SPEED,
) -> list[LoadSummary]:
    """Build the demo tenant and print what was loaded, contacts per day and the TOP indicators; then (not for
    the sample) plan next week's workforce and, with ``serve``, serve the console with today's live replay."""
    from callops.cli import print_rows, print_summary
    from callops.metrics.top import top_indicators

    console = console or Console()
    with Warehouse() as wh:
        tenant = ensure_demo_tenant(wh)
        summaries = load_sample(wh, tenant) if sample else generate_hotline(wh, console, days)
        for summary in summaries:
            print_summary(summary)
        rows = reports.daily_contacts(wh, DEMO_TENANT)
        top = top_indicators(wh, DEMO_TENANT, "day")
        if not sample:
            run_capabilities(wh, console)
    # the simulated weeks (a rerun also has the value step's months of sparser customer contacts before them)
    print_rows(rows[-(days + 1):], title=f"Contacts per day ({DEMO_TENANT}, {DEMO_TIMEZONE})")
    print_rows(
        [{k: r[k] for k in ("metric", "label_zh", "label", "value", "previous", "change", "target", "status")}
         for r in top],
        title=f"TOP indicators, {top[0]['period'] if top else ''} (day)",
    )
    if not sample:
        plan_workforce(console)
    console.print(f"warehouse: {wh.url}")
    if serve:
        serve_demo(console, port=port, speed=speed)
    return summaries


def main() -> None:
    """Entry point for ``python -m callops.demo``."""
    from callops.cli import run_guarded

    run_guarded(lambda: run_demo(serve=True))


if __name__ == "__main__":
    main()
