"""Run a scenario: build the engine model, simulate, add the customers' side, return canonical tables.

:func:`run_scenario` is pure (a scenario, a number of days, a seed and an optional start date give
the same tables every time); :func:`generate_demo` writes a run into a tenant through the normal
ingest path (:func:`callops.sim.records.write_to_warehouse`).

Each part draws from its own child of ``SeedSequence(seed)`` (customers, roster, engine, the
customers' behaviour after the run), so changing one part of a scenario does not reshuffle the others.
"""

from __future__ import annotations

import gc
import zoneinfo
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

import numpy as np
import pyarrow as pa

from callops import tenancy
from callops.errors import NotFound
from callops.ingest.loader import LoadSummary
from callops.sim.agents import Adherence
from callops.sim.arrivals import ArrivalStream, OutboundCampaign
from callops.sim.customers import generate_customers
from callops.sim.engine import Model, simulate
from callops.sim.frame import ContactFrame
from callops.sim.journeys import generate_journeys
from callops.sim.marketing import OfferPlanner, add_offers, campaign_tables
from callops.sim.quality import generate_quality
from callops.sim.records import write_to_warehouse
from callops.sim.repeats import link_repeats, resolve
from callops.sim.roster import Roster, build_roster
from callops.sim.routing import HandleTime, IvrSpec, Patience, QueueSpec
from callops.sim.scenario import Scenario
from callops.sim.surveys import add_surveys
from callops.warehouse import Warehouse

# progress(stage, days_done, days_total, contacts_so_far)
Progress = Callable[[str, int, int, int], None]
LEVEL_SPEED = (1.25, 1.1, 1.0, 0.92, 0.85)  # handle-time factor of skill levels 1..5
# The order tables are written in (reference data first).
TABLE_ORDER = ("agents", "customers", "campaigns", "offers", "contacts", "agent_states", "schedules",
               "journey_events", "qa_evaluations", "transcripts")


def run_start(scenario: Scenario, days: int, start_date: date | None = None) -> datetime:
    """Local midnight the run starts at: ``start_date``, or ``days`` days before today (local)."""
    zone = zoneinfo.ZoneInfo(scenario.timezone)
    first = start_date or (datetime.now(zone).date() - timedelta(days=days))
    return datetime.combine(first, time(0), tzinfo=zone)


def build_model(scenario: Scenario, start: datetime, days: int, roster: Roster,
                pool_ids: list[str], pool_vip: np.ndarray) -> Model:
    """The engine :class:`Model` of ``scenario`` (queues, IVRs, streams, outbound, agents, customers)."""
    queues = [
        QueueSpec(
            q.name, channel=str(q.channel), center=q.center, priority=q.priority,
            patience=Patience(q.patience.kind, q.patience.mean_s, q.patience.cv) if q.patience else None,
            handle=HandleTime(q.handle.mean_s, q.handle.kind, q.handle.cv, q.handle.acw_mean_s, q.handle.hold_p,
                              q.handle.hold_mean_s),
            chat_growth=q.chat_growth, overflow_to=q.overflow_to, overflow_after_s=q.overflow_after_s,
            callback_after_s=q.callback_after_s, callback_accept_p=q.callback_accept_p,
            transfer_p=q.transfer_p, transfer_to=q.transfer_to, level_speed=LEVEL_SPEED,
        )
        for q in scenario.queues
    ]  # fmt: skip
    streams = []
    for s in scenario.streams:
        monthly = tuple(s.month_start_peak.factor if s.month_start_peak and d < s.month_start_peak.days else 1.0
                        for d in range(31))
        streams.append(ArrivalStream(
            s.queue, s.daily_volume, intraday=scenario.intraday[s.intraday], weekly=s.weekly, monthly=monthly,
            holiday_factor=s.holiday_factor, trend_per_day=s.trend_per_day, dispersion_shape=s.dispersion_shape,
            business_type=s.business_type, ivr=s.ivr,
        ))  # fmt: skip
    campaigns = [OutboundCampaign(o.queue, o.dials_per_hour, o.connect_p, o.window, o.weekdays,
                                  business_type=o.business_type) for o in scenario.outbound]
    ivrs = {i.name: IvrSpec(i.name, i.mean_s, i.success_p, dict(i.failure_reasons)) for i in scenario.ivrs}
    return Model(
        queues=queues, agents=roster.specs, streams=streams, campaigns=campaigns, ivrs=ivrs,
        start=start.astimezone(zoneinfo.ZoneInfo("UTC")), days=days, timezone=scenario.timezone,
        country=scenario.country, adherence=Adherence(**scenario.adherence.model_dump()),
        customer_ids=pool_ids, customer_vip=pool_vip, id_prefix=scenario.id_prefix,
    )  # fmt: skip


