"""Issue 17's bad input for the lake: a root that cannot be written, a Spark master that does not answer, a lake
written by another format version. Each gives one clear line (CLI exit 2, no traceback) and leaves no partial
state: the lake's files are byte-for-byte what they were, and nothing half-written is left behind.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from callops import tenancy
from callops.errors import CallopsError
from callops.ingest.loader import load_files
from callops.ingest.mapping import load_mapping
from callops.lake.export import Lake, export
from callops.lake.read import MASTER_TIMEOUT_S, master_addresses, open_lake
from callops.warehouse import Warehouse
from foundation_helpers import require_spark


@pytest.fixture
def world(tmp_path: Path) -> tuple[str, Path]:
    """A warehouse file with tenant t1 (48 contacts over two local days) and a lake path beside it."""
    path = tmp_path / "warehouse.duckdb"
    start = datetime(2026, 3, 1, 1, tzinfo=UTC)
    df = pd.DataFrame({
        "contact_id": [f"c{i}" for i in range(48)],
        "queue": ["billing", "tech"] * 24,
        "channel": "voice",
        "direction": "inbound",
        "offered_at": [start + timedelta(hours=i) for i in range(48)],
        "outcome": "abandoned",
        "wait_s": 12.5,
    })
    csv = tmp_path / "contacts.csv"
    df.to_csv(csv, index=False)
    with Warehouse(f"duckdb://{path}") as wh:
        tenancy.create_tenant(wh, "t1", "Asia/Shanghai")
        s = load_files(wh, tenancy.get_tenant(wh, "t1"), "contacts", [csv], load_mapping("canonical", "contacts"))
        assert s.rejected == 0
    return f"duckdb://{path}", tmp_path / "lake"


def _cli(world: tuple[str, Path], *args: str) -> subprocess.CompletedProcess:
    url, lake = world
    env = {**os.environ, "CALLOPS_HOME": str(lake.parent / "home"), "CALLOPS_WAREHOUSE": url}
    env.pop("CALLOPS_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "callops.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300)  # fmt: skip


def _one_clear_line(out: subprocess.CompletedProcess, *words: str) -> None:
    assert out.returncode == 2, (out.returncode, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""
    for w in words:
        assert w in lines[0], (w, lines[0])


def _tree(root: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every file under ``root`` with its size, modification time and content."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(root.rglob("*")) if p.is_file()}  # fmt: skip


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------------------------ not writable
def test_a_root_that_cannot_be_written_is_one_line_and_creates_nothing(world: tuple[str, Path],
                                                                       tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = _cli(world, "lake", "export", "--tenant", "t1", "--to", str(blocker / "lake"))
    _one_clear_line(out, "is not writable", str(blocker / "lake"))
    assert blocker.read_text() == "not a folder"
    # a file system that refuses directories whoever asks (root included): /proc
    out = _cli(world, "lake", "export", "--tenant", "t1", "--to", "/proc/callops-lake")
    _one_clear_line(out, "lake /proc/callops-lake is not writable")
    assert not Path("/proc/callops-lake").exists()


def test_a_failed_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    """write_atomic: the move onto a target that cannot be replaced (a non-empty folder) fails; its temporary
    file is removed, so the lake holds only complete files."""
    lake = Lake.open(str(tmp_path / "lake"))
    blocked = tmp_path / "lake" / "tenant=t1" / "table=contacts" / "day=2026-03-01" / "part-0.parquet"
    (blocked / "inside").mkdir(parents=True)
    with pytest.raises(OSError):
        lake.write_atomic(b"data", "tenant=t1", "table=contacts", "day=2026-03-01", "part-0.parquet")
    assert not list((tmp_path / "lake").rglob(".tmp-*"))


# ------------------------------------------------------------------------------------------ other version
def test_a_lake_of_another_version_is_refused_and_left_as_it_was(world: tuple[str, Path]) -> None:
    lake = world[1]
    assert _cli(world, "lake", "export", "--tenant", "t1", "--to", str(lake)).returncode == 0
    stamp = lake / "_callops" / "lake.json"
    stamp.write_text(json.dumps({"format_version": 2}))
    before = _tree(lake)
    _one_clear_line(_cli(world, "lake", "export", "--tenant", "t1", "--to", str(lake)),
                    "written by format version 2", "version 1")
    _one_clear_line(_cli(world, "lake", "verify", "--tenant", "t1", "--to", str(lake)), "format version 2")
    _one_clear_line(_cli(world, "metrics", "query", "--tenant", "t1", "--metric", "contacts_offered", "--grain",
                         "month", "--engine", "duckdb", "--lake", str(lake)), "format version 2")  # fmt: skip
    assert _tree(lake) == before  # nothing rewritten, nothing added, no temporary file


def test_a_manifest_of_another_version_or_a_missing_stamp_is_refused(world: tuple[str, Path]) -> None:
    url, lake = world
    with Warehouse(url) as wh:
        t1 = tenancy.get_tenant(wh, "t1")
        export(wh, t1, str(lake))
        manifest = lake / "_callops" / "t1" / "manifest.json"
        doc = json.loads(manifest.read_text())
        manifest.write_text(json.dumps({**doc, "format_version": 3}))
        before = _tree(lake)
        with pytest.raises(CallopsError, match="exported by format version 3"):
            export(wh, t1, str(lake))
        assert _tree(lake) == before
        manifest.write_text(json.dumps(doc))
        # no stamp: not a lake this version wrote; readers say so and never write one
        (lake / "_callops" / "lake.json").unlink()
        before = _tree(lake)
        with pytest.raises(CallopsError, match="has no format stamp"), open_lake(str(lake)):
            pass
        assert _tree(lake) == before and not (lake / "_callops" / "lake.json").exists()
        export(wh, t1, str(lake))  # the export stamps it again (every partition is already there)
        assert json.loads((lake / "_callops" / "lake.json").read_text()) == {"format_version": 1}
        (lake / "_callops" / "lake.json").write_text("{not json")
        before = _tree(lake)
        with pytest.raises(CallopsError, match=r"format stamp .* cannot be read"):
            export(wh, t1, str(lake))
        assert _tree(lake) == before


# ------------------------------------------------------------------------------------------ Spark master
def test_master_urls_are_read_without_their_secrets() -> None:
    assert master_addresses("spark://m1:7077,m2:7078") == [("m1", 7077), ("m2", 7078)]
    assert master_addresses("sc://connect.example/;token=abc") == [("connect.example", 15002)]
    assert master_addresses("sc://u:pw@[::1]:15010") == [("::1", 15010)]
    assert master_addresses("local[2]") == [] and master_addresses("yarn") == []
    with pytest.raises(CallopsError, match="port 'x' is not a number"):
        master_addresses("spark://host:x")


@pytest.mark.xdist_group("spark")
def test_a_spark_master_that_does_not_answer_fails_fast(world: tuple[str, Path]) -> None:
    """spark:// and sc:// on a closed port: one line within seconds (Spark's client alone retries for a minute),
    naming the master without its token; nothing written to the lake."""
    require_spark()
    url, lake = world
    with Warehouse(url) as wh:
        export(wh, tenancy.get_tenant(wh, "t1"), str(lake))
    before = _tree(lake)
    port = _closed_port()
    for master in (f"spark://127.0.0.1:{port}", f"sc://127.0.0.1:{port}/;token=s3cret"):
        t0 = time.perf_counter()
        with pytest.raises(CallopsError, match=f"Spark master .*127.0.0.1:{port} does not answer") as caught, \
                open_lake(str(lake), "spark", master):  # fmt: skip
            pass
        assert time.perf_counter() - t0 < MASTER_TIMEOUT_S + 2
        assert "s3cret" not in str(caught.value) and "\n" not in str(caught.value)
    t0 = time.perf_counter()
    out = _cli(world, "metrics", "query", "--tenant", "t1", "--metric", "contacts_offered", "--grain", "month",
               "--engine", "spark", "--lake", str(lake), "--spark-master", f"spark://127.0.0.1:{port}")  # fmt: skip
    _one_clear_line(out, f"Spark master spark://127.0.0.1:{port} does not answer")
    assert time.perf_counter() - t0 < 60  # CLI start included; Spark's own retries would take over a minute
    assert _tree(lake) == before
