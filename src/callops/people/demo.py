"""Demo step of self-service (issue 19): an agent user files a time-off and a swap request; the checks show.

Runs on the simulated hotline the demo has just loaded. The hotline's roster is planned for next week only later in
the demo (``plan_workforce``), so this step publishes next week's plan of the two agents it uses by carrying their
last week's shifts over (two agents, a few rows, through ingest), and, when the tenant has no forecast snapshot
yet, stores the project's baseline forecast (same interval last week, ``seasonal_naive_week``) for the coming two
weeks. Everything else is the product's own path: ``links.create_user``, ``requests.file_request``.
"""

from __future__ import annotations

import tempfile
import zoneinfo
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
from rich.console import Console

from callops import tenancy
from callops.errors import CallopsError
from callops.people import links, requests
from callops.store import users
from callops.store.db import Store
from callops.warehouse import Warehouse

TENANT = "demo"
AGENT_USER, LEAD_USER = "agent-demo", "lead-demo"


def _pair(wh: Warehouse, since: datetime) -> tuple[str, str, str] | None:
    """Two agents of one team who worked last week (agent, colleague, team)."""
    s = tenancy.scoped(wh, TENANT, "schedules")
    a = tenancy.scoped(wh, TENANT, "agents")
    worked = s.filter((s.start_at >= since) & (s.activity == "work")).select("agent_id").distinct()
    rows = a.join(worked, "agent_id").select("agent_id", "team").order_by(["team", "agent_id"]).limit(400) \
        .to_pyarrow().to_pylist()  # fmt: skip
    by_team: dict[str, list[str]] = {}
    for r in rows:
        if r["team"]:
            by_team.setdefault(r["team"], []).append(r["agent_id"])
    for team, members in sorted(by_team.items()):
        if len(members) >= 2:
            return members[0], members[1], team
    return None


def _carry_over(wh: Warehouse, agents: list[str], last_monday: datetime, weeks: int) -> int:
    """Copy the agents' last-week rows ``weeks`` weeks ahead (next week's plan); rows loaded."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from callops.ingest.loader import load_files
    from callops.ingest.mapping import load_mapping

    s = tenancy.scoped(wh, TENANT, "schedules")
    rows = s.filter(s.agent_id.isin(agents) & (s.start_at >= last_monday)
                    & (s.start_at < last_monday + timedelta(days=7))) \
        .select("agent_id", "activity", "start_at", "end_at", "queue").to_pyarrow().to_pylist()  # fmt: skip
    out = []
    for w in range(1, weeks + 1):
        out += [{**r, "start_at": r["start_at"] + timedelta(days=7 * w), "end_at": r["end_at"] + timedelta(days=7 * w)}
                for r in rows]  # fmt: skip
    if not out:
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plan.parquet"
        pq.write_table(pa.Table.from_pylist(out), path)
        load_files(wh, tenancy.get_tenant(wh, TENANT), "schedules", [path], load_mapping("canonical", "schedules"))
    return len(out)


def _baseline_forecast(wh: Warehouse, monday: datetime) -> str | None:
    """A seasonal-naive forecast (same interval last week) for two weeks from ``monday`` when none is stored."""
    from callops.wfm.forecast_io import list_snapshots, save_snapshot, warehouse_intervals

    if list_snapshots(TENANT):
        return None
    hist = warehouse_intervals(wh, TENANT, 15)
    last = hist["interval_start"].max().normalize() - pd.Timedelta(days=6)
    week = hist[hist["interval_start"] >= last].copy()
    week["aht_s"] = (week["handle_s"] / week["answered"]).where(week["answered"] > 0, 300.0)
    grid = pd.date_range(last, periods=7 * 96, freq="15min")  # an interval without contacts is a forecast of 0
    week = pd.concat([g.set_index("interval_start").reindex(grid).assign(queue=q).fillna(
        {"offered": 0.0, "aht_s": 300.0}).rename_axis("interval_start").reset_index()
        for q, g in week.groupby("queue")], ignore_index=True)  # fmt: skip
    parts = []
    for k in range(1, 4):
        part = week[["queue", "interval_start", "offered", "aht_s"]].rename(columns={"offered": "forecast"})
        part = part.assign(interval_start=part["interval_start"] + pd.Timedelta(days=7 * k),
                           model="seasonal_naive_week")  # fmt: skip
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True)
    frame = frame[frame["interval_start"] >= pd.Timestamp(monday.replace(tzinfo=None)) - pd.Timedelta(days=7)]
    return save_snapshot(TENANT, frame, {"interval_min": 15, "models": "seasonal_naive_week (demo step)"})


def _show(console: Console, label: str, r: dict) -> None:
    chk = r.get("checks") or {}
    cov = chk.get("coverage") or {}
    worst = cov.get("worst_sl_after")
    console.print(f"  {label}: request {r['id']} → [bold]{r['status']}[/]; contract rules "
                  f"{'ok' if chk.get('contract', {}).get('ok') else 'broken'}; coverage: "
                  f"{len(cov.get('intervals', []))} intervals touched, worst service level without the agent "
                  f"{'—' if worst is None else f'{worst:.0%}'} (target {cov.get('target', 0):.0%})")  # fmt: skip
    for reason in chk.get("reasons", [])[:3]:
        console.print(f"    · {reason}")


def run(wh: Warehouse, console: Console) -> None:
    """Create (once) an agent user and their team lead, then file a time-off request and a swap request."""
    console.rule("People: self-service requests checked against contract rules and coverage (issue 19)")
    zone = tenancy.get_tenant(wh, TENANT).timezone
    tz = zoneinfo.ZoneInfo(zone)
    today = datetime.now(tz).date()
    this_monday = datetime.combine(today - timedelta(days=today.weekday()), datetime.min.time(), tz)
    pair = _pair(wh, (this_monday - timedelta(days=7)).astimezone(UTC))
    if pair is None:
        console.print("  no two agents of one team worked last week: skipped")
        return
    agent, colleague, team = pair
    rows = _carry_over(wh, [agent, colleague], (this_monday - timedelta(days=7)).astimezone(UTC), 2)
    snap = _baseline_forecast(wh, this_monday)
    console.print(f"  next week's plan of {agent} and {colleague} ({team}) carried over from last week: {rows} rows; "
                  f"forecast: {snap or 'latest snapshot'}")  # fmt: skip
    with Store() as store:
        with store.session() as s:
            try:
                user = users.get_user_by_name(s, TENANT, AGENT_USER)
            except CallopsError:
                user, _ = links.create_user(s, wh, TENANT, AGENT_USER, "agent", "demo", agent_id=agent)
            try:
                users.get_user_by_name(s, TENANT, LEAD_USER)
            except CallopsError:
                links.create_user(s, wh, TENANT, LEAD_USER, "team_lead", "demo", team=team)
            uid = user.id
            agent = links.agent_of(s, TENANT, uid) or agent
        console.print(f"  user {AGENT_USER} is agent {agent}; {LEAD_USER} leads team {team}")
        next_monday = this_monday + timedelta(days=7)
        tue, thu = next_monday + timedelta(days=1), next_monday + timedelta(days=3)
        for label, kind, day, mate in (("time off (Tuesday)", "time_off", tue, None),
                                       ("swap with " + colleague + " (Thursday)", "swap", thu, colleague)):
            try:
                got = requests.file_request(store, wh, TENANT, uid, kind, day, day + timedelta(days=1),
                                            "demo", colleague=mate)  # fmt: skip
                _show(console, label, got)
            except CallopsError as exc:  # a second demo run: the window is taken by the first run's request
                console.print(f"  {label}: refused — {exc}")
