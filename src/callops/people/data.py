"""Reads and writes of the self-service loop: roster and schedule (warehouse, through ``tenancy.scoped``),
schedule versions (store, through ``scoping.scoped``), the current forecast, and the live room's expectations.

The warehouse's ``schedules`` table is the schedule as it stands: a change (an approved request, an accepted
overtime or VTO offer) is written there by a load that replaces the affected agents' blocks in its window
(:class:`callops.ingest.loader.Replace`), so the planner's week view, the adherence metrics and every other reader
see it. The store keeps each change as a numbered version with the rows before and after (the history, and the
way back).
"""

from __future__ import annotations

import csv
import math
import zoneinfo
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from callops import tenancy
from callops.errors import CallopsError
from callops.people.checks import Change, Forecast, row_json
from callops.store import audit
from callops.store.models_people import RequestScheduleVersion
from callops.store.scoping import scoped, tenant_key
from callops.warehouse import Warehouse

ROW_COLS = ["agent_id", "activity", "start_at", "end_at", "queue"]
# Shifts cross midnight: rows that started this long before a window may still run into it.
LOOKBEHIND = timedelta(hours=24)


def roster_agent(wh: Warehouse, tenant: str, agent_id: str) -> dict[str, Any] | None:
    """The tenant's roster row of ``agent_id`` (None when the tenant has no such agent)."""
    t = tenancy.scoped(wh, tenant, "agents")
    rows = t.filter(t.agent_id == agent_id).select("agent_id", "name", "center", "team", "skills", "contract",
                                                   "active").to_pyarrow().to_pylist()  # fmt: skip
    return rows[0] if rows else None


def team_agents(wh: Warehouse, tenant: str, team: str) -> list[dict[str, Any]]:
    """The roster rows of ``team`` in the tenant."""
    t = tenancy.scoped(wh, tenant, "agents")
    return t.filter(t.team == team).select("agent_id", "name", "team", "contract", "skills",
                                           "active").order_by("agent_id").to_pyarrow().to_pylist()  # fmt: skip


def team_exists(wh: Warehouse, tenant: str, team: str) -> bool:
    """Whether the tenant's roster has an agent in ``team``."""
    t = tenancy.scoped(wh, tenant, "agents")
    return bool(t.filter(t.team == team).count().execute())


