"""``callops user ...``: create users (printing their token once) and list them (a Typer app the main CLI mounts)."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from callops.store.roles import Role

if TYPE_CHECKING:
    from callops.store.db import Store
    from callops.warehouse import Warehouse

user_app = typer.Typer(name="user", help="Users of a tenant and their API tokens.", no_args_is_help=True)

out = Console()
ROLES_HELP = "Role: " + ", ".join(r.value for r in Role) + "."


def cli_actor() -> str:
    """How the audit log names a change made from this command line."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in some containers
        return "cli"


def ensure_tenant(store: Store, tenant: str) -> str:
    """The tenant's id, copying it from the warehouse into the store first if the store does not know it yet."""
    from callops.settings import warehouse_url
    from callops.store import models, tenants
    from callops.warehouse import Warehouse

    with store.session() as s:
        if s.get(models.Tenant, tenant) is not None:
            return tenant
    url = warehouse_url()
    path = url.removeprefix("duckdb://")
    if url.startswith("duckdb://") and Path(path).exists():
        with Warehouse(url, read_only=True) as wh:
            tenants.sync_tenants(store, wh)
    with store.session() as s:
        return tenants.get_tenant(s, tenant).id


def _roster(tenant: str) -> Warehouse:
    """The warehouse, read only, to check agents and teams against the tenant's roster."""
    from callops.errors import CallopsError
    from callops.settings import warehouse_url
    from callops.warehouse import Warehouse

    url = warehouse_url()
    if url.startswith("duckdb://") and not Path(url.removeprefix("duckdb://")).exists():
        raise CallopsError(f"no warehouse yet: load tenant {tenant!r}'s agents table before linking users to it")
    return Warehouse(url, read_only=True)


@user_app.command("create")
def user_create(
    name: Annotated[str, typer.Argument(help="User name (letters, digits, . _ @ + -).")],
    tenant: Annotated[str, typer.Option(help="Tenant the user belongs to.")],
    role: Annotated[str, typer.Option(help=ROLES_HELP)],
    display_name: Annotated[str | None, typer.Option(help="Name shown in the console.")] = None,
    locale: Annotated[str, typer.Option(help="Console language: en or zh-CN.")] = "en",
    agent: Annotated[str | None, typer.Option("--agent", help="Role agent: the roster agent id they are.")] = None,
    team: Annotated[str | None, typer.Option("--team", help="The user's team (a team lead's team); on the roster.")]
    = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the user and token as JSON.")] = False,
) -> None:
    """Create a user and print their API token — shown this once, never again."""
    from callops.store import users
    from callops.store.db import Store

    parsed = users.parse_role(role)  # fail on a bad role before touching any database
    with Store() as store:
        key = ensure_tenant(store, tenant)
        with store.session() as s:
            if agent is not None or team is not None or parsed is Role.agent:  # issue 19: tied to the roster
                from callops.people import links

                with _roster(key) as wh:
                    user, token = links.create_user(s, wh, key, name, parsed, cli_actor(), agent_id=agent, team=team,
                                                    display_name=display_name, locale=locale)  # fmt: skip
            else:
                user, token = users.create_user(s, key, name, parsed, cli_actor(), display_name=display_name,
                                                locale=locale)  # fmt: skip
            info = {"tenant": key, "user": user.name, "id": user.id, "role": user.role, "token": token,
                    "team": user.team, "agent": agent}  # fmt: skip
    if as_json:
        print(json.dumps(info, ensure_ascii=False))
        return
    out.print(f"created user [bold]{info['user']}[/] ({info['role']}) in tenant [bold]{key}[/]")
    out.print("API token (shown once — store it now; it cannot be shown again):")
    print(token)


@user_app.command("token")
def user_token(
    name: Annotated[str, typer.Argument(help="User name.")],
    tenant: Annotated[str, typer.Option(help="Tenant.")],
    label: Annotated[str | None, typer.Option(help="What the token is for.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the token as JSON.")] = False,
) -> None:
    """Issue another API token for an existing user (shown once)."""
    from callops.store import users
    from callops.store.db import Store

    with Store() as store:
        key = ensure_tenant(store, tenant)
        with store.session() as s:
            user = users.get_user_by_name(s, key, name)
            token = users.issue_token(s, key, user.id, cli_actor(), label=label)
    if as_json:
        print(json.dumps({"tenant": key, "user": name, "token": token}, ensure_ascii=False))
        return
    out.print(f"new API token for [bold]{name}[/] (shown once):")
    print(token)


