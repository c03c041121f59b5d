"""The durable live hub: what ``hub_for`` accepted (events and people's actions) survives a restart of the process,
a demo day rebuilds in seconds, and alert changes reach the outbox by the tenant's ``notify.yaml``."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from callops import tenancy
from callops.realtime.config import load_config, load_roster, load_schedule
from callops.realtime.demo import write_demo
from callops.realtime.engine import build_engine
from callops.realtime.eventlog import log_files
from callops.realtime.events import iter_lines
from callops.realtime.hub import SNAPSHOT_FILE, LiveHub, build_hub, hub_for, live_dir, reset_hubs
from callops.realtime.notify import build_adapters, load_notify, run_sender
from callops.store import outbox, tenants
from callops.store.db import Store
from callops.store.models import OutboxStatus


@pytest.fixture(autouse=True)
def no_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests compare a hub with a bare engine: hooks other modules registered in this process (the people
    package's adherence watch) stay out of it."""
    from callops.realtime import hub as hub_module

    monkeypatch.setattr(hub_module, "_ON_NEW_HUB", [])
    monkeypatch.setattr(hub_module, "_ON_NEW_ENGINE", [])


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The simulated demo day (live.yaml, roster, schedule) and all its event lines."""
    out = tmp_path_factory.mktemp("demo")
    write_demo(out, 1.0, 2.0, 7)
    return out, (out / "events.jsonl").read_text().splitlines()


@pytest.fixture
def live_home(demo: tuple[Path, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh ``CALLOPS_HOME`` whose demo tenant has the demo's live settings; hubs forgotten before and after."""
    home = tmp_path / "home"
    monkeypatch.setenv("CALLOPS_HOME", str(home))
    folder = live_dir("demo")
    folder.mkdir(parents=True)
    for name in ("live.yaml", "agents.csv", "schedules.csv"):
        shutil.copy(demo[0] / name, folder / name)
    reset_hubs()
    yield home
    reset_hubs()


def window(lines: list[str], start: str, end: str) -> list[str]:
    """Event lines whose local time of day is in [start, end)."""
    return [ln for ln in lines if start <= json.loads(ln)["ts"][11:16] < end]


def view(hub: LiveHub) -> dict[str, Any]:
    """Everything a person sees that must survive a restart (intake counts of accepted and late events too)."""
    r = hub.engine.results()
    intake = hub.intake()
    acts = hub.activations(active_only=False)
    for a in acts:
        a["recommendation"].pop("seconds")  # the planner's own run time, not a result
    return {"alerts": r["alerts"], "commands": r["commands"], "state": r["state"],
            "activations": acts, "all_alerts": hub.alerts(active_only=False),
            "tiles": hub.tiles(), "accepted": intake["accepted"], "late": intake["late"]}  # fmt: skip


def reference(folder: Path, lines: list[str]) -> dict[str, Any]:
    """The results of a plain engine fed ``lines`` from a file, never restarted (an independent run)."""
    cfg = load_config(folder / "live.yaml", "demo")
    eng, _ = build_engine(cfg, roster=load_roster(folder / "agents.csv"),
                          schedule=load_schedule(folder / "schedules.csv"))  # fmt: skip
    eng.submit_many(iter_lines(lines))
    r = eng.results()
    return {"alerts": r["alerts"], "commands": r["commands"], "state": r["state"]}


def test_restarted_hub_is_back_where_it_was_with_actions(demo, live_home: Path) -> None:
    folder, all_lines = demo
    lines = window(all_lines, "13:30", "14:30")
    half = len(lines) // 2
    hub = hub_for("demo")
    assert hub.log is not None and hub.rebuilt is not None and hub.rebuilt.events == 0
    answer = hub.submit([*lines[:half], "{broken", lines[0]], "t")  # junk and a repeat are not logged
    assert (answer["accepted"], answer["rejected"], answer["duplicates"]) == (half, 1, 1)
    logged = [ln for p in log_files("demo") for ln in p.read_text().splitlines()]
    assert logged == lines[:half]  # durable as soon as submit answered

    # people act: acknowledge and resolve alerts, approve or reject waiting plan steps
    open_alerts = hub.alerts()
    assert len(open_alerts) >= 2
    hub.acknowledge(open_alerts[0]["alert_id"], "alice")
    hub.resolve(open_alerts[1]["alert_id"], "bob", "called the ACD team")
    hub.submit(lines[half:], "t")
    waiting = [(a["activation_id"], s["kind"]) for a in hub.activations() for s in a["recommendation"]["steps"]
               if s["status"] == "pending_approval"]  # fmt: skip
    assert waiting, "the overload hour should leave a plan step waiting for approval"
    hub.decide(*waiting[0], approve=True, by="carol")
    if len(waiting) > 1:
        hub.decide(*waiting[1], approve=False, by="carol")
    before = view(hub)
    assert before["commands"][-1]["activation_id"] == waiting[0][0]  # the approval sent commands

    reset_hubs()  # the process "restarts": a new hub from the same home
    (live_dir("demo") / SNAPSHOT_FILE).unlink()  # first without the snapshot the close wrote: the whole log
    again = hub_for("demo")
    assert again is not hub
    assert again.rebuilt is not None and again.snapshot_info is None
    assert (again.rebuilt.events, again.rebuilt.skipped) == (len(lines), 0)
    assert again.rebuilt.actions == 3 + (len(waiting) > 1)
    assert view(again) == before
    reset_hubs()  # then from the snapshot: nothing left to replay, and the same room
    third = hub_for("demo")
    assert third.snapshot_info is not None and (third.rebuilt.events, third.rebuilt.actions) == (0, 0)
    assert view(third) == before
    ack = again.alert(open_alerts[0]["alert_id"])
    assert ack["acknowledged_by"] == "alice" and "acknowledged" in [h["kind"] for h in ack["history"]]

    # without the actions the history differs: the log is what carried them
    plain = reference(folder, lines)
    assert plain["alerts"] != before["alerts"]
    assert plain["state"] == before["state"]


