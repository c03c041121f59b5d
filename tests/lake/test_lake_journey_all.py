"""Every journey command on the Parquet lake gives the warehouse's results (issue 17, part 2).

``test_lake_views.py`` covers summary, variants, dfg and funnel; this module covers the others: failures,
channels, related, suggest, replay, perception (churn, dissatisfied, arpu), churn and cost. Two tenants whose
names are prefixes of each other (``t1``, ``t10``) share one warehouse and one lake with the **same** customer,
session and contact ids but different data, so a missing tenant filter anywhere changes a result. Each command
is compared twice: the function on the lake against the warehouse for both tenants, and the CLI's ``--json``
with and without ``--lake``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from callops import tenancy
from callops.journey import analysis, cost, perception
from callops.journey.churn import churn_backtest
from callops.journey.events import Selection
from callops.journey.replay import customer_journey
from callops.lake.export import export
from callops.lake.read import open_lake
from callops.sim.customer_history import customers_config, generate_history
from callops.sim.customers import generate_customers
from callops.sim.records import write_to_warehouse
from callops.warehouse import Warehouse

ZONE = "Asia/Shanghai"
END = date(2026, 11, 1)  # the customer history ends here; journeys and contacts are in its last 30 days
SPLIT = END - timedelta(days=60)
STEPS = ["app_login", "verify_identity", "view_bill", "pay", "agent", "logout"]
ERRORS = ["identity_verification_failed", "payment_declined", "timeout"]
BUSINESS = ["billing", "data_plan", "complaint", "roaming"]


def _activity(customer_ids: list[str], sessions: int, seed: int) -> dict[str, pa.Table]:
    """Sessions (steps with failures and agents), one contact per session (some voice calls after a failure),
    and two transcript lines per answered contact, over the 30 days before END."""
    rng = np.random.default_rng(seed)
    start = datetime(2026, 10, 2, tzinfo=UTC)
    ev: dict[str, list] = {k: [] for k in ("session_id", "seq", "customer_id", "ts", "channel", "step", "outcome",
                                           "error_code", "contact_id")}
    co: dict[str, list] = {k: [] for k in ("contact_id", "channel", "direction", "customer_id", "business_type",
                                           "queue", "offered_at", "answered_at", "wait_s", "talk_s", "outcome",
                                           "csat", "nps", "agent_id")}
    tr: dict[str, list] = {k: [] for k in ("contact_id", "seq", "speaker", "text")}
    for s in range(sessions):
        cust = customer_ids[int(rng.integers(0, len(customer_ids)))]
        channel = ["app", "web", "voice"][int(rng.integers(0, 3))]
        ts = start + timedelta(seconds=int(rng.integers(0, 29 * 86400)))
        cid = f"k{s}"
        first = ts
        step = "app_login"
        for seq in range(int(rng.integers(1, 7))):
            failed = step in ("verify_identity", "pay") and rng.random() < 0.35
            for k, v in (("session_id", f"s{s}"), ("seq", seq), ("customer_id", cust), ("ts", ts),
                         ("channel", channel), ("step", step), ("outcome", "failed" if failed else "ok"),
                         ("error_code", ERRORS[int(rng.integers(0, 3))] if failed else None), ("contact_id", cid)):
                ev[k].append(v)
            ts += timedelta(seconds=int(rng.exponential(240)) + 1)
            step = STEPS[int(rng.integers(0, len(STEPS)))]
        answered = channel == "voice" or rng.random() < 0.3
        offered = first + timedelta(hours=float(rng.uniform(0, 30))) if channel == "voice" else first
        for k, v in (("contact_id", cid), ("channel", channel), ("direction", "inbound"), ("customer_id", cust),
                     ("business_type", BUSINESS[int(rng.integers(0, 4))]), ("queue", ["q1", "q2"][s % 2]),
                     ("offered_at", offered), ("answered_at", offered + timedelta(seconds=20) if answered else None),
                     ("wait_s", 20.0 if answered else None), ("talk_s", float(rng.gamma(2, 90)) if answered else None),
                     ("outcome", "answered" if answered else "self_served"),
                     ("csat", float(rng.integers(1, 6)) if answered and rng.random() < 0.6 else None),
                     ("nps", float(rng.integers(0, 11)) if answered and rng.random() < 0.4 else None),
                     ("agent_id", f"a{s % 7}" if answered else None)):
            co[k].append(v)
        if answered:
            for seq, (speaker, text) in enumerate((("agent", f"hello {cust}"), ("customer", f"about {cid}"))):
                for k, v in (("contact_id", cid), ("seq", seq), ("speaker", speaker), ("text", text)):
                    tr[k].append(v)
    ts_type = pa.timestamp("us", tz="UTC")
    return {
        "journey_events": pa.table(ev).cast(pa.schema([(k, ts_type if k == "ts" else pa.int64() if k == "seq"
                                                        else pa.string()) for k in ev])),
        "contacts": pa.table({k: pa.array(v, ts_type if k.endswith("_at") else None) for k, v in co.items()}),
        "transcripts": pa.table(tr),
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Warehouse, str]]:
    """t1 (6,000 customers, 1,500 sessions) and t10 (3,000; 600) with the same ids, a year of customer history
    each; the warehouse, and a lake holding both tenants' export."""
    folder = tmp_path_factory.mktemp("lake-journey")
    url = f"duckdb://{folder / 'warehouse.duckdb'}"
    lake = str(folder / "lake")
    with Warehouse(url) as wh:
        for name, n, sessions, seed in (("t1", 6000, 1500, 3), ("t10", 3000, 600, 4)):
            t = tenancy.create_tenant(wh, name, ZONE)
            _, cust = generate_customers(customers_config(n), np.random.default_rng(seed))
            ids = cust.column("customer_id").to_pylist()
            tables = {"customers": cust, "customer_events": generate_history(cust, END, seed=seed, zone=ZONE),
                      **_activity(ids[:400], sessions, seed)}
            summaries = write_to_warehouse(wh, t, tables)
            assert all(s.rejected == 0 for s in summaries.values()), {k: s.reject_reasons for k, s in
                                                                      summaries.items()}
        for name in ("t1", "t10"):
            export(wh, tenancy.get_tenant(wh, name), lake)
    wh = Warehouse(url, read_only=True)
    yield wh, lake
    wh.close()


