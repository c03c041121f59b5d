"""The CLI over the scored tenants t1 and t10 (no server holds the warehouse)."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_cli_json_is_one_document(scored_home: tuple) -> None:
    """`callops decide` and `callops value explain` print one JSON document with the issue's keys."""
    env = {**os.environ, "CALLOPS_HOME": str(scored_home[0])}
    run = subprocess.run([sys.executable, "-m", "callops.cli", "decide", "A00000003", "--tenant", "t1", "--channel",
                          "voice", "--reason", "billing", "--json"], capture_output=True, text=True, env=env,
                         check=False, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    d = json.loads(run.stdout)
    assert {"value_class", "score", "tags", "strategy", "route", "guidance", "rules_fired"} <= set(d)
    run = subprocess.run([sys.executable, "-m", "callops.cli", "value", "explain", "A00000003", "--tenant", "t1",
                          "--json"], capture_output=True, text=True, env=env, check=False, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    e = json.loads(run.stdout)
    assert {"score", "class", "route", "dimensions"} <= set(e)
    for dim in e["dimensions"].values():
        assert {"score", "weight", "contribution", "indicators"} <= set(dim)
    run = subprocess.run([sys.executable, "-m", "callops.cli", "value", "explain", "B00000001", "--tenant", "t1"],
                         capture_output=True, text=True, env=env, check=False, timeout=120)  # fmt: skip
    assert run.returncode == 2 and "B00000001" in run.stderr


def _cli(home: object, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CALLOPS_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "callops.cli", *args], capture_output=True, text=True, env=env,
                          check=False, timeout=300)  # fmt: skip


def test_score_show_and_backtest_json(scored_home: tuple) -> None:
    """`value score`, `customer show` and `value backtest` print one JSON document with the issue's keys."""
    home = scored_home[0]
    run = _cli(home, "value", "score", "--tenant", "t10", "--json")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["customers"] == 500 and sum(doc["classes"].values()) == 500 and doc["seconds"] > 0
    assert doc["version"] == 2  # the fixture made version 1
    run = _cli(home, "customer", "show", "B00000004", "--tenant", "t10", "--json")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["customer_id"] == "B00000004" and "features" in doc and "timeline" in doc
    run = _cli(home, "customer", "show", "A00000004", "--tenant", "t10", "--json")
    assert run.returncode == 2 and "A00000004" in run.stderr and run.stdout == ""
    run = _cli(home, "value", "backtest", "--tenant", "t1", "--split", "2026-01-01", "--json")
    assert run.returncode in (0, 2), run.stderr
    if run.returncode == 0:
        doc = json.loads(run.stdout)
        assert {"value_score", "arpu_baseline", "purchases"} <= set(doc)


def test_bad_inputs_are_one_line_errors(scored_home: tuple, tmp_path: object) -> None:
    """Bad date, unknown tenant, invalid model file: exit 2 with one line naming the problem."""
    home = scored_home[0]
    run = _cli(home, "value", "score", "--tenant", "t1", "--as-of", "yesterday")
    assert run.returncode == 2 and "yesterday" in run.stderr
    run = _cli(home, "decide", "X", "--tenant", "t2")
    assert run.returncode == 2 and "t2" in run.stderr
    bad = tmp_path / "m.yaml"  # type: ignore[operator]
    bad.write_text("id: m\nversion: 1\ndimensions: {}\nclasses: []\nroutes: {}\n", encoding="utf-8")
    run = _cli(home, "value", "validate", str(bad), "--kind", "model")
    assert run.returncode == 2 and "m.yaml, line 3" in run.stderr
