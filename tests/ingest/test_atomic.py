"""Loads are atomic and idempotent.

* A load killed with SIGKILL (in a child process, at several points) leaves the warehouse exactly
  as it was: same rows and checksums in the data, ``loads`` and ``rejects`` tables.
* Loading the same file again changes nothing; changed values for known keys are updated.
* A load that fails with a user error part-way writes nothing.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from callops import tenancy
from callops.errors import CallopsError
from callops.ingest.loader import load_files
from callops.ingest.mapping import canonical_mapping, parse_mapping
from callops.warehouse import Warehouse
from foundation_helpers import read_rows, table_fingerprint

WATCHED = ("tenants", "loads", "rejects", "contacts", "agents")
BIG_ROWS = 1_000_000

HEADER = "contact_id,channel,direction,offered_at,answered_at,wait_s,talk_s,outcome,agent_id\n"


def small_file(path: Path, n: int, talk_offset: int = 0, bad_every: int = 0) -> Path:
    """``n`` contacts c0..c{n-1}; ``talk_offset`` changes talk_s; every ``bad_every``-th row has channel fax."""
    lines = [HEADER]
    for i in range(n):
        wait = i % 50
        channel = "fax" if bad_every and i % bad_every == bad_every - 1 else "voice"  # required: rejected
        lines.append(
            f"c{i},{channel},inbound,2024-05-01T08:{i // 60 % 60:02d}:{i % 60:02d}+08:00,"
            f"2024-05-01T09:00:00+08:00,{wait},{i + talk_offset},answered,A{i % 7}\n"
        )
    path.write_text("".join(lines))
    return path


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1M-row canonical contacts file (written by DuckDB: fast), overlapping the small file's ids."""
    path = tmp_path_factory.mktemp("big") / "big.csv"
    duckdb.sql(
        f"""COPY (SELECT 'c' || i AS contact_id, CASE WHEN i % 1000 = 999 THEN 'fax' ELSE 'voice' END AS channel,
                   'inbound' AS direction, TIMESTAMPTZ '2024-06-01 00:00:00+00' + to_seconds(i) AS offered_at,
                   NULL AS answered_at, i % 90 AS wait_s,
                   NULL AS talk_s, 'abandoned' AS outcome, NULL AS agent_id
                FROM range({BIG_ROWS}) t(i)) TO '{path}' (HEADER)"""
    )
    return path


@pytest.fixture(scope="module")
def clean_big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean 1M-row file with new ids: it takes the direct (one-pass) path."""
    path = tmp_path_factory.mktemp("clean") / "clean.csv"
    duckdb.sql(
        f"""COPY (SELECT 'n' || i AS contact_id, 'voice' AS channel, 'inbound' AS direction,
                   TIMESTAMPTZ '2024-06-01 00:00:00+00' + to_seconds(i) AS offered_at, NULL AS answered_at,
                   i % 90 AS wait_s, NULL AS talk_s, 'abandoned' AS outcome, NULL AS agent_id
                FROM range({BIG_ROWS}) t(i)) TO '{path}' (HEADER)"""
    )
    return path


def fingerprint(home: Path) -> dict[str, tuple[int, int]]:
    """Row count and checksum of every watched table (opened fresh, as another process would)."""
    with Warehouse() as wh:
        assert wh.url.endswith(str(home / "warehouse.duckdb"))
        return {t: table_fingerprint(wh, t) for t in WATCHED}


CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from callops import tenancy
    from callops.ingest.loader import load_files
    from callops.ingest.mapping import load_mapping
    from callops.warehouse import Warehouse

    wh = Warehouse()
    tenant = tenancy.get_tenant(wh, "a")
    print("start", flush=True)
    load_files(wh, tenant, "contacts", [Path(sys.argv[1])], load_mapping("canonical", "contacts"),
               progress=lambda msg: print(msg.split()[0], flush=True))
    wh.close()
    print("done", flush=True)
    """
)


