"""Process views against pm4py (the independent reference, AGPL: a test extra only) on three real logs.

pm4py is given the raw file in file order, formatted with ``format_dataframe`` (which sorts each case by
timestamp, ties by the original row index): without that step its variants are silently wrong
(../shared/STACK-NOTES.md). Ties in time are therefore broken by file order on both sides.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
import pytest
from journey_testlib import log_path

from callops.journey import views
from callops.tenancy import get_tenant

if os.environ.get("CALLOPS_REQUIRE_DATA") == "1":
    import pm4py
else:
    pm4py = pytest.importorskip("pm4py", reason="pm4py (the reference, `pip install -e .[bench]`) is not installed")

# tenant -> (case column, activity, timestamp parser) applied to the raw CSV as pandas reads it
SOURCES = {
    "helpdesk": ("case_id", lambda d: d["activity"], lambda d: pd.to_datetime(d["timestamp"], utc=True)),
    "bpic2013": ("SR Number", lambda d: d["Status"] + "-" + d["Sub Status"],
                 lambda d: pd.to_datetime(d["Change Date+Time"], utc=True)),
    "servicenow": ("number", lambda d: d["incident_state"],
                   lambda d: pd.to_datetime(d["sys_updated_at"], format="%d/%m/%Y %H:%M", utc=True)),
}


@pytest.fixture(scope="module")
def reference() -> dict:
    """pm4py's views of each log, computed once."""
    out = {}
    for name, (case, activity, ts) in SOURCES.items():
        raw = pd.read_csv(log_path(name), dtype=str, encoding="utf-8-sig", keep_default_na=False)
        frame = pd.DataFrame({"case": raw[case], "act": activity(raw), "ts": ts(raw)})
        f = pm4py.format_dataframe(frame, case_id="case", activity_key="act", timestamp_key="ts")
        perf, _, _ = pm4py.discover_performance_dfg(f)
        dfg, starts, ends = pm4py.discover_dfg(f)
        reworked = f.groupby("case:concept:name")["concept:name"].agg(lambda s: s.duplicated().any())
        out[name] = {
            "frame": f,
            "variants": {tuple(k): v for k, v in pm4py.get_variants(f).items()},
            "dfg": dfg, "perf": perf, "starts": starts, "ends": ends,
            "durations": pm4py.get_all_case_durations(f),
            "rework_share": float(reworked.mean()),
        }
    return out


@pytest.mark.parametrize("name", list(SOURCES))
def test_summary_equals_pm4py(real_logs: dict, reference: dict, name: str) -> None:
    ref, wh = reference[name], real_logs["wh"]
    s = views.summary(wh, get_tenant(wh, name))
    f = ref["frame"]
    assert s["events"] == len(f)
    assert s["sessions"] == f["case:concept:name"].nunique()
    assert s["steps"] == f["concept:name"].nunique()
    assert s["variants"] == len(ref["variants"])
    assert s["edges"] == len(ref["dfg"])
    assert s["median_duration_s"] == pytest.approx(float(np.median(ref["durations"])), rel=1e-12)
    assert s["mean_duration_s"] == pytest.approx(float(np.mean(ref["durations"])), rel=1e-12)
    assert s["rework_share"] == pytest.approx(ref["rework_share"], rel=1e-12)


@pytest.mark.parametrize("name", list(SOURCES))
def test_variants_equal_pm4py(real_logs: dict, reference: dict, name: str) -> None:
    wh = real_logs["wh"]
    v = views.variants(wh, get_tenant(wh, name), top=None)
    ours = {tuple(x["path"]): x["sessions"] for x in v["top"]}
    assert ours == reference[name]["variants"]
    counts = [x["sessions"] for x in v["top"]]
    assert counts == sorted(counts, reverse=True)
    assert math.isclose(sum(x["share"] for x in v["top"]), 1.0)


@pytest.mark.parametrize("name", list(SOURCES))
def test_dfg_equals_pm4py(real_logs: dict, reference: dict, name: str) -> None:
    ref, wh = reference[name], real_logs["wh"]
    d = views.dfg(wh, get_tenant(wh, name))
    assert {(e["from"], e["to"]): e["count"] for e in d["edges"]} == dict(ref["dfg"])
    for e in d["edges"]:
        p = ref["perf"][(e["from"], e["to"])]
        assert e["mean_wait_s"] == pytest.approx(float(p["mean"]), rel=1e-9, abs=1e-6)
        assert e["median_wait_s"] == pytest.approx(float(p["median"]), rel=1e-9, abs=1e-6)
    assert d["start_steps"] == dict(ref["starts"])
    assert d["end_steps"] == dict(ref["ends"])


def test_the_stack_notes_pitfall_is_real(reference: dict) -> None:
    """Unformatted, timestamp-sorted input gives pm4py other variants than the formatted one: why we format."""
    f = reference["helpdesk"]["frame"]
    shuffled = f[["case:concept:name", "concept:name", "time:timestamp"]].sort_values("time:timestamp")
    raw_variants = pm4py.get_variants(shuffled)
    assert len(raw_variants) != len(reference["helpdesk"]["variants"])
