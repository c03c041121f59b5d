"""Live → warehouse: what the live engine completed lands in the warehouse through the load path, checked against
the simulator's own records of the same day (the truth the events were made from), across restarts and crashes."""

from __future__ import annotations

import itertools
import json
import shutil
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from callops import tenancy
from callops.cli import app as main_app
from callops.realtime.cli import live_app
from callops.realtime.demo import demo_model, queue_config, records_to_events, write_demo
from callops.realtime.events import parse_event
from callops.realtime.hub import build_hub, live_dir, reset_hubs
from callops.realtime.landing import STATE_FILE, Collector, Lander, LandingWorker
from callops.realtime.state import LiveConfig, QueueConfig
from callops.sim.engine import simulate
from callops.warehouse import Warehouse

RUNNER = CliRunner()


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The demo day at half scale: its files, event lines and the simulator's contact legs that reach a queue."""
    out = tmp_path_factory.mktemp("landing-day")
    write_demo(out, 0.5, 2.0, 11)
    model, _ = demo_model(0.5, 2.0)
    records = simulate(model, 11)
    assert len(records_to_events(records, model)) == len((out / "events.jsonl").read_text().splitlines())
    t0 = records.start.timestamp()
    truth = {}
    for (cid, center, queue, channel, direction, _c, _b, _off, answered, ended, _ivr, wait, _talk, _hold, _acw,
         outcome, agent, _tr, _r, _v) in records.contacts:  # fmt: skip
        if outcome == "self_served":
            continue
        truth[cid] = {"center": center, "queue": queue, "channel": channel, "direction": direction,
                      "answered_at": None if answered is None else t0 + answered, "ended_at": t0 + ended,
                      "outcome": outcome, "agent_id": agent, "wait_s": wait}  # fmt: skip
    return {"folder": out, "lines": (out / "events.jsonl").read_text().splitlines(), "truth": truth}


@pytest.fixture
def live(day: dict[str, Any], home: Warehouse) -> Any:
    """A fresh home whose tenant ``demo`` exists in the warehouse and has the day's live settings."""
    folder = live_dir("demo")
    folder.mkdir(parents=True)
    for name in ("live.yaml", "agents.csv", "schedules.csv"):
        shutil.copy(day["folder"] / name, folder / name)
    tenancy.create_tenant(home, "demo", "Asia/Shanghai")
    reset_hubs()
    yield home
    reset_hubs()


def feed(hub: Any, lines: list[str], size: int = 1000) -> None:
    """Submit lines in batches (durable in the log on return)."""
    for i in range(0, len(lines), size):
        hub.submit(lines[i:i + size])


def landed_contacts(wh: Warehouse, tenant: str = "demo") -> dict[str, dict[str, Any]]:
    """Contacts of ``tenant`` in the warehouse, by id (read through the tenant filter)."""
    t = tenancy.scoped(wh, tenancy.get_tenant(wh, tenant), "contacts")
    return {r["contact_id"]: r for r in t.to_pyarrow().to_pylist()}


def epoch(v: datetime | None) -> float | None:
    """Epoch seconds of an aware datetime (None stays None)."""
    return None if v is None else v.timestamp()


def test_a_whole_day_lands_as_the_simulator_recorded_it(day: dict[str, Any], live: Warehouse) -> None:
    hub = build_hub("demo", log=True)
    feed(hub, day["lines"])
    lander = Lander(hub.engine.config)
    result = lander.land(live)
    truth = day["truth"]
    got = landed_contacts(live)
    assert set(got) == set(truth)
    assert result.open_contacts == 0 and result.events == len(day["lines"])
    for cid, want in truth.items():
        row = got[cid]
        assert row["outcome"] == want["outcome"], cid
        assert row["agent_id"] == want["agent_id"], cid
        assert (row["queue"], row["center"], row["channel"]) == (want["queue"], want["center"], want["channel"])
        assert row["direction"] == want["direction"], cid
        assert epoch(row["ended_at"]) == pytest.approx(want["ended_at"], abs=2e-6)
        if want["answered_at"] is None:
            assert row["answered_at"] is None
        else:
            assert epoch(row["answered_at"]) == pytest.approx(want["answered_at"], abs=2e-6)
        assert row["wait_s"] == pytest.approx(want["wait_s"], abs=2e-6)
    # the load contract: load ids in `loads`, every row accounted for
    for s in result.loads.values():
        assert s.balanced and s.rejected == 0 and s.read == s.loaded
    sql = "SELECT load_id, table_name, rows_read FROM loads WHERE tenant_id = 'demo'"
    loads = live.writer().execute(sql).fetchall()
    assert {(s.load_id, s.table, s.read) for s in result.loads.values()} == set(loads)
    # agent states: one row per state change that lasted, each ending where the agent's next one starts
    states = tenancy.scoped(live, tenancy.get_tenant(live, "demo"), "agent_states").to_pyarrow().to_pylist()
    by_agent: dict[str, list[dict[str, Any]]] = {}
    for r in states:
        by_agent.setdefault(r["agent_id"], []).append(r)
    for rows in by_agent.values():
        rows.sort(key=lambda r: r["started_at"])
        for a, b in itertools.pairwise(rows):
            assert a["ended_at"] <= b["started_at"] and a["ended_at"] > a["started_at"]
    n_events = sum(1 for ln in day["lines"] if '"agent.state"' in ln)
    assert len(states) == n_events - len(lander.collector.open_states) - dropped_zero_length(day["lines"])


