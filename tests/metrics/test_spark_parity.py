"""The same catalog gives the same numbers on local PySpark (through Ibis) as on DuckDB.

A small random tenant (and a second tenant whose rows must not leak in) is loaded into
DuckDB with the ordinary loader; the warehouse tables are copied to Parquet and registered
as Spark views of the same names; :meth:`Warehouse.from_backend` points the compiler at
Spark, so every read still goes through :func:`callops.tenancy.scoped`. Each query is run
on both engines and compared cell by cell (relative tolerance 1e-9).

Skips when pyspark or Java is missing, unless CALLOPS_REQUIRE_SERVICES=1 (then it fails).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from callops import tenancy
from callops.errors import CallopsError
from callops.metrics.catalog import Catalog, build_catalog, package_files
from callops.metrics.compiler import PERIOD, compile_query
from callops.metrics.spec import Parameters
from callops.warehouse import Warehouse
from foundation_helpers import require_spark

# One Spark session per run: under `pytest -n 2 --dist loadgroup` these tests share one worker.
pytestmark = pytest.mark.xdist_group("spark")

ZONE = "Europe/Berlin"  # DST starts 2026-03-29: local intervals and days must agree across engines
TABLES = ("contacts", "agent_states", "agents")
CONTACT_METRICS = [
    "contacts_offered", "contacts_answered", "contacts_abandoned", "contacts_self_served", "service_level",
    "asa_s", "aht_s", "abandon_rate", "transfer_rate", "aht_s__voice", "service_level__chat", "nps",
    "repeat_rate",
]
CASES = [  # (grain, by, metrics, params, where, start, end)
    ("interval:30", ["queue"], CONTACT_METRICS, {}, None, date(2026, 3, 28), date(2026, 3, 30)),
    ("hour", [], CONTACT_METRICS[:-2], {"sl_variant": "within_t_over_offered", "sl_threshold_s": 30}, None, None, None),
    ("day", ["channel", "center"], CONTACT_METRICS[:-1], {"short_abandon_s": 5}, None, None, None),
    ("month", ["queue"], CONTACT_METRICS, {}, "channel in ('voice', 'chat')", None, None),
    ("week", [], ["service_level", "abandon_rate", "asa_s"], {"sl_variant": "within_t_over_answered"}, None, None,
     None),
    ("hour", ["team"], ["occupancy", "utilisation", "aht_s"], {}, None, None, None),
    ("day", [], ["occupancy", "contacts_answered"], {}, None, None, None),
]


def _contacts(rng: np.random.Generator, n: int, prefix: str) -> pd.DataFrame:
    """Random contacts over Feb-Apr 2026 with every outcome, nulls and a few repeat customers."""
    start = datetime(2026, 2, 20, tzinfo=UTC)
    offered = [start + timedelta(seconds=int(s)) for s in np.sort(rng.integers(0, 60 * 86400, n))]
    outcome = rng.choice(["answered", "abandoned", "self_served", "transferred", "callback"], n,
                         p=[0.6, 0.15, 0.1, 0.1, 0.05])
    answered = np.isin(outcome, ["answered", "transferred"])
    wait = np.round(rng.exponential(25, n), 1)
    wait[rng.random(n) < 0.03] = np.nan
    direction = np.where(rng.random(n) < 0.9, "inbound", "outbound")
    df = pd.DataFrame({
        "contact_id": [f"{prefix}{i}" for i in range(n)],
        "center": rng.choice(["north", "south"], n),
        "queue": rng.choice(["billing", "tech", "vip"], n),
        "channel": rng.choice(["voice", "chat", "email"], n, p=[0.6, 0.3, 0.1]),
        "direction": direction,
        "customer_id": [f"u{k}" if k < 300 else None for k in rng.integers(0, 330, n)],
        "offered_at": offered,
        "answered_at": [o + timedelta(seconds=0 if math.isnan(w) else w) if a else None
                        for o, w, a in zip(offered, wait, answered, strict=True)],
        "wait_s": wait,
        "talk_s": np.where(answered, np.round(rng.gamma(2, 120, n), 1), np.nan),
        "hold_s": np.where(answered & (rng.random(n) < 0.3), np.round(rng.exponential(30, n), 1), np.nan),
        "acw_s": np.where(answered, np.round(rng.exponential(40, n), 1), np.nan),
        "outcome": outcome,
        "agent_id": [f"a{k}" if a else None for k, a in zip(rng.integers(0, 8, n), answered, strict=True)],
        "transfers": np.where(outcome == "transferred", 1, 0),
        "nps": np.where(rng.random(n) < 0.2, rng.integers(0, 11, n), np.nan),
    })
    return df


def _agent_states(rng: np.random.Generator) -> pd.DataFrame:
    """Back-to-back states of 8 agents over three days around the DST change."""
    rows = []
    for k in range(8):
        t = datetime(2026, 3, 28, 6, tzinfo=UTC) + timedelta(minutes=int(rng.integers(0, 120)))
        while t < datetime(2026, 3, 31, tzinfo=UTC):
            length = timedelta(seconds=int(rng.integers(60, 3600)))
            state = rng.choice(["ready", "busy", "acw", "aux", "offline"], p=[0.3, 0.35, 0.15, 0.1, 0.1])
            rows.append({"agent_id": f"a{k}", "state": state, "started_at": t, "ended_at": t + length})
            t += length
    return pd.DataFrame(rows)


def _load(wh: Warehouse, tenant: str, table: str, df: pd.DataFrame, folder: Path) -> None:
    from callops.ingest.loader import load_files
    from callops.ingest.mapping import load_mapping

    t = tenancy.get_tenant(wh, tenant)
    path = folder / f"{tenant}_{table}.csv"
    df.to_csv(path, index=False)
    summary = load_files(wh, t, table, [path], load_mapping("canonical", table))
    assert summary.rejected == 0, summary.reject_reasons


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Warehouse, Warehouse, tenancy.Tenant]]:
    """(DuckDB warehouse, Spark warehouse over the same tables, tenant)."""
    require_spark()
    import ibis
    from pyspark.sql import SparkSession

    folder = tmp_path_factory.mktemp("spark_parity")
    duck = Warehouse("duckdb://:memory:")
    rng = np.random.default_rng(20260329)
    tenant = tenancy.create_tenant(duck, "par", ZONE)
    tenancy.create_tenant(duck, "other", "Asia/Shanghai")
    _load(duck, "par", "contacts", _contacts(rng, 3000, "c"), folder)
    _load(duck, "other", "contacts", _contacts(rng, 500, "c"), folder)  # same ids, other tenant: must not leak
    _load(duck, "par", "agent_states", _agent_states(rng), folder)
    roster = pd.DataFrame({"agent_id": [f"a{k}" for k in range(8)], "team": ["t1", "t2"] * 4})
    _load(duck, "par", "agents", roster, folder)
    # A replica of the warehouse tables (all tenants, as a Spark cluster would hold them).
    for table in TABLES:
        duck.writer().execute(
            f"COPY (SELECT * EXCLUDE (_row_hash) FROM \"{table}\") TO '{folder / table}.parquet' (FORMAT parquet)"
        )
    session = (
        SparkSession.builder.master("local[2]")
        .appName("callops-parity")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    for table in TABLES:
        session.read.parquet(str(folder / f"{table}.parquet")).createOrReplaceTempView(table)
    spark = Warehouse.from_backend(ibis.pyspark.connect(session))
    yield duck, spark, tenant
    session.stop()
    duck.close()


@pytest.fixture(scope="module")
def cat() -> Catalog:
    """The shipped catalog."""
    return build_catalog(package_files())


def _frame(wh: Warehouse, tenant: tenancy.Tenant, cat: Catalog, case: tuple) -> pd.DataFrame:
    grain, by, metrics, params, where, start, end = case
    expr = compile_query(wh, tenant, cat, metrics, grain=grain, by=by, start=start, end=end, where=where,
                         params=Parameters(**params))
    df = expr.to_pandas()
    # DuckDB gives µs timestamps or dates, Spark ns timestamps or dates: compare as pandas Timestamps.
    df[PERIOD] = [pd.Timestamp(v) for v in df[PERIOD]]
    return df.sort_values([PERIOD, *by], na_position="first").reset_index(drop=True)


def _same(a: object, b: object) -> bool:
    if a is None or b is None or (isinstance(a, float) and math.isnan(a)) or (isinstance(b, float) and math.isnan(b)):
        return (a is None or a != a) and (b is None or b != b)
    if isinstance(a, int | float | np.number) and isinstance(b, int | float | np.number):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return a == b


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{'+'.join(c[1]) or 'all'}-{len(c[2])}m" for c in CASES])
def test_spark_matches_duckdb(engines, cat: Catalog, case: tuple) -> None:
    """Every cell of the result is the same on Spark and DuckDB."""
    duck, spark, tenant = engines
    a = _frame(duck, tenant, cat, case)
    b = _frame(spark, tenant, cat, case)
    assert len(a) > 0
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b), f"{len(a)} rows on DuckDB, {len(b)} on Spark"
    for col in a.columns:
        bad = [(i, x, y) for i, (x, y) in enumerate(zip(a[col].tolist(), b[col].tolist(), strict=True))
               if not _same(x, y)]
        assert not bad, f"column {col}: first differences (row, duckdb, spark): {bad[:3]}"


def test_spark_reads_only_the_tenant(engines, cat: Catalog) -> None:
    """The tenant filter applies on Spark too: 3000 contacts of ``par``, none of the other tenant's 500."""
    _, spark, tenant = engines
    total = _frame(spark, tenant, cat, ("year", [], ["contacts_all"], {}, None, None, None))
    assert total["contacts_all"].tolist() == [3000]
    with pytest.raises(CallopsError, match="read-only"):
        spark.writer()
