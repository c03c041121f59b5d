"""``callops user create/list/token`` through Typer's runner, on the default SQLite store under CALLOPS_HOME."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from callops import tenancy
from callops.errors import CallopsError, NotFound
from callops.store import tokens, users
from callops.store.cli import user_app
from callops.store.db import Store
from callops.warehouse import Warehouse

runner = CliRunner()


@pytest.fixture
def demo_tenant(home: Warehouse, monkeypatch: pytest.MonkeyPatch) -> str:
    """A tenant created the ordinary way (in the warehouse); the store learns of it through the CLI."""
    monkeypatch.delenv("CALLOPS_STORE_URL", raising=False)
    tenancy.create_tenant(home, "demo", "Asia/Shanghai")
    home.close()  # the CLI opens the warehouse itself
    return "demo"


def test_create_prints_token_once(demo_tenant: str) -> None:
    result = runner.invoke(user_app, ["create", "ann", "--tenant", demo_tenant, "--role", "dispatcher"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    with Store() as store, store.session() as s:
        p = users.authenticate(s, token)
    assert p is not None and (p.tenant_id, p.user_name, p.role) == ("demo", "ann", "dispatcher")

    listed = runner.invoke(user_app, ["list", "--tenant", demo_tenant])
    assert listed.exit_code == 0 and "ann" in listed.output and "dispatcher" in listed.output
    assert token not in listed.output and token.split("_", 2)[2] not in listed.output
    as_json = runner.invoke(user_app, ["list", "--tenant", demo_tenant, "--json"])
    (row,) = json.loads(as_json.stdout)
    assert (row["user"], row["role"], row["tokens"]) == ("ann", "dispatcher", [tokens.token_prefix(token)])
    assert token not in as_json.output


def test_create_json_and_second_token(demo_tenant: str) -> None:
    result = runner.invoke(user_app, ["create", "bob", "--tenant", demo_tenant, "--role", "team-lead", "--json"])
    info = json.loads(result.stdout)
    assert (info["user"], info["role"], info["tenant"]) == ("bob", "team_lead", "demo")
    again = runner.invoke(user_app, ["token", "bob", "--tenant", demo_tenant, "--json"])
    second = json.loads(again.stdout)["token"]
    assert second != info["token"]
    with Store() as store, store.session() as s:
        assert users.authenticate(s, second).user_name == "bob"
        assert users.authenticate(s, info["token"]).user_name == "bob"


def test_bad_role_and_unknown_tenant(demo_tenant: str) -> None:
    bad = runner.invoke(user_app, ["create", "ann", "--tenant", demo_tenant, "--role", "boss"])
    assert isinstance(bad.exception, CallopsError)
    assert str(bad.exception) == (
        "unknown role 'boss'; use one of: admin, director, planner, dispatcher, team_lead, analyst, agent"
    )
    missing = runner.invoke(user_app, ["create", "ann", "--tenant", "nope", "--role", "admin"])
    assert isinstance(missing.exception, NotFound)
    assert "no tenant 'nope'" in str(missing.exception) and "callops tenant create" in str(missing.exception)
    dup = runner.invoke(user_app, ["create", "ann", "--tenant", demo_tenant, "--role", "admin"])
    assert dup.exit_code == 0
    dup = runner.invoke(user_app, ["create", "ann", "--tenant", demo_tenant, "--role", "admin"])
    assert isinstance(dup.exception, CallopsError) and "already exists" in str(dup.exception)


def test_list_empty(demo_tenant: str) -> None:
    result = runner.invoke(user_app, ["list", "--tenant", demo_tenant])
    assert result.exit_code == 0 and "no users yet" in result.output
