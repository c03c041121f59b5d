"""The journey views and the forecast history on the Parquet lake (issue 17, part 2) give the warehouse's results.

Two tenants whose names are prefixes of each other (``t1``, ``t10``) share one warehouse and one lake, with the same
session and contact ids but different events, so a missing tenant filter anywhere would change the results. Also:
the synthetic-contact generator of ``bench/lake_generate.py`` (issue 17, part 3) writes a lake the catalog reads,
and its bad input.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from callops import tenancy
from callops.errors import CallopsError
from callops.ingest.loader import load_files
from callops.ingest.mapping import load_mapping
from callops.journey.events import Selection
from callops.journey.funnels import Funnel, evaluate
from callops.journey.views import dfg, summary, variants
from callops.lake.export import export
from callops.lake.read import open_lake
from callops.lake.source import check_source
from callops.warehouse import Warehouse
from callops.wfm.forecast_io import warehouse_intervals
from foundation_helpers import require_spark

ROOT = Path(__file__).resolve().parents[2]
ZONE = "Asia/Shanghai"
STEPS = ["login", "verify_identity", "view_bill", "pay", "chat_agent", "logout"]


def _journeys(rng: np.random.Generator, sessions: int, start: datetime) -> pd.DataFrame:
    """Random sessions over 12 days: a Markov walk over STEPS with loops and returns, waits of seconds to hours."""
    rows = []
    for s in range(sessions):
        ts = start + timedelta(seconds=int(rng.integers(0, 12 * 86400)))
        step = "login"
        for seq in range(int(rng.integers(1, 9))):
            rows.append({"session_id": f"s{s}", "seq": seq, "customer_id": f"u{s % 40}", "ts": ts,
                         "channel": ["app", "web", "voice"][s % 3], "step": step,
                         "outcome": "failed" if step == "pay" and rng.random() < 0.3 else "ok"})
            ts += timedelta(seconds=int(rng.exponential(300)) if rng.random() < 0.9 else 0)  # some ties
            step = STEPS[int(rng.integers(0, len(STEPS)))] if rng.random() < 0.7 else step
    return pd.DataFrame(rows)


def _contacts(rng: np.random.Generator, n: int, start: datetime) -> pd.DataFrame:
    """Inbound contacts over 21 days (a sparse first week, so the dense-history cut applies), two queues."""
    days = np.where(rng.random(n) < 0.05, rng.integers(0, 7, n), rng.integers(7, 21, n))
    offered = [start + timedelta(days=int(d), seconds=int(s)) for d, s in zip(days, rng.integers(0, 86400, n),
                                                                             strict=True)]
    answered = rng.random(n) < 0.8
    return pd.DataFrame({
        "contact_id": [f"c{i}" for i in range(n)],
        "queue": rng.choice(["billing", "tech"], n),
        "channel": "voice",
        "direction": "inbound",
        "offered_at": offered,
        "answered_at": [o + timedelta(seconds=30) if a else None for o, a in zip(offered, answered, strict=True)],
        "wait_s": 30.0,
        "talk_s": np.where(answered, rng.gamma(2, 100, n).round(1), np.nan),
        "acw_s": np.where(answered, 20.0, np.nan),
        "outcome": np.where(answered, "answered", "abandoned"),
    })


def _load(wh: Warehouse, tenant: str, table: str, df: pd.DataFrame, folder: Path) -> None:
    path = folder / f"{tenant}_{table}.csv"
    df.to_csv(path, index=False)
    s = load_files(wh, tenancy.get_tenant(wh, tenant), table, [path], load_mapping("canonical", table))
    assert s.rejected == 0, s.reject_reasons


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Warehouse, str]]:
    """A warehouse with t1 and t10 (journeys and contacts) and a lake holding both tenants' export."""
    folder = tmp_path_factory.mktemp("lake-views")
    rng = np.random.default_rng(1717)
    start = datetime(2026, 3, 1, 1, tzinfo=UTC)
    url = f"duckdb://{folder / 'warehouse.duckdb'}"
    lake = str(folder / "lake")
    with Warehouse(url) as wh:
        for name, sessions, contacts in (("t1", 400, 3000), ("t10", 150, 1200)):
            tenancy.create_tenant(wh, name, ZONE)
            _load(wh, name, "journey_events", _journeys(rng, sessions, start), folder)
            _load(wh, name, "contacts", _contacts(rng, contacts, start), folder)
        for name in ("t1", "t10"):
            doc = export(wh, tenancy.get_tenant(wh, name), lake)
            assert doc["tables"]["journey_events"]["rows_written"] > 0  # the export carries the journey events
    wh = Warehouse(url, read_only=True)
    yield wh, lake
    wh.close()


SELECTIONS = [None, Selection(date(2026, 3, 4), date(2026, 3, 9), None), Selection(None, None, "channel = 'app'")]


