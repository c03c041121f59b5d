"""The API's journey and forecast routes read a tenant's lake when its ``lake.yaml`` names one (issue 17, part 2).

``t1`` and ``t10`` (prefix names) are exported to one lake, then each gets more journey events and contacts in the
warehouse only: the lake and the warehouse differ, so an answer tells which one it came from. ``t1`` is pointed
at the lake (``callops lake use``); ``t10`` is not. Through the real app (store, auth, admission): ``t1``'s
answers are the lake's, counted independently from the Parquet files, and ``t10``'s the warehouse's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from callops import tenancy
from callops.api.app import create_app
from callops.errors import CallopsError
from callops.journey import views
from callops.lake.export import export
from callops.lake.read import open_lake
from callops.lake.tenant import LAKE_SETTINGS, history_lake, use_lake
from callops.sim.records import write_to_warehouse
from callops.store.db import Store
from callops.store.roles import Role
from callops.store.tenants import create_tenant
from callops.store.users import create_user
from callops.warehouse import Warehouse

ZONE = "Asia/Shanghai"
START = datetime(2026, 3, 1, 1, tzinfo=UTC)
STEPS = ["login", "verify", "bill", "pay", "agent", "logout"]


def _journeys(rng: np.random.Generator, first: int, sessions: int) -> dict[str, list]:
    """Sessions s<first>.. over 20 days (ids shared by both tenants), 1-6 steps each."""
    out: dict[str, list] = {k: [] for k in ("session_id", "seq", "customer_id", "ts", "channel", "step", "outcome")}
    for s in range(first, first + sessions):
        ts = START + timedelta(seconds=int(rng.integers(0, 20 * 86400)))
        for seq in range(int(rng.integers(1, 7))):
            for k, v in (("session_id", f"s{s}"), ("seq", seq), ("customer_id", f"u{s % 30}"), ("ts", ts),
                         ("channel", ["app", "web", "voice"][s % 3]),
                         ("step", STEPS[int(rng.integers(0, len(STEPS)))]),
                         ("outcome", "failed" if rng.random() < 0.1 else "ok")):
                out[k].append(v)
            ts += timedelta(seconds=int(rng.exponential(200)) + 1)
    return out


def _contacts(rng: np.random.Generator, first: int, n: int) -> dict[str, list]:
    """Voice contacts c<first>.. over 20 days, two queues, 80 % answered."""
    offered = [START + timedelta(seconds=int(x)) for x in rng.integers(0, 20 * 86400, n)]
    answered = rng.random(n) < 0.8
    return {
        "contact_id": [f"c{i}" for i in range(first, first + n)], "queue": list(rng.choice(["billing", "tech"], n)),
        "channel": ["voice"] * n, "direction": ["inbound"] * n, "offered_at": offered,
        "answered_at": [o + timedelta(seconds=30) if a else None for o, a in zip(offered, answered, strict=True)],
        "wait_s": [30.0] * n, "talk_s": [float(x) if a else None for x, a in zip(rng.gamma(2, 100, n), answered,
                                                                                 strict=True)],
        "outcome": ["answered" if a else "abandoned" for a in answered],
    }


def _load(wh: Warehouse, tenant: str, rng: np.random.Generator, first: int, sessions: int, contacts: int) -> None:
    import pyarrow as pa

    tables = {"journey_events": pa.table(_journeys(rng, first, sessions)),
              "contacts": pa.table(_contacts(rng, first * 10, contacts))}
    for s in write_to_warehouse(wh, tenancy.get_tenant(wh, tenant), tables).values():
        assert s.rejected == 0, s.reject_reasons


@dataclass
class World:
    """The app's client, the lake and each tenant's admin token."""

    client: TestClient
    lake: str
    home: Path
    warehouse: str
    tokens: dict[str, str]

    def get(self, tenant: str, path: str) -> dict:
        """GET ``path`` as ``tenant``'s admin; the JSON answer (200 asserted)."""
        r = self.client.get(path, headers={"Authorization": f"Bearer {self.tokens[tenant]}"})
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = tmp_path_factory.mktemp("lake-api")
    mp = pytest.MonkeyPatch()
    mp.setenv("CALLOPS_HOME", str(home))
    mp.delenv("CALLOPS_WAREHOUSE", raising=False)
    mp.delenv("CALLOPS_STORE_URL", raising=False)
    store_url = f"sqlite:///{home / 'store.sqlite3'}"
    store = Store(store_url)
    lake = str(home / "lake")
    rng = np.random.default_rng(2617)
    tokens = {}
    with Warehouse() as wh:
        for name, sessions, contacts in (("t1", 300, 2500), ("t10", 120, 1500)):
            create_tenant(store, wh, name, ZONE)
            with store.session() as s:
                tokens[name] = create_user(s, name, f"{name}-admin", Role.admin, "test")[1]
            _load(wh, name, rng, 0, sessions, contacts)
            export(wh, tenancy.get_tenant(wh, name), lake)
        for name in ("t1", "t10"):  # after the export: only the warehouse has these
            _load(wh, name, rng, 10_000, 50, 400)
        url = wh.url
    store.close()
    use_lake("t1", lake)
    with TestClient(create_app(store_url, console=False), raise_server_exceptions=False) as client:
        yield World(client, lake, home, url, tokens)
    mp.undo()


