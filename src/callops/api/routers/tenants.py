"""``/api/tenant``, ``/api/users``, ``/api/audit``: the caller's tenant, its users and tokens, the audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from callops.api.deps import StoreDep, WarehouseDep, Who, require
from callops.store import audit, users
from callops.store.roles import ROLE_PERMISSIONS, Permission, Role
from callops.store.tenants import get_tenant
from callops.store.users import Principal

router = APIRouter(tags=["tenant"])
Admin = Annotated[Principal, Depends(require(Permission.admin))]
# ids are 64-bit in the store; larger numbers are refused here rather than by the database
UserId = Annotated[int, Path(ge=1, le=2**63 - 1, description="User id (of the caller's tenant).")]


class UserIn(BaseModel):
    """A new user of the caller's tenant."""

    name: str = Field(min_length=1, max_length=100, description="Login name: letters, digits and . _ @ + -")
    role: Role
    display_name: str | None = Field(default=None, max_length=200)
    locale: str = Field(default="en", description="en or zh-CN")
    agent_id: str | None = Field(default=None, max_length=200, description="Role agent: their roster agent.")
    team: str | None = Field(default=None, max_length=100, description="Their team (on the roster).")


class TeamIn(BaseModel):
    """A user's team (issue 19); null or empty: no team."""

    team: str | None = Field(default=None, max_length=100)


class TokenIn(BaseModel):
    """A new API token."""

    label: str | None = Field(default=None, max_length=200)
    expires_at: datetime | None = None


def user_dict(u: Any) -> dict[str, Any]:
    """JSON view of a user (no secrets)."""
    return {"id": u.id, "name": u.name, "display_name": u.display_name, "role": u.role, "locale": u.locale,
            "created_at": u.created_at, "disabled_at": u.disabled_at, "team": u.team}  # fmt: skip


@router.get("/tenant", summary="The caller's tenant and identity")
def tenant(who: Who, st: StoreDep) -> dict[str, Any]:
    """Tenant id, name and zone, and who the caller is with their permissions."""
    with st.session() as s:
        t = get_tenant(s, who.tenant_id)
        row = {"tenant_id": t.id, "name": t.name, "timezone": t.timezone}
    return {**row, "user": {"id": who.user_id, "name": who.user_name, "role": who.role.value,
                            "permissions": sorted(p.value for p in ROLE_PERMISSIONS[who.role])}}  # fmt: skip


@router.get("/users", summary="Users of the tenant (admin)")
def list_users(who: Admin, st: StoreDep) -> list[dict[str, Any]]:
    """Every user of the caller's tenant, by name."""
    with st.session() as s:
        return [user_dict(u) for u in users.list_users(s, who.tenant_id)]


@router.post("/users", status_code=201, summary="Create a user with a first token (admin)")
def create_user(body: UserIn, who: Admin, st: StoreDep, wh: WarehouseDep) -> dict[str, Any]:
    """Create a user; the answer holds their first API token, shown only this once."""
    from callops.people import links

    with st.session() as s:
        u, plain = links.create_user(s, wh, who.tenant_id, body.name, body.role, who.user_name, agent_id=body.agent_id,
                                     team=body.team, display_name=body.display_name, locale=body.locale)  # fmt: skip
        return {**user_dict(u), "token": plain}


@router.post("/users/{user_id}/team", summary="Set a user's team (admin)")
def set_user_team(user_id: UserId, body: TeamIn, who: Admin, st: StoreDep, wh: WarehouseDep) -> dict[str, Any]:
    """Checked against the roster and audited (``user.set_team``); a team lead decides their team's requests."""
    from callops.people import links

    with st.session() as s:
        return user_dict(links.set_team(s, wh, who.tenant_id, user_id, body.team, who.user_name))


@router.post("/users/{user_id}/disable", summary="Disable a user (admin)")
def disable_user(user_id: UserId, who: Admin, st: StoreDep) -> dict[str, Any]:
    """Disable a user of the tenant: their tokens stop working at once."""
    with st.session() as s:
        return user_dict(users.disable_user(s, who.tenant_id, user_id, who.user_name))


@router.post("/users/{user_id}/tokens", status_code=201, summary="Issue an API token (admin)")
def issue_token(user_id: UserId, who: Admin, st: StoreDep, body: TokenIn | None = None) -> dict[str, Any]:
    """A new token for a user of the tenant; the plain token is shown only in this answer."""
    body = body or TokenIn()
    expires = body.expires_at
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)  # naive times are read as UTC (the store keeps UTC)
    with st.session() as s:
        plain = users.issue_token(s, who.tenant_id, user_id, who.user_name, label=body.label,
                                  expires_at=expires)  # fmt: skip
    return {"user_id": user_id, "token": plain, "label": body.label, "expires_at": expires}


class RoleIn(BaseModel):
    """A user's new role."""

    role: Role


TokenId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Token id (of the caller's tenant).")]


def token_dict(t: Any) -> dict[str, Any]:
    """JSON view of a token (prefix and dates, never the secret)."""
    return {"id": t.id, "user_id": t.user_id, "prefix": t.prefix, "label": t.label, "created_at": t.created_at,
            "expires_at": t.expires_at, "revoked_at": t.revoked_at}  # fmt: skip


@router.post("/users/{user_id}/role", summary="Change a user's role (admin)")
def set_role(user_id: UserId, body: RoleIn, who: Admin, st: StoreDep) -> dict[str, Any]:
    """The new role applies to the user's next request and to their open console pages (audited)."""
    with st.session() as s:
        return user_dict(users.set_role(s, who.tenant_id, user_id, body.role, who.user_name))


@router.get("/users/{user_id}/tokens", summary="A user's API tokens (admin)")
def list_tokens(user_id: UserId, who: Admin, st: StoreDep) -> list[dict[str, Any]]:
    """Prefix, label and dates of each token of the user (never the token itself)."""
    with st.session() as s:
        users.get_user(s, who.tenant_id, user_id)  # 404 for another tenant's user
        return [token_dict(t) for t in users.list_tokens(s, who.tenant_id, user_id)]


@router.post("/tokens/{token_id}/revoke", summary="Revoke an API token (admin)")
def revoke_token(token_id: TokenId, who: Admin, st: StoreDep) -> dict[str, Any]:
    """The token stops working at once, API and console alike (audited; revoking twice changes nothing)."""
    with st.session() as s:
        return token_dict(users.revoke_token(s, who.tenant_id, token_id, who.user_name))


@router.get("/audit", summary="The tenant's audit log (admin)")
def audit_log(
    who: Admin,
    st: StoreDep,
    object_type: Annotated[str | None, Query(max_length=50)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Newest entries first: who changed what, with the object before and after."""
    with st.session() as s:
        rows = audit.list_audit(s, who.tenant_id, object_type=object_type, limit=limit)
        return [{"id": e.id, "actor": e.actor, "action": e.action, "object_type": e.object_type,
                 "object_id": e.object_id, "before": e.before, "after": e.after, "at": e.at} for e in rows]  # fmt: skip
