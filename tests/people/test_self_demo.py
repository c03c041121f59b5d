"""The demo step (``callops.people.demo:run``) on a small ``demo`` tenant: it links an agent user, files a
time-off and a swap request and prints their checks; a second run is refused cleanly (the windows are taken)."""

from __future__ import annotations

import io
import zoneinfo
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console
from self_world import forecast_frame, roster_csv, schedule_csv

from callops import tenancy
from callops.ingest.loader import load_files
from callops.ingest.mapping import load_mapping
from callops.people import demo
from callops.store.db import Store
from callops.store.tenants import create_tenant
from callops.warehouse import Warehouse
from callops.wfm.forecast_io import save_snapshot


def test_demo_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Last week's roster is carried over; both requests are filed and their checks printed."""
    monkeypatch.setenv("CALLOPS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CALLOPS_WAREHOUSE", raising=False)
    monkeypatch.delenv("CALLOPS_STORE_URL", raising=False)
    tz = zoneinfo.ZoneInfo("Asia/Shanghai")
    today = datetime.now(tz).date()
    last_monday = today - timedelta(days=today.weekday() + 7)
    with Store() as store, Warehouse() as wh:
        create_tenant(store, wh, "demo", "Asia/Shanghai")
        t = tenancy.get_tenant(wh, "demo")
        (tmp_path / "agents.csv").write_text(roster_csv(), encoding="utf-8")
        (tmp_path / "schedules.csv").write_text(schedule_csv(last_monday), encoding="utf-8")
        load_files(wh, t, "agents", [tmp_path / "agents.csv"], load_mapping("canonical", "agents"))
        load_files(wh, t, "schedules", [tmp_path / "schedules.csv"], load_mapping("canonical", "schedules"))
        save_snapshot("demo", forecast_frame(last_monday + timedelta(days=14)), {"interval_min": 15})
        out = io.StringIO()
        demo.run(wh, Console(file=out, width=200))
        text = out.getvalue()
        assert "user agent-demo is agent A01" in text and "lead-demo leads team alpha" in text
        assert "time off (Tuesday): request 1" in text and "swap with A02 (Thursday): request 2" in text
        assert "pending_lead" in text and "pending_colleague" in text
        out2 = io.StringIO()
        demo.run(wh, Console(file=out2, width=200))
        assert out2.getvalue().count("refused — overlaps request") == 2


def test_baseline_forecast_is_last_week_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a snapshot the step stores "same interval last week": next week's value of an interval is the count
    of contacts offered in that interval seven (and fourteen) days before."""
    from callops.wfm.forecast_io import list_snapshots, load_snapshot

    monkeypatch.setenv("CALLOPS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CALLOPS_WAREHOUSE", raising=False)
    monkeypatch.delenv("CALLOPS_STORE_URL", raising=False)
    tz = zoneinfo.ZoneInfo("Asia/Shanghai")
    today = datetime.now(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    lines = ["contact_id,queue,channel,direction,offered_at,outcome,answered_at,ended_at,talk_s"]
    for i, (days, hh, mm) in enumerate([(-1, 9, 0), (-1, 9, 5), (-1, 10, 30), (-3, 14, 0)]):
        t0 = today + timedelta(days=days, hours=hh, minutes=mm)
        lines.append(f"c{i},billing,voice,inbound,{t0.isoformat()},answered,{(t0 + timedelta(seconds=9)).isoformat()},"
                     f"{(t0 + timedelta(seconds=209)).isoformat()},200")
    with Store() as store, Warehouse() as wh:
        create_tenant(store, wh, "demo", "Asia/Shanghai")
        (tmp_path / "c.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        load_files(wh, tenancy.get_tenant(wh, "demo"), "contacts", [tmp_path / "c.csv"],
                   load_mapping("canonical", "contacts"))  # fmt: skip
        this_monday = today - timedelta(days=today.weekday())
        snap = demo._baseline_forecast(wh, this_monday)
        assert snap is not None and [m["snapshot_id"] for m in list_snapshots("demo")] == [snap]
        assert demo._baseline_forecast(wh, this_monday) is None  # a snapshot exists now: left alone
    frame, _ = load_snapshot("demo", snap)
    at = {ts.to_pydatetime(): v for ts, v in zip(frame["interval_start"], frame["forecast"], strict=True)}
    nine = (today + timedelta(days=6, hours=9)).replace(tzinfo=None)
    assert at[nine] == 2.0 and at[nine + timedelta(days=7)] == 2.0
    assert at[(today + timedelta(days=6, hours=10, minutes=30)).replace(tzinfo=None)] == 1.0
    assert at[(today + timedelta(days=4, hours=14)).replace(tzinfo=None)] == 1.0
    assert at[(today + timedelta(days=6, hours=3)).replace(tzinfo=None)] == 0.0  # no contacts: 0, not missing
    assert len(frame) == 3 * 7 * 96  # three whole weeks of intervals, one queue
