"""The Parquet lake (issue 17): Hive layout, incremental and atomic export, verification, and the whole catalog
giving the warehouse's numbers when it runs on the lake.

Two tenants whose names are prefixes of each other (``t1``, ``t10``) share one warehouse and one lake; both have
the same contact ids, so a missing tenant filter anywhere would change the numbers.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from callops import tenancy
from callops.errors import CallopsError
from callops.ingest.loader import load_files
from callops.ingest.mapping import load_mapping
from callops.lake.export import NO_DAY, export, partition_file, verify
from callops.lake.read import open_lake
from callops.metrics.catalog import build_catalog, package_files
from callops.metrics.compiler import PERIOD, compile_query
from callops.warehouse import Warehouse
from foundation_helpers import require_spark

ZONE = "Asia/Shanghai"


def _contacts(rng: np.random.Generator, n: int, start: datetime) -> pd.DataFrame:
    offered = [start + timedelta(seconds=int(s)) for s in np.sort(rng.integers(0, 10 * 86400, n))]
    outcome = rng.choice(["answered", "abandoned", "self_served", "transferred"], n, p=[0.65, 0.15, 0.1, 0.1])
    answered = np.isin(outcome, ["answered", "transferred"])
    wait = np.round(rng.exponential(25, n), 1)
    return pd.DataFrame({
        "contact_id": [f"c{i}" for i in range(n)],
        "queue": rng.choice(["billing", "tech"], n),
        "channel": rng.choice(["voice", "chat", "app"], n, p=[0.6, 0.3, 0.1]),
        "direction": "inbound",
        "customer_id": [f"u{k}" for k in rng.integers(0, 200, n)],
        "offered_at": offered,
        "answered_at": [o + timedelta(seconds=w) if a else None for o, w, a in zip(offered, wait, answered,
                                                                                   strict=True)],
        "wait_s": wait,
        "talk_s": np.where(answered, np.round(rng.gamma(2, 120, n), 1), np.nan),
        "acw_s": np.where(answered, np.round(rng.exponential(40, n), 1), np.nan),
        "outcome": outcome,
        "agent_id": [f"a{k}" if a else None for k, a in zip(rng.integers(0, 6, n), answered, strict=True)],
        "csat": np.where(rng.random(n) < 0.2, rng.integers(1, 6, n), np.nan),
    })


def _load(wh: Warehouse, tenant: str, table: str, df: pd.DataFrame, folder: Path, name: str = "") -> None:
    path = folder / f"{tenant}_{table}{name}.csv"
    df.to_csv(path, index=False)
    s = load_files(wh, tenancy.get_tenant(wh, tenant), table, [path], load_mapping("canonical", table))
    assert s.rejected == 0, s.reject_reasons


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse file: t1 (2,000 contacts over 10 days, 6 agents, customers) and t10 (800 contacts, same ids)."""
    folder = tmp_path_factory.mktemp("lake-base")
    path = folder / "warehouse.duckdb"
    rng = np.random.default_rng(17)
    start = datetime(2026, 3, 1, 1, tzinfo=UTC)
    with Warehouse(f"duckdb://{path}") as wh:
        for name, n in (("t1", 2000), ("t10", 800)):
            tenancy.create_tenant(wh, name, ZONE)
            _load(wh, name, "contacts", _contacts(rng, n, start), folder)
        _load(wh, "t1", "agents", pd.DataFrame({"agent_id": [f"a{k}" for k in range(6)], "team": ["x", "y"] * 3}),
              folder)
        _load(wh, "t1", "customers", pd.DataFrame({"customer_id": [f"u{k}" for k in range(200)],
                                                    "arpu": rng.gamma(2, 40, 200).round(2)}), folder)
    return path


