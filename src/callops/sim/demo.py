"""The demo tenant: the provincial hotline scenario shipped in the package, run into tenant ``demo``.

``make demo`` calls :func:`generate_demo_tenant`; it reads nothing outside the package. One simulation runs
from four weeks ago **through today** (Asia/Shanghai), so the history and the live day are one run: the same
600 agents with the same shifts, the same queues and centers, the same calendar. Everything before today's
local midnight is loaded into the warehouse now; today's contacts and agent states are held back and become
the live room's event stream (:func:`callops.realtime.demo.write_scenario_day`), which lands in the warehouse
as it is replayed (:mod:`callops.realtime.landing`). Today also has an overload: twice billing's usual traffic
for 14:00-15:00 on top of the day (a billing-system incident), so the live room has something to handle.
Running it again on the same day with the same seed reports every row unchanged.
"""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from callops import tenancy
from callops.errors import NotFound
from callops.ingest.loader import LoadSummary
from callops.sim.arrivals import ArrivalStream
from callops.sim.records import write_to_warehouse
from callops.sim.runner import Progress, run_scenario
from callops.sim.scenario import Scenario, demo_scenario
from callops.warehouse import Warehouse

DEMO_TENANT = "demo"
DEMO_TIMEZONE = "Asia/Shanghai"
OVERLOAD_QUEUE = "billing"
OVERLOAD_HOUR = 14
OVERLOAD_SHARE = 2.0  # extra traffic in the overload hour, as a multiple of the queue's usual traffic then
LIVE_TABLES = ("contacts", "agent_states")  # what the live room's events carry; the rest of today is history too


def overload_stream(scenario: Scenario, day: date, queue: str = OVERLOAD_QUEUE, hour: int = OVERLOAD_HOUR,
                    share: float = OVERLOAD_SHARE) -> ArrivalStream:  # fmt: skip
    """Extra arrivals on ``queue`` during local ``hour`` of ``day`` only: ``share`` × the queue's usual traffic
    in that hour (its daily volume times the hour's intraday weight), on the queue's own IVR and business."""
    s = next(x for x in scenario.streams if x.queue == queue)
    weights = scenario.intraday[s.intraday]
    slots = len(weights)
    per_hour = slots // 24
    hour_slots = range(hour * per_hour, (hour + 1) * per_hour)
    usual = s.daily_volume * sum(weights[i] for i in hour_slots) / sum(weights)
    intraday = tuple(1.0 if i in hour_slots else 0.0 for i in range(slots))
    monthly = tuple(1.0 if d == day.day - 1 else 0.0 for d in range(31))  # the run is shorter than a month
    return ArrivalStream(queue, usual * share, intraday, monthly=monthly, business_type=s.business_type, ivr=s.ivr)


def split_day(tables: dict[str, pa.Table], midnight: datetime) -> tuple[dict[str, pa.Table], dict[str, pa.Table]]:
    """(history, live): today's contacts (offered from ``midnight`` on) and agent states (started from it) are
    the live day; rows of other tables that belong to those contacts or happen later are left out of history."""
    cut = pa.scalar(midnight, pa.timestamp("us", tz="UTC"))
    contacts = tables["contacts"]
    later = pc.greater_equal(contacts["offered_at"].cast(pa.timestamp("us", tz="UTC")), cut)
    live = {"contacts": contacts.filter(later)}
    today_ids = live["contacts"]["contact_id"]
    states = tables["agent_states"]
    started = states["started_at"].cast(pa.timestamp("us", tz="UTC"))
    s_later = pc.greater_equal(started, cut)
    # the live day ends at the next midnight: states the run opened after it (night shifts ending) are left out
    end = pa.scalar(midnight + timedelta(days=1), pa.timestamp("us", tz="UTC"))
    live["agent_states"] = states.filter(pc.and_(s_later, pc.less(started, end)))
    history = {"contacts": contacts.filter(pc.invert(later)), "agent_states": states.filter(pc.invert(s_later))}
    for name, table in tables.items():
        if name in history:
            continue
        keep = None
        if "contact_id" in table.column_names and name != "customers":
            keep = pc.invert(pc.fill_null(pc.is_in(table["contact_id"], value_set=today_ids), False))
        for col in ("ts", "evaluated_at"):
            if col in table.column_names:
                before = pc.fill_null(pc.less(table[col].cast(pa.timestamp("us", tz="UTC")), cut), True)
                keep = before if keep is None else pc.and_(keep, before)
        history[name] = table if keep is None else table.filter(keep)
    return history, live


def generate_demo_tenant(wh: Warehouse, days: int = 28, seed: int = 7, progress: Progress | None = None,
                         live_folder: Path | None = None) -> dict[str, LoadSummary]:  # fmt: skip
    """Simulate ``days`` days ending yesterday plus today (local) and load the history into tenant ``demo``.

    With ``live_folder``, today's contacts and agent states are written there as the live room's day (events,
    roster, today's schedule, live.yaml) instead of being loaded; without it, today is not simulated.
    ``progress(stage, days_done, days_total, contacts)`` follows the run. Returns the load summary per table
    (all tables load with zero rejects).
    """
    scenario = demo_scenario().model_copy(update={"timezone": DEMO_TIMEZONE})
    zone = zoneinfo.ZoneInfo(DEMO_TIMEZONE)
    today = datetime.now(zone).date()
    first = today - timedelta(days=days)
    try:
        tenant = tenancy.get_tenant(wh, DEMO_TENANT)
    except NotFound:
        tenant = tenancy.create_tenant(wh, DEMO_TENANT, scenario.timezone)
    if live_folder is None:
        tables = run_scenario(scenario, days, seed, first, progress)
        live: dict[str, pa.Table] = {}
    else:
        tables = run_scenario(scenario, days + 1, seed, first, progress,
                              extra_streams=(overload_stream(scenario, today),))  # fmt: skip
        tables, live = split_day(tables, datetime.combine(today, time(0), tzinfo=zone))
    say = progress or (lambda *_: None)
    summaries: dict[str, LoadSummary] = {}
    for name, table in tables.items():
        say(f"loading {name}", days, days, table.num_rows)
        summaries.update(write_to_warehouse(wh, tenant, {name: table}))
    if live_folder is not None:
        from callops.realtime.demo import write_scenario_day

        midnight = datetime.combine(today, time(0), tzinfo=zone)
        write_scenario_day(live_folder, scenario, live["contacts"], live["agent_states"], tables["agents"],
                           tables["schedules"], midnight, DEMO_TENANT)  # fmt: skip
    return summaries
