"""NATS JetStream against the real broker (``nats-server -js`` on 127.0.0.1:4222): a NATS-fed run equals a
file-fed run, and a restarted durable consumer resumes where it stopped without processing anything twice."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from nats_env import URL, require_nats
from typer.testing import CliRunner

from callops.errors import CallopsError
from callops.realtime.cli import live_app
from callops.realtime.config import load_config, load_roster, load_schedule
from callops.realtime.demo import write_demo
from callops.realtime.engine import LiveEngine, build_engine
from callops.realtime.eventlog import LoggedIntake, rebuild
from callops.realtime.events import iter_lines
from callops.realtime.nats_source import consume, delete_stream, publish_events


@pytest.fixture(autouse=True)
def no_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests compare a hub with a bare engine: hooks other modules registered in this process (the people
    package's adherence watch) stay out of it."""
    from callops.realtime import hub as hub_module

    monkeypatch.setattr(hub_module, "_ON_NEW_HUB", [])
    monkeypatch.setattr(hub_module, "_ON_NEW_ENGINE", [])


@pytest.fixture(scope="module", autouse=True)
def nats_server() -> None:
    require_nats()


@pytest.fixture
def stream():
    name = f"test-live-{uuid.uuid4().hex[:10]}"
    yield name
    delete_stream(URL, name)


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The demo day's 13:40-14:25 (local): a few thousand events with the overload building up."""
    out = tmp_path_factory.mktemp("demo")
    write_demo(out, 1.0, 2.0, 7)
    lines = [ln.strip() for ln in (out / "events.jsonl").open() if "13:40" <= json.loads(ln)["ts"][11:16] < "14:25"]
    assert 1000 < len(lines) < 5000
    return out, lines


class CrashError(Exception):
    """The simulated death of the consuming process."""


def make(folder: Path) -> LiveEngine:
    cfg = load_config(folder / "live.yaml", "demo")
    eng, _ = build_engine(cfg, roster=load_roster(folder / "agents.csv"),
                          schedule=load_schedule(folder / "schedules.csv"))  # fmt: skip
    return eng


def outcome(eng: LiveEngine) -> dict:
    r = eng.results()
    return {"alerts": r["alerts"], "commands": r["commands"], "state": r["state"], "intake": r["intake"]}


def test_nats_fed_equals_file_fed(day, stream: str) -> None:
    folder, lines = day
    by_file = make(folder)
    by_file.submit_many(iter_lines(lines))
    assert by_file.events, "the slice should raise alerts"

    assert publish_events(URL, stream, None, lines, batch=500) == len(lines)
    by_nats = make(folder)
    info = consume(URL, stream, "engine", by_nats, batch=300, idle_s=0.3)
    assert (info.delivered, info.accepted, info.redelivered) == (len(lines), len(lines), 0)
    assert outcome(by_nats) == outcome(by_file)


def test_restarted_consumer_resumes_without_repeats(day, stream: str) -> None:
    folder, lines = day
    publish_events(URL, stream, None, lines, batch=500)
    eng = make(folder)
    first = consume(URL, stream, "engine", eng, batch=200, max_events=1234, idle_s=0.3)
    assert first.delivered == 1234
    second = consume(URL, stream, "engine", eng, batch=200, idle_s=0.3)  # a new connection, same durable
    assert first.delivered + second.delivered == len(lines)
    assert second.redelivered == 0 and eng.stats.duplicates == 0 and eng.processed == len(lines)
    ref = make(folder)
    ref.submit_many(iter_lines(lines))
    assert outcome(eng) == outcome(ref)
    assert consume(URL, stream, "engine", eng, idle_s=0.2).delivered == 0  # nothing left


