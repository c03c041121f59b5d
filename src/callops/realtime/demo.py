"""A simulated busy day as a live event stream: the simulator's run turned into the events of the contract.

:func:`demo_model` builds a three-center tenant (two centers in the north region, one in the south) with voice,
chat and outbound queues, a roster with skills and emergency echelons and shifts with breaks; an *overload
episode* is an extra arrival stream on one queue for one hour. :func:`records_to_events` converts the
simulator's contact legs and agent-state intervals into ``contact.*`` and ``agent.state`` events sorted by time
(contacts enter the queue after their IVR time; self-served ones never reach a queue and emit nothing).
:func:`write_demo` writes ``events.jsonl``, ``agents.csv``, ``schedules.csv`` and ``live.yaml`` to a folder.
"""

from __future__ import annotations

import csv
import json
import math
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import Field, TypeAdapter, ValidationError

from callops.names import NAME_MAX, NAME_PATTERN
from callops.sim.agents import Adherence, AgentSpec, Break, Shift
from callops.sim.arrivals import ArrivalStream, OutboundCampaign
from callops.sim.engine import Model, simulate
from callops.sim.records import Records
from callops.sim.routing import HandleTime, Patience, QueueSpec

TENANT = "demo"
ZONE = "Asia/Shanghai"
START = datetime.fromisoformat("2024-03-04T00:00:00+08:00")  # a Monday, no holiday
CENTERS = {"north-1": "north", "north-2": "north", "south-1": "south"}
_SURNAMES = ("Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou", "Xu", "Sun", "Ma", "Zhu")
_GIVEN = ("Wei", "Fang", "Na", "Min", "Jing", "Li", "Qiang", "Lei", "Jun", "Yang", "Yong", "Yan", "Jie", "Tao",
          "Ming", "Chao", "Xia", "Ping", "Gang", "Hua", "Hui", "Hao", "Yu", "Xin")  # fmt: skip


@dataclass(frozen=True)
class DemoAgent:
    """Roster facts the simulator does not carry (name, team, echelon)."""

    spec: AgentSpec
    name: str
    team: str
    echelon: int | None
    skills: dict[str, int]  # roster skills; the ACD routes only the primary one until a plan moves the agent


def _profile(open_h: float, close_h: float, peak: tuple[float, float] | None = None) -> tuple[float, ...]:
    """48 half-hour weights: 1 while open, 2 during the peak hours."""
    out = []
    for i in range(48):
        h = i / 2
        w = 1.0 if open_h <= h < close_h else 0.0
        if peak and peak[0] <= h < peak[1] and w:
            w = 2.0
        out.append(w)
    return tuple(out)


