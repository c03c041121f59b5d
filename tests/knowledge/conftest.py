"""Knowledge fixtures: a real SQLite store and DuckDB warehouse in a temporary home, tenants t1 and t10 (one a
prefix of the other), and an API client with one user per role in each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from callops.api.app import create_app
from callops.store.db import Store
from callops.store.roles import Role
from callops.store.tenants import create_tenant
from callops.store.users import create_user
from callops.warehouse import Warehouse

TENANTS = ("t1", "t10")


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict]:
    """Store, warehouse URL and tenants t1/t10."""
    monkeypatch.setenv("CALLOPS_HOME", str(tmp_path / "home"))
    store_url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    wh_url = f"duckdb://{tmp_path / 'wh.duckdb'}"
    store = Store(store_url)
    with Warehouse(wh_url) as wh:
        for t in TENANTS:
            create_tenant(store, wh, t, "Asia/Shanghai")
    tokens: dict[tuple[str, str], str] = {}
    with store.session() as s:
        for t in TENANTS:
            for role in Role:
                _, token = create_user(s, t, f"{role.value}-{t}", role, "test")
                tokens[(t, role.value)] = token
    yield {"store": store, "store_url": store_url, "wh_url": wh_url, "tokens": tokens}
    store.close()


@pytest.fixture
def client(world: dict) -> Iterator[TestClient]:
    """The API over the world's store and warehouse (no console)."""
    app = create_app(world["store_url"], console=False, warehouse_url=world["wh_url"])
    with TestClient(app) as c:
        yield c


@pytest.fixture
def auth(world: dict):
    """``auth(tenant, role)``: the Authorization header of that tenant's user with that role."""

    def header(tenant: str, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {world['tokens'][(tenant, role)]}"}

    return header