@pytest.mark.parametrize("sel", SELECTIONS, ids=["all", "dates", "where"])
def test_journey_views_on_the_lake_equal_the_warehouse(world: tuple[Warehouse, str], sel: Selection | None) -> None:
    wh, lake = world
    with open_lake(lake, "duckdb") as lw:
        for name in ("t1", "t10"):
            t, lt = tenancy.get_tenant(wh, name), tenancy.get_tenant(lw, name)
            want = (summary(wh, t, sel), variants(wh, t, sel, top=None), dfg(wh, t, sel))
            got = (summary(lw, lt, sel), variants(lw, lt, sel, top=None), dfg(lw, lt, sel))
            assert got == want, name
            assert want[0]["sessions"] > 0 and want[0]["edges"] > 3
    # the two tenants differ, so equality above is not that of two empty or identical results
    assert summary(wh, tenancy.get_tenant(wh, "t1")) != summary(wh, tenancy.get_tenant(wh, "t10"))


def test_funnel_on_the_lake_equals_the_warehouse(world: tuple[Warehouse, str]) -> None:
    wh, lake = world
    funnel = Funnel.model_validate({"name": "pay", "steps": ["login", "view_bill", "pay"]})
    with open_lake(lake, "duckdb") as lw:
        for name in ("t1", "t10"):
            want = evaluate(wh, tenancy.get_tenant(wh, name), funnel)
            assert evaluate(lw, tenancy.get_tenant(lw, name), funnel) == want
            assert want["steps"][0]["reached"] > want["steps"][-1]["reached"] > 0


def test_forecast_history_on_the_lake_equals_the_warehouse(world: tuple[Warehouse, str]) -> None:
    wh, lake = world
    interval = 15
    with open_lake(lake, "duckdb") as lw:
        for name in ("t1", "t10"):
            want = warehouse_intervals(wh, name, interval)
            got = warehouse_intervals(lw, name, interval)
            pd.testing.assert_frame_equal(got, want, check_dtype=False)
            # independent count: the dense history starts after the sparse first week
            assert want["interval_start"].min() >= pd.Timestamp("2026-03-08")
            assert set(want["queue"]) == {"billing", "tech"}
        one, every = warehouse_intervals(lw, "t1", interval, queue="tech"), warehouse_intervals(lw, "t1", interval)
        assert set(one["queue"]) == {"tech"} and 0 < one["offered"].sum() < every["offered"].sum()


@pytest.mark.slow
def test_forecast_history_on_spark_equals_the_warehouse(world: tuple[Warehouse, str]) -> None:
    """One Spark case (local[2], ~20 s to start): the forecast history is Ibis, so it runs on Spark unchanged."""
    require_spark()
    wh, lake = world
    with open_lake(lake, "spark") as sw:
        for name in ("t1", "t10"):
            want = warehouse_intervals(wh, name, 30)
            got = warehouse_intervals(sw, name, 30)
            pd.testing.assert_frame_equal(got, want, check_dtype=False)


def _cli(world: tuple[Warehouse, str], *args: str) -> subprocess.CompletedProcess:
    """``callops ARGS`` on a copy of the warehouse file (the fixture holds the file open)."""
    wh, lake = world
    copy = Path(lake).parent / "cli-warehouse.duckdb"
    if not copy.exists():
        shutil.copyfile(wh.url.removeprefix("duckdb://"), copy)
    env = {**os.environ, "CALLOPS_HOME": str(Path(lake).parent / "home"), "CALLOPS_WAREHOUSE": f"duckdb://{copy}"}
    env.pop("CALLOPS_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "callops.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def _one_line(out: subprocess.CompletedProcess, *words: str) -> None:
    assert out.returncode == 2, (out.returncode, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr and out.stdout == "", out.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


def test_cli_journey_and_forecast_with_lake(world: tuple[Warehouse, str]) -> None:
    _, lake = world
    for view in ("summary", "variants", "dfg"):
        args = ["journey", view, "--tenant", "t10", "--json"]
        a, b = _cli(world, *args), _cli(world, *args, "--lake", lake)
        assert a.returncode == b.returncode == 0, (a.stderr, b.stderr)
        assert json.loads(a.stdout) == json.loads(b.stdout)
    args = ["forecast", "--tenant", "t10", "--queue", "tech", "--horizon", "1d", "--interval", "60", "--folds", "1",
            "--holidays", "none", "--json"]
    a, b = _cli(world, *args), _cli(world, *args, "--lake", lake, "--engine", "duckdb")
    assert a.returncode == b.returncode == 0, (a.stderr, b.stderr)
    fa, fb = json.loads(a.stdout), json.loads(b.stdout)
    assert fa["intervals"] == fb["intervals"] and len(fa["intervals"]) == 24
    assert fa["history_end"] == fb["history_end"] and fa["snapshot_id"] != fb["snapshot_id"]


def test_bad_source_options_are_one_line(world: tuple[Warehouse, str], tmp_path: Path) -> None:
    _, lake = world
    _one_line(_cli(world, "journey", "summary", "--tenant", "t1", "--lake", lake, "--engine", "spark"),
              "--engine duckdb")  # refused before Spark starts
    _one_line(_cli(world, "journey", "dfg", "--tenant", "t1", "--engine", "duckdb"), "--lake")
    _one_line(_cli(world, "forecast", "--tenant", "t1", "--lake", lake, "--engine", "hive"), "unknown engine")
    _one_line(_cli(world, "forecast", "--tenant", "t1", "--lake", lake, "--spark-master", "local[2]"),
              "--engine spark")
    _one_line(_cli(world, "journey", "summary", "--tenant", "t1", "--lake", str(tmp_path / "nothing")),
              "no exported tenant")
    with pytest.raises(CallopsError, match="add --lake"):
        check_source(None, None, "spark://h:7077")


def test_views_refuse_a_lake_of_another_version_and_leave_it(world: tuple[Warehouse, str], tmp_path: Path) -> None:
    wh, _ = world
    lake = tmp_path / "old"
    export(wh, tenancy.get_tenant(wh, "t1"), str(lake))
    stamp = lake / "_callops" / "lake.json"
    stamp.write_text(json.dumps({"format_version": 99}))
    before = {p: p.read_bytes() for p in lake.rglob("*") if p.is_file()}
    _one_line(_cli(world, "journey", "variants", "--tenant", "t1", "--lake", str(lake)), "format version 99")
    _one_line(_cli(world, "forecast", "--tenant", "t1", "--lake", str(lake)), "format version 99")
    assert {p: p.read_bytes() for p in lake.rglob("*") if p.is_file()} == before


# ------------------------------------------------------------------------------------- the generator (part 3)
def _generate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "bench" / "lake_generate.py"), *args], capture_output=True,
                          text=True, timeout=300)


