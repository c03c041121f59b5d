"""The metric and saved-view routes read a tenant's lake when its ``lake.yaml`` names one (issue 17, part 2), and
the API keeps the opened lake until an export changes it.

``t1`` and ``t10`` (prefix names) get contacts (same contact ids, different data; ``t10`` also has a queue
``vip10``), a roster with teams and agent states for 1-20 March 2026, and are exported to one lake; then each gets
contacts of 2-5 April in the warehouse only. So March answers must be the same from the lake and the warehouse,
while an answer over April tells which one it came from. Through the real app (store, auth, admission), every
answer is asked twice — with the tenant's ``lake.yaml`` set and removed — and lake answers are checked against
counts read straight from the Parquet files.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from fastapi.testclient import TestClient

from callops import tenancy
from callops.api.app import create_app
from callops.lake.cache import LakeCache
from callops.lake.export import META, Lake, export
from callops.lake.tenant import LAKE_SETTINGS, history_lake, use_lake
from callops.metrics.query import query
from callops.sim.records import write_to_warehouse
from callops.store.db import Store
from callops.store.roles import Role
from callops.store.tenants import create_tenant
from callops.store.users import create_user
from callops.warehouse import Warehouse

ZONE = "Asia/Shanghai"
MARCH = {"from": "2026-03-01", "to": "2026-03-20"}
QUEUES = {"t1": ["billing", "tech"], "t10": ["billing", "tech", "vip10"]}
TEAMS = {"t1": ["north", "south"], "t10": ["north", "east"]}
AGENTS = [f"a{i}" for i in range(6)]  # the same agent ids in both tenants


def _contacts(rng: np.random.Generator, tenant: str, first: int, n: int, start: datetime, days: int) -> pa.Table:
    """Inbound voice contacts c<first>.. over ``days`` days from ``start``; 80 % answered by one of AGENTS."""
    offered = [start + timedelta(seconds=int(x)) for x in rng.integers(0, days * 86400, n)]
    answered = rng.random(n) < 0.8
    wait = rng.exponential(25, n).round(1)
    return pa.table({
        "contact_id": [f"c{i}" for i in range(first, first + n)],
        "queue": list(rng.choice(QUEUES[tenant], n)), "channel": ["voice"] * n, "direction": ["inbound"] * n,
        "customer_id": [f"u{int(x)}" for x in rng.integers(0, 200, n)], "offered_at": offered,
        "answered_at": [o + timedelta(seconds=float(w)) if a else None for o, w, a in zip(offered, wait, answered,
                                                                                      strict=True)],
        "wait_s": list(wait), "talk_s": [float(x) if a else None for x, a in zip(rng.gamma(2, 100, n).round(1),
                                                                                answered, strict=True)],
        "outcome": ["answered" if a else "abandoned" for a in answered],
        "agent_id": [AGENTS[int(x)] if a else None for x, a in zip(rng.integers(0, 6, n), answered, strict=True)],
    })


def _agents(tenant: str) -> pa.Table:
    return pa.table({"agent_id": AGENTS, "team": [TEAMS[tenant][i % 2] for i in range(6)],
                     "center": ["c1"] * 6})  # fmt: skip


def _states(rng: np.random.Generator, start: datetime, days: int) -> pa.Table:
    """Each agent's day: a run of ready/busy/acw/aux intervals of random length from 08:00 local."""
    out: dict[str, list] = {k: [] for k in ("agent_id", "state", "queue", "started_at", "ended_at")}
    for d in range(days):
        for agent in AGENTS:
            t = start + timedelta(days=d)
            for _ in range(8):
                length = timedelta(seconds=int(rng.integers(300, 3600)))
                for k, v in (("agent_id", agent), ("state", str(rng.choice(["ready", "busy", "acw", "aux"]))),
                             ("queue", "billing"), ("started_at", t), ("ended_at", t + length)):
                    out[k].append(v)
                t += length
    return pa.table(out)


def _load(wh: Warehouse, tenant: str, tables: dict[str, pa.Table]) -> None:
    for s in write_to_warehouse(wh, tenancy.get_tenant(wh, tenant), tables).values():
        assert s.rejected == 0, s.reject_reasons


