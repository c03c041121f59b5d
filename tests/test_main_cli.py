"""The installed `callops` console script: clear errors, JSON output, rejects listings.

Runs the real entry point (``.venv/bin/callops``) in a subprocess with a private CALLOPS_HOME.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from callops import tenancy
from callops.warehouse import Warehouse
from foundation_helpers import REPO

CALLOPS = REPO / ".venv" / "bin" / "callops"
if not CALLOPS.exists():  # an install elsewhere (e.g. CI with another venv)
    CALLOPS = Path(shutil.which("callops") or CALLOPS)

CONTACTS = (
    "contact_id,channel,direction,offered_at,answered_at,outcome,wait_s\n"
    "k1,voice,inbound,2024-01-01T09:00:00+08:00,2024-01-01T09:00:30+08:00,answered,30\n"
    "k2,fax,inbound,2024-01-01T09:01:00+08:00,,abandoned,12\n"
    "k3,voice,inbound,2024-01-02T09:00:00+08:00,2024-01-02T08:00:00+08:00,answered,5\n"
    "k4,chat,inbound,2024-01-02T10:00:00+08:00,,abandoned,-3\n"
    "k5,chat,inbound,2024-01-02T11:00:00+08:00,,abandoned,8\n"
)


def _setup(root: Path) -> Path:
    """A CALLOPS_HOME under ``root`` with tenant t1 (made through the API: faster than a CLI start)."""
    (root / "contacts.csv").write_text(CONTACTS)
    (root / "bad.yaml").write_text("name: [unclosed\ntable: contacts\n")
    with Warehouse(f"duckdb://{root / 'home' / 'warehouse.duckdb'}") as wh:
        tenancy.create_tenant(wh, "t1", "Asia/Shanghai")
    return root


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A fresh home with tenant t1 and a small contacts file (contacts.csv)."""
    return _setup(tmp_path)


@pytest.fixture(scope="module")
def shared_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One home for the error cases, which change nothing."""
    return _setup(tmp_path_factory.mktemp("cli"))


def run(cwd: Path, *args: str, check: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "CALLOPS_HOME": str(cwd / "home")}
    env.pop("CALLOPS_WAREHOUSE", None)
    env.pop("CALLOPS_DEBUG", None)
    out = subprocess.run([str(CALLOPS), *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=120)
    if check:
        assert out.returncode == 0, out.stderr
    return out


BAD_ARGUMENTS = [
    (("ingest", "contacts", "contacts.csv"), "Missing option '--tenant'"),
    (("ingest", "calls", "contacts.csv", "--tenant", "t1"), "unknown table 'calls'"),
    (("ingest", "contacts", "contacts.csv", "--tenant", "t1", "--mapping", "nope"), "unknown mapping 'nope'"),
    (("ingest", "contacts", "absent.csv", "--tenant", "t1"), "absent.csv: no such file"),
    (("ingest", "contacts", "contacts.csv", "--tenant", "t1", "--mapping", "missing.yaml"), "does not exist"),
    (("ingest", "contacts", "contacts.csv", "--tenant", "t1", "--mapping", "bad.yaml"), "not valid YAML"),
    (("ingest", "contacts", "contacts.csv", "--tenant", "nobody"), "no tenant 'nobody' (known: t1)"),
    (("rejects", "--tenant", "t1", "--format", "xml"), "'xml' is not one of"),
    (("tenant", "create", "Bad Name"), "invalid tenant name"),
    (("tenant", "create", "ok", "--timezone", "Mars/Olympus"), "unknown time zone 'Mars/Olympus'"),
    (("tenant", "create", "t1"), "already exists"),
]


def _flat(text: str) -> str:
    """stderr with rich's line wrapping and box drawing removed, for matching messages."""
    text = re.sub(r"[│╭╮╰╯─]", " ", text)
    return re.sub(r"\s+", " ", text)


@pytest.mark.parametrize(("args", "message"), BAD_ARGUMENTS, ids=[" ".join(a) for a, _ in BAD_ARGUMENTS])
def test_bad_arguments_give_a_clear_error(shared_workdir: Path, args: tuple[str, ...], message: str) -> None:
    """Non-zero exit, the reason on stderr, no traceback, nothing on stdout."""
    out = run(shared_workdir, *args)
    assert out.returncode != 0
    assert "Traceback" not in out.stderr and "internal error" not in out.stderr
    assert message in _flat(out.stderr), out.stderr
    assert out.stdout == ""


