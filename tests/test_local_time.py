"""Times people read are the tenant's wall clock, numbers are readable (issue 16, item 6).

Every case uses an instant whose local date differs from its UTC date, so a UTC text cannot pass:
2026-11-24 02:00 UTC is Monday 2026-11-23 18:00 in Los Angeles (PST, UTC-8, worked out by hand).
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime

import pytest

LA = "America/Los_Angeles"
INSTANT = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
LOCAL = datetime(2026, 11, 23, 18, 0)


# ------------------------------------------------------------------------------------------------ (a) workbooks
def test_workbook_writes_local_wall_clock_and_names_the_zone() -> None:
    openpyxl = pytest.importorskip("openpyxl")
    from callops.exports import workbook_bytes

    data = workbook_bytes([("s", ["at", "n", "rate"], [[INSTANT, 1_234_567, float("nan")]])], LA)
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    assert [c.value for c in ws[1]] == [f"at ({LA})", "n", "rate"]
    assert [c.value for c in ws[2]] == [LOCAL, 1_234_567, None]  # NaN: an empty cell, never "nan"


def test_csv_writes_local_wall_clock_and_names_the_zone() -> None:
    from callops.exports import csv_bytes

    text = csv_bytes(["at", "rate", "name"], [[INSTANT, float("nan"), "=1+1"]], LA).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [[f"at ({LA})", "rate", "name"], ["2026-11-23T18:00:00", "", "'=1+1"]]  # formula escape kept


# --------------------------------------------------------------------- (b) schedule report and its workbook
def test_schedule_report_and_workbook_show_local_intervals(tmp_path, monkeypatch) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    from typer.testing import CliRunner

    from callops import tenancy
    from callops.ingest.loader import load_files
    from callops.ingest.mapping import load_mapping
    from callops.warehouse import Warehouse
    from callops.wfm.schedule_cli import schedule_app

    monkeypatch.setenv("CALLOPS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CALLOPS_WAREHOUSE", raising=False)
    roster = tmp_path / "agents.csv"
    roster.write_text("agent_id,name,contract,skills,active\na1,Ann,full-time,billing:3,true\n", encoding="utf-8")
    with Warehouse() as wh:
        t = tenancy.create_tenant(wh, "la", LA)
        load_files(wh, t, "agents", [roster], load_mapping("canonical", "agents"))
    # Monday evening in Los Angeles needs 3 agents; one is on the roster, so each interval is short
    req = tmp_path / "req.csv"
    lines = ["interval_start,required,skill"] + [f"2026-11-23T{h}:00:00,3,billing" for h in (18, 19, 20)]
    req.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = ["--tenant", "la", "--week", "2026-11-23", "--requirements", str(req), "--time-limit", "3",
            "--workers", "1", "--no-save"]  # fmt: skip
    res = CliRunner().invoke(schedule_app, [*args, "--xlsx", str(tmp_path / "s.xlsx")])
    assert res.exit_code == 0, res.output
    shown = re.findall(r"^\s+(\w{3} \d{4}-\d\d-\d\d \d\d:\d\d) billing: \d+/3", res.stdout, re.M)
    assert shown and all(s.startswith("Mon 2026-11-23 ") for s in shown), res.stdout  # UTC would be the 24th
    assert "2026-11-24T" not in res.stdout and LA in res.stdout
    wb = openpyxl.load_workbook(tmp_path / "s.xlsx", read_only=True)
    head, *rows = list(wb["Coverage"].iter_rows(values_only=True))
    assert LA in head[0]
    short = [r[0] for r in rows if r[2] == 3]
    assert short[0] == LOCAL  # the first interval that needs agents, in local wall-clock time
    # --json keeps instants unambiguous (with their UTC offset)
    out = json.loads(CliRunner().invoke(schedule_app, [*args, "--json"]).stdout)
    assert min(u["interval_start"] for u in out["uncovered"]) == "2026-11-24T02:00:00+00:00"


# -------------------------------------------------------------------------------------------- (c) alert texts
def test_live_alert_text_is_in_the_tenant_zone_with_readable_numbers() -> None:
    from zoneinfo import ZoneInfo

    from callops.realtime.alerts import AlertBook, parse_rules
    from callops.realtime.notify import messages_for, parse_routes

    book = AlertBook(parse_rules("alerts:\n  - name: long-wait\n    measure: longest_wait_s\n    scope: queue\n"
                                 "    levels: {yellow: 60, orange: 120, red: 180, black: 300}\n    cooldown_s: 0\n"))
    ev = book.evaluate(book.rules[0], "billing", 1_234_567.0, INSTANT.timestamp())
    routes = parse_routes("notify:\n  - levels: [black]\n    channel: inapp\n    to: [supervisors]\n")
    ((_, _, payload),) = messages_for(ev, routes, ZoneInfo(LA))
    assert "2026-11-23T18:00:00-08:00" in payload["text"], payload["text"]
    assert "1,234,567" in payload["text"] and "e+" not in payload["text"]


def test_staffing_workbook_names_the_zone_of_its_interval_starts(tmp_path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    import pandas as pd

    from callops.wfm.staffing import StaffingTargets, staffing_requirements
    from callops.wfm.staffing_export import write_xlsx

    frame = pd.DataFrame({"queue": ["billing"], "interval_start": [pd.Timestamp(LOCAL)], "forecast": [120.0],
                          "aht_s": [240.0]})  # fmt: skip
    plan = staffing_requirements(frame, interval_min=30, targets=StaffingTargets(model="erlang-c"))
    plan.meta = {"tenant": "la", "timezone": LA}
    wb = openpyxl.load_workbook(write_xlsx(plan, tmp_path / "p.xlsx"))
    notes = {r[0]: r[1] for r in wb["Summary"].iter_rows(values_only=True) if r and r[0]}
    assert LA in notes["times"]
    assert next(wb["billing"].iter_rows(min_row=2, values_only=True))[0] == LOCAL  # wall clock, as planned
