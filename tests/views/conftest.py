"""Views fixtures: tenants ``t1`` and ``t10`` (one a prefix of the other) on a real SQLite store and DuckDB
warehouse, each with users of every role, two teams, and contacts over the last days."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from callops import tenancy
from callops.api.app import create_app
from callops.ingest.loader import load_files
from callops.ingest.mapping import load_mapping
from callops.store.db import Store
from callops.store.roles import Role
from callops.store.tenants import create_tenant
from callops.store.users import create_user, get_user
from callops.warehouse import Warehouse

ZONE = ZoneInfo("Asia/Shanghai")
DAYS = 5  # days before today with contacts


def contacts_csv(tenant: str, today: datetime) -> tuple[str, dict[str, dict[str, int]]]:
    """Contacts on each of the ``DAYS`` days before ``today`` (local), and the counts per local day worked out here."""
    lines = ["contact_id,queue,channel,direction,offered_at,answered_at,ended_at,wait_s,outcome"]
    counts: dict[str, dict[str, int]] = {}
    for d in range(1, DAYS + 1):
        day = (today - timedelta(days=d)).replace(hour=0, minute=30, second=0, microsecond=0)
        for i in range(3 + d):  # 4, 5, ... contacts a day; every third abandoned
            at = day + timedelta(minutes=37 * i)  # 00:30 local and on: the UTC date is the day before
            abandoned = i % 3 == 2
            ans = "" if abandoned else (at + timedelta(seconds=15)).isoformat()
            outcome = "abandoned" if abandoned else "answered"
            lines.append(f"{tenant}-{d}-{i},{tenant}-q,voice,inbound,{at.isoformat()},{ans},"
                         f"{(at + timedelta(minutes=3)).isoformat()},15,{outcome}")  # fmt: skip
            c = counts.setdefault(at.date().isoformat(), {"offered": 0, "abandoned": 0})
            c["offered"] += 1
            c["abandoned"] += abandoned
    return "\n".join(lines) + "\n", counts


@dataclass
class ViewsWorld:
    """The test client, each user's token and id per tenant and role, and the contact counts per local day."""

    client: TestClient
    tokens: dict[str, dict[str, str]]
    ids: dict[str, dict[str, int]]
    counts: dict[str, dict[str, dict[str, int]]]

    def auth(self, tenant: str, who: str) -> dict[str, str]:
        """Authorization header of user ``who`` (a role name, or north/south: analysts in those teams)."""
        return {"Authorization": f"Bearer {self.tokens[tenant][who]}"}


@pytest.fixture(scope="module")
def vworld(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ViewsWorld]:
    """Tenants t1 and t10, users of every role (the team lead in team north) and analysts north and south."""
    home = tmp_path_factory.mktemp("views-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("CALLOPS_HOME", str(home))
    mp.delenv("CALLOPS_WAREHOUSE", raising=False)
    mp.delenv("CALLOPS_STORE_URL", raising=False)
    url = f"sqlite:///{home / 'store.sqlite3'}"
    store = Store(url)
    tokens: dict[str, dict[str, str]] = {}
    ids: dict[str, dict[str, int]] = {}
    counts = {}
    today = datetime.now(ZONE)
    with Warehouse() as wh:
        for name in ("t1", "t10"):
            create_tenant(store, wh, name, "Asia/Shanghai")
            with store.session() as s:
                people = [(r.value, r, None) for r in Role] + [("north", Role.analyst, "north"),
                                                               ("south", Role.analyst, "south")]  # fmt: skip
                for who, role, team in people:
                    user, plain = create_user(s, name, f"{name}-{who}", role, "test")
                    if role == Role.team_lead:
                        team = "north"
                    get_user(s, name, user.id).team = team
                    tokens.setdefault(name, {})[who] = plain
                    ids.setdefault(name, {})[who] = user.id
            text, counts[name] = contacts_csv(name, today)
            path = Path(home) / f"{name}.csv"
            path.write_text(text, encoding="utf-8")
            s = load_files(wh, tenancy.get_tenant(wh, name), "contacts", [path], load_mapping("canonical", "contacts"))
            assert s.loaded == sum(c["offered"] for c in counts[name].values()), s
    store.close()
    app = create_app(url, console=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield ViewsWorld(client, tokens, ids, counts)
    mp.undo()
