"""Recovery from the event log: a crashed engine (dropped object, or a process killed with SIGKILL) rebuilt by
replaying its log ends in the state it had, and carrying on gives the result of a run that never stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from callops.realtime.config import load_config, load_roster, load_schedule
from callops.realtime.demo import write_demo
from callops.realtime.engine import LiveEngine, build_engine
from callops.realtime.eventlog import LoggedIntake, log_files, rebuild
from callops.realtime.events import iter_lines

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The demo day, cut to 13:00-15:00 local (the overload hour included) to keep the test fast."""
    out = tmp_path_factory.mktemp("demo")
    write_demo(out, 1.0, 2.0, 7)
    lines = [ln.strip() for ln in (out / "events.jsonl").open() if "13:00" <= json.loads(ln)["ts"][11:16] < "15:00"]
    assert len(lines) > 3000
    return out, lines


def make(folder: Path) -> LiveEngine:
    """A fresh engine (with the plan engine) for the demo tenant."""
    cfg = load_config(folder / "live.yaml", "demo")
    eng, _ = build_engine(cfg, roster=load_roster(folder / "agents.csv"),
                          schedule=load_schedule(folder / "schedules.csv"))  # fmt: skip
    return eng


def outcome(eng: LiveEngine) -> dict:
    """Everything deterministic about a run: alert history, routing commands, live state."""
    r = eng.results()
    return {"alerts": r["alerts"], "commands": r["commands"], "state": r["state"], "processed": eng.processed}


def feed(intake: LoggedIntake, lines: list[str], start: int, batch: int = 250) -> None:
    for i in range(0, len(lines), batch):
        intake.submit_batch((f"line {start + i + j}", ln) for j, ln in enumerate(lines[i : i + batch]))


def test_rebuild_after_dropping_the_engine_equals_state_and_final_result(day, tmp_path: Path) -> None:
    folder, lines = day
    half = len(lines) // 2
    reference = make(folder)
    reference.submit_many(iter_lines(lines))

    eng = make(folder)
    intake = LoggedIntake(eng, tmp_path)
    # junk and repeats on the way in: rejected/duplicated by the engine, so never logged
    intake.submit_batch([("bad 1", "{not json"), ("bad 2", '{"type":"contact.offered"}')])
    feed(intake, lines[:half], 1)
    assert eng.stats.rejected == 2 and eng.stats.duplicates == 0
    intake.submit(lines[half - 1], "dup")  # a repeat of an accepted event
    intake.commit()
    assert eng.stats.duplicates == 1
    before = outcome(eng)
    assert before["alerts"], "the first half should already have raised alerts"
    logged = [ln for p in log_files("demo", tmp_path) for ln in p.read_text().splitlines()]
    assert logged == lines[:half]  # accepted events only, in arrival order
    del eng, intake  # the crash

    fresh = make(folder)
    intake2, info = rebuild("demo", fresh, tmp_path)
    assert info.events == half and info.skipped == 0
    assert outcome(fresh) == before
    feed(intake2, lines[half:], half + 1)
    intake2.close()
    assert outcome(fresh) == outcome(reference)
    assert sum(len(p.read_text().splitlines()) for p in log_files("demo", tmp_path)) == len(lines)


CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from callops.realtime.config import load_config, load_roster, load_schedule
    from callops.realtime.engine import build_engine
    from callops.realtime.eventlog import LoggedIntake
    folder, home, events = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    eng, _ = build_engine(load_config(folder / "live.yaml", "demo"), roster=load_roster(folder / "agents.csv"),
                          schedule=load_schedule(folder / "schedules.csv"))
    intake = LoggedIntake(eng, home)
    lines = events.read_text().splitlines()
    for i in range(0, len(lines), 50):
        intake.submit_batch((f"line {i + j + 1}", ln) for j, ln in enumerate(lines[i:i + 50]))
        time.sleep(0.004)  # slow enough for the parent to kill it mid-stream
    """
)


def test_rebuild_after_sigkill_mid_stream(day, tmp_path: Path) -> None:
    folder, lines = day
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(lines) + "\n")
    home = tmp_path / "home"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(folder), str(home), str(events)], env=env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            files = log_files("demo", home)
            if files and sum(p.stat().st_size for p in files) > 250_000:  # well into the stream
                break
            assert proc.poll() is None, "the child ended before it could be killed"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL

    fresh = make(folder)
    intake, info = rebuild("demo", fresh, home)
    k = info.events
    assert 0 < k < len(lines), "the kill should land mid-stream"
    # what the log holds is exactly a prefix of the input, so the rebuilt engine is the one fed that prefix
    ref = make(folder)
    ref.submit_many(iter_lines(lines[:k]))
    assert outcome(fresh) == outcome(ref)
    feed(intake, lines[k:], k + 1)
    intake.close()
    full = make(folder)
    full.submit_many(iter_lines(lines))
    assert outcome(fresh) == outcome(full)


def test_torn_last_line_is_skipped_and_sealed(day, tmp_path: Path) -> None:
    folder, lines = day
    eng = make(folder)
    intake = LoggedIntake(eng, tmp_path)
    feed(intake, lines[:100], 1)
    intake.close()
    path = log_files("demo", tmp_path)[-1]
    with path.open("a") as f:
        f.write(lines[100][:40])  # a write cut short by a crash
    fresh = make(folder)
    intake2, info = rebuild("demo", fresh, tmp_path)
    assert (info.events, info.skipped) == (100, 1)
    feed(intake2, lines[100:200], 101)
    intake2.close()
    again = make(folder)
    _, info2 = rebuild("demo", again, tmp_path)
    assert (info2.events, info2.skipped) == (200, 1)  # the torn fragment did not swallow the next event
    ref = make(folder)
    ref.submit_many(iter_lines(lines[:200]))
    assert outcome(again) == outcome(ref)


def test_an_event_with_an_op_field_is_not_mistaken_for_an_action(day, tmp_path: Path) -> None:
    folder, lines = day
    odd = '{"op":"acknowledge",' + lines[0][1:]  # unknown fields are ignored: still a valid event
    eng = make(folder)
    intake = LoggedIntake(eng, tmp_path)
    intake.submit_batch([("line 1", odd), *((f"line {i + 2}", ln) for i, ln in enumerate(lines[1:50]))])
    intake.close()
    fresh = make(folder)
    _, info = rebuild("demo", fresh, tmp_path)
    assert (info.events, info.actions, info.skipped) == (50, 0, 0)
    assert outcome(fresh) == outcome(eng)


def test_an_action_before_the_first_event_is_logged_before_it(day, tmp_path: Path) -> None:
    """An action recorded while the engine has seen no event (a rule set or schedule version attached at start)
    has no day file yet: it waits, then goes into the first event's day file ahead of that event (it used to be
    dropped), so a rebuild applies it first."""
    folder, lines = day
    intake = LoggedIntake(make(folder), tmp_path)
    intake.record({"op": "acknowledge", "alert_id": "none-yet", "by": "lead"})
    assert intake.logged == 0 and log_files("demo", tmp_path) == []  # nothing to file it under yet
    feed(intake, lines[:3], 0)
    intake.close()
    files = log_files("demo", tmp_path)
    assert len(files) == 1
    written = [json.loads(x) for x in files[0].read_text(encoding="utf-8").splitlines()]
    assert written[0] == {"op": "acknowledge", "alert_id": "none-yet", "by": "lead"}
    assert [json.dumps(x, sort_keys=True) for x in written[1:]] == [
        json.dumps(json.loads(x), sort_keys=True) for x in lines[:3]]
    assert intake.logged == 4
