"""The journey API (permission journeys:read, tenant isolation t1/t10, 4xx on bad input) and the CLI's --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from journey_testlib import CONTACTS, T1_LOG, T10_LOG

from callops.api.app import create_app
from callops.ingest.loader import load_files
from callops.ingest.mapping import load_mapping
from callops.store.db import Store
from callops.store.roles import Role
from callops.store.tenants import create_tenant
from callops.store.users import create_user
from callops.tenancy import get_tenant
from callops.warehouse import Warehouse


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, str], Path]]:
    """The app over a home with tenants t1 and t10, one analyst each; (client, tokens, home)."""
    home = tmp_path_factory.mktemp("journey-api")
    mp = pytest.MonkeyPatch()
    mp.setenv("CALLOPS_HOME", str(home))
    mp.delenv("CALLOPS_WAREHOUSE", raising=False)
    mp.delenv("CALLOPS_STORE_URL", raising=False)
    store = Store()
    tokens = {}
    with Warehouse() as wh:
        for name, log in (("t1", T1_LOG), ("t10", T10_LOG)):
            create_tenant(store, wh, name, "Asia/Shanghai")
            with store.session() as s:
                _, tokens[name] = create_user(s, name, f"{name}-analyst", Role.analyst, "test")
            p = home / f"{name}.csv"
            p.write_text(log, encoding="utf-8")
            load_files(wh, get_tenant(wh, name), "journey_events", [p], load_mapping("canonical", "journey_events"))
        c = home / "contacts.csv"
        c.write_text(CONTACTS, encoding="utf-8")
        load_files(wh, get_tenant(wh, "t1"), "contacts", [c], load_mapping("canonical", "contacts"))
    store.close()
    with TestClient(create_app(console=False), raise_server_exceptions=False) as client:
        yield client, tokens, home
    mp.undo()


def _h(tokens: dict[str, str], tenant: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[tenant]}"}


def test_views_per_tenant(api: tuple) -> None:
    client, tokens, _ = api
    r = client.get("/api/journeys/summary", headers=_h(tokens, "t1"))
    assert r.status_code == 200, r.text
    assert (r.json()["sessions"], r.json()["events"]) == (4, 10)
    assert client.get("/api/journeys/summary", headers=_h(tokens, "t10")).json()["sessions"] == 1
    v = client.get("/api/journeys/variants", params={"top": 1}, headers=_h(tokens, "t1")).json()
    assert v["variants"] == 4 and len(v["top"]) == 1
    d = client.get("/api/journeys/dfg", headers=_h(tokens, "t10")).json()
    assert d["edges"] == [] and d["start_steps"] == {"web_login": 1}
    f = client.get("/api/journeys/failures", headers=_h(tokens, "t1")).json()
    assert f[0]["reason"] == "identity_verification_failed" and f[0]["then_voice_sessions"] == 1
    assert client.get("/api/journeys/failures", headers=_h(tokens, "t10")).json() == []


def test_customer_journey_and_isolation(api: tuple) -> None:
    client, tokens, _ = api
    r = client.get("/api/customers/C1/journey", headers=_h(tokens, "t1"))
    assert r.status_code == 200, r.text
    assert (r.json()["steps"], r.json()["contacts"]) == (4, 2)
    assert client.get("/api/customers/C1/journey", headers=_h(tokens, "t10")).status_code == 404
    assert client.get("/api/customers/C1/journey").status_code == 401


def test_bad_input_is_4xx(api: tuple) -> None:
    client, tokens, _ = api
    r = client.get("/api/journeys/summary", params={"where": "colour = 'red'"}, headers=_h(tokens, "t1"))
    assert r.status_code == 400 and "unknown column" in r.json()["detail"]
    r = client.get("/api/journeys/summary", params={"where": "drop table x"}, headers=_h(tokens, "t1"))
    assert 400 <= r.status_code < 500
    r = client.post("/api/journeys/funnels", json={"funnels": [{"name": "x", "steps": ["a"]}]},
                    headers=_h(tokens, "t1"))
    assert r.status_code == 422
    body = {"funnels": [{"name": "app", "steps": ["app_login", "self_service"]}]}
    r = client.post("/api/journeys/funnels", json=body, headers=_h(tokens, "t1"))
    assert r.status_code == 200 and [s["reached"] for s in r.json()[0]["steps"]] == [3, 1]


def test_cost_and_perception_routes(api: tuple) -> None:
    client, tokens, _ = api
    c = client.get("/api/journeys/cost", headers=_h(tokens, "t1")).json()
    assert c["contacts"] == 4 and c["e_channel_share"] == 0.75 and c["containment"]["self_service_sessions"] == 3
    assert client.get("/api/journeys/cost", headers=_h(tokens, "t10")).json()["contacts"] == 0
    r = client.get("/api/journeys/perception/dissatisfied", headers=_h(tokens, "t1"))
    assert r.status_code == 200 and r.json()["customers_sample"] == ["C1"]
    assert client.get("/api/journeys/perception/dissatisfied", headers=_h(tokens, "t10")).json()[
        "customers_sample"] == []
    assert client.get("/api/journeys/perception/churn", headers=_h(tokens, "t1")).status_code == 200
    assert client.get("/api/journeys/perception/nope", headers=_h(tokens, "t1")).status_code == 422


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CALLOPS_HOME": str(home)}
    env.pop("CALLOPS_WAREHOUSE", None)
    return subprocess.run([sys.executable, "-m", "callops.cli", "journey", *args], capture_output=True, text=True,
                          env=env, timeout=300, check=False)


def test_cli_json_is_one_document_with_the_issue_keys(tmp_path: Path) -> None:
    home = tmp_path / "home"  # its own warehouse: the API's app holds the other one open
    with Warehouse(f"duckdb://{home / 'warehouse.duckdb'}") as wh:
        from callops.tenancy import create_tenant as create_wh_tenant

        t = create_wh_tenant(wh, "t1")
        p = tmp_path / "t1.csv"
        p.write_text(T1_LOG, encoding="utf-8")
        load_files(wh, t, "journey_events", [p], load_mapping("canonical", "journey_events"))
    r = _cli(home, "summary", "--tenant", "t1", "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    for key in ("events", "sessions", "steps", "variants", "edges", "median_duration_s", "mean_duration_s",
                "rework_share"):
        assert key in doc
    r = _cli(home, "dfg", "--tenant", "t1", "--json")
    edge = json.loads(r.stdout)["edges"][0]
    assert set(edge) >= {"from", "to", "count", "mean_wait_s", "median_wait_s"}
    r = _cli(home, "variants", "--tenant", "t1", "--top", "2", "--json")
    assert len(json.loads(r.stdout)["top"]) == 2
    r = _cli(home, "summary", "--tenant", "t1", "--where", "colour = 1", "--json")
    assert r.returncode == 2 and r.stdout == "" and len(r.stderr.strip().splitlines()) == 1


def test_dates_at_and_past_the_range(api: tuple) -> None:
    """The widest accepted range runs on real events; a date past it is a clear 400, never an overflow (500)."""
    client, tokens, _ = api
    h = _h(tokens, "t1")
    wide = client.get("/api/journeys/summary", params={"from": "1900-01-01", "to": "2999-12-31"}, headers=h)
    assert wide.status_code == 200, wide.text
    assert wide.json()["events"] == client.get("/api/journeys/summary", headers=h).json()["events"] > 0
    for params in ({"from": "3000-01-01"}, {"to": "0001-01-01"}, {"from": "1899-12-31", "to": "2020-01-01"}):
        r = client.get("/api/journeys/variants", params=params, headers=h)
        assert r.status_code == 400 and "expected a date between 1900-01-01 and 2999-12-31" in r.json()["detail"]
