"""Tenants are isolated: overlapping ids, different values, no public path from one to the other."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from callops import reports, schema, tenancy
from callops.errors import CallopsError, NotFound
from callops.ingest.loader import load_files
from callops.ingest.mapping import canonical_mapping
from callops.warehouse import Warehouse
from foundation_helpers import REPO, read_rows

CALLOPS = REPO / ".venv" / "bin" / "callops"


def contacts_file(path: Path, tag: str, n: int, bad: int) -> Path:
    """``n`` contacts k0..k{n-1} whose queue is ``tag``; the last ``bad`` rows have a bad channel."""
    lines = ["contact_id,queue,channel,direction,offered_at,outcome,wait_s"]
    for i in range(n):
        channel = "pigeon" if i >= n - bad else "voice"
        lines.append(f"k{i},{tag},{channel},inbound,2024-02-0{1 + i % 3}T10:00:00+08:00,answered,{i}")
    path.write_text("\n".join(lines) + "\n")
    return path


def agents_file(path: Path, tag: str) -> Path:
    path.write_text("agent_id,name,team\n" + "".join(f"A{i},{tag}-{i},{tag}\n" for i in range(5)))
    return path


@pytest.fixture
def two_tenants(home: Warehouse, tmp_path: Path) -> Warehouse:
    """t1 (Shanghai) and t10 (New York) with the same contact and agent ids, different values.

    The names are prefixes of each other on purpose: a filter matching tenant ids by prefix leaks t10 into t1.
    """
    t1 = tenancy.create_tenant(home, "t1", "Asia/Shanghai")
    t2 = tenancy.create_tenant(home, "t10", "America/New_York")
    m = canonical_mapping("contacts")
    s1 = load_files(home, t1, "contacts", [contacts_file(tmp_path / "1.csv", "one", 30, 2)], m)
    s2 = load_files(home, t2, "contacts", [contacts_file(tmp_path / "2.csv", "two", 20, 5)], m)
    # The same ids in t10 are new rows there, never updates of t1's rows.
    assert (s1.loaded, s1.rejected) == (28, 2)
    assert (s2.loaded, s2.updated, s2.unchanged, s2.rejected) == (15, 0, 0, 5)
    load_files(home, t1, "agents", [agents_file(tmp_path / "a1.csv", "one")], canonical_mapping("agents"))
    load_files(home, t2, "agents", [agents_file(tmp_path / "a2.csv", "two")], canonical_mapping("agents"))
    return home


def test_scoped_never_mixes_tenants(two_tenants: Warehouse) -> None:
    """Every scoped table holds only its tenant's rows, and each tenant keeps its own values."""
    wh = two_tenants
    for table in tenancy.SCOPED_TABLES:
        for tid in ("t1", "t10"):
            rows = read_rows(wh, tid, table)
            assert all(r["tenant_id"] == tid for r in rows), table
    c1 = {r["contact_id"]: r for r in read_rows(wh, "t1", "contacts")}
    c2 = {r["contact_id"]: r for r in read_rows(wh, "t10", "contacts")}
    assert len(c1) == 28 and len(c2) == 15
    assert {r["queue"] for r in c1.values()} == {"one"}
    assert {r["queue"] for r in c2.values()} == {"two"}
    assert set(c2) < set(c1)  # overlapping ids
    assert {r["team"] for r in read_rows(wh, "t1", "agents")} == {"one"}
    assert {r["team"] for r in read_rows(wh, "t10", "agents")} == {"two"}
    assert len(read_rows(wh, "t1", "rejects")) == 2 and len(read_rows(wh, "t10", "rejects")) == 5
    assert len(read_rows(wh, "t1", "loads")) == 2 and len(read_rows(wh, "t10", "loads")) == 2


def test_loading_same_ids_into_other_tenant_leaves_first_untouched(two_tenants: Warehouse, tmp_path: Path) -> None:
    """Re-loading t10 with new values changes t10 only; t1's rows, load ids included, stay as they were."""
    wh = two_tenants
    before = read_rows(wh, "t1", "contacts", order_by=["contact_id"])
    t2 = tenancy.get_tenant(wh, "t10")
    path = contacts_file(tmp_path / "3.csv", "three", 30, 0)
    s = load_files(wh, t2, "contacts", [path], canonical_mapping("contacts"))
    assert (s.loaded, s.updated, s.unchanged) == (15, 15, 0)
    assert read_rows(wh, "t1", "contacts", order_by=["contact_id"]) == before
    assert {r["queue"] for r in read_rows(wh, "t10", "contacts")} == {"three"}