def test_torn_last_line_and_log_off(demo, live_home: Path) -> None:
    folder, all_lines = demo
    lines = window(all_lines, "09:00", "09:30")
    hub = hub_for("demo")
    hub.submit(lines[:-1], "t")
    reset_hubs()
    (live_dir("demo") / SNAPSHOT_FILE).unlink()  # replay the log itself (a snapshot would skip what it covers)
    with log_files("demo")[-1].open("a") as f:
        f.write(lines[-1][:30])  # the crash cut the last write short
    again = hub_for("demo")
    assert again.rebuilt is not None and (again.rebuilt.events, again.rebuilt.skipped) == (len(lines) - 1, 1)
    assert again.submit([lines[-1]], "t")["accepted"] == 1  # the sender resends what it never got an answer for
    reset_hubs()
    (live_dir("demo") / SNAPSHOT_FILE).unlink()
    third = hub_for("demo")
    assert third.rebuilt is not None and third.rebuilt.events == len(lines)
    got = third.engine.results()
    assert {k: got[k] for k in ("alerts", "commands", "state")} == reference(folder, lines)

    # log=False: nothing is read or written
    reset_hubs()
    quiet = hub_for("demo", log=False)
    assert quiet.log is None and quiet.intake()["accepted"] == 0
    quiet.submit(lines[:10], "t")
    assert sum(len(p.read_text().splitlines()) for p in log_files("demo")) == len(lines) + 1  # + the torn piece


def test_demo_day_rebuilds_in_seconds(demo, live_home: Path) -> None:
    _folder, lines = demo
    assert len(lines) > 20_000
    hub = build_hub("demo", log=True)
    for i in range(0, len(lines), 2000):
        hub.submit(lines[i : i + 2000], "t")
    before = view(hub)
    hub.close()
    (live_dir("demo") / SNAPSHOT_FILE).unlink()  # the whole log (tests/realtime/test_hub_restart.py: the snapshot)
    t0, cpu0 = time.perf_counter(), time.process_time()
    again = build_hub("demo", log=True)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    assert again.rebuilt is not None and again.rebuilt.events == len(lines)
    print(f"rebuilt {len(lines)} events in {seconds:.2f} s ({cpu:.2f} CPU s)")
    # CPU time: the rebuild is single-threaded, and wall time on a shared CI machine measures the neighbours
    assert cpu < 5.0  # about 2 s on an idle core
    assert view(again) == before


def test_alert_changes_reach_the_outbox_and_the_gateway(demo, live_home: Path) -> None:
    from test_notify import Gateway  # the recording HTTP receiver of the notification tests

    _folder, all_lines = demo
    store = Store(f"sqlite:///{live_home / 'store.sqlite3'}")
    with store.session() as s:
        tenants.upsert_tenant(s, tenancy.Tenant("demo", "Asia/Shanghai", datetime(2024, 3, 1, tzinfo=UTC)))
    gw = Gateway()
    try:
        (live_dir("demo") / "notify.yaml").write_text(
            f"channels:\n  webhook: {{url: '{gw.url}/hook'}}\n"
            "notify:\n  - {rules: [long-wait], levels: [red, black], channel: webhook, to: [pager]}\n"
            "  - {levels: [black], channel: inapp, to: [supervisors]}\n"
        )
        cfg = load_notify(live_dir("demo") / "notify.yaml")
        hub = hub_for("demo")
        assert hub.attach_notifier(store) == 0  # nothing happened yet
        lines = window(all_lines, "13:30", "15:00")
        hub.submit(lines, "t")
        want = [e for e in hub.engine.events if e.kind in ("raised", "escalated") and (
            (e.rule == "long-wait" and e.level_name in ("red", "black")) or e.level_name == "black")]  # fmt: skip
        assert want, "the overload should drive some queue's long wait to red"
        with store.session() as s:
            rows = outbox.list_messages(s, "demo", limit=10_000)
        assert len(rows) == sum(1 + (e.rule == "long-wait" and e.level_name == "black") for e in want)
        stats = run_sender(store, build_adapters(cfg.channels), "w1", stop_when_idle=True)
        assert stats.sent == len(rows) and stats.failed == 0
        hooks = [json.loads(r["body"]) for r in gw.requests]
        assert len(hooks) == sum(e.rule == "long-wait" for e in want)
        assert {(h["alert"]["alert_id"], h["alert"]["level"]) for h in hooks} == {
            (e.alert_id, e.level_name) for e in want if e.rule == "long-wait"
        }

        # a restart rebuilds the same alerts; the catch-up re-enqueues recent ones, all known: nothing new
        reset_hubs()
        again = hub_for("demo")
        assert again.attach_notifier(store, catch_up_s=86_400) == 0
        with store.session() as s:
            assert all(r.status == OutboxStatus.sent for r in outbox.list_messages(s, "demo", limit=10_000))
    finally:
        gw.close()
        store.close()