def planned_rows(wh: Warehouse, tenant: str, start: datetime, end: datetime,
                 agent_ids: list[str] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """Planned schedule rows meeting ``[start, end)`` (of ``agent_ids`` when given)."""
    t = tenancy.scoped(wh, tenant, "schedules")
    t = t.filter((t.start_at < end) & (t.end_at > start) & (t.start_at >= start - LOOKBEHIND))
    if agent_ids is not None:
        if not agent_ids:
            return []
        t = t.filter(t.agent_id.isin(agent_ids))
    return [_aware(r) for r in t.select(ROW_COLS).to_pyarrow().to_pylist()]


def _aware(r: dict[str, Any]) -> dict[str, Any]:
    for k in ("start_at", "end_at"):
        v = r[k]
        if v.tzinfo is None:
            r[k] = v.replace(tzinfo=zoneinfo.ZoneInfo("UTC"))
    return r


# ------------------------------------------------------------------------------------------------------ versions
def schedule_rows(wh: Warehouse, tenant: str, start: datetime, end: datetime,
                  agent_ids: list[str] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """The schedule as it stands (every approved change is in the warehouse) meeting ``[start, end)``, by agent
    and start."""
    rows = planned_rows(wh, tenant, start, end, agent_ids)
    return sorted(rows, key=lambda r: (r["agent_id"], r["start_at"]))


def save_version(session: Session, wh: Warehouse, tenant: str, change: Change, *, request_id: int | None,
                 actor: str, reason: str = "", source: str = "request") -> int:  # fmt: skip
    """Record ``change`` as the tenant's next schedule version (audited) and write it to the warehouse; its number.

    The version row is added to ``session`` first; the warehouse load (all or nothing) follows, so a failed load
    raises before the caller's store transaction commits and neither side changes.
    """
    from callops.ingest.loader import Replace
    from callops.wfm.schedule_cli import save_schedule

    key = tenant_key(tenant)
    version = RequestScheduleVersion.version
    last = session.scalar(select(func.max(version)).where(RequestScheduleVersion.tenant_id == key))
    doc = change.as_dict()
    row = RequestScheduleVersion(tenant_id=key, version=(last or 0) + 1, request_id=request_id,
                                 agents={"agent_ids": doc["agent_ids"], "start": doc["start"], "end": doc["end"]},
                                 before={"rows": doc["before"]}, after={"rows": doc["after"]}, actor=actor,
                                 reason=reason, source=source)  # fmt: skip
    session.add(row)
    session.flush()
    audit.record(session, key, actor, "schedule.version", "schedule_version", row.version, None,
                 {"request_id": request_id, "source": source, "agents": doc["agent_ids"], "start": doc["start"],
                  "end": doc["end"], "rows_before": len(doc["before"]), "rows_after": len(doc["after"])})  # fmt: skip
    save_schedule(wh, tenancy.get_tenant(wh, tenant), [dict(r) for r in change.after],
                  replace=Replace("agent_id", tuple(change.agents), change.start, change.end))  # fmt: skip
    return row.version


def list_versions(session: Session, tenant: str, zone: str, day: date | None = None) -> list[dict[str, Any]]:
    """The tenant's schedule versions, newest first (those whose window meets local ``day`` when given)."""
    tz = zoneinfo.ZoneInfo(zone)
    out = []
    q = scoped(RequestScheduleVersion, tenant).order_by(RequestScheduleVersion.version.desc())
    for v in session.scalars(q):
        s, e = (datetime.fromisoformat(v.agents[k]).astimezone(tz) for k in ("start", "end"))
        if day is not None and not (s.date() <= day and (e - timedelta(microseconds=1)).date() >= day):
            continue
        out.append({"version": v.version, "source": v.source, "day": s.date().isoformat(),
                    "agents": list(v.agents["agent_ids"]), "start": s.isoformat(), "end": e.isoformat(),
                    "added": v.after["rows"], "removed": v.before["rows"], "reason": v.reason,
                    "request_id": v.request_id, "created_by": v.actor,
                    "created_at": v.created_at.isoformat()})  # fmt: skip
    return out


# ------------------------------------------------------------------------------------------------------ forecast
def current_forecast(tenant: str, start: datetime, end: datetime, zone: str) -> Forecast:
    """The latest forecast snapshot's calls and handle time for the local intervals of ``[start, end)``."""
    from callops.wfm.forecast_io import list_snapshots, load_snapshot

    snaps = list_snapshots(tenant)
    if not snaps:
        return Forecast(interval_minutes=15)
    frame, meta = load_snapshot(tenant, snaps[-1]["snapshot_id"])
    tz = zoneinfo.ZoneInfo(zone)
    lo = pd.Timestamp(start.astimezone(tz).replace(tzinfo=None)) - pd.Timedelta(days=1)
    hi = pd.Timestamp(end.astimezone(tz).replace(tzinfo=None)) + pd.Timedelta(days=1)
    part = frame[(frame["interval_start"] >= lo) & (frame["interval_start"] < hi)]
    fc = Forecast(interval_minutes=int(meta.get("interval_min", 15)), snapshot_id=meta.get("snapshot_id"))
    for q, g in part.groupby("queue"):
        ts = [t.to_pydatetime() for t in g["interval_start"]]
        fc.calls[str(q)] = dict(zip(ts, g["forecast"].astype(float), strict=True))
        aht = g["aht_s"].astype(float) if "aht_s" in g else pd.Series([math.nan] * len(g))
        fc.aht_s[str(q)] = dict(zip(ts, aht, strict=True))
    return fc


def patience(wh: Warehouse, tenant: str, queues: list[str], given: float | None) -> dict[str, float]:
    """Mean patience per queue: the tenant setting, else the estimate from its contacts, else none (Erlang C)."""
    if given is not None:
        return {q: float(given) for q in queues}
    from callops.wfm.staffing import estimate_patience

    try:
        est = estimate_patience(wh, tenant, None)
    except CallopsError:
        est = {}
    out = {}
    for q in queues:
        p = est.get(q)
        value = getattr(p, "patience_s", p)
        out[q] = float(value) if value is not None and math.isfinite(float(value)) and value > 0 else math.inf
    return out


# ------------------------------------------------------------------------------------------------------ live room
def update_live(tenant: str, change: Change, version: int) -> dict[str, Any]:
    """Give the live room the new expectations of the changed agents (schedule version ``version``).

    The open hub runs the version as a logged action (:meth:`LiveHub.change_schedule`: the agents' rows in the
    window are replaced and people-floor's adherence watch re-checks them), and the live folder's
    ``schedules.csv`` is rewritten the same way so a hub built later starts from it. A hub in another process
    (``live serve``) takes the version from the store (:func:`schedule_source`).
    """
    from callops.people.checks import apply_change
    from callops.realtime.config import load_schedule
    from callops.realtime.hub import live_dir, open_hubs
    from callops.realtime.state import ScheduleRow

    def from_live(r: ScheduleRow) -> dict[str, Any]:
        utc = zoneinfo.ZoneInfo("UTC")
        return {"agent_id": r.agent_id, "activity": r.activity, "start_at": datetime.fromtimestamp(r.start, utc),
                "end_at": datetime.fromtimestamp(r.end, utc), "queue": r.queue}  # fmt: skip

    result = {"hub": False, "file": False}
    hub = open_hubs().get(tenant)
    if hub is not None:
        hub.change_schedule(version, change.agents, change.start.timestamp(), change.end.timestamp(),
                            [ScheduleRow(r["agent_id"], r["activity"], r["start_at"].timestamp(),
                                         r["end_at"].timestamp(), r.get("queue")) for r in change.after])  # fmt: skip
        result["hub"] = True
    path = live_dir(tenant) / "schedules.csv"
    if path.exists():
        rows = [from_live(r) for r in load_schedule(path)]
        new = apply_change(rows, change.agents, change.start, change.end, change.after)
        tmp = path.with_suffix(".csv.tmp")
        with tmp.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=ROW_COLS)
            w.writeheader()
            for r in new:
                j = row_json(r)
                w.writerow({k: j.get(k) or "" for k in ROW_COLS})
        tmp.replace(path)
        result["file"] = True
    return result


def schedule_source(store: Any, tenant: str) -> Any:
    """A schedule source for :meth:`LiveHub.use_schedule_from`: the tenant's versions after the one a hub runs,
    oldest first, as the hub's actions want them (one indexed read when nothing changed)."""
    key = tenant_key(tenant)

    def source(after: int) -> list[dict[str, Any]]:
        with store.session() as s:
            q = scoped(RequestScheduleVersion, key).where(RequestScheduleVersion.version > after)
            out = []
            for v in s.scalars(q.order_by(RequestScheduleVersion.version)):
                rows = [[r["agent_id"], r["activity"], datetime.fromisoformat(r["start_at"]).timestamp(),
                         datetime.fromisoformat(r["end_at"]).timestamp(), r.get("queue")] for r in v.after["rows"]]
                out.append({"version": v.version, "agents": list(v.agents["agent_ids"]),
                            "start": datetime.fromisoformat(v.agents["start"]).timestamp(),
                            "end": datetime.fromisoformat(v.agents["end"]).timestamp(), "rows": rows})  # fmt: skip
            return out

    return source


def follow_schedule_changes(hub: Any, store: Any) -> int:
    """Make ``hub`` follow the tenant's schedule versions in ``store`` (approved in any process); how many it
    applied now. A hub that already follows a source is polled instead."""
    if hub.schedule_source is not None:
        return hub.poll_schedule()
    return hub.use_schedule_from(schedule_source(store, hub.tenant))


def local(ts: datetime, zone: str) -> str:
    """``ts`` as local ISO text (minutes)."""
    return ts.astimezone(zoneinfo.ZoneInfo(zone)).isoformat(timespec="minutes")

