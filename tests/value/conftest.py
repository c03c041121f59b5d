"""Value fixtures: tenants ``t1`` and ``t10`` (names that are prefixes of each other) with generated
customers and a year of account history, scored, on a real DuckDB warehouse and a real SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from callops import tenancy
from callops.sim.customer_history import customers_config, generate_history
from callops.sim.customers import generate_customers
from callops.sim.records import write_to_warehouse
from callops.store.db import Store
from callops.store.roles import Role
from callops.store.tenants import create_tenant
from callops.store.users import create_user
from callops.value import snapshot
from callops.warehouse import Warehouse

END = date.today()


def customers_for(prefix: str, n: int, seed: int) -> pa.Table:
    """``n`` generated customers whose ids start with ``prefix`` (plus the shared id ``SHARED``)."""
    cfg = customers_config(n)
    _, table = generate_customers(cfg, np.random.default_rng(seed))
    ids = [prefix + c[1:] for c in table.column("customer_id").to_pylist()]
    ids = pa.array([*ids[:-1], "SHARED"])
    return table.set_column(0, "customer_id", ids)


@dataclass
class ValueWorld:
    """Home, store URL, an API client and a token per tenant and role."""

    home: Path
    store_url: str
    client: TestClient
    tokens: dict[str, dict[Role, str]]

    def auth(self, tenant: str, role: Role = Role.admin) -> dict[str, str]:
        """Authorization header of ``tenant``'s user with ``role``."""
        return {"Authorization": f"Bearer {self.tokens[tenant][role]}"}


@pytest.fixture(scope="module")
def scored_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str, dict[str, dict[Role, str]]]]:
    """t1 (2,000 customers ``A…``) and t10 (500 customers ``B…``), both with ``SHARED``, scored; CALLOPS_HOME set."""
    home = tmp_path_factory.mktemp("value-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("CALLOPS_HOME", str(home))
    mp.delenv("CALLOPS_WAREHOUSE", raising=False)
    mp.delenv("CALLOPS_STORE_URL", raising=False)
    store_url = f"sqlite:///{home / 'store.sqlite3'}"
    store = Store(store_url)
    tokens: dict[str, dict[Role, str]] = {}
    snapshot.forget_index()
    with Warehouse() as wh:
        for name, prefix, n, seed in (("t1", "A", 2000, 1), ("t10", "B", 500, 2)):
            create_tenant(store, wh, name, "Asia/Shanghai")
            with store.session() as s:
                for role in Role:
                    _, plain = create_user(s, name, f"{name}-{role.value}", role, "test")
                    tokens.setdefault(name, {})[role] = plain
            t = tenancy.get_tenant(wh, name)
            cust = customers_for(prefix, n, seed)
            write_to_warehouse(wh, t, {"customers": cust, "customer_events": generate_history(cust, END, seed=seed)})
            snapshot.score_tenant(wh, t, END - timedelta(days=1))
    store.close()
    yield home, store_url, tokens
    snapshot.forget_index()
    mp.undo()


@pytest.fixture(scope="module")
def world(scored_home: tuple[Path, str, dict[str, dict[Role, str]]]) -> Iterator[ValueWorld]:
    """The scored tenants served by ``create_app(store_url, console=False)``."""
    from callops.api.app import create_app

    home, store_url, tokens = scored_home
    app = create_app(store_url, console=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield ValueWorld(home, store_url, client, tokens)