@pytest.fixture
def seeded_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A warehouse with tenant ``a`` holding 1000 contacts (with rejects), closed again."""
    home = tmp_path / "home"
    monkeypatch.setenv("CALLOPS_HOME", str(home))
    monkeypatch.delenv("CALLOPS_WAREHOUSE", raising=False)
    with Warehouse() as wh:
        tenant = tenancy.create_tenant(wh, "a", "Asia/Shanghai")
        summary = load_files(wh, tenant, "contacts", [small_file(tmp_path / "s.csv", 1000, bad_every=100)],
                             canonical_mapping("contacts"))
        assert (summary.loaded, summary.rejected) == (990, 10)
    return home


def run_child_and_kill(big: Path, kill_at: str | float) -> list[str]:
    """Run a load of ``big`` in a child; SIGKILL it at progress step ``kill_at`` or after that many seconds."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(big)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=os.environ.copy(),
    )
    seen: list[str] = []
    assert proc.stdout is not None
    try:
        if isinstance(kill_at, str):
            for line in proc.stdout:
                seen.append(line.strip())
                if seen[-1] == kill_at:
                    break
        else:
            assert proc.stdout.readline().strip() == "start"
            seen.append("start")
            time.sleep(kill_at)
        proc.send_signal(signal.SIGKILL)
        rest, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    seen += rest.split()
    assert proc.returncode == -signal.SIGKILL, (seen, err)
    assert "done" not in seen, f"the load finished before it was killed: {seen}"
    return seen


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", ["writing", "checking", "validating", "random"])
def test_sigkill_during_load_leaves_previous_state(seeded_home: Path, big_csv: Path, kill_at: str) -> None:
    """SIGKILL at a progress step (or a random moment) changes nothing; the next load works."""
    before = fingerprint(seeded_home)
    moment: str | float = random.uniform(0.05, 1.5) if kill_at == "random" else kill_at
    seen = run_child_and_kill(big_csv, moment)
    assert fingerprint(seeded_home) == before, seen

    with Warehouse() as wh:
        tenant = tenancy.get_tenant(wh, "a")
        path = small_file(seeded_home.parent / "next.csv", 300, talk_offset=3)
        summary = load_files(wh, tenant, "contacts", [path], canonical_mapping("contacts"))
        # c0..c299 (297 loaded before: c99, c199, c299 were rejected) now with other talk times.
        assert (summary.read, summary.loaded, summary.updated, summary.unchanged) == (300, 3, 297, 0)
        assert table_fingerprint(wh, "contacts")[0] == 993
        assert table_fingerprint(wh, "loads")[0] == 2


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", ["streaming", "checking"])
def test_sigkill_during_direct_load_leaves_previous_state(seeded_home: Path, clean_big_csv: Path, kill_at: str) -> None:
    """SIGKILL while a clean file streams into the table (or while its keys are checked) changes nothing."""
    before = fingerprint(seeded_home)
    seen = run_child_and_kill(clean_big_csv, kill_at)
    assert "streaming" in seen, seen  # the direct path was the one killed
    assert fingerprint(seeded_home) == before, seen
    with Warehouse() as wh:
        summary = load_files(wh, tenancy.get_tenant(wh, "a"), "contacts", [clean_big_csv],
                             canonical_mapping("contacts"))
        assert (summary.read, summary.loaded, summary.rejected) == (BIG_ROWS, BIG_ROWS, 0)
        assert table_fingerprint(wh, "contacts")[0] == 990 + BIG_ROWS


@pytest.mark.slow
def test_load_after_kill_loads_the_big_file(seeded_home: Path, big_csv: Path) -> None:
    """After a kill in the write step, the same big file loads in full with exact accounting."""
    run_child_and_kill(big_csv, "writing")
    with Warehouse() as wh:
        summary = load_files(wh, tenancy.get_tenant(wh, "a"), "contacts", [big_csv], canonical_mapping("contacts"))
        assert summary.balanced and summary.read == BIG_ROWS
        assert summary.rejected == BIG_ROWS // 1000
        # c0..c999 held 990 rows (c99, c199, ... rejected) with other values: those are updates.
        assert summary.updated == 990
        assert summary.loaded == BIG_ROWS - BIG_ROWS // 1000 - 990
        assert table_fingerprint(wh, "contacts")[0] == 990 + summary.loaded


