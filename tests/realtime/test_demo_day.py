"""The demo's one story: the live day is today of the same simulation as the history (one roster, one calendar),
it lands in the warehouse, and the TOP view shows the last complete day with today so far beside it."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from callops import tenancy
from callops.metrics.top import last_complete_day, today_so_far, top_indicators
from callops.realtime.config import load_config
from callops.realtime.hub import live_dir
from callops.realtime.landing import land_lines
from callops.sim.demo import OVERLOAD_HOUR, generate_demo_tenant
from callops.warehouse import Warehouse

ZONE = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One day of history plus today, generated once for the module (about half a minute)."""
    import os

    root = tmp_path_factory.mktemp("demo-day") / "home"
    old = os.environ.get("CALLOPS_HOME")
    os.environ["CALLOPS_HOME"] = str(root)
    try:
        with Warehouse() as wh:
            generate_demo_tenant(wh, days=1, seed=5, live_folder=live_dir("demo"))
    finally:
        if old is None:
            del os.environ["CALLOPS_HOME"]
        else:
            os.environ["CALLOPS_HOME"] = old
    return root


@pytest.fixture
def wh(demo_home: Path, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    """The generated warehouse, in its home."""
    monkeypatch.setenv("CALLOPS_HOME", str(demo_home))
    with Warehouse() as w:
        yield w


def rows(path: Path) -> list[dict[str, str]]:
    """A CSV file's rows."""
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_live_room_and_warehouse_share_one_roster_and_calendar(wh: Warehouse) -> None:
    folder = live_dir("demo")
    t = tenancy.get_tenant(wh, "demo")
    agents = tenancy.scoped(wh, t, "agents").to_pyarrow().to_pylist()
    live_agents = rows(folder / "agents.csv")
    assert len(agents) == len(live_agents) == 600
    assert {(a["agent_id"], a["name"], a["team"], a["skills"]) for a in agents} == {
        (a["agent_id"], a["name"], a["team"], a["skills"]) for a in live_agents}
    today = datetime.now(ZONE).date()
    events = [json.loads(ln) for ln in (folder / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    # a contact arrives at its queue entry less its IVR time (the offer carries it since issue 16): one arriving
    # just before midnight may enter the queue, and end, after it
    starts = {(datetime.fromisoformat(e["ts"]) - timedelta(seconds=e.get("ivr_s", 0))).astimezone(ZONE).date()
              for e in events if e["type"] in ("contact.offered", "agent.state")}  # fmt: skip
    assert starts == {today}
    # every agent in today's events is on the roster, and today's schedule is the warehouse's schedule of today
    roster = {a["agent_id"] for a in agents}
    assert {e["agent_id"] for e in events if e.get("agent_id")} <= roster
    sched = tenancy.scoped(wh, t, "schedules").to_pyarrow().to_pylist()
    midnight = datetime.combine(today, datetime.min.time(), ZONE)
    todays = {(r["agent_id"], r["start_at"].timestamp()) for r in sched
              if r["end_at"] > midnight and r["start_at"] < midnight + timedelta(days=1)}  # fmt: skip
    live_sched = {(r["agent_id"], datetime.fromisoformat(r["start_at"]).timestamp())
                  for r in rows(folder / "schedules.csv")}  # fmt: skip
    assert live_sched == todays and len(todays) > 100
    # the history stops at today's midnight: the warehouse has no contact of today yet, and the ids are new ones
    contacts = tenancy.scoped(wh, t, "contacts").select("contact_id", "offered_at").to_pyarrow().to_pylist()
    assert max(c["offered_at"] for c in contacts) < midnight
    assert not {c["contact_id"] for c in contacts} & {e["contact_id"] for e in events if "contact_id" in e}
    # the live config names the scenario's queues and centers
    cfg = load_config(folder / "live.yaml", "demo")
    assert {e["queue"] for e in events if e["type"] == "contact.offered"} <= set(cfg.queues)


def test_overload_hour_on_billing(wh: Warehouse) -> None:
    """Billing's queue entries in the overload hour are about three times those of the hour before and after."""
    events = [json.loads(ln) for ln in (live_dir("demo") / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    per_hour: dict[int, int] = {}
    for e in events:
        if e["type"] == "contact.offered" and e["queue"] == "billing":
            h = datetime.fromisoformat(e["ts"]).astimezone(ZONE).hour
            per_hour[h] = per_hour.get(h, 0) + 1
    around = (per_hour[OVERLOAD_HOUR - 1] + per_hour[OVERLOAD_HOUR + 1]) / 2
    assert 2.2 < per_hour[OVERLOAD_HOUR] / around < 4.0


def test_landed_live_day_continues_the_history_in_top(wh: Warehouse) -> None:
    folder = live_dir("demo")
    today = datetime.now(ZONE).date()
    before = top_indicators(wh, "demo", "day")
    assert before[0]["period"] == str(today - timedelta(days=1))
    assert today_so_far(wh, "demo") is None
    lines = (folder / "events.jsonl").read_text(encoding="utf-8").splitlines()
    noon = datetime.combine(today, datetime.min.time(), ZONE) + timedelta(hours=12)
    half = [ln for ln in lines if datetime.fromisoformat(json.loads(ln)["ts"]) < noon]
    out = land_lines(wh, load_config(folder / "live.yaml", "demo"), half, folder / "landing")
    assert out["contacts"]["loaded"] > 1000 and out["contacts"]["rejected"] == 0
    assert last_complete_day(wh, "demo") == today - timedelta(days=1)
    assert top_indicators(wh, "demo", "day")[0]["period"] == str(today - timedelta(days=1))
    now = today_so_far(wh, "demo")
    assert now is not None and now[0]["period"] == str(today)
    values = {r["metric"]: r["value"] for r in now}
    assert any(v for v in values.values())
