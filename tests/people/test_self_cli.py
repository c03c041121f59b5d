"""``callops user create … --agent/--team`` and ``callops user set-team``: checked against the tenant's roster,
one JSON document with ``--json``, clear one-line errors (issue 16's leftover, issue 19)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from self_world import roster_csv
from typer.testing import CliRunner

from callops import tenancy
from callops.ingest.loader import load_files
from callops.ingest.mapping import load_mapping
from callops.store.cli import user_app
from callops.store.db import Store
from callops.store.tenants import create_tenant
from callops.warehouse import Warehouse

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Tenants t1 (roster of self_world) and t2 (roster with X ids) in the default warehouse and store."""
    monkeypatch.setenv("CALLOPS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CALLOPS_WAREHOUSE", raising=False)
    monkeypatch.delenv("CALLOPS_STORE_URL", raising=False)
    with Store() as store, Warehouse() as wh:
        for t, prefix in (("t1", ""), ("t2", "X")):
            create_tenant(store, wh, t, "Asia/Shanghai")
            (tmp_path / f"{t}.csv").write_text(roster_csv(prefix), encoding="utf-8")
            load_files(wh, tenancy.get_tenant(wh, t), "agents", [tmp_path / f"{t}.csv"],
                       load_mapping("canonical", "agents"))  # fmt: skip
    return tmp_path


def call(*args: str) -> tuple[int, str]:
    r = runner.invoke(user_app, list(args))
    return r.exit_code, r.output


def test_agent_and_team_lead_users(home: Path) -> None:
    """An agent user takes their roster team; a lead's team must exist; set-team changes it (audited)."""
    code, out = call("create", "mei", "--tenant", "t1", "--role", "agent", "--agent", "A01", "--json")
    assert code == 0, out
    doc = json.loads(out)
    assert doc["role"] == "agent" and doc["agent"] == "A01" and doc["team"] == "alpha" and doc["token"]
    code, out = call("create", "lee", "--tenant", "t1", "--role", "team_lead", "--team", "alpha", "--json")
    assert code == 0 and json.loads(out)["team"] == "alpha"
    code, out = call("set-team", "lee", "--tenant", "t1", "--team", "bravo", "--json")
    assert code == 0 and json.loads(out) == {"tenant": "t1", "user": "lee", "team": "bravo"}
    code, out = call("list", "--tenant", "t1", "--json")
    assert {u["user"]: u["team"] for u in json.loads(out)} == {"mei": "alpha", "lee": "bravo"}


@pytest.mark.parametrize(("args", "message"), [
    (("create", "x", "--tenant", "t1", "--role", "agent"), "needs --agent"),
    (("create", "x", "--tenant", "t1", "--role", "agent", "--agent", "XA01"), "not on tenant 't1'"),
    (("create", "x", "--tenant", "t1", "--role", "team_lead", "--team", "nowhere"), "team 'nowhere' is not"),
    (("create", "x", "--tenant", "t1", "--role", "agent", "--agent", "A01", "--team", "bravo"), "is in team"),
    (("create", "x", "--tenant", "t1", "--role", "planner", "--agent", "A01"), "--agent is for users with role"),
])
def test_refusals_write_nothing(home: Path, args: tuple, message: str) -> None:
    """Each refusal names its reason; no user is created."""
    r = runner.invoke(user_app, list(args))
    assert r.exit_code != 0 and message in str(r.exception), (r.output, r.exception)
    assert json.loads(call("list", "--tenant", "t1", "--json")[1]) == []


def test_agent_team_cannot_be_changed_away_from_the_roster(home: Path) -> None:
    """An agent's team is their roster team."""
    assert call("create", "mei", "--tenant", "t1", "--role", "agent", "--agent", "A01")[0] == 0
    r = runner.invoke(user_app, ["set-team", "mei", "--tenant", "t1", "--team", "bravo"])
    assert r.exit_code != 0 and "change the roster" in str(r.exception)