@dataclass
class World:
    """The app's client, the lake, each tenant's admin token."""

    client: TestClient
    lake: str
    tokens: dict[str, str]

    def ask(self, tenant: str, path: str, params: dict | None = None) -> Any:
        """GET ``path`` as ``tenant``'s admin: JSON (or the bytes of a file answer), 200 asserted."""
        r = self.client.get(path, params=params, headers={"Authorization": f"Bearer {self.tokens[tenant]}"})
        assert r.status_code == 200, r.text
        return r.json() if r.headers["content-type"].startswith("application/json") else r.content

    def both(self, tenant: str, path: str, params: dict | None = None) -> tuple[Any, Any]:
        """The answer with ``tenant``'s lake.yaml set, then with it removed (the warehouse)."""
        assert history_lake(tenant) == self.lake
        on_lake = self.ask(tenant, path, params)
        use_lake(tenant, None)
        try:
            return on_lake, self.ask(tenant, path, params)
        finally:
            use_lake(tenant, self.lake)

    @property
    def lakes(self) -> LakeCache:
        """The app's lake cache."""
        return self.client.app.state.resources.lakes


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = tmp_path_factory.mktemp("lake-screens")
    mp = pytest.MonkeyPatch()
    mp.setenv("CALLOPS_HOME", str(home))
    mp.delenv("CALLOPS_WAREHOUSE", raising=False)
    mp.delenv("CALLOPS_STORE_URL", raising=False)
    store_url = f"sqlite:///{home / 'store.sqlite3'}"
    store = Store(store_url)
    lake = str(home / "lake")
    rng = np.random.default_rng(1717)
    march, april = datetime(2026, 2, 28, 16, tzinfo=UTC), datetime(2026, 4, 1, 16, tzinfo=UTC)  # local midnights
    tokens = {}
    with Warehouse() as wh:
        for name, n in (("t1", 1500), ("t10", 900)):
            create_tenant(store, wh, name, ZONE)
            with store.session() as s:
                tokens[name] = create_user(s, name, f"{name}-admin", Role.admin, "test")[1]
            _load(wh, name, {"agents": _agents(name), "contacts": _contacts(rng, name, 0, n, march, 20),
                             "agent_states": _states(rng, march, 20)})
            cust = np.random.default_rng(7 + n)  # its own stream: the contacts above stay as they were
            _load(wh, name, {"customers": pa.table({"customer_id": [f"u{k}" for k in range(200)],
                                                    "arpu": cust.gamma(2, 40, 200).round(2)})})  # fmt: skip
            export(wh, tenancy.get_tenant(wh, name), lake)
        for name in ("t1", "t10"):  # after the export: 2-5 April, in the warehouse only
            _load(wh, name, {"contacts": _contacts(rng, name, 50_000, 300, april, 4)})
    store.close()
    use_lake("t1", lake)
    use_lake("t10", lake)
    with TestClient(create_app(store_url, console=False), raise_server_exceptions=False) as client:
        yield World(client, lake, tokens)
    mp.undo()