def demo_model(scale: float = 1.0, overload: float = 2.0, overload_hour: int = 14,
               start: datetime = START) -> tuple[Model, list[DemoAgent]]:  # fmt: skip
    """The demo tenant's model: ``scale`` multiplies agents and traffic; ``overload`` adds that share of the
    billing queue's hourly rate during local hour ``overload_hour`` (0 for none); ``start`` is local midnight of
    the simulated day. The simulator routes each agent on its primary skill only; the other roster skills are what
    a plan may use."""

    def n(k: int) -> int:
        return max(1, round(k * scale))

    voice = HandleTime(mean_s=240.0, kind="lognormal", cv=0.7, acw_mean_s=30.0)
    queues = [
        QueueSpec("billing", "voice", "north-1", patience=Patience("exponential", 300.0), handle=voice),
        QueueSpec("tech", "voice", "north-1", patience=Patience("exponential", 240.0),
                  handle=HandleTime(mean_s=360.0, kind="lognormal", cv=0.7, acw_mean_s=45.0)),
        QueueSpec("billing-s", "voice", "south-1", patience=Patience("exponential", 180.0), handle=voice),
        QueueSpec("chat", "chat", "north-2", patience=Patience("exponential", 300.0),
                  handle=HandleTime(mean_s=420.0, kind="lognormal", cv=0.6)),
        QueueSpec("outbound", "voice", "north-1", handle=HandleTime(mean_s=180.0, kind="lognormal", cv=0.6)),
    ]  # fmt: skip
    agents: list[DemoAgent] = []

    def add(prefix: str, count: int, center: str, skills: dict[str, int], team: str, echelon: int | None,
            chat: int = 1) -> None:  # fmt: skip
        for i in range(count):
            aid = f"{prefix}{i + 1:03d}"
            early = i % 2 == 0
            start, end = (8 * 3600, 17 * 3600) if early else (11 * 3600, 20 * 3600)
            b0 = start + 2 * 3600 + (i % 4) * 900
            lunch = start + 4 * 3600 + (i % 2) * 1800
            shift = Shift(start, end, (Break("break", b0, b0 + 900), Break("lunch", lunch, lunch + 1800)))
            primary = min(skills, key=lambda q: (-skills[q], q))
            spec = AgentSpec(aid, {primary: skills[primary]}, center, chat_capacity=chat, shifts=(shift,))
            k = len(agents)
            name = f"{_SURNAMES[k % len(_SURNAMES)]} {_GIVEN[(k * 7) % len(_GIVEN)]}"
            agents.append(DemoAgent(spec, name, team, echelon, dict(skills)))

    add("B", n(24), "north-1", {"billing": 3}, "billing-a", None)
    add("T", n(12), "north-1", {"tech": 3, "billing": 1}, "tech-a", 2)
    add("S", n(14), "south-1", {"billing-s": 3}, "billing-south", None)
    add("C", n(8), "north-2", {"chat": 3, "billing": 1}, "chat-a", 3, chat=3)
    add("O", n(8), "north-1", {"outbound": 3, "billing": 2}, "outbound-a", 1)
    # Daily volumes sized for ~85% occupancy on the staffed hours (8:00-20:00, both shifts 11:00-17:00).
    prof = _profile(8, 20, (11, 17))
    streams = [
        ArrivalStream("billing", 1600 * scale, prof),
        ArrivalStream("tech", 500 * scale, prof),
        ArrivalStream("billing-s", 950 * scale, prof),
        ArrivalStream("chat", 1000 * scale, prof),
    ]
    if overload > 0:
        peak_rate = 1600 * scale * 2 / sum(prof)  # billing arrivals per half-hour at the peak
        extra = tuple(1.0 if overload_hour * 2 <= i < overload_hour * 2 + 2 else 0.0 for i in range(48))
        streams.append(ArrivalStream("billing", peak_rate * overload * 2, extra, business_type="overload"))
    campaigns = [OutboundCampaign("outbound", dials_per_hour=60 * scale, connect_p=0.5, window=(9.0, 18.0))]
    model = Model(queues=queues, agents=[a.spec for a in agents], streams=streams, campaigns=campaigns,
                  start=start, days=1, timezone=ZONE, country=None,
                  adherence=Adherence(30.0, 60.0, 30.0, 30.0, 60.0))  # fmt: skip
    return model, agents


def queue_config() -> dict[str, dict[str, Any]]:
    """The ``queues`` section of the demo's live.yaml."""
    return {
        "billing": {"center": "north-1", "channel": "voice", "patience_s": 300, "skill": "billing"},
        "tech": {"center": "north-1", "channel": "voice", "patience_s": 240},
        "billing-s": {"center": "south-1", "channel": "voice", "patience_s": 180, "skill": "billing"},
        "chat": {"center": "north-2", "channel": "chat", "patience_s": 300, "target_sl": 0.7, "sl_threshold_s": 60},
        "outbound": {"center": "north-1", "channel": "voice", "direction": "outbound"},
    }


def records_to_events(records: Records, model: Model, tenant: str = TENANT) -> list[dict[str, Any]]:
    """Live events of a simulated run, sorted by time (ties: agent states first, then the contact's order)."""
    zone = zoneinfo.ZoneInfo(model.timezone)
    t0 = records.start.timestamp()
    qcenter = {q.name: q.center for q in model.queues}
    centers = {a.agent_id: a.center for a in model.agents}
    rows: list[tuple[float, int, int, dict[str, Any]]] = []
    seq = 0

    def put(t: float, rank: int, ev: dict[str, Any]) -> None:
        nonlocal seq
        seq += 1
        ev["ts"] = t
        rows.append((t, rank, seq, ev))

    for (cid, center, queue, channel, _direction, cust, bt, offered, answered, ended, ivr_s, _wait, _talk, _hold,
         _acw, outcome, agent, _tr, _ivr_result, _vip) in records.contacts:  # fmt: skip
        if outcome == "self_served":
            continue
        entry = offered + (ivr_s or 0.0)
        base = {"tenant": tenant, "contact_id": cid, "queue": queue}
        put(entry, 1, {"type": "contact.offered", **base, "center": qcenter.get(queue), "channel": channel,
                       "ivr_s": ivr_s, "customer_id": cust, "business_type": _name(bt)})  # fmt: skip
        if answered is not None:
            put(answered, 2, {"type": "contact.answered", **base, "center": center, "agent_id": agent})
        end_type = {"abandoned": "contact.abandoned", "transferred": "contact.transferred"}.get(outcome,
                                                                                                "contact.ended")
        extra = {"reason": "callback"} if outcome == "callback" else {}
        put(ended, 3, {"type": end_type, **base, "agent_id": agent, **extra})
    for agent_id, state, reason, queue, started, _ended in records.agent_states:
        ev = {"type": "agent.state", "tenant": tenant, "agent_id": agent_id, "state": state,
              "center": centers.get(agent_id)}  # fmt: skip
        if reason:
            ev["reason"] = reason
        if queue:
            ev["queue"] = queue
        put(started, 0, ev)
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    out = []
    for t, _, _, ev in rows:
        ev["ts"] = datetime.fromtimestamp(t0 + t, zone).isoformat(timespec="microseconds")
        out.append({k: v for k, v in ev.items() if v is not None})
    return out