def test_reload_is_unchanged_and_changes_are_updates(home: Warehouse, tmp_path: Path) -> None:
    """Same file twice: nothing new. Changed values for known keys: counted as updated, replaced."""
    tenant = tenancy.create_tenant(home, "a")
    first = load_files(home, tenant, "contacts", [small_file(tmp_path / "a.csv", 200)], canonical_mapping("contacts"))
    assert (first.loaded, first.updated, first.unchanged) == (200, 0, 0)
    before = table_fingerprint(home, "contacts")

    again = load_files(home, tenant, "contacts", [tmp_path / "a.csv"], canonical_mapping("contacts"))
    assert (again.read, again.loaded, again.updated, again.unchanged, again.rejected) == (200, 0, 0, 200, 0)
    assert table_fingerprint(home, "contacts") == before

    # Rows 0..99 get new talk times; 100..249: 100..199 as before, 200..249 new.
    lines = small_file(tmp_path / "b.csv", 250).read_text().splitlines(keepends=True)
    changed = small_file(tmp_path / "c.csv", 100, talk_offset=5).read_text().splitlines(keepends=True)
    (tmp_path / "b.csv").write_text("".join(changed + lines[101:]))
    third = load_files(home, tenant, "contacts", [tmp_path / "b.csv"], canonical_mapping("contacts"))
    assert (third.read, third.loaded, third.updated, third.unchanged) == (250, 50, 100, 100)
    rows = {r["contact_id"]: r for r in read_rows(home, "a", "contacts")}
    assert len(rows) == 250
    assert all(rows[f"c{i}"]["talk_s"] == i + 5 and rows[f"c{i}"]["load_id"] == third.load_id for i in range(100))
    assert all(rows[f"c{i}"]["talk_s"] == i and rows[f"c{i}"]["load_id"] == first.load_id for i in range(100, 200))
    assert all(rows[f"c{i}"]["load_id"] == third.load_id for i in range(200, 250))


def test_failed_load_writes_nothing(home: Warehouse, tmp_path: Path) -> None:
    """User errors found after staging has begun leave every table as it was."""
    tenant = tenancy.create_tenant(home, "a")
    load_files(home, tenant, "contacts", [small_file(tmp_path / "a.csv", 50, bad_every=10)],
               canonical_mapping("contacts"))
    before = {t: table_fingerprint(home, t) for t in WATCHED}
    good = small_file(tmp_path / "g.csv", 80, talk_offset=1)

    missing_column = parse_mapping(
        """
        name: broken
        table: contacts
        fields: {contact_id: contact_id, channel: channel, direction: direction, offered_at: offered_at,
                 outcome: outcome, talk_s: no_such_column}
        """
    )
    with pytest.raises(CallopsError, match="no_such_column"):
        load_files(home, tenant, "contacts", [good], missing_column)
    # The second file lacks a column the mapping parses: found only when that file is staged.
    parses = parse_mapping(
        """
        name: parses
        table: contacts
        parse: {wait_s: {type: float}}
        fields: {contact_id: contact_id, channel: channel, direction: direction, offered_at: offered_at,
                 outcome: outcome, wait_s: wait_s}
        """
    )
    other = tmp_path / "other.jsonl"
    other.write_text('{"contact_id": "z1", "channel": "voice", "direction": "inbound", '
                     '"offered_at": "2024-01-01T00:00:00Z", "outcome": "answered"}\n')
    with pytest.raises(CallopsError, match="wait_s"):
        load_files(home, tenant, "contacts", [good, other], parses)
    with pytest.raises(CallopsError, match="no such file"):
        load_files(home, tenant, "contacts", [good, tmp_path / "absent.csv"], canonical_mapping("contacts"))
    assert {t: table_fingerprint(home, t) for t in WATCHED} == before
    # And the connection is still usable for a good load afterwards.
    ok = load_files(home, tenant, "contacts", [good], canonical_mapping("contacts"))
    assert ok.balanced and ok.updated == 45 and ok.loaded == 35