@pytest.fixture
def world(base: Path, tmp_path: Path) -> Iterator[tuple[Warehouse, Path]]:
    """A copy of the base warehouse (each test may load into it) and a lake path."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(base, path)
    wh = Warehouse(f"duckdb://{path}")
    yield wh, tmp_path / "lake"
    wh.close()


def test_hive_layout_local_days_and_every_row(world: tuple[Warehouse, Path]) -> None:
    wh, lake = world
    t1 = tenancy.get_tenant(wh, "t1")
    report = export(wh, t1, str(lake))
    assert set(report["tables"]) == {"contacts", "agents", "customers"}
    # contacts partitioned by the local date of offered_at (Asia/Shanghai): count them independently
    raw = wh.writer().execute("SELECT offered_at FROM contacts WHERE tenant_id = 't1'").fetchall()
    days: dict[str, int] = {}
    for (ts,) in raw:
        d = ts.astimezone(__import__("zoneinfo").ZoneInfo(ZONE)).date().isoformat()
        days[d] = days.get(d, 0) + 1
    for d, n in days.items():
        assert pq.read_table(lake / partition_file("t1", "contacts", d)).num_rows == n
    assert sum(report["tables"]["contacts"]["rows_written"] for _ in [0]) == 2000
    assert (lake / partition_file("t1", "customers", NO_DAY)).is_file()  # no timestamp column: one partition
    assert not list(lake.glob("tenant=t10/**/*.parquet"))  # only the tenant asked for
    assert verify(wh, t1, str(lake))["ok"]


def test_export_is_incremental_and_rewrites_only_changed_days(world: tuple[Warehouse, Path]) -> None:
    wh, lake = world
    t1 = tenancy.get_tenant(wh, "t1")
    export(wh, t1, str(lake))
    again = export(wh, t1, str(lake))
    assert again["new_loads"] == [] and again["tables"] == {}
    # a new load of 3 contacts on one local day (2026-03-20): only that partition is written
    new = _contacts(np.random.default_rng(5), 3, datetime(2026, 3, 20, 2, tzinfo=UTC))
    new["contact_id"] = ["n1", "n2", "n3"]
    new["offered_at"] = [datetime(2026, 3, 20, 2, tzinfo=UTC) + timedelta(minutes=k) for k in range(3)]
    _load(wh, "t1", "contacts", new, lake.parent, "_new")
    third = export(wh, t1, str(lake))
    assert len(third["new_loads"]) == 1
    assert third["tables"]["contacts"] == {"partitions_written": 1, "partitions_removed": 0, "rows_written": 3,
                                           "partitions": 12}
    manifest = json.loads((lake / "_callops" / "t1" / "manifest.json").read_text())
    assert set(third["new_loads"]) <= set(manifest["loads"])
    assert verify(wh, t1, str(lake))["ok"]


def test_a_crash_mid_export_keeps_the_previous_manifest_and_the_next_export_repairs(
        world: tuple[Warehouse, Path]) -> None:
    wh, lake = world
    t1 = tenancy.get_tenant(wh, "t1")
    export(wh, t1, str(lake))
    before = (lake / "_callops" / "t1" / "manifest.json").read_text()
    changed = _contacts(np.random.default_rng(6), 50, datetime(2026, 3, 2, 1, tzinfo=UTC))  # same ids: updates
    _load(wh, "t1", "contacts", changed, lake.parent, "_upd")
    _load(wh, "t1", "agents", pd.DataFrame({"agent_id": ["a9"], "team": ["z"]}), lake.parent, "_upd")

    def crash(table: str) -> None:
        if table == "contacts":  # after the agents' partitions were written
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        export(wh, t1, str(lake), progress=crash)
    assert (lake / "_callops" / "t1" / "manifest.json").read_text() == before
    assert not list(lake.rglob(".tmp-*"))  # every file that exists is complete
    assert not verify(wh, t1, str(lake))["ok"]  # the contacts' days are behind
    export(wh, t1, str(lake))
    assert verify(wh, t1, str(lake))["ok"]


def test_verify_finds_a_tampered_partition(world: tuple[Warehouse, Path]) -> None:
    wh, lake = world
    t1 = tenancy.get_tenant(wh, "t1")
    export(wh, t1, str(lake))
    day = sorted(p.parent.name for p in lake.glob("tenant=t1/table=contacts/*/part-0.parquet"))[3].split("=")[1]
    path = lake / partition_file("t1", "contacts", day)
    table = pq.read_table(path)
    talk = table.column("talk_s").to_pylist()
    i = next(k for k, v in enumerate(talk) if v is not None)
    talk[i] += 1.0  # one value changed, same row count
    pq.write_table(table.set_column(table.schema.get_field_index("talk_s"), "talk_s",
                                    __import__("pyarrow").array(talk)), path)
    doc = verify(wh, t1, str(lake))
    assert not doc["ok"]
    assert doc["differences"] == [{"table": "contacts", "day": day, "warehouse_rows": table.num_rows,
                                   "lake_rows": table.num_rows, "same_rows": True, "same_hash": False}]


def _same(a: object, b: object) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)) or (isinstance(b, float) and math.isnan(b)):
        return (a is None or a != a) and (b is None or b != b)
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


@pytest.mark.parametrize(("grain", "by"), [("day", ["queue"]), ("month", [])])
def test_every_catalog_metric_is_the_same_on_the_lake(world: tuple[Warehouse, Path], grain: str,
                                                      by: list[str]) -> None:
    """Every base metric of the catalog, at day x queue and month, on the lake (DuckDB over Parquet) equals
    the warehouse, cell by cell to 1e-9, for each of two tenants exported to the same lake."""
    wh, lake = world
    for name in ("t1", "t10"):
        export(wh, tenancy.get_tenant(wh, name), str(lake))
    cat = build_catalog(package_files())
    t1 = tenancy.get_tenant(wh, "t1")

    def groups_by(metric: str) -> bool:  # a metric whose sources have no `queue` (e.g. QA scores) is left out
        try:
            compile_query(wh, t1, cat, [metric], grain=grain, by=by)
        except CallopsError:
            return False
        return True

    base = [m for m in cat.metrics if "__" not in m and groups_by(m)]
    assert len(base) > 40
    with open_lake(str(lake)) as lw:
        for name in ("t1", "t10"):
            wt, lt = tenancy.get_tenant(wh, name), tenancy.get_tenant(lw, name)
            for chunk in (base[i:i + 40] for i in range(0, len(base), 40)):
                a = compile_query(wh, wt, cat, chunk, grain=grain, by=by).to_pandas()
                b = compile_query(lw, lt, cat, chunk, grain=grain, by=by).to_pandas()
                a, b = (f.sort_values([PERIOD, *by]).reset_index(drop=True) for f in (a, b))
                assert len(a) == len(b) > 0
                for col in a.columns:
                    bad = [(x, y) for x, y in zip(a[col].tolist(), b[col].tolist(), strict=True) if not _same(x, y)]
                    assert not bad, f"{name} {col}: {bad[:3]}"


def test_bad_lakes_get_clear_messages(world: tuple[Warehouse, Path], tmp_path: Path) -> None:
    wh, lake = world
    t1 = tenancy.get_tenant(wh, "t1")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(CallopsError, match="is not writable"):
        export(wh, t1, str(blocker / "lake"))
    export(wh, t1, str(lake))
    (lake / "_callops" / "lake.json").write_text(json.dumps({"format_version": 99}))
    with pytest.raises(CallopsError, match="written by format version 99"):
        export(wh, t1, str(lake))
    with pytest.raises(CallopsError, match="format version 99"), open_lake(str(lake)):
        pass
    with pytest.raises(CallopsError, match="holds no exported tenant"), open_lake(str(tmp_path / "empty")):
        pass
    with pytest.raises(CallopsError, match="unknown engine 'oracle'"), open_lake(str(lake), "oracle"):
        pass


def test_cli_export_verify_and_query_on_the_lake(world: tuple[Warehouse, Path]) -> None:
    wh, lake = world
    url = wh.url
    wh.close()
    env = {**os.environ, "CALLOPS_HOME": str(lake.parent / "home"), "CALLOPS_WAREHOUSE": url}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "callops.cli", *args], capture_output=True, text=True, env=env,
                              timeout=300)

    out = cli("lake", "export", "--tenant", "t1", "--to", str(lake), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["tables"]["contacts"]["rows_written"] == 2000
    ok = cli("lake", "verify", "--tenant", "t1", "--to", str(lake), "--json")
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"] is True
    q = ["metrics", "query", "--tenant", "t1", "--metric", "contacts_offered,service_level", "--grain", "month",
         "--format", "json"]
    assert json.loads(cli(*q).stdout) == json.loads(cli(*q, "--engine", "duckdb", "--lake", str(lake)).stdout)
    bad = cli(*q, "--engine", "duckdb")
    assert bad.returncode != 0 and "--engine and --lake go together" in bad.stderr and "Traceback" not in bad.stderr
    # a lake whose files were changed: verify exits 1 and names the partition
    next(lake.glob("tenant=t1/table=contacts/*/part-0.parquet")).unlink()
    bad = cli("lake", "verify", "--tenant", "t1", "--to", str(lake))
    assert bad.returncode == 1 and "contacts 2026-03-" in bad.stderr


@pytest.mark.xdist_group("spark")
def test_the_catalog_on_the_lake_with_spark(world: tuple[Warehouse, Path]) -> None:
    """Spark (local[2]) reading the lake's files gives the warehouse's numbers, cell by cell to 1e-9.

    ``CALLOPS_TEST_SPARK_MASTER`` runs it on another master instead: a standalone ``spark://`` cluster or a Spark
    Connect server ``sc://host:15002`` on this machine (docs/lake.md, "Checking a cluster")."""
    require_spark()
    wh, lake = world
    for name in ("t1", "t10"):
        export(wh, tenancy.get_tenant(wh, name), str(lake))
    cat = build_catalog(package_files())
    metrics = ["contacts_offered", "contacts_answered", "service_level", "asa_s", "aht_s", "abandon_rate",
               "cost_per_contact", "cost_per_contact__voice", "csat_mean", "repeat_rate"]
    metrics = [m for m in metrics if m in cat.metrics]
    with open_lake(str(lake), "spark", os.environ.get("CALLOPS_TEST_SPARK_MASTER") or None) as sw:
        for name in ("t1", "t10"):
            a = compile_query(wh, tenancy.get_tenant(wh, name), cat, metrics, grain="day", by=["queue"]).to_pandas()
            b = compile_query(sw, tenancy.get_tenant(sw, name), cat, metrics, grain="day", by=["queue"]).to_pandas()
            a[PERIOD] = [pd.Timestamp(v) for v in a[PERIOD]]
            b[PERIOD] = [pd.Timestamp(v) for v in b[PERIOD]]
            a, b = (f.sort_values([PERIOD, "queue"]).reset_index(drop=True) for f in (a, b))
            assert len(a) == len(b) > 0
            for col in a.columns:
                bad = [(x, y) for x, y in zip(a[col].tolist(), b[col].tolist(), strict=True) if not _same(x, y)]
                assert not bad, f"{name} {col}: {bad[:3]}"

