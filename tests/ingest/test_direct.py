"""The direct load (one streaming pass) gives exactly what the staged load gives.

A clean delimited file is written in one pass; anything that needs row-by-row accounting (a reject, a
field emptied with a warning, a repeated key, a key the tenant already has) rolls that pass back and the
staged path takes over. The problems here sit past the sample of first rows that the loader checks, so the
fall-back after writing is what is exercised. Every case is compared with the same load forced through the staged path.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from callops import tenancy
from callops.ingest import loader
from callops.ingest.loader import DIRECT_SAMPLE_ROWS, load_files
from callops.ingest.mapping import canonical_mapping
from callops.warehouse import Warehouse
from foundation_helpers import read_rows

HEADER = "contact_id,channel,direction,offered_at,answered_at,ended_at,wait_s,talk_s,outcome,agent_id,resolved\n"
ROWS = DIRECT_SAMPLE_ROWS + 500
LATE = DIRECT_SAMPLE_ROWS + 200  # a row past the sample


def contacts_file(path: Path, n: int = ROWS, first_id: int = 0, late: str | None = None) -> Path:
    """``n`` clean contacts; ``late`` puts one problem at row LATE (bad, warn, dup or a given id)."""
    lines = [HEADER]
    for i in range(n):
        cid = f"c{first_id + i}"
        wait, channel = i % 90, "voice"
        if i == LATE and late == "bad":
            channel = "fax"  # a required column with a value it cannot have: rejected
        if i == LATE and late == "warn":
            wait = -1  # an impossible optional field: emptied, the row loads with a warning
        if i == LATE and late == "dup":
            cid = f"c{first_id}"
        if i == LATE and late is not None and late.startswith("id:"):
            cid = late[3:]
        s = i % 60
        lines.append(
            f"{cid},{channel},inbound,2024-05-01T08:{i // 60 % 60:02d}:{s:02d}+08:00,2024-05-01T09:00:00+08:00,"
            f"2024-05-01T09:05:00+08:00,{wait},{i % 400}.5,answered,A{i % 7},{'true' if i % 3 else 'false'}\n"
        )
    path.write_text("".join(lines))
    return path


def outcome(wh: Warehouse, tenant: str) -> dict:
    """What a user can see of a tenant after loads: rows, rejects and the load counts (ids left out)."""
    contacts = read_rows(wh, tenant, "contacts", order_by=["contact_id"])
    for row in contacts:
        row.pop("load_id"), row.pop("tenant_id")
    rejects = [{k: r[k] for k in ("file", "line", "column_name", "reason")} for r in read_rows(wh, tenant, "rejects")]
    warnings = [{k: r[k] for k in ("file", "line", "column_name", "reason", "raw")}
                for r in read_rows(wh, tenant, "load_warnings")]  # fmt: skip
    loads = [
        {k: r[k] for k in ("rows_read", "loaded", "updated", "unchanged", "rejected", "skipped", "warned")}
        for r in read_rows(wh, tenant, "loads", order_by=["started_at"])
    ]
    return {"contacts": contacts, "rejects": sorted(rejects, key=str), "warnings": sorted(warnings, key=str),
            "loads": loads}


@pytest.fixture
def tenants(home: Warehouse) -> tuple[Warehouse, tenancy.Tenant, tenancy.Tenant]:
    """Two tenants: ``direct`` loads the default way, ``staged`` is forced through staging."""
    return home, tenancy.create_tenant(home, "direct"), tenancy.create_tenant(home, "staged")


def _both(wh: Warehouse, a: tenancy.Tenant, b: tenancy.Tenant, path: Path, watch: list[str]) -> tuple:
    mapping = canonical_mapping("contacts")
    s1 = load_files(wh, a, "contacts", [path], mapping, progress=watch.append)
    s2 = load_files(wh, b, "contacts", [path], mapping, direct=False)
    return s1, s2


@pytest.mark.parametrize("late", [None, "bad", "warn", "dup"])
def test_first_load_equals_staged(tenants: tuple, tmp_path: Path, late: str | None) -> None:
    """Clean, or with a bad row, a warned field or a repeated key past the sample: same rows, rejects and counts."""
    wh, a, b = tenants
    steps: list[str] = []
    s1, s2 = _both(wh, a, b, contacts_file(tmp_path / "c.csv", late=late), steps)
    assert any(m.startswith("streaming") for m in steps)  # the one-pass write was tried
    assert (late is not None) == any(m.startswith("staging") for m in steps)  # ... and rolled back
    fields = ("read", "loaded", "updated", "unchanged", "rejected", "skipped", "warned", "reject_reasons",
              "warn_reasons")
    assert {f: getattr(s1, f) for f in fields} == {f: getattr(s2, f) for f in fields}
    assert s1.read == ROWS and s1.loaded == ROWS - (late in ("bad", "dup"))
    assert s1.warned == (late == "warn") and s1.rejected == (late in ("bad", "dup"))
    seen = outcome(wh, "direct")
    assert seen == outcome(wh, "staged")
    if late == "warn":
        (w,) = seen["warnings"]
        assert (w["line"], w["column_name"], w["raw"]) == (LATE + 2, "wait_s", "-1.0")


def test_later_loads_new_keys_and_known_keys(tenants: tuple, tmp_path: Path) -> None:
    """A tenant with rows: new keys only load directly; a known key past the sample falls back to staging."""
    wh, a, b = tenants
    _both(wh, a, b, contacts_file(tmp_path / "day1.csv"), [])
    steps: list[str] = []
    s1, s2 = _both(wh, a, b, contacts_file(tmp_path / "day2.csv", first_id=ROWS), steps)
    assert not any(m.startswith("staging") for m in steps) and s1.loaded == s2.loaded == ROWS
    steps.clear()
    # day 3 repeats one of day 1's ids (changed values: an update) past the sample
    s1, s2 = _both(wh, a, b, contacts_file(tmp_path / "day3.csv", first_id=2 * ROWS, late="id:c7"), steps)
    assert any(m.startswith("staging") for m in steps)
    assert (s1.loaded, s1.updated) == (s2.loaded, s2.updated) == (ROWS - 1, 1)
    assert outcome(wh, "direct") == outcome(wh, "staged")


def test_reload_goes_straight_to_staging(tenants: tuple, tmp_path: Path) -> None:
    """Re-loading a file: the sample already shows known keys, so nothing is written twice."""
    wh, a, _ = tenants
    path = contacts_file(tmp_path / "c.csv", n=300)
    load_files(wh, a, "contacts", [path], canonical_mapping("contacts"))
    steps: list[str] = []
    again = load_files(wh, a, "contacts", [path], canonical_mapping("contacts"), progress=steps.append)
    assert again.unchanged == 300 and again.loaded == 0
    assert not any(m.startswith("streaming") for m in steps)


def test_a_failure_inside_the_direct_pass_leaves_nothing(tenants: tuple, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """An error after rows were written in the direct pass rolls them back: the tenant has no rows, no load."""
    wh, a, _ = tenants

    def boom(*_args: object, **_kw: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(loader, "_record_load", boom)  # fails after the rows went in, before COMMIT
    with pytest.raises(RuntimeError, match="disk full"):
        load_files(wh, a, "contacts", [contacts_file(tmp_path / "c.csv", n=300)], canonical_mapping("contacts"))
    assert read_rows(wh, "direct", "contacts") == [] and read_rows(wh, "direct", "loads") == []
