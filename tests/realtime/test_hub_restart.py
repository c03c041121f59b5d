"""The live hub restarts from a snapshot plus the log after it, and one process at a time writes a tenant's log."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callops.errors import CallopsError
from callops.realtime.demo import write_demo
from callops.realtime.hub import SNAPSHOT_FILE, build_hub, live_dir, reset_hubs

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The demo day at half scale: settings and event lines."""
    out = tmp_path_factory.mktemp("restart-day")
    write_demo(out, 0.5, 2.0, 3)
    return out, (out / "events.jsonl").read_text().splitlines()


@pytest.fixture
def live_home(demo: tuple[Path, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh home with the demo tenant's live settings."""
    home = tmp_path / "home"
    monkeypatch.setenv("CALLOPS_HOME", str(home))
    folder = live_dir("demo")
    folder.mkdir(parents=True)
    for name in ("live.yaml", "agents.csv", "schedules.csv"):
        shutil.copy(demo[0] / name, folder / name)
    reset_hubs()
    yield home
    reset_hubs()


def view(hub: Any) -> dict[str, Any]:
    """What people see (results, alerts with history, plans, tiles)."""
    r = hub.engine.results()
    acts = hub.activations(active_only=False)
    for a in acts:
        a["recommendation"].pop("seconds")
    return {"alerts": r["alerts"], "commands": r["commands"], "state": r["state"], "activations": acts,
            "all_alerts": hub.alerts(active_only=False), "tiles": hub.tiles(),
            "accepted": hub.intake()["accepted"]}  # fmt: skip


def feed(hub: Any, lines: list[str]) -> None:
    """Submit in batches of 1,000."""
    for i in range(0, len(lines), 1000):
        hub.submit(lines[i:i + 1000], "t")


def crash(hub: Any) -> None:
    """Drop a hub the way a killed process does: what it logged stays, no snapshot is written, the lock goes."""
    hub.log.close()
    hub._writer.release()


def test_snapshot_plus_the_log_after_it_equals_the_whole_day(demo, live_home: Path) -> None:
    _, lines = demo
    cut = int(len(lines) * 0.6)
    hub = build_hub("demo", log=True)
    feed(hub, lines[:cut])
    alert = hub.alerts()[0]["alert_id"] if hub.alerts() else None
    if alert:
        hub.acknowledge(alert, "alice")
    hub.save_snapshot()
    feed(hub, lines[cut:])
    want = view(hub)
    crash(hub)

    again = build_hub("demo", log=True)
    assert again.snapshot_info is not None
    assert again.rebuilt.events == len(lines) - cut  # only the log written after the snapshot is replayed
    assert view(again) == want
    crash(again)

    (live_dir("demo") / SNAPSHOT_FILE).unlink()  # the reference: the whole log replayed
    whole = build_hub("demo", log=True)
    assert whole.snapshot_info is None and whole.rebuilt.events == len(lines)
    assert view(whole) == view(again)
    whole.close()


def test_periodic_snapshots_bound_what_a_restart_replays(demo, live_home: Path) -> None:
    _, lines = demo
    folder = live_dir("demo")
    from callops.realtime.config import load_config, load_roster, load_schedule
    from callops.realtime.hub import LiveHub

    def make() -> Any:
        return LiveHub(load_config(folder / "live.yaml", "demo"), roster=load_roster(folder / "agents.csv"),
                       schedule=load_schedule(folder / "schedules.csv"), log=True, snapshot_every=3000)  # fmt: skip

    hub = make()
    feed(hub, lines)
    want = view(hub)
    crash(hub)
    again = make()
    assert again.snapshot_info is not None and again.rebuilt.events < 3000 + 1000  # a snapshot per 3,000 + a batch
    assert view(again) == want
    again.close()


def test_a_snapshot_for_other_settings_or_another_log_is_not_used(demo, live_home: Path) -> None:
    _, lines = demo
    folder = live_dir("demo")
    hub = build_hub("demo", log=True)
    feed(hub, lines[:3000])
    hub.close()  # writes the snapshot
    roster = (folder / "agents.csv").read_text().splitlines()
    (folder / "agents.csv").write_text("\n".join(roster[:-1]) + "\n")  # one agent fewer: other settings
    other = build_hub("demo", log=True)
    assert other.snapshot_info is None and other.rebuilt.events == 3000
    other.close()
    for p in folder.glob("events-*.jsonl"):  # a new log (a new demo day): the old snapshot points past its end
        p.write_text("")
    fresh = build_hub("demo", log=True)
    assert fresh.snapshot_info is None and fresh.rebuilt.events == 0 and fresh.intake()["accepted"] == 0
    fresh.close()


HOLDER = textwrap.dedent(
    """
    import sys, time
    from callops.realtime.hub import build_hub
    hub = build_hub("demo", log=True)
    print("ready", flush=True)
    time.sleep(120)
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_one_writer_per_tenant_and_takeover_when_the_first_is_gone(live_home: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "CALLOPS_HOME": str(live_home)}
    first = subprocess.Popen([sys.executable, "-c", HOLDER], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert first.stdout is not None and first.stdout.readline().strip() == "ready"
        with pytest.raises(CallopsError, match=f"already run by process {first.pid} on"):
            build_hub("demo", log=True)
        # the CLI: one line, exit 2, before anything is served
        cli = subprocess.run([str(REPO / ".venv/bin/callops"), "live", "serve", "--tenant", "demo", "--port",
                              str(_free_port())], env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
        assert cli.returncode == 2, cli.stderr
        assert "one writer per tenant" in cli.stderr and "Traceback" not in cli.stderr
        build_hub("t1", log=True).close()  # other tenants are not held
    finally:
        first.kill()
        first.wait(10)
    t0 = time.monotonic()
    taken = build_hub("demo", log=True)  # the first is gone: this one takes over
    assert time.monotonic() - t0 < 5
    taken.close()