@user_app.command("revoke-token")
def user_revoke_token(
    prefix: Annotated[str, typer.Argument(help="The token's prefix (as `callops user list` shows it).")],
    tenant: Annotated[str, typer.Option(help="Tenant.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Revoke an API token: it stops working at once, in the API and in open console pages (audited)."""
    from callops.errors import NotFound
    from callops.store import users
    from callops.store.db import Store

    with Store() as store:
        key = ensure_tenant(store, tenant)
        with store.session() as s:
            match = [t for t in users.list_tokens(s, key) if t.prefix == prefix.strip()]
            if not match:
                raise NotFound(f"no token with prefix {prefix!r} in tenant {key!r}")
            row = users.revoke_token(s, key, match[0].id, cli_actor())
            result = {"tenant": key, "prefix": row.prefix, "revoked_at": row.revoked_at.isoformat()}
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    out.print(f"token {result['prefix']} of tenant {key} revoked")


@user_app.command("set-role")
def user_set_role(
    name: Annotated[str, typer.Argument(help="User name.")],
    tenant: Annotated[str, typer.Option(help="Tenant.")],
    role: Annotated[str, typer.Option(help="The new role.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Change a user's role (audited); open console pages follow it at their next action."""
    from callops.store import users
    from callops.store.db import Store

    with Store() as store:
        key = ensure_tenant(store, tenant)
        with store.session() as s:
            user = users.get_user_by_name(s, key, name)
            user = users.set_role(s, key, user.id, role, cli_actor())
            result = {"tenant": key, "user": user.name, "role": user.role}
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    out.print(f"{name} of tenant {key} is now {result['role']}")


@user_app.command("set-team")
def user_set_team(
    name: Annotated[str, typer.Argument(help="User name.")],
    tenant: Annotated[str, typer.Option(help="Tenant.")],
    team: Annotated[str, typer.Option(help="The team (on the tenant's roster); empty text: no team.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Change a user's team (audited): a team lead decides their team's requests; views can be shared with it."""
    from callops.people import links
    from callops.store import users
    from callops.store.db import Store

    with Store() as store:
        key = ensure_tenant(store, tenant)
        with store.session() as s, _roster(key) as wh:
            user = users.get_user_by_name(s, key, name)
            user = links.set_team(s, wh, key, user.id, team, cli_actor())
            result = {"tenant": key, "user": user.name, "team": user.team}
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    out.print(f"{name} of tenant {key} is now in team {result['team'] or '(none)'}")


@user_app.command("list")
def user_list(
    tenant: Annotated[str, typer.Option(help="Tenant.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List a tenant's users with their roles and token prefixes (never the tokens)."""
    from callops.store import users
    from callops.store.db import Store

    with Store() as store:
        key = ensure_tenant(store, tenant)
        with store.session() as s:
            prefixes: dict[int, list[str]] = {}
            for t in users.list_tokens(s, key):
                if t.revoked_at is None:
                    prefixes.setdefault(t.user_id, []).append(t.prefix)
            rows = [
                {
                    "user": u.name,
                    "role": u.role,
                    "display_name": u.display_name,
                    "locale": u.locale,
                    "created_at": u.created_at.isoformat(),
                    "disabled": u.disabled_at is not None,
                    "team": u.team,
                    "tokens": prefixes.get(u.id, []),
                }
                for u in users.list_users(s, key)
            ]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:
        out.print(f"tenant {key}: no users yet; add one with `callops user create NAME --tenant {key} --role admin`")
        return
    grid = Table(title=f"Users of {key}")
    for col in ("user", "role", "display_name", "locale", "created_at", "disabled", "tokens"):
        grid.add_column(col)
    for r in rows:
        grid.add_row(
            r["user"],
            r["role"],
            r["display_name"] or "",
            r["locale"],
            r["created_at"],
            "yes" if r["disabled"] else "",
            ", ".join(r["tokens"]),
        )
    out.print(grid)


__all__ = ["user_app"]
