"""Marketing fixtures: tenant ``mk1`` with three weeks of the simulated hotline's offers (its customers, campaigns,
offers and contacts, from ``callops.sim``), scored by the value model, on a real DuckDB warehouse and a real SQLite
store; and tenant ``mk10`` (a name with ``mk1`` as prefix) with a few customers of its own."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from callops import tenancy
from callops.marketing import arbitrate, propensity
from callops.sim.demo import demo_scenario
from callops.sim.records import write_to_warehouse
from callops.sim.runner import run_scenario
from callops.store.db import Store
from callops.store.roles import Role
from callops.store.tenants import create_tenant
from callops.store.users import create_user
from callops.value import snapshot
from callops.warehouse import Warehouse

TODAY = date.today()
DAYS = 21
SPLIT = TODAY - timedelta(days=7)


@dataclass
class MarketingWorld:
    """Home, store URL, tokens per tenant and role, and the simulated tables of mk1."""

    home: Path
    store_url: str
    tokens: dict[str, dict[Role, str]]
    tables: dict[str, pa.Table]


@pytest.fixture(scope="module")
def marketing_world(marketing_data: MarketingWorld) -> Iterator[MarketingWorld]:
    """The session's marketing world with CALLOPS_HOME and the store set for one test module (set for the whole
    session, they would reach other modules' subprocesses on the same worker)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("CALLOPS_HOME", str(marketing_data.home))
    mp.delenv("CALLOPS_WAREHOUSE", raising=False)
    mp.setenv("CALLOPS_STORE_URL", marketing_data.store_url)
    yield marketing_data
    mp.undo()


@pytest.fixture(scope="session")
def marketing_data(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MarketingWorld]:
    """mk1: 3,000 customers and 21 days of the hotline at 5 % scale, scored as of 8 days ago; mk10: 50 customers
    whose ids start with ``Z``."""
    home = tmp_path_factory.mktemp("marketing-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("CALLOPS_HOME", str(home))
    mp.delenv("CALLOPS_WAREHOUSE", raising=False)
    store_url = f"sqlite:///{home / 'store.sqlite3'}"
    mp.setenv("CALLOPS_STORE_URL", store_url)
    snapshot.forget_index()
    propensity.forget()
    arbitrate.forget_paused()
    tables = run_scenario(demo_scenario().scaled(0.05, customers=3000), DAYS, seed=5,
                          start_date=TODAY - timedelta(days=DAYS))
    store = Store(store_url)
    tokens: dict[str, dict[Role, str]] = {}
    with Warehouse() as wh:
        for name in ("mk1", "mk10"):
            create_tenant(store, wh, name, "Asia/Shanghai")
            with store.session() as s:
                for role in Role:
                    _, plain = create_user(s, name, f"{name}-{role.value}", role, "test")
                    tokens.setdefault(name, {})[role] = plain
        t1 = tenancy.get_tenant(wh, "mk1")
        write_to_warehouse(wh, t1, {k: tables[k] for k in ("customers", "campaigns", "offers", "contacts")})
        snapshot.score_tenant(wh, t1, SPLIT - timedelta(days=1))
        t10 = tenancy.get_tenant(wh, "mk10")
        beta = tables["customers"].slice(0, 50)
        beta = beta.set_column(0, "customer_id", pa.array([f"Z{i:07d}" for i in range(50)]))
        write_to_warehouse(wh, t10, {"customers": beta})
        snapshot.score_tenant(wh, t10, TODAY)
    store.close()
    mp.undo()
    yield MarketingWorld(home, store_url, tokens, tables)
    snapshot.forget_index()
    propensity.forget()