def _same(a: Any, b: Any, path: str = "") -> None:
    """Equal answers; floats to 1e-12 relative (sums over the same rows read in another order)."""
    if isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12), (path, a, b)
    elif isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), (path, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{path}[{i}]")
    else:
        assert a == b, (path, a, b)


def _parquet_contacts(lake: str, tenant: str) -> list[dict]:
    """``tenant``'s contacts read straight from the lake's files (not through callops)."""
    return ds.dataset(str(Path(lake) / f"tenant={tenant}" / "table=contacts"), format="parquet").to_table(
        columns=["contact_id", "queue", "offered_at", "outcome", "talk_s"]).to_pylist()


def _local_day(ts: datetime) -> str:
    return str((ts + timedelta(hours=8)).date())  # Asia/Shanghai has no daylight saving


QUERIES = [
    {"metric": "contacts_offered,contacts_answered,aht_s,service_level,abandon_rate", "grain": "month", **MARCH},
    {"metric": "contacts_offered,asa_s,abandon_rate", "grain": "day", "by": "queue", **MARCH},
    {"metric": "contacts_offered,service_level", "grain": "day", "where": "queue = 'billing'",
     "compare": "previous", **MARCH},
    {"metric": "occupancy,aux_rate", "grain": "day", "by": "team", **MARCH},
    {"metric": "contacts_answered,aht_s", "grain": "week", "by": "agent", "top": 3, **MARCH},
]


@pytest.mark.parametrize("tenant", ["t1", "t10"])
def test_metric_queries_on_the_lake_equal_the_warehouse(world: World, tenant: str) -> None:
    for params in QUERIES:
        on_lake, on_wh = world.both(tenant, "/api/metrics/query", params)
        assert on_lake, params
        _same(on_lake, on_wh)
    on_lake, on_wh = world.both(tenant, "/api/metrics/query", {**QUERIES[1], "format": "csv"})
    assert on_lake == on_wh and on_lake.count(b"\n") > 20


def test_lake_answers_are_the_lakes_and_the_tenants_own(world: World) -> None:
    """Month and day answers over all dates: the lake's (no April) and only t1's rows, counted from the files."""
    files = _parquet_contacts(world.lake, "t1")
    per_day: dict[str, int] = {}
    for r in files:
        per_day[_local_day(r["offered_at"])] = per_day.get(_local_day(r["offered_at"]), 0) + 1
    answered = [r["talk_s"] for r in files if r["outcome"] == "answered"]
    month, month_wh = world.both("t1", "/api/metrics/query", {"metric": "contacts_offered,aht_s", "grain": "month"})
    assert [r["period"] for r in month] == ["2026-03-01"]
    assert month[0]["contacts_offered"] == len(files) == 1500
    assert math.isclose(month[0]["aht_s"], sum(answered) / len(answered), rel_tol=1e-12)
    assert [r["period"] for r in month_wh] == ["2026-03-01", "2026-04-01"]  # the warehouse has April too
    day = world.ask("t1", "/api/metrics/query", {"metric": "contacts_offered", "grain": "day"})
    assert {r["period"]: r["contacts_offered"] for r in day} == per_day
    by_queue = world.ask("t1", "/api/metrics/query", {"metric": "contacts_offered", "grain": "month", "by": "queue"})
    assert {r["queue"] for r in by_queue} == {"billing", "tech"}  # never t10's vip10
    t10 = world.ask("t10", "/api/metrics/query", {"metric": "contacts_offered", "grain": "month", "by": "queue"})
    assert {r["queue"] for r in t10} == {"billing", "tech", "vip10"}
    assert sum(r["contacts_offered"] for r in t10) == len(_parquet_contacts(world.lake, "t10")) == 900


def test_drill_down_describe_and_top_on_the_lake(world: World) -> None:
    params = {**MARCH, "metric": "abandon_rate", "page_size": 1000}
    on_lake, on_wh = world.both("t1", "/api/contacts", params)
    _same(on_lake, on_wh)
    abandoned = {r["contact_id"] for r in _parquet_contacts(world.lake, "t1") if r["outcome"] == "abandoned"}
    assert on_lake["total"] == len(abandoned) > 100
    assert {r["contact_id"] for r in on_lake["contacts"]} == abandoned
    assert {r["queue"] for r in on_lake["contacts"]} <= {"billing", "tech"}
    april = world.both("t1", "/api/contacts", {"from": "2026-04-01", "to": "2026-04-30"})
    assert april[0]["total"] == 0 and april[1]["total"] == 300
    described = world.both("t1", "/api/metrics/service_level")
    assert described[0]["formula"] == described[1]["formula"] and "contacts" in described[0]["sql"]
    top_params = {"period": "month", "at": "2026-03-10"}
    on_lake, on_wh = world.both("t10", "/api/metrics/top", top_params)
    _same(on_lake, on_wh)
    offered = next(r for r in on_lake if r["metric"] == "contacts_offered")
    assert offered["value"] == 900
    latest = world.both("t1", "/api/metrics/top", {"period": "day"})  # the last complete day of each source
    assert latest[0][0]["period"] == "2026-03-20" and latest[1][0]["period"] == "2026-04-05"


@pytest.mark.parametrize("tenant", ["t1", "t10"])
def test_saved_views_on_the_lake_equal_the_warehouse(world: World, tenant: str) -> None:
    headers = {"Authorization": f"Bearer {world.tokens[tenant]}"}
    spec = {"metrics": ["contacts_offered", "abandon_rate", "occupancy"], "grain": "day", "dimensions": ["queue"],
            "start": "2026-03-01", "end": "2026-03-20", "chart": "table"}
    made = []
    for name, body in (("march", spec), ("march by team", {**spec, "dimensions": ["team"], "compare": "previous"}),
                       ("spring", {**spec, "dimensions": [], "grain": "month", "end": "2026-04-30"})):
        r = world.client.post("/api/views", json={"name": name, "spec": body}, headers=headers)
        assert r.status_code == 201, r.text
        made.append(r.json()["id"])
    for vid in made[:2]:
        on_lake, on_wh = world.both(tenant, f"/api/views/{vid}/data")
        assert on_lake
        _same(on_lake, on_wh)
        xlsx = world.both(tenant, f"/api/views/{vid}/data", {"format": "xlsx"})
        assert xlsx[0][:2] == xlsx[1][:2] == b"PK"
    on_lake, on_wh = world.both(tenant, f"/api/views/{made[0]}/data")
    queues = {r["queue"] for r in on_lake}
    assert queues == set(QUEUES[tenant])  # t1 never sees t10's vip10
    spring_lake, spring_wh = world.both(tenant, f"/api/views/{made[2]}/data")
    assert [r["period"] for r in spring_lake] == ["2026-03-01"]
    assert [r["period"] for r in spring_wh] == ["2026-03-01", "2026-04-01"]
    for vid in made:
        assert world.client.delete(f"/api/views/{vid}", headers=headers).status_code == 204


def test_the_opened_lake_is_reused_and_an_export_is_seen_by_the_next_request(world: World, tmp_path: Path) -> None:
    """t1 on a copy of the lake: repeated requests do not open it again; an export of the April load (new days,
    so new partition files) is in the very next answer. A cache that never invalidated would miss April."""
    copy = str(tmp_path / "lake")
    shutil.copytree(world.lake, copy)
    params = {"metric": "contacts_offered", "grain": "day"}
    use_lake("t1", copy)
    try:
        before = world.ask("t1", "/api/metrics/query", params)
        opens = world.lakes.opens
        for _ in range(3):
            assert world.ask("t1", "/api/metrics/query", params) == before
        assert world.lakes.opens == opens  # reused
        assert max(r["period"] for r in before) == "2026-03-20"
        with world.client.app.state.resources.reading() as wh:
            report = export(wh, tenancy.get_tenant(wh, "t1"), copy)
        assert report["tables"]["contacts"]["partitions_written"] == 4  # 2-5 April: four new files
        after = world.ask("t1", "/api/metrics/query", params)
        assert max(r["period"] for r in after) == "2026-04-05"
        assert sum(r["contacts_offered"] for r in after) == sum(r["contacts_offered"] for r in before) + 300
        assert world.lakes.opens == opens + 1
        use_lake("t1", None)
        assert world.ask("t1", "/api/metrics/query", params) == after  # the lake now equals the warehouse
    finally:
        use_lake("t1", world.lake)
    assert max(r["period"] for r in world.ask("t1", "/api/metrics/query", params)) == "2026-03-20"


def test_cache_borrows_are_per_thread_and_outlive_a_change(world: World, tmp_path: Path) -> None:
    """Eight threads query through one cache at once (each on its own cursor) and agree with a plain open; a
    cursor borrowed before the lake changed keeps working, and the old database closes when it comes back."""
    cache = LakeCache(max_idle=4)
    copy = str(tmp_path / "lake")
    shutil.copytree(world.lake, copy)
    with cache.reading(copy, "t10") as wh:
        want = query(wh, "t10", ["contacts_offered", "aht_s"], grain="day", by=["queue"]).to_pylist()
    got: list[Any] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def work() -> None:
        try:
            barrier.wait()
            for _ in range(3):
                with cache.reading(copy, "t10") as wh:
                    got.append(query(wh, "t10", ["contacts_offered", "aht_s"], grain="day", by=["queue"]).to_pylist())
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert len(got) == 24 and all(g == want for g in got)
    assert cache.opens == 1
    held = cache.reading(copy, "t10")
    wh = held.__enter__()
    old = cache._lakes[copy]
    lake = Lake.open(copy)
    manifest = lake.read_json(META, "t10", "manifest.json")
    lake.write_atomic(json.dumps(manifest).encode() + b" ", META, "t10", "manifest.json")  # a new stamp
    with cache.reading(copy, "t10") as fresh:
        assert tenancy.get_tenant(fresh, "t10").timezone == ZONE
    assert cache.opens == 2 and cache._lakes[copy] is not old and old.retired and not old.root_closed
    assert query(wh, "t10", ["contacts_offered"], grain="month").column("contacts_offered").to_pylist() == [900]
    held.__exit__(None, None, None)
    assert old.root_closed and old.idle == []
    cache.close()
    assert cache._lakes == {}


def test_a_lake_that_lost_the_tenant_is_one_line_even_when_cached(world: World, tmp_path: Path) -> None:
    copy = tmp_path / "lake"
    shutil.copytree(world.lake, copy)
    LAKE_SETTINGS.save("t10", LAKE_SETTINGS.model(url=str(copy)))
    try:
        assert world.ask("t10", "/api/metrics/query", {"metric": "contacts_offered", "grain": "month"})
        (copy / META / "t10" / "manifest.json").unlink()
        r = world.client.get("/api/metrics/query", params={"metric": "contacts_offered", "grain": "month"},
                             headers={"Authorization": f"Bearer {world.tokens['t10']}"})
        assert r.status_code == 400 and "no export of tenant 't10'" in r.json()["detail"], r.text
        shutil.rmtree(copy)
        r = world.client.get("/api/metrics/query", params={"metric": "contacts_offered", "grain": "month"},
                             headers={"Authorization": f"Bearer {world.tokens['t10']}"})
        assert r.status_code == 400 and "format stamp" in r.json()["detail"], r.text
    finally:
        use_lake("t10", world.lake)


@pytest.mark.parametrize("tenant", ["t1", "t10"])
def test_value_screens_on_the_lake_equal_the_warehouse(world: World, tenant: str) -> None:
    """The customer view, a batch score and a rules preview read the lake: as of 21 March the same answers as the
    warehouse; as of 6 April the lake's customer view holds exactly the customer's contacts in the lake's files
    (none of the April ones only the warehouse has)."""
    cid = "u7"
    on_lake, on_wh = world.both(tenant, f"/api/customers/{cid}", {"as_of": "2026-03-21"})
    assert on_lake["timeline"]
    _same(on_lake, on_wh)

    headers = {"Authorization": f"Bearer {world.tokens[tenant]}"}

    def post(path: str, body: dict) -> tuple[Any, Any]:
        got = []
        for lake in (world.lake, None):
            use_lake(tenant, lake)
            r = world.client.post(path, json=body, headers=headers)
            assert r.status_code == 200, r.text
            got.append(r.json())
        use_lake(tenant, world.lake)
        return got[0], got[1]

    a, b = post("/api/value/score", {"as_of": "2026-03-21"})
    assert a["customers"] == b["customers"] == 200 and a["version"] + 1 == b["version"]
    for key in ("classes", "tags", "as_of", "mean_score"):
        _same(a[key], b[key], key)
    a, b = post("/api/value/rules/model/preview", {"text": world.ask(tenant, "/api/value/rules/model")["text"]})
    _same(a, b)
    a, b = post("/api/value/score", {"as_of": "2026-04-06"})
    assert a["tags"] != b["tags"], a["tags"]  # the warehouse's 300 April contacts tag callers the lake does not know

    on_lake, on_wh = world.both(tenant, f"/api/customers/{cid}", {"as_of": "2026-04-06"})
    files = ds.dataset(str(Path(world.lake) / f"tenant={tenant}" / "table=contacts"), format="parquet")
    mine = files.to_table(columns=["customer_id", "offered_at"]).to_pylist()
    want = sorted(r["offered_at"].astimezone(UTC) for r in mine if r["customer_id"] == cid)
    got = sorted(datetime.fromisoformat(e["ts"]).astimezone(UTC) for e in on_lake["timeline"]
                 if e["kind"] == "contact")  # fmt: skip
    assert [g.replace(microsecond=0) for g in got] == [w.replace(microsecond=0) for w in want][-len(got):]
    assert max(got) < datetime(2026, 3, 21, tzinfo=UTC) < max(datetime.fromisoformat(e["ts"])
                                                             for e in on_wh["timeline"])  # fmt: skip


def _tags_library(rules: dict[str, str]) -> str:
    """A tag library YAML with one tag per ``id: condition``."""
    lines = ["id: lake_probe", "version: 1", "owner: test", "tags:"]
    for tag, when in rules.items():
        lines += [f"  - id: {tag}", f"    when: {when}", "    owner: test", "    version: 1",
                  f"    label: {{en: {tag}, zh-CN: {tag}}}"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("tenant", ["t1", "t10"])
def test_rules_preview_reads_the_lake(world: World, tenant: str) -> None:
    """A tags preview (customers tagged as of today) from the lake tags only the lake's callers: ``since_april``
    (a contact after 31 March local) tags nobody on the lake and the April callers on the warehouse; ``ever``
    (any contact) tags the distinct callers of the lake's files. Counted from the files and the warehouse's rows."""
    today = datetime.now(UTC).astimezone(ZoneInfo(ZONE)).date()
    rules = {"since_april": f"days_since_contact <= {(today - date(2026, 3, 31)).days}",
             "ever": f"days_since_contact <= {(today - date(2026, 2, 27)).days}"}
    headers = {"Authorization": f"Bearer {world.tokens[tenant]}"}
    got = {}
    for where, lake in (("lake", world.lake), ("warehouse", None)):
        use_lake(tenant, lake)
        try:
            r = world.client.post("/api/value/rules/tags/preview", json={"text": _tags_library(rules)},
                                  headers=headers)  # fmt: skip
        finally:
            use_lake(tenant, world.lake)
        assert r.status_code == 200, r.text
        got[where] = r.json()["tagged"]
    files = ds.dataset(str(Path(world.lake) / f"tenant={tenant}" / "table=contacts"), format="parquet")
    lake_callers = set(files.to_table(columns=["customer_id"]).column("customer_id").to_pylist())
    with world.client.app.state.resources.reading() as wh:
        april = wh.backend.raw_sql(
            "SELECT count(DISTINCT customer_id) FROM contacts WHERE tenant_id = ? AND offered_at >= ?",
            parameters=[tenant, datetime(2026, 3, 31, 16, tzinfo=UTC)]).fetchone()[0]
    assert got["lake"] == {"since_april": 0, "ever": len(lake_callers)}
    assert got["warehouse"]["since_april"] == april > 100
    assert got["warehouse"]["ever"] >= len(lake_callers)


def test_value_cli_reads_the_lake(world: World, tenant: str = "t10") -> None:
    """``callops value score --lake`` and ``customer show --lake`` give the lake's answers (the API's on the
    lake), not the warehouse's: as of 6 April the warehouse's April contacts change the tags, and the customer's
    timeline ends in March. The warehouse stays closed to the CLI (the test's server holds it)."""
    env = {**os.environ, "CALLOPS_HOME": os.environ["CALLOPS_HOME"]}
    env.pop("CALLOPS_DEBUG", None)

    def cli(*args: str) -> Any:
        done = subprocess.run([sys.executable, "-m", "callops.cli", *args, "--tenant", tenant, "--lake", world.lake,
                               "--json"], capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    scored = cli("value", "score", "--as-of", "2026-04-06")
    headers = {"Authorization": f"Bearer {world.tokens[tenant]}"}
    api = {}
    for lake in (world.lake, None):
        use_lake(tenant, lake)
        try:
            r = world.client.post("/api/value/score", json={"as_of": "2026-04-06"}, headers=headers)
        finally:
            use_lake(tenant, world.lake)
        assert r.status_code == 200, r.text
        api[lake] = r.json()
    assert scored["customers"] == 200 and scored["version"] + 1 == api[world.lake]["version"]
    for key in ("classes", "tags", "as_of", "mean_score"):
        _same(scored[key], api[world.lake][key], key)
    assert scored["tags"] != api[None]["tags"]

    shown = cli("customer", "show", "u7", "--as-of", "2026-04-06")
    _same(shown, world.ask(tenant, "/api/customers/u7", {"as_of": "2026-04-06"}))
    assert max(e["ts"] for e in shown["timeline"] if e["kind"] == "contact") < "2026-03-21"