def run_scenario(
    scenario: Scenario,
    days: int,
    seed: int = 0,
    start_date: date | None = None,
    progress: Progress | None = None,
    extras: bool = False,
    extra_streams: tuple[ArrivalStream, ...] = (),
) -> dict[str, pa.Table]:
    """Simulate ``days`` days of ``scenario``; return every canonical table (name -> pyarrow table).

    ``start_date`` is the first local day (default: the ``days`` days that end yesterday). With
    ``extras`` the contacts table also carries ``ivr_result``, ``vip`` and ``repeat_of`` (not canonical).
    ``extra_streams`` are added to the scenario's arrivals (the demo's overload hour on its live day).
    """
    # Millions of long-lived tuples make the cyclic GC rescan them again and again (it found nothing
    # to free in profiles, and cost a third of the run): pause it for the run.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _run(scenario, days, seed, start_date, progress, extras, extra_streams)
    finally:
        if enabled:
            gc.enable()


def _run(scenario: Scenario, days: int, seed: int, start_date: date | None, progress: Progress | None,
         extras: bool, extra_streams: tuple[ArrivalStream, ...] = ()) -> dict[str, pa.Table]:
    say = progress or (lambda *_: None)
    start = run_start(scenario, days, start_date)
    # a fifth child for the offers: the first four stay what they were before offers were planned in the run
    s_cust, s_roster, s_engine, s_after, s_offers = np.random.SeedSequence(seed).spawn(5)
    say("customers", 0, days, 0)
    customers, customer_table = generate_customers(scenario.customers, np.random.default_rng(s_cust))
    say("roster", 0, days, 0)
    roster = build_roster(scenario, start, days, np.random.default_rng(s_roster))
    model = build_model(scenario, start, days, roster, customers.pool_ids, customers.pool_vip)
    model.streams.extend(extra_streams)
    planner = OfferPlanner(scenario, customers, np.random.default_rng(s_offers))
    model.pitches = planner  # offers are decided at arrival, so a pitch is part of the agent's busy time
    say("simulating", 0, days, 0)
    records = simulate(model, int(s_engine.generate_state(1)[0]),
                       progress=lambda d, k: say("simulating", min(d, days), days, k))
    say("customers' behaviour", days, days, len(records.contacts))
    rng = np.random.default_rng(s_after)
    frame = ContactFrame.from_rows(model.start, records.contacts)
    frame.customer_names = customers.ids
    resolved = resolve(frame, scenario, rng)
    frame.extra["resolved"] = resolved
    link_repeats(frame, scenario, resolved, rng)
    add_surveys(frame, scenario, resolved, rng)
    add_offers(frame, planner)
    quality = generate_quality(frame, scenario, resolved, rng)
    journeys = generate_journeys(frame, scenario, rng)
    engine_tables = records.tables(names=("agent_states", "schedules"))
    tables = {
        "agents": roster.table,
        "customers": customer_table,
        **campaign_tables(scenario, start.date(), days),
        "contacts": frame.table(extras=extras),
        "agent_states": engine_tables["agent_states"],
        "schedules": engine_tables["schedules"],
        "journey_events": journeys,
        **quality,
    }
    return {name: tables[name] for name in TABLE_ORDER}


def generate_demo(
    wh: Warehouse,
    tenant_id: str,
    scenario: Scenario,
    days: int = 28,
    seed: int = 0,
    start_date: date | None = None,
    progress: Progress | None = None,
) -> dict[str, LoadSummary]:
    """Run ``scenario`` and load every table into ``tenant_id`` (created in the scenario's zone if new).

    Goes through the normal ingest path, so the data is validated like real data; a second run with the
    same arguments reports every row unchanged. Returns the load summary per table.
    """
    say = progress or (lambda *_: None)
    try:
        tenant = tenancy.get_tenant(wh, tenant_id)
    except NotFound:
        tenant = tenancy.create_tenant(wh, tenant_id, scenario.timezone)
    tables = run_scenario(scenario, days, seed, start_date, progress)
    summaries = {}
    for name, table in tables.items():
        say(f"loading {name}", days, days, table.num_rows)
        summaries.update(write_to_warehouse(wh, tenant, {name: table}))
    return summaries

