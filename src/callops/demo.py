"""`make demo` / `callops demo`: the tenant "demo" with weeks of a simulated provincial hotline.

By default it runs the provincial hotline scenario shipped in the package
(`callops.sim`) for four weeks ending yesterday, loads every table through the
normal ingest path and prints the load summaries, contacts per day and the TOP
indicators. ``--sample`` loads the small bundled sample instead (a few
thousand canonical contacts and an Asterisk queue_log excerpt). Everything it
reads is inside the package; running it again changes nothing.
"""

from __future__ import annotations

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

        summaries = generate_demo_tenant(wh, days=days, seed=7, progress=on_progress)
    return list(summaries.values())


def plan_workforce(console: Console, queue: str = "billing") -> None:
    """Forecast and staff the next week for every queue, then roster one queue's agents for that week.

    Files land in ``$CALLOPS_HOME/demo/``: the staffing workbook, the requirements CSV and the
    schedule workbook; the schedule itself is written to the warehouse (``schedules``).
    """
    import csv

    from callops.cli import print_rows
    from callops.settings import callops_home
    from callops.wfm.schedule_cli import schedule
    from callops.wfm.staffing import StaffingTargets, plan_for_tenant
    from callops.wfm.staffing_export import write_requirements_csv, write_xlsx

    folder = callops_home() / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    with console.status("forecasting and staffing the next 7 days"), Warehouse() as wh:
        plan = plan_for_tenant(wh, DEMO_TENANT, horizon_days=7, interval_min=30, targets=StaffingTargets())
    summary = plan.summary().to_dict("records")
    print_rows(summary, title="Staffing plan, next 7 days (Erlang A, 80 % in 20 s)")
    write_xlsx(plan, folder / "staffing.xlsx")
    every = write_requirements_csv(plan, folder / "requirements.csv")
    with every.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["skill"] == queue]
    one = folder / f"requirements-{queue}.csv"
    with one.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["interval_start", "required", "skill"])
        writer.writeheader()
        writer.writerows(rows)
    console.print(f"scheduling the {queue} agents for the week of {rows[0]['interval_start'][:10]} (30 s limit)")
    schedule(tenant=DEMO_TENANT, week=rows[0]["interval_start"][:10], requirements=one, as_json=False,
             xlsx=folder / f"schedule-{queue}.xlsx", ics=None, time_limit=30.0, workers=None, save=True)
    console.print(f"workbooks: {folder}")


def run_demo(console: Console | None = None, *, sample: bool = False, days: int = DEMO_DAYS) -> list[LoadSummary]:
    """Build the demo tenant and print what was loaded, contacts per day and the TOP indicators."""
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
    print_rows(rows, title=f"Contacts per day ({DEMO_TENANT}, {DEMO_TIMEZONE})")
    print_rows(
        [{k: r[k] for k in ("metric", "label_zh", "label", "value", "previous", "change", "target", "status")}
         for r in top],
        title=f"TOP indicators, {top[0]['period'] if top else ''} (day)",
    )
    if not sample:
        plan_workforce(console)
    console.print(f"warehouse: {wh.url}")
    return summaries


def main() -> None:
    """Entry point for ``python -m callops.demo``."""
    from callops.cli import run_guarded

    run_guarded(run_demo)


if __name__ == "__main__":
    main()