def test_errors_are_one_line(shared_workdir: Path) -> None:
    """A user error is one line on stderr, however long the message."""
    out = run(shared_workdir, "ingest", "calls", "contacts.csv", "--tenant", "t1")
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_invalid_mapping_file_lists_problems(shared_workdir: Path) -> None:
    (shared_workdir / "m.yaml").write_text("name: m\ntable: contacts\nfields: {contact_id: id, nickname: n}\n")
    out = run(shared_workdir, "ingest", "contacts", "contacts.csv", "--tenant", "t1", "--mapping", "m.yaml")
    assert out.returncode == 2
    assert "m.yaml is not a valid mapping" in out.stderr and "nickname" in out.stderr
    assert "Traceback" not in out.stderr


def test_ingest_json_and_rejects(workdir: Path) -> None:
    """--json prints only the summary; rejects (a row that cannot be placed) and warnings (a field emptied, the
    row kept) come out as CSV and JSON with file, line, column, reason."""
    out = run(workdir, "ingest", "contacts", "contacts.csv", "--tenant", "t1", "--json", check=True)
    summary = json.loads(out.stdout)
    assert {"loaded", "updated", "unchanged", "rejected", "skipped", "load_id", "seconds"} <= set(summary)
    assert (summary["loaded"], summary["updated"], summary["unchanged"], summary["rejected"], summary["skipped"]) == (
        4, 0, 0, 1, 0,
    )
    assert summary["warned"] == 2  # k3's answer before its arrival, k4's negative wait: emptied, the contacts kept
    assert isinstance(summary["seconds"], float | int) and summary["load_id"]

    again = run(workdir, "ingest", "contacts", "contacts.csv", "--tenant", "t1", "--json", check=True)
    again = json.loads(again.stdout)
    assert (again["loaded"], again["unchanged"], again["rejected"], again["warned"]) == (0, 4, 1, 2)
    assert again["load_id"] != summary["load_id"]

    rows = json.loads(run(workdir, "rejects", "--tenant", "t1", "--load", summary["load_id"], "--format", "json",
                          check=True).stdout)
    got = sorted((r["line"], r["column_name"]) for r in rows)
    assert got == [(3, "channel")]
    assert all(r["load_id"] == summary["load_id"] and r["reason"] for r in rows)
    warned = json.loads(run(workdir, "rejects", "--warnings", "--tenant", "t1", "--load", summary["load_id"],
                            "--format", "json", check=True).stdout)  # fmt: skip
    assert sorted((r["line"], r["column_name"], r["raw"]) for r in warned) == [
        (4, "answered_at", "2024-01-02 00:00:00+00"), (5, "wait_s", "-3.0")]

    text = run(workdir, "rejects", "--tenant", "t1", "--format", "csv", check=True).stdout
    table = list(csv.DictReader(io.StringIO(text)))
    assert len(table) == 2  # two loads, one reject each
    assert {"load_id", "file", "line", "column_name", "reason", "raw"} <= set(table[0])
    assert sorted({r["line"] for r in table}) == ["3"]

    human = run(workdir, "rejects", "--tenant", "t1", check=True)
    assert "channel" in human.stdout

    daily = json.loads(run(workdir, "daily", "--tenant", "t1", "--format", "json", check=True).stdout)
    assert daily == [
        {"day": "2024-01-01", "contacts": 1, "answered": 1, "abandoned": 0, "self_served": 0},
        {"day": "2024-01-02", "contacts": 3, "answered": 1, "abandoned": 2, "self_served": 0},
    ]


def test_human_summary_and_tenant_list(workdir: Path) -> None:
    out = run(workdir, "ingest", "contacts", "contacts.csv", "--tenant", "t1", check=True)
    assert "loaded" in out.stdout and "rejected" in out.stdout and "callops rejects --tenant t1" in out.stdout
    tenants = json.loads(run(workdir, "tenant", "list", "--format", "json", check=True).stdout)
    assert [(t["tenant"], t["timezone"]) for t in tenants] == [("t1", "Asia/Shanghai")]
