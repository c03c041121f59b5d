"""Tenants whose names are prefixes of each other (``t1`` and ``t10``) never see each other through the API.

``test_isolation`` checks every route with ``acme`` and ``beta``; no filter matching tenant ids by prefix would
leak there. Here ``t10`` starts with ``t1``: warehouse reads (contacts, metrics, rejects) and store reads (users)
must each show only the caller's own rows, in both directions.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from apitest import World
from fastapi.testclient import TestClient

from callops import tenancy
from callops.api.app import create_app
from callops.ingest.loader import load_files
from callops.ingest.mapping import load_mapping
from callops.realtime.hub import reset_hubs
from callops.store.db import Store
from callops.store.roles import Role
from callops.store.tenants import create_tenant
from callops.store.users import create_user
from callops.warehouse import Warehouse

HEADER = "contact_id,center,queue,channel,direction,offered_at,outcome,answered_at,ended_at\n"
# t1: three contacts on queue q-one, no broken row; t10: two on q-ten and one broken row.
ROWS = {
    "t1": [f"K{i},c1,q-one,voice,inbound,2026-03-02T09:0{i}:00+08:00,answered,"
           f"2026-03-02T09:0{i}:10+08:00,2026-03-02T09:0{i}:50+08:00\n" for i in range(3)],
    "t10": [f"K{i},c10,q-ten,voice,inbound,2026-03-02T10:0{i}:00+08:00,abandoned,,"
            f"2026-03-02T10:0{i}:30+08:00\n" for i in range(2)] + ["K9,c10,q-ten,voice,inbound,never,answered,,\n"],
}
EXPECTED = {"t1": ({"q-one"}, 3, 0, 1), "t10": ({"q-ten"}, 2, 1, 2)}  # queues, contacts, rejects, users


@pytest.fixture(scope="module")
def prefix_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Tenants t1 and t10 (same contact ids, different queues) on SQLite and a DuckDB warehouse."""
    home = tmp_path_factory.mktemp("prefix-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("CALLOPS_HOME", str(home))
    mp.delenv("CALLOPS_WAREHOUSE", raising=False)
    mp.delenv("CALLOPS_STORE_URL", raising=False)
    url = f"sqlite:///{home / 'store.sqlite3'}"
    store = Store(url)
    tokens: dict[str, dict[Role, str]] = {}
    with Warehouse() as wh:
        for name in ("t1", "t10"):
            create_tenant(store, wh, name, "Asia/Shanghai")
            with store.session() as s:
                _, plain = create_user(s, name, f"{name}-admin", Role.admin, "test")
                tokens[name] = {Role.admin: plain}
                if name == "t10":
                    create_user(s, name, "t10-analyst", Role.analyst, "test")
            path = Path(home) / f"{name}.csv"
            path.write_text(HEADER + "".join(ROWS[name]), encoding="utf-8")
            load_files(wh, tenancy.get_tenant(wh, name), "contacts", [path], load_mapping("canonical", "contacts"))
    store.close()
    with TestClient(create_app(url, console=False), raise_server_exceptions=False) as client:
        yield World(client, home, tokens)
    reset_hubs()
    mp.undo()


@pytest.mark.parametrize("tenant", ["t1", "t10"])
def test_prefix_named_tenants_see_only_their_rows(prefix_world: World, tenant: str) -> None:
    """Contacts, a metric, rejects and users of t1 exclude t10's rows, and the other way round."""
    w, h = prefix_world, prefix_world.auth(tenant)
    queues, n_contacts, n_rejects, n_users = EXPECTED[tenant]

    r = w.client.get("/api/contacts", params={"from": "2026-03-02", "to": "2026-03-02"}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert {c["queue"] for c in body["contacts"]} == queues and body["total"] == n_contacts

    r = w.client.get("/api/metrics/query", headers=h,
                     params={"metric": "contacts_offered", "grain": "day", "from": "2026-03-02", "to": "2026-03-02"})
    assert r.status_code == 200, r.text
    assert [x["contacts_offered"] for x in r.json()] == [n_contacts]

    r = w.client.get("/api/rejects", headers=h)
    assert r.status_code == 200, r.text
    assert len(r.json()) == n_rejects

    r = w.client.get("/api/users", headers=h)
    assert r.status_code == 200, r.text
    assert {u["name"].split("-")[0] for u in r.json()} == {tenant} and len(r.json()) == n_users