def _lake_events(lake: str, tenant: str) -> int:
    """Journey events of ``tenant`` in the lake, counted from its Parquet files (not through callops)."""
    files = [str(p) for p in (Path(lake) / f"tenant={tenant}" / "table=journey_events").rglob("*.parquet")]
    return sum(pq.read_metadata(f).num_rows for f in files)


def _warehouse_events(world: World, tenant: str) -> int:
    with world.client.app.state.resources.reading() as wh:  # the app holds the file: a handle of its own
        return wh.backend.raw_sql("SELECT count(*) FROM journey_events WHERE tenant_id = ?",
                                  parameters=[tenant]).fetchone()[0]


def test_the_setting_file(world: World) -> None:
    assert history_lake("t1") == world.lake and history_lake("t10") is None
    assert LAKE_SETTINGS.path("t1") == world.home / "tenants" / "t1" / "lake.yaml"


def test_journey_routes_read_the_tenants_lake(world: World) -> None:
    lake_n, wh_n = _lake_events(world.lake, "t1"), _warehouse_events(world, "t1")
    assert 0 < lake_n < wh_n  # the warehouse has more since the export
    s1 = world.get("t1", "/api/journeys/summary")
    assert s1["events"] == lake_n
    assert world.get("t10", "/api/journeys/summary")["events"] == _warehouse_events(world, "t10")
    with open_lake(world.lake) as lw:  # every journey route of t1 answers what the view gives on the lake
        t = tenancy.get_tenant(lw, "t1")
        assert s1 == json.loads(json.dumps(views.summary(lw, t), default=str))
        assert world.get("t1", "/api/journeys/variants?top=5") == json.loads(
            json.dumps(views.variants(lw, t, top=5), default=str))
    for path in ("/api/journeys/dfg", "/api/journeys/failures", "/api/journeys/channels", "/api/journeys/cost",
                 "/api/journeys/suggestions", "/api/customers/u3/journey", "/api/journeys/perception/churn"):
        world.get("t1", path)  # every route answers on the lake
    replay = world.get("t1", "/api/customers/u3/journey")
    want = ds.dataset(str(Path(world.lake) / "tenant=t1" / "table=journey_events"), format="parquet").to_table()
    sessions = {r["session_id"] for r in want.to_pylist() if r["customer_id"] == "u3"}
    assert replay["sessions"] == len(sessions) > 0


