"""The live room and the playbook use the intraday re-forecast (issue 18, part 4): a real hub fed the demo day's
events up to noon, with a stored forecast snapshot for that day, against figures computed here from the events."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from callops.realtime.config import load_config, load_roster, load_schedule
from callops.realtime.demo import write_demo
from callops.realtime.hub import LiveHub
from callops.realtime.state import OFFERED
from callops.wfm import intraday
from callops.wfm.forecast_io import save_snapshot

ZONE = ZoneInfo("Asia/Shanghai")
PER_INTERVAL = 400.0  # the snapshot's flat forecast: billing calls per 30 minutes (far above the morning's)


@pytest.fixture(scope="module")
def demo_day(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    out = tmp_path_factory.mktemp("demo")
    write_demo(out, 1.0, 2.0, 7)
    return out, (out / "events.jsonl").read_text().splitlines()


def _hub(folder: Path) -> LiveHub:
    return LiveHub(load_config(folder / "live.yaml", "demo"), roster=load_roster(folder / "agents.csv"),
                   schedule=load_schedule(folder / "schedules.csv"))  # fmt: skip


def test_hub_reforecasts_the_rest_of_the_day_and_the_planner_sizes_on_it(
    demo_day: tuple[Path, list[str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, lines = demo_day
    monkeypatch.setenv("CALLOPS_HOME", str(tmp_path / "home"))
    day = json.loads(lines[0])["ts"][:10]
    starts = pd.date_range(f"{day} 00:00", periods=48, freq="30min")  # naive local, as forecast snapshots are
    save_snapshot("demo", pd.DataFrame({"queue": "billing", "interval_start": starts, "forecast": PER_INTERVAL}),
                  {"interval_min": 30})  # fmt: skip
    morning = [ln for ln in lines if json.loads(ln)["ts"][11:16] < "12:00"]
    hub = _hub(folder)
    assert hub.reforecasts() == {}  # no events yet
    hub.replay(morning)

    st = hub.engine.state
    offered = sum(1 for ln in morning if json.loads(ln)["type"] == "contact.offered"
                  and json.loads(ln).get("queue") == "billing")  # fmt: skip
    day_start = datetime.fromisoformat(f"{day}T00:00:00").replace(tzinfo=ZONE).timestamp()
    f_so_far = PER_INTERVAL * (st.now - day_start) / 1800.0  # flat forecast, pro rata up to the last event
    ratio = 1 + intraday.DEFAULT_RHO * (offered - f_so_far) / (f_so_far + intraday.DEFAULT_PRIOR_CALLS)

    got = hub.reforecasts()
    assert set(got) == {"billing"}  # only the queue the snapshot forecasts
    b = got["billing"]
    assert b["offered_so_far"] == offered
    assert b["forecast_so_far"] == pytest.approx(f_so_far, rel=1e-9)
    assert b["ratio"] == pytest.approx(ratio, rel=1e-9)
    assert b["day_ahead_rest"] == pytest.approx(PER_INTERVAL * 48 - f_so_far, rel=1e-9)
    assert b["reforecast_rest"] == pytest.approx(b["day_ahead_rest"] * ratio, rel=1e-9)

    # the playbook: the next 30 minutes at the re-forecast rate, unless the last 15 minutes ran hotter
    planner = hub.planner.planner
    sc = st.scope("queue", "billing")
    c15, c30 = sc.sums[1], sc.sums[2]
    live = c15[OFFERED] / 900.0 if c15[OFFERED] >= 10 else c30[OFFERED] / 1800.0
    ahead = PER_INTERVAL / 1800.0 * ratio
    assert sc.window(3, st.day)[OFFERED] == offered
    assert ahead > live  # this forecast is high enough for the re-forecast to decide
    assert planner.load("billing").rate_per_s == pytest.approx(ahead, rel=1e-9)
    assert planner.load("tech").rate_per_s == pytest.approx(  # no forecast for tech: the live rate as before
        st.scope("queue", "tech").sums[1][OFFERED] / 900.0 if st.scope("queue", "tech").sums[1][OFFERED] >= 10
        else st.scope("queue", "tech").sums[2][OFFERED] / 1800.0)


def test_without_a_snapshot_nothing_changes(demo_day: tuple[Path, list[str]], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """A tenant with no forecast: no re-forecast, and the reforecast never imports pandas for nothing."""
    folder, lines = demo_day
    monkeypatch.setenv("CALLOPS_HOME", str(tmp_path / "empty"))
    hub = _hub(folder)
    hub.replay(lines[:3000])
    assert hub.reforecasts() == {}
    rf = hub.planner.planner.reforecast
    assert rf is not None and rf.day("billing", hub.engine.state.day) is None
