"""`callops demo --sample` (README, docs/architecture.md): the small bundled sample -- 4,364 canonical contacts
with two deliberately broken rows (a carrier pigeon for a channel: rejected; an answer time of 'not-a-time':
loaded with that field emptied) and one morning of an Asterisk queue_log -- loaded as tenant ``demo``; running it
again changes nothing. Expected counts are read here from the sample files themselves."""

from __future__ import annotations

import csv
import gzip
import os
import subprocess
import sys
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from callops.demo import sample_path

ZONE = ZoneInfo("Asia/Shanghai")


def _run(home: Path) -> str:
    env = {**os.environ, "CALLOPS_HOME": str(home), "COLUMNS": "200"}
    env.pop("CALLOPS_WAREHOUSE", None)
    cli = str(Path(sys.executable).with_name("callops"))  # the installed console script
    r = subprocess.run([cli, "demo", "--sample"], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "Traceback" not in r.stdout + r.stderr
    return r.stdout


def _warehouse(home: Path) -> dict:
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        per_day = dict(con.execute(
            "SELECT strftime(timezone('Asia/Shanghai', offered_at), '%Y-%m-%d'), count(*) FROM contacts "
            "WHERE tenant_id = 'demo' GROUP BY 1").fetchall())  # fmt: skip
        empty_answer = con.execute("SELECT count(*) FROM contacts WHERE tenant_id = 'demo' AND contact_id = "
                                   "'S000101' AND answered_at IS NULL").fetchone()[0]  # fmt: skip
        states = con.execute("SELECT count(*) FROM agent_states WHERE tenant_id = 'demo'").fetchone()[0]
    finally:
        con.close()
    return {"per_day": per_day, "empty_answer": empty_answer, "agent_states": states}


def _expected_per_day() -> Counter:
    with gzip.open(sample_path("contacts.csv.gz"), "rt", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4364
    days = Counter(datetime.fromisoformat(r["offered_at"]).astimezone(ZONE).strftime("%Y-%m-%d") for r in rows
                   if r["channel"] in ("voice", "chat"))  # fmt: skip
    assert sum(days.values()) == 4363  # the pigeon is the one rejected
    for line in sample_path("queue_log.txt").read_text().splitlines():
        f = line.split("|")
        if f[4] == "ENTERQUEUE":  # one contact per call entering the queue
            days[datetime.fromtimestamp(int(f[0]), ZONE).strftime("%Y-%m-%d")] += 1
    return days


def test_demo_sample_loads_the_bundled_files_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    out = _run(home)
    assert "4,364" in out and "4,363" in out  # read and loaded, in the load summary
    first = _warehouse(home)
    assert first["per_day"] == dict(_expected_per_day())
    assert first["empty_answer"] == 1  # the broken answer time: loaded, the field emptied
    assert first["agent_states"] > 0
    _run(home)
    assert _warehouse(home) == first
