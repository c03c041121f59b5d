"""bench/journey_10m.py's pm4py series under the memory watch (issue 13): run as a script on small logs.

pm4py (AGPL, test-only) and psutil are in the dev extra; skipped without them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pm4py", reason="pm4py (bench extra) is not installed")
pytest.importorskip("psutil", reason="psutil (dev and bench extras) is not installed")

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "journey_10m.py"
pytestmark = pytest.mark.slow  # two runs of the script, about 40 s


def _run(*args: str) -> tuple[int, dict]:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--events", "40000", "--ref-events", "10000", *args],
                          capture_output=True, text=True, timeout=300)
    return proc.returncode, json.loads(proc.stdout)


def test_each_size_runs_in_a_watched_child_and_agrees_with_callops() -> None:
    """Two sizes, each a child under the watch: done, a positive peak RSS, the same views as callops."""
    rc, out = _run("--pm4py-events", "20000,full")
    assert rc == 0
    rows = out["pm4py_watched"]
    assert [r["status"] for r in rows] == ["done", "done"]
    assert rows[1]["events"] == out["events"]
    assert rows[0]["events"] < rows[1]["events"]
    for r in rows:
        assert r["agree"] is True
        assert 0 < r["peak_rss_gib"] < out["rss_limit_gib"]
        assert r["pm4py_s"] > 0 and r["variants"] > 1 and r["edges"] > 1


def test_a_child_above_the_limit_is_stopped_and_ends_the_series() -> None:
    """A limit no Python process fits under: the first child is stopped, its step named, the larger size skipped."""
    rc, out = _run("--pm4py-events", "20000,full", "--rss-limit-gib", "0.02")
    assert rc == 0
    rows = out["pm4py_watched"]
    assert len(rows) == 1
    assert rows[0]["status"].startswith("stopped above the RSS limit during ")
    assert rows[0]["peak_rss_gib"] >= 0.02
    assert "agree" not in rows[0]