def _first_customer(wh: Warehouse, t: tenancy.Tenant) -> str:
    ev = tenancy.scoped(wh, t, "journey_events")
    return str(ev.order_by(["ts", "session_id", "seq"]).limit(1).to_pyarrow().column("customer_id")[0])


SEL = Selection(date(2026, 10, 5), date(2026, 10, 25), "channel <> 'web'")
# command -> the function of the CLI command (warehouse, tenant) -> its document
VIEWS: dict[str, Callable[[Warehouse, tenancy.Tenant], Any]] = {
    "failures": lambda wh, t: analysis.failure_reasons(wh, t, SEL, within_h=24, top=50),
    "channels": lambda wh, t: analysis.channel_kpis(wh, t, SEL),
    "related": lambda wh, t: analysis.related(wh, t, None, min_support=0.01, top=50),
    "suggest": lambda wh, t: analysis.suggestions(wh, t, SEL),
    "replay": lambda wh, t: customer_journey(wh, t, _first_customer(wh, t)),
    "perception churn": lambda wh, t: perception.churn_comparison(wh, t, SEL),
    "perception dissatisfied": lambda wh, t: perception.dissatisfied(wh, t, None),
    "perception arpu": lambda wh, t: perception.high_arpu(wh, t, SEL),
    "churn": lambda wh, t: churn_backtest(wh, t, SPLIT, horizon_days=60),
    "cost": lambda wh, t: {**cost.channel_costs(wh, t), "containment": cost.containment(wh, t),
                           "weeks": cost.diversion(wh, t)},
}


@pytest.fixture(scope="module")
def lake_wh(world: tuple[Warehouse, str]) -> Iterator[Warehouse]:
    """The lake as a read-only warehouse on DuckDB."""
    with open_lake(world[1], "duckdb") as lw:
        yield lw


