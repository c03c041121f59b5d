"""The personal view ("me"): my schedule this week and next, my KPIs against my team's, my adherence today, my
coaching tasks, my requests, and the overtime/VTO offers open to me.

An agent reads only their own agent; a team lead reads an agent of their own team (``agent_id``); anything else
answers as not found. KPIs come from the metric catalog (``metrics.query``: handle time, satisfaction, adherence,
per agent and per team, this month in the tenant's zone) and the QA ranking (shrunk score with its interval).
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from callops import tenancy
from callops.errors import CallopsError, NotFound
from callops.people import data, links
from callops.store.db import Store
from callops.store.roles import Role
from callops.warehouse import Warehouse

KPIS = {"aht_s": "handle time (s)", "adherence": "adherence", "csat_mean": "satisfaction"}


def subject(store: Store, wh: Warehouse, tenant: str, user_id: int, agent_id: str | None = None) -> tuple[
        links.Person, dict[str, Any]]:  # fmt: skip
    """(caller, roster row of the agent they may read): their own agent, or for a team lead ``agent_id`` of their
    team. Another agent's data answers NotFound (404), exactly like an unknown agent."""
    with store.session() as s:
        who = links.person(s, tenant, user_id)
    if agent_id is None or agent_id == who.agent_id:
        mine = links.require_agent(who) if agent_id is None or who.agent_id else agent_id
        row = data.roster_agent(wh, tenant, mine)
        if row is None:
            raise NotFound(f"agent {mine!r} is not on the roster")
        return who, row
    row = data.roster_agent(wh, tenant, agent_id)
    allowed = who.role is Role.admin or (who.role is Role.team_lead and who.team is not None
                                         and row is not None and row.get("team") == who.team)  # fmt: skip
    if row is None or not allowed:
        raise NotFound(f"no agent {agent_id!r} in your team")
    return who, row