def test_forecast_reads_the_lake_and_the_setting_applies_at_once(world: World) -> None:
    body = {"queue": "tech", "horizon_days": 1, "interval_min": 60, "folds": 1, "holidays": None}
    headers = {"Authorization": f"Bearer {world.tokens['t1']}"}
    on_lake = world.client.post("/api/wfm/forecast", json=body, headers=headers)
    assert on_lake.status_code == 200, on_lake.text
    from callops.wfm.forecast_io import warehouse_intervals

    with open_lake(world.lake) as lw, world.client.app.state.resources.reading() as wh:
        lake_hist, wh_hist = warehouse_intervals(lw, "t1", 60, "tech"), warehouse_intervals(wh, "t1", 60, "tech")
    assert lake_hist["offered"].sum() < wh_hist["offered"].sum()
    use_lake("t1", None)  # back to the warehouse: the next request reads it, no restart
    try:
        on_wh = world.client.post("/api/wfm/forecast", json=body, headers=headers)
        assert on_wh.status_code == 200, on_wh.text
        assert on_wh.json()["intervals"] != on_lake.json()["intervals"]
        assert world.get("t1", "/api/journeys/summary")["events"] == _warehouse_events(world, "t1")
    finally:
        use_lake("t1", world.lake)
    again = world.client.post("/api/wfm/forecast", json=body, headers=headers)
    assert again.json()["intervals"] == on_lake.json()["intervals"]


def test_a_lake_that_went_away_is_a_clear_answer(world: World, tmp_path: Path) -> None:
    LAKE_SETTINGS.save("t10", LAKE_SETTINGS.model(url=str(tmp_path / "gone")))
    try:
        r = world.client.get("/api/journeys/summary", headers={"Authorization": f"Bearer {world.tokens['t10']}"})
        assert r.status_code == 400 and "format stamp" in r.json()["detail"], r.text
        assert not (tmp_path / "gone").exists()
        other = tmp_path / "only-t1"  # a lake without t10's export
        with world.client.app.state.resources.reading() as wh:
            export(wh, tenancy.get_tenant(wh, "t1"), str(other))
        LAKE_SETTINGS.save("t10", LAKE_SETTINGS.model(url=str(other)))
        r = world.client.get("/api/journeys/summary", headers={"Authorization": f"Bearer {world.tokens['t10']}"})
        assert r.status_code == 400 and "no export of tenant 't10'" in r.json()["detail"], r.text
        assert world.get("t1", "/api/journeys/summary")["events"] == _lake_events(world.lake, "t1")
    finally:
        LAKE_SETTINGS.path("t10").unlink()
    assert world.get("t10", "/api/journeys/summary")["events"] == _warehouse_events(world, "t10")


def test_lake_use_refuses_a_lake_without_the_tenant(world: World, tmp_path: Path) -> None:
    with pytest.raises(CallopsError, match="no export of tenant 't100'"):
        use_lake("t100", world.lake)  # t1 and t10 are there, not t100
    assert not LAKE_SETTINGS.path("t100").exists()
    env = {**os.environ, "CALLOPS_HOME": str(world.home)}
    env.pop("CALLOPS_DEBUG", None)
    for args, words in ((["--to", str(tmp_path / "none")], "no format stamp"), ([], "--to DIR"),
                        (["--to", world.lake, "--off"], "not both")):
        out = subprocess.run([sys.executable, "-m", "callops.cli", "lake", "use", "--tenant", "t10", *args],
                             capture_output=True, text=True, env=env, timeout=120)
        assert out.returncode == 2 and out.stdout == "" and words in out.stderr, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    assert not LAKE_SETTINGS.path("t10").exists() and not (tmp_path / "none").exists()
    out = subprocess.run([sys.executable, "-m", "callops.cli", "lake", "use", "--tenant", "t10", "--to", world.lake,
                          "--json"], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["lake"] == world.lake and history_lake("t10") == world.lake
    LAKE_SETTINGS.path("t10").unlink()