def _same(a: Any, b: Any, path: str = "") -> None:
    """``a == b`` exactly, except floats: equal to 1e-12 relative. A sum over the same rows read in another order
    (the lake's files, not the warehouse's blocks) can differ in its last bits; everything else must be equal.
    The churn model's fitted coefficients: 1e-8 (L-BFGS stops at a tolerance, so last-bit differences of its
    inputs move them by ~1e-12 and more); its scores' ranks, hence AUC and lift, must still be equal to 1e-12."""
    if isinstance(a, float) and isinstance(b, float):
        tol = 1e-8 if path.endswith("standardised_coefficient") else 1e-12
        assert math.isclose(a, b, rel_tol=tol, abs_tol=tol), (path, a, b)
    elif isinstance(a, dict) and isinstance(b, dict):
        assert list(a) == list(b), (path, list(a), list(b))
        for k in a:
            _same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    else:
        assert type(a) is type(b) and a == b, (path, a, b)


def _nonempty(doc: Any) -> bool:
    if isinstance(doc, list):
        return bool(doc)
    return any(bool(v) for k, v in doc.items() if k in ("timeline", "features", "paths", "channels", "model"))


@pytest.mark.parametrize("view", list(VIEWS))
def test_journey_view_on_the_lake_equals_the_warehouse(world: tuple[Warehouse, str], lake_wh: Warehouse,
                                                       view: str) -> None:
    wh, _ = world
    docs = {}
    for name in ("t1", "t10"):
        want = VIEWS[view](wh, tenancy.get_tenant(wh, name))
        got = VIEWS[view](lake_wh, tenancy.get_tenant(lake_wh, name))
        _same(got, want, f"{view}:{name}")
        assert _nonempty(want), (view, name, want)
        docs[name] = want
    # the tenants share ids but not data: equal documents would not prove the tenant filter
    assert docs["t1"] != docs["t10"], view


def test_replay_of_a_shared_id_sees_only_the_tenant(world: tuple[Warehouse, str], lake_wh: Warehouse) -> None:
    """The same customer id in t1 and t10: each tenant's replay on the lake counts only its own sessions,
    counted independently from the warehouse's rows."""
    wh, _ = world
    cust = _first_customer(wh, tenancy.get_tenant(wh, "t1"))
    for name in ("t1", "t10"):
        rows = wh.backend.raw_sql(
            "SELECT count(DISTINCT session_id) FROM journey_events WHERE tenant_id = ? AND customer_id = ?",
            parameters=[name, cust]).fetchone()
        doc = customer_journey(lake_wh, tenancy.get_tenant(lake_wh, name), cust)
        assert doc["sessions"] == rows[0]


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


CLI = {
    "failures": ["--from", "2026-10-05", "--to", "2026-10-25", "--where", "channel <> 'web'"],
    "channels": ["--where", "channel <> 'web'"],
    "related": ["--top", "30"],
    "suggest": [],
    "replay": ["--customer", "{customer}"],
    "perception": ["dissatisfied"],
    "churn": ["--split", SPLIT.isoformat()],
    "cost": [],
}


@pytest.mark.parametrize("command", list(CLI))
def test_cli_journey_command_with_lake(world: tuple[Warehouse, str], command: str) -> None:
    wh, lake = world
    customer = _first_customer(wh, tenancy.get_tenant(wh, "t10"))
    args = ["journey", command, "--tenant", "t10", "--json", *[a.format(customer=customer) for a in CLI[command]]]
    a, b = _cli(world, *args), _cli(world, *args, "--lake", lake)
    assert a.returncode == b.returncode == 0, (a.stderr, b.stderr)
    _same(json.loads(b.stdout), json.loads(a.stdout))  # one JSON document each, the same
    assert a.stdout.strip()


def test_cli_journey_commands_refuse_spark_and_a_missing_lake(world: tuple[Warehouse, str], tmp_path: Path) -> None:
    _, lake = world
    for command, extra in (("cost", []), ("churn", ["--split", SPLIT.isoformat()])):
        out = _cli(world, "journey", command, "--tenant", "t1", "--lake", lake, "--engine", "spark", *extra)
        assert out.returncode == 2 and out.stdout == "" and "--engine duckdb" in out.stderr, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    out = _cli(world, "journey", "failures", "--tenant", "t1", "--lake", str(tmp_path / "none"))
    assert out.returncode == 2 and "no exported tenant" in out.stderr and out.stdout == ""
    assert not (tmp_path / "none").exists()  # reading never creates the lake