def dropped_zero_length(lines: list[str]) -> int:
    """State events followed by another state of the same agent at the same instant (counted by brute force)."""
    last: dict[str, str] = {}
    n = 0
    for ln in lines:
        ev = json.loads(ln)
        if ev["type"] != "agent.state":
            continue
        if last.get(ev["agent_id"]) == ev["ts"]:
            n += 1
        last[ev["agent_id"]] = ev["ts"]
    return n


def test_micro_batches_restart_and_crash_neither_lose_nor_double(day: dict[str, Any], live: Warehouse) -> None:
    lines = day["lines"]
    hub = build_hub("demo", log=True)
    cuts = [0, len(lines) // 5, len(lines) // 2, 3 * len(lines) // 4, len(lines)]
    state_file = live_dir("demo") / STATE_FILE
    for k, (a, b) in enumerate(itertools.pairwise(cuts)):
        feed(hub, lines[a:b])
        if k == 1:  # the hub crashes mid-write: a torn line ends the log, which the lander must not take whole
            hub.close()
            reset_hubs()
            with sorted(live_dir("demo").glob("events-*.jsonl"))[-1].open("a") as f:
                f.write('{"type":"agent.state","ts":"2024-')
            before = state_file.read_text()
            first = Lander(hub.engine.config).land(live)
            assert first.skipped_lines == 0
            # the lander crashes too: the batch committed but its new position was never saved
            state_file.write_text(before)
            again = Lander(hub.engine.config).land(live)
            assert again.loads and all(s.unchanged == s.read for s in again.loads.values())
            hub = build_hub("demo", log=True)  # the restarted hub ends the torn line before it writes
            continue
        Lander(hub.engine.config).land(live)  # a new lander each time: everything comes from landing.json
        if k == 2:  # the hub restarts too: rebuilt from its log, it logs nothing twice
            hub.close()
            reset_hubs()
            hub = build_hub("demo", log=True)
    got = landed_contacts(live)
    assert set(got) == set(day["truth"])
    n = live.writer().execute("SELECT count(*), count(DISTINCT contact_id) FROM contacts WHERE tenant_id = 'demo'")
    total, distinct = n.fetchall()[0]
    assert total == distinct == len(day["truth"])


def test_tenants_land_apart(day: dict[str, Any], live: Warehouse) -> None:
    """``t1`` and ``t10`` (one a prefix of the other) land the same events; each sees only its own rows."""
    cfg = json.loads(json.dumps(queue_config()))
    for tenant, share in (("t1", 3), ("t10", 2)):
        tenancy.create_tenant(live, tenant, "Asia/Shanghai")
        hub = build_hub(tenant, log=True)
        part = day["lines"][: len(day["lines"]) // share]
        lines = [ln.replace('"tenant":"demo"', f'"tenant":"{tenant}"') for ln in part]
        feed(hub, lines)
        queues = {q: QueueConfig(c.get("center"), c.get("channel"), direction=c.get("direction", "inbound"))
                  for q, c in cfg.items()}  # fmt: skip
        Lander(LiveConfig(tenant=tenant, queues=queues)).land(live)
        hub.close()
    one, ten = landed_contacts(live, "t1"), landed_contacts(live, "t10")
    assert 0 < len(one) < len(ten)
    assert not landed_contacts(live, "demo")


def test_worker_lands_within_its_interval(day: dict[str, Any], live: Warehouse) -> None:
    hub = build_hub("demo", log=True)
    landed: list[tuple[float, int]] = []

    @contextmanager
    def opener() -> Any:
        yield live

    worker = LandingWorker(Lander(hub.engine.config), opener, interval_s=0.2,
                           on_landed=lambda r: landed.append((r.landed_at, r.rows))).start()
    try:
        fed_at = []
        for i in range(0, 4000, 500):
            hub.submit(day["lines"][i:i + 500])
            fed_at.append(time.time())
            time.sleep(0.3)
        deadline = time.time() + 10
        while time.time() < deadline and (not landed or landed[-1][0] < fed_at[-1]):
            time.sleep(0.1)
    finally:
        worker.stop()
    assert not worker.errors
    assert len(landed) >= 3  # several micro-batches, not one at the end
    assert landed[-1][0] - fed_at[-1] < 5.0


def test_replay_lands_and_the_day_can_be_queried(day: dict[str, Any], live: Warehouse, tmp_path: Path) -> None:
    live.close()  # the CLI opens the warehouse itself
    folder = day["folder"]
    args = ["replay", str(folder / "events.jsonl"), "--tenant", "demo", "--config", str(folder / "live.yaml"),
            "--json"]  # fmt: skip
    res = RUNNER.invoke(live_app, args)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["landed"]["contacts"]["loaded"] == len(day["truth"])
    again = json.loads(RUNNER.invoke(live_app, args).stdout)["landed"]["contacts"]
    assert again["unchanged"] == len(day["truth"]) and again["loaded"] == 0  # idempotent
    daily = RUNNER.invoke(main_app, ["daily", "--tenant", "demo", "--format", "json"])
    assert daily.exit_code == 0, daily.output
    rows = json.loads(daily.stdout)
    assert sum(r["contacts"] for r in rows) == len(day["truth"])
    answered = sum(1 for t in day["truth"].values() if t["outcome"] == "answered")
    assert sum(r["answered"] for r in rows) == answered
    q = RUNNER.invoke(main_app, ["metrics", "query", "--tenant", "demo", "--metric", "contacts_offered", "--format",
                                   "json"])
    assert q.exit_code == 0, q.output
    inbound = sum(1 for t in day["truth"].values() if t["direction"] == "inbound")
    assert sum(r["contacts_offered"] for r in json.loads(q.stdout)) == inbound
    no = json.loads(RUNNER.invoke(live_app, [*args, "--no-land"]).stdout)
    assert no["landed"] is None


# ------------------------------------------------------------------------------------------- pairing invariants
_T0 = 1_700_000_000.0


@st.composite
def agent_streams(draw: st.DrawFn) -> list[tuple[str, float, str]]:
    """Per-agent state changes at non-decreasing times, interleaved across agents."""
    out = []
    for agent in ("a1", "a2", "a3"):
        t = _T0
        for _ in range(draw(st.integers(0, 12))):
            t += draw(st.sampled_from([0.0, 0.5, 3.0, 60.0]))
            out.append((agent, t, draw(st.sampled_from(["ready", "busy", "acw", "aux", "offline"]))))
    return sorted(out, key=lambda e: e[1])


@settings(max_examples=150, deadline=None)
@given(agent_streams())
def test_state_intervals_tile_each_agents_time(stream: list[tuple[str, float, str]]) -> None:
    """Landed intervals of an agent never overlap, and with the open one they cover first to last change exactly."""
    col = Collector(LiveConfig(tenant="t"))
    for agent, t, state in stream:
        ts = datetime.fromtimestamp(t, UTC).isoformat()
        col.add(parse_event({"type": "agent.state", "tenant": "t", "ts": ts, "agent_id": agent, "state": state}))
    _, rows = col.take()
    for agent in {a for a, _, _ in stream}:
        times = [t for a, t, _ in stream if a == agent]
        mine = sorted((r for r in rows if r["agent_id"] == agent), key=lambda r: r["started_at"])
        covered = sum(r["ended_at"] - r["started_at"] for r in mine)
        assert covered == pytest.approx(col.open_states[agent]["started_at"] - times[0])
        assert all(r["ended_at"] > r["started_at"] for r in mine)
        assert all(a["ended_at"] <= b["started_at"] for a, b in itertools.pairwise(mine))


def test_a_failed_pass_is_repeated_whole(day: dict[str, Any], home: Warehouse) -> None:
    """The tenant is not in the warehouse yet: the pass fails after reading the log, and nothing it read is lost
    once the tenant exists (the lander went back to its saved state)."""
    folder = live_dir("demo")
    folder.mkdir(parents=True)
    for name in ("live.yaml", "agents.csv", "schedules.csv"):
        shutil.copy(day["folder"] / name, folder / name)
    reset_hubs()
    try:
        hub = build_hub("demo", log=True)
        feed(hub, day["lines"][: len(day["lines"]) // 2])
        lander = Lander(hub.engine.config)
        with pytest.raises(Exception, match="no tenant 'demo'"):
            lander.land(home)
        assert not (folder / STATE_FILE).exists()
        tenancy.create_tenant(home, "demo", "Asia/Shanghai")
        feed(hub, day["lines"][len(day["lines"]) // 2:])
        lander.land(home)
        assert set(landed_contacts(home)) == set(day["truth"])
    finally:
        reset_hubs()


def test_a_served_process_lands_every_hub_it_opens(day: dict[str, Any], live: Warehouse) -> None:
    """``callops serve`` / ``live serve``: a hub opened after the app started (a first POST) lands too."""
    from callops.api.deps import Resources
    from callops.realtime.hub import hub_for
    from callops.realtime.landing import land_served_hubs

    live.close()  # the app's resources own the one connection of the process
    resources = Resources()
    stop = land_served_hubs(resources, interval_s=0.2)
    try:
        hub = hub_for("demo")  # opened after: the hook starts its worker
        feed(hub, day["lines"])
    finally:
        stop()  # lands what is left
    wh = resources.open_warehouse()
    with resources.warehouse_lock:
        assert set(landed_contacts(wh)) == set(day["truth"])
    resources.close()


def test_a_home_server_lands_what_its_cluster_members_log(day: dict[str, Any], live: Warehouse) -> None:
    """``live cluster run`` members never open the warehouse: the home's serving process lands the logs they write
    (tenants with a ``cluster.json``) while they write them, every simulated contact once, in several batches."""
    from callops.api.deps import Resources
    from callops.realtime.cluster import write_position
    from callops.realtime.hub import open_hubs
    from callops.realtime.landing import land_member_logs, member_run_tenants

    live.close()  # the app's resources own the one connection of the process
    resources = Resources()
    member = build_hub("demo", log=True)  # what a member hosts: a durable hub on the shared home, not served here
    assert "demo" not in open_hubs()
    assert member_run_tenants() == []  # a log without a member's position is not a member's
    write_position("demo", {"stream": "callops", "seq": 0, "member": "m1", "epoch": 1})
    assert member_run_tenants() == ["demo"]
    stop = land_member_logs(resources, interval_s=0.1)
    try:
        lines = day["lines"]
        for i in range(0, len(lines), 2000):
            member.submit(lines[i:i + 2000])
            time.sleep(0.05)
    finally:
        stop()  # a last round lands what is left
        member.close()
    wh = resources.open_warehouse()
    with resources.warehouse_lock:
        assert set(landed_contacts(wh)) == set(day["truth"])
        total, distinct = wh.writer().execute(
            "SELECT count(*), count(DISTINCT contact_id) FROM contacts WHERE tenant_id = 'demo'").fetchall()[0]
        batches = wh.writer().execute("SELECT count(*) FROM loads WHERE tenant_id = 'demo' "
                                      "AND table_name = 'contacts'").fetchall()[0][0]
    assert total == distinct == len(day["truth"])
    assert batches >= 2  # landed while the member wrote, not once at the end
    resources.close()


def test_one_landing_pass_at_a_time_per_tenant(day: dict[str, Any], live: Warehouse) -> None:
    """A pass that finds the tenant's ``landing.lock`` held (another process landing) lands nothing; two landers
    made at the same time (two processes) take turns from the one saved position and repeat no batch."""
    import fcntl

    from callops.realtime.landing import LOCK_FILE

    hub = build_hub("demo", log=True)
    feed(hub, day["lines"])
    with (live_dir("demo") / LOCK_FILE).open("a") as other:
        fcntl.flock(other.fileno(), fcntl.LOCK_EX)
        held = Lander(hub.engine.config).land(live)
        assert held.busy and not held.loads and held.lines == 0
    assert not landed_contacts(live)
    first, second = Lander(hub.engine.config), Lander(hub.engine.config)  # both read landing.json now: empty
    a = first.land(live, limit=len(day["lines"]) // 2)
    b = second.land(live)  # goes on from where `first` stopped, not from its own (older) start
    assert a.loads and b.loads and not a.busy and not b.busy
    assert all(s.unchanged == 0 and s.updated == 0 for s in b.loads.values())
    assert set(landed_contacts(live)) == set(day["truth"])