def test_reports_are_scoped(two_tenants: Warehouse) -> None:
    """reports.rejects and reports.daily_contacts show one tenant's data, in its own zone."""
    wh = two_tenants
    r1 = reports.rejects(wh, "t1", limit=None)
    r2 = reports.rejects(wh, "t10", limit=None)
    assert len(r1) == 2 and len(r2) == 5
    assert {r["raw"].split(" | ")[1] for r in r1} == {"queue=one"}
    assert {r["raw"].split(" | ")[1] for r in r2} == {"queue=two"}
    loads1 = {r["load_id"] for r in read_rows(wh, "t1", "loads")}
    assert reports.rejects(wh, "t10", load_id=next(iter(loads1))) == []

    d1 = reports.daily_contacts(wh, "t1")
    d2 = reports.daily_contacts(wh, "t10")
    assert sum(d["contacts"] for d in d1) == 28 and sum(d["contacts"] for d in d2) == 15
    # 10:00 +08:00 is the same day in Shanghai but the previous evening in New York.
    assert [d["day"] for d in d1] == ["2024-02-01", "2024-02-02", "2024-02-03"]
    assert [d["day"] for d in d2] == ["2024-01-31", "2024-02-01", "2024-02-02"]


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CALLOPS_HOME": str(home)}
    env.pop("CALLOPS_WAREHOUSE", None)
    return subprocess.run([str(CALLOPS), *args], capture_output=True, text=True, env=env, timeout=120)


def test_cli_reports_are_scoped(two_tenants: Warehouse, tmp_path: Path) -> None:
    """`callops rejects` and `callops daily` with --tenant show only that tenant."""
    two_tenants.close()  # the CLI opens the warehouse itself
    home = tmp_path / "home"
    for tid, n_rej, n_contacts, queue in (("t1", 2, 28, "queue=one"), ("t10", 5, 15, "queue=two")):
        out = _cli(home, "rejects", "--tenant", tid, "--format", "json")
        assert out.returncode == 0, out.stderr
        rows = json.loads(out.stdout)
        assert len(rows) == n_rej and all(queue in r["raw"] for r in rows)
        out = _cli(home, "daily", "--tenant", tid, "--format", "json")
        assert out.returncode == 0, out.stderr
        assert sum(d["contacts"] for d in json.loads(out.stdout)) == n_contacts


def test_unknown_tenant_lists_known_ones(two_tenants: Warehouse) -> None:
    """Naming a tenant that does not exist fails everywhere with the known names."""
    wh = two_tenants
    with pytest.raises(NotFound, match=r"no tenant 'nope' \(known: t1, t10\)"):
        tenancy.get_tenant(wh, "nope")
    for table in ("contacts", "rejects", "loads"):
        with pytest.raises(CallopsError, match="known: t1, t10"):
            tenancy.scoped(wh, "nope", table)
    with pytest.raises(CallopsError, match="known: t1, t10"):
        reports.rejects(wh, "nope")
    with pytest.raises(CallopsError, match="known: t1, t10"):
        reports.daily_contacts(wh, "nope")


def test_scoped_refuses_unknown_and_system_tables(two_tenants: Warehouse) -> None:
    """Only tenant tables can be scoped; `tenants` itself and made-up names are refused."""
    for name in ("tenants", "contacts; DROP TABLE contacts", "Contacts", "_row_hash"):
        with pytest.raises(NotFound, match="unknown table"):
            tenancy.scoped(two_tenants, "t1", name)
    assert set(tenancy.SCOPED_TABLES) == {*schema.TABLES, "loads", "rejects", "load_warnings"}


@pytest.mark.parametrize("name", ["", "T1", "a b", "-lead", "x" * 64, "t1;drop", "ü", "a/b"])
def test_invalid_tenant_names_rejected(home: Warehouse, name: str) -> None:
    with pytest.raises(CallopsError, match="invalid tenant name"):
        tenancy.create_tenant(home, name)


@pytest.mark.parametrize("zone", ["Mars/Olympus", "UTC+8", "", "Asia/Shang hai", "../etc/passwd"])
def test_invalid_time_zones_rejected(home: Warehouse, zone: str) -> None:
    with pytest.raises(CallopsError, match="unknown time zone"):
        tenancy.create_tenant(home, "ok", zone)
    assert tenancy.list_tenants(home) == []


def test_duplicate_tenant_rejected_and_default_zone(home: Warehouse) -> None:
    t = tenancy.create_tenant(home, "a")
    assert t.timezone == "Asia/Shanghai"
    with pytest.raises(CallopsError, match="already exists"):
        tenancy.create_tenant(home, "a", "UTC")
    assert [x.tenant_id for x in tenancy.list_tenants(home)] == ["a"]
