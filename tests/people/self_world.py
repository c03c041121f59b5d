"""A small self-service world (uniquely named helper module): a roster, next week's schedule and forecast.

Team ``alpha``: A01–A04 full-time on the 09:00 template Monday–Friday (A02 on the 15:00 template Tuesday), P01
part-time on the 08:00 six-hour template Monday, Wednesday and Friday; A04 also works Saturday 09:00 (six days: it
breaks the contract already; checks only report what a request newly breaks). Team ``bravo``: B01. Every work
block is in queue ``billing``; the forecast is a flat 12 calls per 15 minutes with 180 s handle time.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pandas as pd

from callops import tenancy
from callops.ingest.loader import load_files
from callops.ingest.mapping import load_mapping
from callops.people import links
from callops.people.self_settings import PeopleSettings, save_settings
from callops.store.db import Store
from callops.warehouse import Warehouse
from callops.wfm.forecast_io import save_snapshot

ZONE = "Asia/Shanghai"
CALLS, AHT = 12.0, 180.0
# FT-0900: 09:00-17:30 with a 15-min break at 10:00, lunch 12:00-12:30, a break at 15:00 (offsets in minutes)
FT = [("work", 0, 60), ("break", 60, 75), ("work", 75, 180), ("lunch", 180, 210), ("work", 210, 360),
      ("break", 360, 375), ("work", 375, 510)]
PT6 = [("work", 0, 60), ("break", 60, 75), ("work", 75, 210), ("break", 210, 225), ("work", 225, 360)]


def next_monday(zone: str = ZONE) -> date:
    """The coming Monday: next week lies in the future and in "this week and next"."""
    today = datetime.now(zoneinfo.ZoneInfo(zone)).date()
    return today + timedelta(days=7 - today.weekday())


def local(day: date, hhmm: str, zone: str = ZONE) -> datetime:
    """An aware local time."""
    h, m = map(int, hhmm.split(":"))
    return datetime.combine(day, time(h, m)).replace(tzinfo=zoneinfo.ZoneInfo(zone))


def shift_rows(agent: str, day: date, start: str, blocks: list, queue: str = "billing") -> list[str]:
    """CSV lines of one shift."""
    t0 = local(day, start)
    return [f"{agent},{act},{(t0 + timedelta(minutes=a)).isoformat()},{(t0 + timedelta(minutes=b)).isoformat()},"
            f"{queue}" for act, a, b in blocks]  # fmt: skip


def roster_csv(prefix: str = "") -> str:
    """The agents table."""
    lines = ["agent_id,name,center,team,skills,hire_date,contract,emergency_echelon,active"]
    for a in ("A01", "A02", "A03", "A04"):
        lines.append(f"{prefix}{a},{prefix}{a},c1,{prefix}alpha,billing:3,2024-01-01,full-time,,true")
    lines.append(f"{prefix}P01,{prefix}P01,c1,{prefix}alpha,billing:2,2024-01-01,part-time,,true")
    lines.append(f"{prefix}B01,{prefix}B01,c1,{prefix}bravo,billing:2,2024-01-01,full-time,,true")
    return "\n".join(lines) + "\n"


def schedule_csv(monday: date, prefix: str = "") -> str:
    """Next week's schedule (see the module docstring)."""
    lines = ["agent_id,activity,start_at,end_at,queue"]
    for a in ("A01", "A02", "A03", "A04", "B01"):
        for d in range(5):
            start = "15:00" if (a == "A02" and d == 1) else "09:00"
            lines += shift_rows(prefix + a, monday + timedelta(days=d), start, FT)
    lines += shift_rows(prefix + "A04", monday + timedelta(days=5), "09:00", FT)
    for d in (0, 2, 4):
        lines += shift_rows(prefix + "P01", monday + timedelta(days=d), "08:00", PT6)
    return "\n".join(lines) + "\n"


def forecast_frame(monday: date) -> pd.DataFrame:
    """A flat forecast for the week, naive local interval starts (as snapshots store them)."""
    starts = pd.date_range(datetime.combine(monday, time()), periods=7 * 96, freq="15min")
    return pd.DataFrame({"queue": "billing", "interval_start": starts, "forecast": CALLS, "aht_s": AHT,
                         "model": "flat"})  # fmt: skip


def seed(store: Store, wh: Warehouse, tenant: str, folder: Path, prefix: str = "",
         settings: PeopleSettings | None = None) -> date:  # fmt: skip
    """Roster, schedule, forecast snapshot and settings for ``tenant``; the planned Monday."""
    monday = next_monday()
    t = tenancy.get_tenant(wh, tenant)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{tenant}-agents.csv").write_text(roster_csv(prefix), encoding="utf-8")
    (folder / f"{tenant}-schedules.csv").write_text(schedule_csv(monday, prefix), encoding="utf-8")
    load_files(wh, t, "agents", [folder / f"{tenant}-agents.csv"], load_mapping("canonical", "agents"))
    load_files(wh, t, "schedules", [folder / f"{tenant}-schedules.csv"], load_mapping("canonical", "schedules"))
    save_snapshot(tenant, forecast_frame(monday), {"interval_min": 15, "timezone": ZONE})
    save_settings(tenant, settings or PeopleSettings(patience_s=None, target_sl=0.8, threshold_s=20))
    return monday


def make_users(store: Store, wh: Warehouse, tenant: str, prefix: str = "") -> dict[str, tuple[int, str]]:
    """Agent users for every roster agent and a team lead per team: name -> (user id, token)."""
    out = {}
    with store.session() as s:
        for a in ("A01", "A02", "A03", "A04", "P01", "B01"):
            u, tok = links.create_user(s, wh, tenant, f"{prefix}{a.lower()}", "agent", "test", agent_id=prefix + a)
            out[a] = (u.id, tok)
        for team in ("alpha", "bravo"):
            u, tok = links.create_user(s, wh, tenant, f"{prefix}lead-{team}", "team_lead", "test", team=prefix + team)
            out[f"lead-{team}"] = (u.id, tok)
    return out


def utc(ts: datetime) -> datetime:
    """``ts`` in UTC."""
    return ts.astimezone(UTC)


def build_template(folder: Path) -> dict:
    """Tenants t1 (seeded, with users) and t2 (seeded with ``X`` ids, no users) in ``folder``, closed again:
    copying the folder gives each test a fresh world without loading again."""
    import os

    from callops.store.tenants import create_tenant

    old = os.environ.get("CALLOPS_HOME")
    os.environ["CALLOPS_HOME"] = str(folder / "home")
    try:
        store = Store(f"sqlite:///{folder / 'store.sqlite3'}")
        with Warehouse(f"duckdb://{folder / 'wh.duckdb'}") as wh:
            create_tenant(store, wh, "t1", ZONE)
            create_tenant(store, wh, "t2", ZONE)
            monday = seed(store, wh, "t1", folder / "data")
            seed(store, wh, "t2", folder / "data", prefix="X")
            users = make_users(store, wh, "t1")
        store.close()
    finally:
        if old is None:
            os.environ.pop("CALLOPS_HOME", None)
        else:
            os.environ["CALLOPS_HOME"] = old
    return {"monday": monday, "users": users}