def test_crash_before_ack_redelivers_and_log_rebuild_dedupes(day, stream: str, tmp_path: Path) -> None:
    """The engine processed and logged a batch but died before acking it: the broker redelivers the batch and the
    engine rebuilt from the log drops it as duplicates, so every event is counted once."""
    folder, lines = day
    publish_events(URL, stream, None, lines, batch=500)
    eng = make(folder)
    intake = LoggedIntake(eng, tmp_path)
    consume(URL, stream, "engine", intake, batch=250, max_events=1000, idle_s=0.3, ack_wait_s=1.0)

    class CrashAfterCommit:
        """The real intake, but the process 'dies' right after the log commit, before the ack."""

        def __init__(self, inner: LoggedIntake) -> None:
            self.inner = inner

        def submit(self, raw: str | bytes, where: str = "") -> bool:
            return self.inner.submit(raw, where)

        def commit(self) -> None:
            self.inner.commit()
            raise CrashError

    with pytest.raises(CrashError):
        consume(URL, stream, "engine", CrashAfterCommit(intake), batch=250, idle_s=0.3, ack_wait_s=1.0)
    del eng, intake  # crash

    fresh = make(folder)
    intake2, info = rebuild("demo", fresh, tmp_path)
    assert info.events == 1250
    time.sleep(1.1)  # the broker redelivers an unacknowledged batch once its ack wait has passed
    rest = consume(URL, stream, "engine", intake2, batch=250, idle_s=0.3, ack_wait_s=1.0)
    intake2.close()
    assert rest.delivered == len(lines) - 1000 and rest.redelivered == 250  # the unacknowledged 250 come again...
    assert fresh.stats.duplicates == 250 and fresh.processed == len(lines)  # ...and are dropped once
    ref = make(folder)
    ref.submit_many(iter_lines(lines))
    got, want = outcome(fresh), outcome(ref)
    assert (got["alerts"], got["commands"], got["state"]) == (want["alerts"], want["commands"], want["state"])


def test_cli_publish_then_replay_from_the_stream_equals_the_file(day, stream: str, tmp_path: Path) -> None:
    folder, lines = day
    events = tmp_path / "slice.jsonl"
    events.write_text("\n".join(lines) + "\n")
    runner = CliRunner()
    res = runner.invoke(live_app, ["publish", str(events), "--nats", URL, "--stream", stream, "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["published"] == len(lines)
    common = ["--tenant", "demo", "--config", str(folder / "live.yaml"), "--roster", str(folder / "agents.csv"),
              "--schedule", str(folder / "schedules.csv"), "--json", "--no-land"]  # fmt: skip
    by_file = runner.invoke(live_app, ["replay", str(events), *common])
    by_nats = runner.invoke(live_app, ["replay", "--nats", URL, "--stream", stream, "--durable", "cli", *common])
    assert by_file.exit_code == 0 and by_nats.exit_code == 0, by_nats.output
    f, n = json.loads(by_file.stdout), json.loads(by_nats.stdout)
    assert f["alert_events"], "the slice should raise alerts"
    for key in ("events", "intake", "alerts", "worst_level", "plan_activations", "commands", "alert_events"):
        assert n[key] == f[key], key
    again = runner.invoke(live_app, ["replay", "--nats", URL, "--stream", stream, "--durable", "cli", *common])
    assert again.exit_code == 0 and json.loads(again.stdout)["events"] == 0  # the durable consumer resumes


def test_cli_errors_are_clear(stream: str) -> None:
    """Bad NATS arguments raise a CallopsError (``callops`` prints it as one line and exits 2)."""
    runner = CliRunner()
    for args, message in [
        (["live", "replay", "--tenant", "demo", "--nats", URL, "--stream", stream], f"NATS stream {stream!r} does not"),
        (["live", "replay", "--tenant", "demo", "--nats", "nats://127.0.0.1:1", "--stream", "x"], "cannot reach NATS"),
        (["live", "replay", "--tenant", "demo", "--nats", URL], "--nats needs --stream"),
        (["live", "replay", "--tenant", "demo"], "give an event file"),
    ]:
        res = runner.invoke(live_app, args[1:])
        assert isinstance(res.exception, CallopsError) and message in str(res.exception), (args, res.exception)


def test_hub_fed_by_nats_logs_before_acking(day, stream: str, tmp_path: Path) -> None:
    """A durable hub is a batch sink: each fetched batch is logged (fsync) by ``submit_batch`` before the ack."""
    from callops.realtime.eventlog import log_files
    from callops.realtime.hub import LiveHub

    folder, lines = day
    publish_events(URL, stream, None, lines, batch=500)
    cfg = load_config(folder / "live.yaml", "demo")
    roster, schedule = load_roster(folder / "agents.csv"), load_schedule(folder / "schedules.csv")
    hub = LiveHub(cfg, roster=roster, schedule=schedule, log=True, home=tmp_path)
    heard: list[int] = []
    hub.subscribe(lambda topic, msg: heard.append(msg["version"]) if topic == "state" else None)
    info = consume(URL, stream, "hub", hub, batch=400, idle_s=0.3)
    hub.close()
    assert (info.delivered, info.accepted) == (len(lines), len(lines))
    assert len(heard) == info.batches  # one state push per fetched batch
    logged = [ln for p in log_files("demo", tmp_path) for ln in p.read_text().splitlines()]
    assert logged == lines
    ref = make(folder)
    ref.submit_many(iter_lines(lines))
    got, want = outcome(hub.engine), outcome(ref)
    assert (got["alerts"], got["commands"], got["state"]) == (want["alerts"], want["commands"], want["state"])