def test_generator_writes_a_lake_the_catalog_reads(tmp_path: Path) -> None:
    from callops.metrics.query import query

    lake = tmp_path / "gen"
    out = _generate("30000", "--to", str(lake), "--days", "7", "--start", "2026-03-02")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["rows"] == 30000 and doc["days"] == 7
    manifest = json.loads((lake / "_callops" / "bench" / "manifest.json").read_text())
    days = manifest["tables"]["contacts"]
    assert sum(d["rows"] for d in days.values()) == 30000
    assert days["2026-03-02"]["rows"] > days["2026-03-08"]["rows"]  # Monday busier than Sunday
    with open_lake(str(lake)) as lw:
        metrics = ["contacts_all", "contacts_offered", "contacts_abandoned", "service_level", "aht_s", "repeat_rate"]
        t = query(lw, "bench", metrics, grain="day", by=["queue"]).to_pandas()
        hours = lw.backend.raw_sql(
            f"SELECT hour(timezone('{ZONE}', offered_at)) AS h, count(*) AS n FROM contacts GROUP BY 1").df()
        ids = lw.backend.raw_sql("SELECT count(DISTINCT contact_id) AS n FROM contacts").df()["n"][0]
    assert int(t["contacts_all"].sum()) == 30000 and ids == 30000
    assert 0 < 30000 - int(t["contacts_offered"].sum()) < 0.1 * 30000  # self-served in the IVR are not offered
    assert set(t["queue"]) == {"billing", "data_plans", "broadband", "complaints", "vip", "roaming"}
    assert 0.05 < t["contacts_abandoned"].sum() / 30000 < 0.4
    assert t["service_level"].between(0.05, 0.99).all() and t["aht_s"].between(200, 900).all()
    assert t["repeat_rate"].min() > 0 and t["repeat_rate"].max() < 1  # repeat callers, not everyone
    n = dict(zip(hours["h"], hours["n"], strict=True))
    assert n[10] > 10 * n[3]  # office hours, quiet nights


def test_generator_bad_input_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"  # a root under a file, and /proc (refuses folders whoever asks, root too)
    blocker.write_text("not a folder")
    for root in (blocker / "lake", Path("/proc/callops-gen")):
        out = _generate("100", "--to", str(root))
        assert out.returncode == 2 and "is not writable" in out.stderr and "Traceback" not in out.stderr
        assert out.stdout == "" and len(out.stderr.strip().splitlines()) == 1
    assert blocker.read_text() == "not a folder" and not Path("/proc/callops-gen").exists()
    lake = tmp_path / "lake"
    assert _generate("100", "--to", str(lake), "--days", "1").returncode == 0
    before = {p: p.read_bytes() for p in lake.rglob("*") if p.is_file()}
    again = _generate("100", "--to", str(lake), "--days", "1")
    assert again.returncode == 2 and "already holds tenant 'bench'" in again.stderr and again.stdout == ""
    assert {p: p.read_bytes() for p in lake.rglob("*") if p.is_file()} == before
    (lake / "_callops" / "lake.json").write_text(json.dumps({"format_version": 99}))
    other = _generate("100", "--to", str(lake), "--tenant", "other", "--days", "1")
    assert other.returncode == 2 and "format version 99" in other.stderr
    assert not (lake / "tenant=other").exists()
