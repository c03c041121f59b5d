"""The churn model's back-test (issue 13, C2): no look-ahead, labels counted from the raw history, a model that
finds the generator's documented churn signal, tenants apart, and clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from callops import tenancy
from callops.errors import CallopsError
from callops.journey.churn import MODEL_FEATURES, churn_backtest
from callops.sim.customer_history import customers_config, generate_history
from callops.sim.customers import generate_customers
from callops.sim.records import write_to_warehouse
from callops.warehouse import Warehouse

END = date(2026, 11, 1)
SPLIT = END - timedelta(days=60)
ZONE = "Asia/Shanghai"


def _customers(prefix: str, n: int, seed: int) -> pa.Table:
    _, table = generate_customers(customers_config(n), np.random.default_rng(seed))
    ids = [prefix + c[1:] for c in table.column("customer_id").to_pylist()]
    return table.set_column(0, "customer_id", pa.array(ids))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, pa.Table]]]:
    """Tenants ``t1`` (12,000 customers) and ``t10`` (a prefix of its name; 3,000) with a year of history each."""
    home = tmp_path_factory.mktemp("churn")
    path = home / "warehouse.duckdb"
    history = {}
    with Warehouse(f"duckdb://{path}") as wh:
        for name, prefix, n, seed in (("t1", "A", 12000, 3), ("t10", "B", 3000, 4)):
            t = tenancy.create_tenant(wh, name, ZONE)
            cust = _customers(prefix, n, seed)
            history[name] = generate_history(cust, END, seed=seed, zone=ZONE)
            write_to_warehouse(wh, t, {"customers": cust, "customer_events": history[name]})
    yield path, history


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), ZoneInfo(ZONE)).astimezone(UTC)


def test_hold_out_labels_are_the_churn_events_of_the_window(world: tuple[Path, dict[str, pa.Table]]) -> None:
    path, history = world
    with Warehouse(f"duckdb://{path}", read_only=True) as wh:
        doc = churn_backtest(wh, tenancy.get_tenant(wh, "t1"), SPLIT, horizon_days=60)
    ev = history["t1"].to_pylist()
    lo, hi = _local_midnight(SPLIT), _local_midnight(SPLIT + timedelta(days=60))
    churned_in = {e["customer_id"] for e in ev if e["status_to"] == "churned" and lo <= e["ts"] < hi}
    churned_before = {e["customer_id"] for e in ev if e["status_to"] == "churned" and e["ts"] < lo}
    assert doc["test"]["churned"] == len(churned_in) > 20
    assert doc["test"]["customers"] == 12000 - len(churned_before)
    tlo = _local_midnight(SPLIT - timedelta(days=60))
    assert doc["train"]["churned"] == len({e["customer_id"] for e in ev
                                           if e["status_to"] == "churned" and tlo <= e["ts"] < lo})
    assert doc["train"]["as_of"] == (SPLIT - timedelta(days=61)).isoformat()


def test_the_model_finds_the_documented_signal(world: tuple[Path, dict[str, pa.Table]]) -> None:
    """The generator announces churn by stopped purchases and unsubscriptions (its docstring): a learned model
    ranks the customers who leave next above chance, and ahead of a plain days-since-purchase ranking."""
    path, _ = world
    with Warehouse(f"duckdb://{path}", read_only=True) as wh:
        doc = churn_backtest(wh, tenancy.get_tenant(wh, "t1"), SPLIT, horizon_days=60)
    m = doc["model"]
    assert m["top_decile_lift_ci"][0] > 1.0, m  # the top decile holds more leavers than chance, beyond noise
    assert m["auc_ci"][0] <= m["auc"] <= m["auc_ci"][1]
    assert {c["feature"] for c in doc["coefficients"]} <= set(MODEL_FEATURES)
    assert "usage_gb" not in MODEL_FEATURES  # today's profile: zero for churned accounts, i.e. the answer


def test_no_look_ahead(world: tuple[Path, dict[str, pa.Table]], tmp_path: Path) -> None:
    """Purchases added after the split change neither the features nor the labels: the result is the same."""
    path, history = world
    with Warehouse(f"duckdb://{path}", read_only=True) as wh:
        before = churn_backtest(wh, tenancy.get_tenant(wh, "t1"), SPLIT, horizon_days=60)
    ids = pc.unique(history["t1"].column("customer_id")).to_pylist()[:4000]
    ts = _local_midnight(SPLIT) + timedelta(hours=3)
    extra = pa.table({"customer_id": ids, "ts": pa.array([ts] * len(ids), pa.timestamp("us", tz="UTC")),
                      "kind": ["purchase"] * len(ids), "amount": [99.0] * len(ids)})
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(path.read_bytes())
    with Warehouse(f"duckdb://{copy}") as wh:
        write_to_warehouse(wh, tenancy.get_tenant(wh, "t1"), {"customer_events": extra})
        after = churn_backtest(wh, tenancy.get_tenant(wh, "t1"), SPLIT, horizon_days=60)
    assert after == before


def test_tenants_apart(world: tuple[Path, dict[str, pa.Table]]) -> None:
    path, _ = world
    with Warehouse(f"duckdb://{path}", read_only=True) as wh:
        doc = churn_backtest(wh, tenancy.get_tenant(wh, "t10"), SPLIT, horizon_days=60)
    assert doc["test"]["customers"] <= 3000
    assert all(c.startswith("B") for c in doc["top_risk_sample"])


def test_too_few_churned_and_bad_arguments_are_clear(world: tuple[Path, dict[str, pa.Table]]) -> None:
    path, _ = world
    with Warehouse(f"duckdb://{path}", read_only=True) as wh:
        t = tenancy.get_tenant(wh, "t1")
        with pytest.raises(CallopsError, match="too few churned customers in the hold-out window"):
            churn_backtest(wh, t, END + timedelta(days=1), horizon_days=30)  # the hold-out is after the history
        with pytest.raises(CallopsError, match="--horizon must be at least 7 days"):
            churn_backtest(wh, t, SPLIT, horizon_days=3)


def test_cli_prints_one_json_document_and_refuses_a_bad_date(world: tuple[Path, dict[str, pa.Table]],
                                                              tmp_path: Path) -> None:
    path, _ = world
    env = {**os.environ, "CALLOPS_HOME": str(tmp_path), "CALLOPS_WAREHOUSE": f"duckdb://{path}"}
    cmd = [sys.executable, "-m", "callops.cli", "journey", "churn", "--tenant", "t1", "--split", SPLIT.isoformat(),
           "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    assert json.loads(out.stdout)["split"] == SPLIT.isoformat()
    bad = subprocess.run([*cmd[:-2], "2026-13-01"], capture_output=True, text=True, env=env)
    assert bad.returncode != 0 and "--split '2026-13-01': expected a date as YYYY-MM-DD" in bad.stderr
    assert "Traceback" not in bad.stderr
