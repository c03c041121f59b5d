"""Loads that replace a slice (``loader.Replace``): how a changed schedule reaches the warehouse. The expected
tables are written out by hand here; tenants ``t1`` and ``t10`` share the warehouse."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callops import tenancy
from callops.errors import CallopsError
from callops.ingest.loader import Replace, load_files
from callops.ingest.mapping import canonical_mapping
from callops.warehouse import Warehouse

HEADER = "agent_id,activity,start_at,end_at,queue\n"
DAY = "2026-11-02T"


def _file(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    path.write_text(HEADER + "".join(f"{a},{act},{DAY}{s}:00+00:00,{DAY}{e}:00+00:00,q\n" for a, act, s, e in rows),
                    encoding="utf-8")  # fmt: skip
    return path


def _blocks(wh: Warehouse, tenant: str) -> list[tuple[str, str, str, str]]:
    t = tenancy.scoped(wh, tenant, "schedules")
    rows = t.order_by([t.agent_id, t.start_at]).to_pyarrow().to_pylist()
    return [(r["agent_id"], r["activity"], r["start_at"].strftime("%H:%M"), r["end_at"].strftime("%H:%M"))
            for r in rows]  # fmt: skip


def _at(hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{DAY}{hhmm}:00+00:00").astimezone(UTC)


PLAN = [("a", "work", "09:00", "10:30"), ("a", "break", "10:30", "10:45"), ("a", "work", "10:45", "13:00"),
        ("a", "work", "14:00", "17:00"), ("b", "work", "09:00", "17:00")]  # fmt: skip


@pytest.fixture
def world(home: Warehouse, tmp_path: Path) -> Warehouse:
    """t1 and t10 with the same plan."""
    for name in ("t1", "t10"):
        tenancy.create_tenant(home, name, "UTC")
        load_files(home, tenancy.get_tenant(home, name), "schedules", [_file(tmp_path / f"{name}.csv", PLAN)],
                   canonical_mapping("schedules"))  # fmt: skip
    return home


def test_time_off_replaces_the_agents_blocks_in_the_window(world: Warehouse, tmp_path: Path) -> None:
    """a takes 10:00-12:00 off: blocks meeting the window give way to the change's rows (the 09:00 block keeps
    its key and is updated to end at 10:00); blocks outside it, agent b and tenant t10 stay."""
    change = [("a", "work", "09:00", "10:00"), ("a", "off", "10:00", "12:00"), ("a", "work", "12:00", "13:00")]
    s = load_files(world, tenancy.get_tenant(world, "t1"), "schedules", [_file(tmp_path / "c.csv", change)],
                   canonical_mapping("schedules"), replace=Replace("agent_id", ("a",), _at("10:00"), _at("12:00")))
    assert (s.loaded, s.updated, s.unchanged, s.removed) == (2, 1, 0, 2)  # break 10:30 and work 10:45 went
    assert _blocks(world, "t1") == [("a", "work", "09:00", "10:00"), ("a", "off", "10:00", "12:00"),
                                    ("a", "work", "12:00", "13:00"), ("a", "work", "14:00", "17:00"),
                                    ("b", "work", "09:00", "17:00")]  # fmt: skip
    assert _blocks(world, "t10") == PLAN
    removed = world.writer().execute("SELECT removed FROM loads WHERE load_id = ?", [s.load_id]).fetchall()
    assert removed == [(2,)]
    again = load_files(world, tenancy.get_tenant(world, "t1"), "schedules", [tmp_path / "c.csv"],
                       canonical_mapping("schedules"), replace=Replace("agent_id", ("a",), _at("10:00"), _at("12:00")))
    assert (again.loaded, again.updated, again.unchanged, again.removed) == (0, 0, 3, 0)  # re-running: no change


def test_a_replacing_load_with_a_bad_row_changes_nothing(world: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + f"a,off,{DAY}10:00:00+00:00,{DAY}12:00:00+00:00,q\n"
                    f"a,holiday,{DAY}12:00:00+00:00,{DAY}13:00:00+00:00,q\n", encoding="utf-8")  # fmt: skip
    with pytest.raises(CallopsError, match="must load every row"):
        load_files(world, tenancy.get_tenant(world, "t1"), "schedules", [path], canonical_mapping("schedules"),
                   replace=Replace("agent_id", ("a",), _at("10:00"), _at("13:00")))  # fmt: skip
    assert _blocks(world, "t1") == PLAN


@pytest.mark.parametrize("replace", [Replace("nope", ("a",), _at("10:00"), _at("12:00")),
                                     Replace("agent_id", ("a",), _at("12:00"), _at("10:00"))])  # fmt: skip
def test_a_slice_that_cannot_be_meant_is_refused(world: Warehouse, tmp_path: Path, replace: Replace) -> None:
    with pytest.raises(CallopsError, match=r"no such column|empty"):
        load_files(world, tenancy.get_tenant(world, "t1"), "schedules", [_file(tmp_path / "x.csv", PLAN[:1])],
                   canonical_mapping("schedules"), replace=replace)  # fmt: skip


HOURS = [f"{h:02d}:00" for h in range(8, 19)]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(["work", "off", "break"]),
                          st.integers(0, 9), st.integers(1, 3)), max_size=4),
       st.integers(0, 8), st.integers(1, 4), st.sampled_from([("a",), ("b",), ("a", "b")]))  # fmt: skip
def test_replace_equals_remove_then_add(home: Warehouse, tmp_path_factory: pytest.TempPathFactory,
                                        new: list, lo: int, span: int, agents: tuple) -> None:  # fmt: skip
    """Whatever the rows and the window: the result is the plan without the agents' blocks meeting the window,
    plus the new rows (recomputed here by brute force; new rows here never share a start with each other)."""
    tmp = tmp_path_factory.mktemp("replace")
    name = f"p{tmp.name[-6:].replace('-', '')}"
    tenancy.create_tenant(home, name, "UTC")
    t = tenancy.get_tenant(home, name)
    load_files(home, t, "schedules", [_file(tmp / "plan.csv", PLAN)], canonical_mapping("schedules"))
    rows, starts = [], set()
    for a, act, s, d in new:
        if (a, s) in starts or a not in agents:
            continue
        starts.add((a, s))
        rows.append((a, act, HOURS[s], HOURS[min(s + d, len(HOURS) - 1)]))
    rows = [r for r in rows if r[2] < r[3]]
    w_lo, w_hi = HOURS[lo], HOURS[min(lo + span, len(HOURS) - 1)]
    if not w_lo < w_hi:
        return
    load_files(home, t, "schedules", [_file(tmp / "new.csv", rows)], canonical_mapping("schedules"),
               replace=Replace("agent_id", agents, _at(w_lo), _at(w_hi)))  # fmt: skip
    kept = [r for r in PLAN if not (r[0] in agents and r[2] < w_hi and r[3] > w_lo)]
    by_key = {(r[0], r[2]): r for r in kept}
    by_key.update({(r[0], r[2]): r for r in rows})  # a new row with a kept row's start takes its place (the key)
    assert _blocks(home, name) == sorted(by_key.values(), key=lambda r: (r[0], r[2]))