def week_start(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


def schedule(store: Store, wh: Warehouse, tenant: str, agent_id: str, monday: date | None = None,
             weeks: int = 2) -> dict[str, Any]:  # fmt: skip
    """``agent_id``'s activities for ``weeks`` weeks from ``monday`` (default: this week), local times, per day."""
    zone = tenancy.get_tenant(wh, tenant).timezone
    tz = zoneinfo.ZoneInfo(zone)
    monday = monday or week_start(datetime.now(tz).date())
    lo = datetime.combine(monday, time()).replace(tzinfo=tz).astimezone(UTC)
    hi = datetime.combine(monday + timedelta(days=7 * weeks), time()).replace(tzinfo=tz).astimezone(UTC)
    rows = data.schedule_rows(wh, tenant, lo, hi, [agent_id])
    days: dict[str, list[dict[str, Any]]] = {}
    paid_s = 0.0
    for r in sorted(rows, key=lambda r: r["start_at"]):
        d = r["start_at"].astimezone(tz).date().isoformat()
        days.setdefault(d, []).append({"activity": r["activity"], "start": data.local(r["start_at"], zone),
                                       "end": data.local(r["end_at"], zone), "queue": r.get("queue")})  # fmt: skip
        if r["activity"] not in ("off",):
            paid_s += (r["end_at"] - r["start_at"]).total_seconds()
    return {"agent_id": agent_id, "timezone": zone, "week_start": monday.isoformat(), "weeks": weeks,
            "days": [{"date": d, "activities": acts} for d, acts in sorted(days.items())],
            "scheduled_hours": round(paid_s / 3600, 2), "rows": [dict(r, start_at=r["start_at"].isoformat(),
                                                                        end_at=r["end_at"].isoformat())
                                                                 for r in rows]}  # fmt: skip


def ics(store: Store, wh: Warehouse, tenant: str, agent_id: str) -> str:
    """This week's and next week's shifts as an iCalendar document (RFC 5545; ``wfm.schedule_export.agent_ics``)."""
    from callops.wfm.schedule_export import agent_ics

    doc = schedule(store, wh, tenant, agent_id)
    rows = [{**r, "start_at": datetime.fromisoformat(r["start_at"]), "end_at": datetime.fromisoformat(r["end_at"])}
            for r in doc["rows"] if r["activity"] != "off"]  # fmt: skip
    return agent_ics(agent_id, rows)


def _month(wh: Warehouse, tenant: str) -> tuple[date, date]:
    zone = tenancy.get_tenant(wh, tenant).timezone
    today = datetime.now(zoneinfo.ZoneInfo(zone)).date()
    return today.replace(day=1), today


def kpis(store: Store, wh: Warehouse, tenant: str, agent: dict[str, Any], start: date | None = None,
         end: date | None = None) -> dict[str, Any]:  # fmt: skip
    """The agent's KPIs next to their team's (ratios recomputed from numerator and denominator, never averaged)."""
    from callops.metrics.query import query

    if start is None or end is None:
        start, end = _month(wh, tenant)
    team = agent.get("team")
    out: dict[str, Any] = {"agent_id": agent["agent_id"], "team": team, "start": start.isoformat(),
                           "end": end.isoformat(), "kpis": []}  # fmt: skip
    mine: dict[str, Any] = {}
    theirs: dict[str, Any] = {}
    try:
        for row in query(wh, tenant, list(KPIS), grain="year", by=["agent"], start=start, end=end).to_pylist():
            if row.get("agent") == agent["agent_id"]:
                mine = row
        if team:
            for row in query(wh, tenant, list(KPIS), grain="year", by=["team"], start=start, end=end).to_pylist():
                if row.get("team") == team:
                    theirs = row
    except CallopsError as exc:
        out["note"] = str(exc)
    for k, label in KPIS.items():
        out["kpis"].append({"id": k, "label": label, "mine": _num(mine.get(k)), "team": _num(theirs.get(k))})
    members = {a["agent_id"] for a in data.team_agents(wh, tenant, team)} if team else None
    out["kpis"].append(qa_score(store, wh, tenant, agent["agent_id"], end, members))
    return out


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if f == f else None


def qa_score(store: Store, wh: Warehouse, tenant: str, agent_id: str, day: date,
             team: set[str] | None = None) -> dict[str, Any]:  # fmt: skip
    """The agent's QA score this month (shrunk mean with its 95 % interval) and the mean of the team's ranked
    agents (all ranked agents when no team is given)."""
    from callops.quality import service

    item: dict[str, Any] = {"id": "qa_score", "label": "QA score", "mine": None, "team": None, "interval": None}
    try:
        rep = service.ranking_report(wh, tenant, day.strftime("%Y-%m"), store=store)
    except Exception as exc:  # no QA data this month is an empty tile, not an error page
        item["note"] = f"no QA ranking: {str(exc)[:200]}"
        return item
    agents = rep.get("agents") or []
    for a in agents:
        if a.get("agent_id") == agent_id:
            item["mine"] = _num(a.get("shrunk_mean"))
            iv = a.get("interval")
            item["interval"] = [_num(iv[0]), _num(iv[1])] if iv else None
    means = [_num(a.get("shrunk_mean")) for a in agents if team is None or a.get("agent_id") in team]
    means = [m for m in means if m is not None]
    item["team"] = sum(means) / len(means) if means else None
    item["team_label"] = "all ranked agents" if team is None else "ranked agents of the team"
    return item


def adherence_today(store: Store, tenant: str, agent_id: str) -> dict[str, Any]:
    """My adherence today from the live room (people-floor's ``adherence_today_for_agent``)."""
    try:
        from callops.people.adherence import adherence_today_for_agent
    except ImportError:
        return {"available": False, "note": "live adherence is not available"}
    try:
        doc = adherence_today_for_agent(store, tenant, agent_id)
    except CallopsError as exc:
        return {"available": False, "note": str(exc)}
    return {"available": True, **doc}


def coaching(store: Store, tenant: str, agent_id: str) -> list[dict[str, Any]]:
    """My coaching tasks (quality package), open ones first."""
    from callops.quality import store as qstore

    tasks = [t for t in qstore.list_tasks(store, tenant) if t["agent_id"] == agent_id]
    return sorted(tasks, key=lambda t: (t["status"] != "open", t["follow_up_on"]))


def offers(store: Store, tenant: str, agent_id: str) -> dict[str, Any]:
    """Overtime / VTO offers open to me (people-floor's ``overtime.open_offers_for_agent``)."""
    try:
        from callops.people.overtime import open_offers_for_agent
    except ImportError:
        return {"available": False, "offers": [], "note": "no overtime or VTO offers yet"}
    try:
        return {"available": True, "offers": open_offers_for_agent(store, tenant, agent_id)}
    except CallopsError as exc:
        return {"available": False, "offers": [], "note": str(exc)}