def day_start(day: date | None) -> datetime:
    """Local midnight (demo zone) of ``day``; the fixed demo Monday when None."""
    if day is None:
        return START
    return datetime(day.year, day.month, day.day, tzinfo=zoneinfo.ZoneInfo(ZONE))


def write_demo(out: Path, scale: float = 1.0, overload: float = 2.0, seed: int = 7,
               day: date | None = None) -> dict[str, Any]:  # fmt: skip
    """Simulate the demo day (``day``, default a fixed Monday) and write events.jsonl, agents.csv, schedules.csv
    and live.yaml into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    start = day_start(day)
    model, agents = demo_model(scale, overload, start=start)
    records = simulate(model, seed)
    events = records_to_events(records, model)
    with (out / "events.jsonl").open("w") as f:
        for ev in events:
            f.write(json.dumps(ev, separators=(",", ":")) + "\n")
    with (out / "agents.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["agent_id", "name", "center", "team", "skills", "emergency_echelon"])
        for a in agents:
            skills = ";".join(f"{q}:{lv}" for q, lv in sorted(a.skills.items()))
            w.writerow([a.spec.agent_id, a.name, a.spec.center, a.team, skills,
                        "" if a.echelon is None else a.echelon])  # fmt: skip
    zone = zoneinfo.ZoneInfo(ZONE)
    t0 = start.timestamp()
    with (out / "schedules.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["agent_id", "activity", "start_at", "end_at", "queue"])
        for agent_id, activity, s, e, queue in records.schedules:
            w.writerow([agent_id, activity, datetime.fromtimestamp(t0 + s, zone).isoformat(),
                        datetime.fromtimestamp(t0 + e, zone).isoformat(), queue or ""])  # fmt: skip
    config = {"tenant": TENANT, "timezone": ZONE, "centers": CENTERS, "queues": queue_config()}
    (out / "live.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    offered = sum(1 for e in events if e["type"] == "contact.offered")
    return {"events": len(events), "contacts": offered, "agents": len(agents), "folder": str(out),
            "overload": {"queue": "billing", "hour": 14, "extra_share": overload} if overload else None,
            "seconds": math.nan}  # fmt: skip


_NAME = TypeAdapter(Annotated[str, Field(max_length=NAME_MAX, pattern=NAME_PATTERN)])


def table_events(contacts: Any, agent_states: Any, queue_center: dict[str, str], tenant: str = TENANT,
                 zone: str = ZONE) -> list[dict[str, Any]]:  # fmt: skip
    """Live events of canonical ``contacts`` and ``agent_states`` tables (pyarrow), sorted by time like
    :func:`records_to_events`: a leg enters its queue after its IVR time; self-served contacts emit nothing."""
    tz = zoneinfo.ZoneInfo(zone)
    rows: list[tuple[float, int, int, dict[str, Any]]] = []

    def put(t: datetime, rank: int, ev: dict[str, Any]) -> None:
        rows.append((t.timestamp(), rank, len(rows), {**ev, "ts": t.astimezone(tz).isoformat(timespec="microseconds")}))

    cols = ["contact_id", "center", "queue", "channel", "offered_at", "answered_at", "ended_at", "ivr_s", "outcome",
            "agent_id", "customer_id", "business_type", "csat", "nps"]  # fmt: skip
    for c in contacts.select([n for n in cols if n in contacts.column_names]).to_pylist():
        if c["outcome"] == "self_served" or c["ended_at"] is None:
            continue
        entry = c["offered_at"] + timedelta(seconds=c["ivr_s"] or 0.0)
        base = {"tenant": tenant, "contact_id": c["contact_id"], "queue": c["queue"]}
        # the IVR time, customer and business ride on the offer, the survey on the end (landed with the contact)
        put(entry, 1, {"type": "contact.offered", **base, "center": queue_center.get(c["queue"]),
                       "channel": c["channel"], "ivr_s": c["ivr_s"], "customer_id": c.get("customer_id"),
                       "business_type": _name(c.get("business_type"))})  # fmt: skip
        if c["answered_at"] is not None:
            put(c["answered_at"], 2, {"type": "contact.answered", **base, "center": c["center"],
                                      "agent_id": c["agent_id"]})  # fmt: skip
        end = {"abandoned": "contact.abandoned", "transferred": "contact.transferred"}.get(c["outcome"],
                                                                                           "contact.ended")
        extra = {"reason": "callback"} if c["outcome"] == "callback" else {}
        if end == "contact.ended":
            extra.update(csat=c.get("csat"), nps=c.get("nps"))
        put(c["ended_at"], 3, {"type": end, **base, "agent_id": c["agent_id"], **extra})
    for s in agent_states.select(["agent_id", "state", "reason", "queue", "started_at"]).to_pylist():
        put(s["started_at"], 0, {"type": "agent.state", "tenant": tenant, "agent_id": s["agent_id"],
                                 "state": s["state"], "reason": s["reason"], "queue": s["queue"]})  # fmt: skip
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return [{k: v for k, v in ev.items() if v is not None} for _, _, _, ev in rows]


def _name(value: str | None) -> str | None:
    """``value`` if the live contract takes it as a name, else None (a free-text business type stays home)."""
    if value is None:
        return None
    try:
        return _NAME.validate_python(value)
    except ValidationError:
        return None


def write_scenario_day(out: Path, scenario: Any, contacts: Any, agent_states: Any, agents: Any, schedules: Any,
                       midnight: datetime, tenant: str = TENANT) -> dict[str, Any]:  # fmt: skip
    """The live room's files for one day of a scenario run (the day the history continues into): events.jsonl
    from the day's contacts and agent states, agents.csv from the run's roster (the warehouse's agents),
    schedules.csv with the day's scheduled activities, and live.yaml with the scenario's queues and centers."""
    out.mkdir(parents=True, exist_ok=True)
    zone = scenario.timezone
    queue_center = {q.name: q.center for q in scenario.queues}
    events = table_events(contacts, agent_states, queue_center, tenant, zone)
    with (out / "events.jsonl").open("w", encoding="utf-8") as f:
        for ev in events:
            f.write(json.dumps(ev, ensure_ascii=False, separators=(",", ":")) + "\n")
    with (out / "agents.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["agent_id", "name", "center", "team", "skills", "emergency_echelon"])
        for a in agents.select(["agent_id", "name", "center", "team", "skills", "emergency_echelon"]).to_pylist():
            w.writerow([a["agent_id"], a["name"], a["center"], a["team"], a["skills"],
                        "" if a["emergency_echelon"] is None else a["emergency_echelon"]])  # fmt: skip
    tz = zoneinfo.ZoneInfo(zone)
    day_end = midnight + timedelta(days=1)
    with (out / "schedules.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["agent_id", "activity", "start_at", "end_at", "queue"])
        for r in schedules.select(["agent_id", "activity", "start_at", "end_at", "queue"]).to_pylist():
            if r["end_at"] > midnight and r["start_at"] < day_end:
                w.writerow([r["agent_id"], r["activity"], r["start_at"].astimezone(tz).isoformat(),
                            r["end_at"].astimezone(tz).isoformat(), r["queue"] or ""])  # fmt: skip
    outbound = {o.queue for o in scenario.outbound}
    queues = {}
    for q in scenario.queues:
        entry: dict[str, Any] = {"center": q.center, "channel": str(q.channel)}
        if q.name in outbound:
            entry["direction"] = "outbound"
        elif q.patience is not None:
            entry["patience_s"] = q.patience.mean_s
        if q.channel != "voice":
            entry.update({"target_sl": 0.7, "sl_threshold_s": 60})
        queues[q.name] = entry
    config = {"tenant": tenant, "timezone": zone, "centers": {c.name: c.region for c in scenario.centers},
              "queues": queues}  # fmt: skip
    (out / "live.yaml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    offered = sum(1 for e in events if e["type"] == "contact.offered")
    return {"events": len(events), "contacts": offered, "agents": agents.num_rows, "folder": str(out)}
