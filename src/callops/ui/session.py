"""Who is signed in to the console, and the store/warehouse it reads.

The browser holds only NiceGUI's signed session cookie; the server-side user storage keeps the token's *id*
(never the token itself), the user and tenant. Every page calls :func:`require`, which re-checks in the store
that the token is still valid (not revoked or expired, user not disabled) and that the role has the page's
permission — so revoking a token signs the console out too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from nicegui import app, run, ui

from callops.store.roles import Permission, Role, allows
from callops.ui.i18n import DEFAULT_LOCALE, LOCALES

T = TypeVar("T")


class _Holder:
    """The app's resources (the API's :class:`callops.api.deps.Resources`), set by ``mount``."""

    resources: Any = None


HOLDER = _Holder()


@dataclass(frozen=True)
class Ctx:
    """The signed-in user of one page view."""

    tenant_id: str
    timezone: str
    user_id: int
    user_name: str
    role: Role
    token_id: int
    locale: str

    def can(self, permission: Permission) -> bool:
        """Whether the role allows ``permission`` (the console hides what it does not)."""
        return allows(self.role, permission)


def resources() -> Any:
    """The store and warehouse holder of the running app."""
    if HOLDER.resources is None:
        raise RuntimeError("callops.ui.mount(app) has not been called")
    return HOLDER.resources


def store() -> Any:
    """The operational store."""
    return resources().store


def with_warehouse(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn(wh, *args, **kwargs)`` on a warehouse handle of this thread's own (call it off the loop)."""
    with resources().reading() as wh:
        return fn(wh, *args, **kwargs)


async def warehouse_call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """:func:`with_warehouse` in a worker thread so the event loop (live pushes) keeps running."""
    return await run.io_bound(with_warehouse, fn, *args, **kwargs)


def with_history(tenant_id: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """:func:`with_warehouse` for the history screens: on the tenant's lake when its ``lake.yaml`` names one."""
    with resources().history(tenant_id) as wh:
        return fn(wh, *args, **kwargs)


async def history_call(tenant_id: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """:func:`warehouse_call` for the history screens (journeys, indicators, trends, saved views, metric
    reference): on the tenant's lake when its ``lake.yaml`` names one (``Resources.history``, issue 17)."""
    return await run.io_bound(with_history, tenant_id, fn, *args, **kwargs)


def tenant_zone(tenant_id: str) -> str:
    """The tenant's IANA zone (from the store's mirror of the tenant)."""
    from callops.store.tenants import get_tenant

    with store().session() as s:
        return get_tenant(s, tenant_id).timezone


def sign_in(user_name: str, token: str) -> Ctx | None:
    """Check the token and that it belongs to ``user_name``; keep the principal in the user storage."""
    from callops.store.users import authenticate, get_user

    with store().session() as s:
        who = authenticate(s, token.strip())
        if who is None or who.user_name != user_name.strip():
            return None
        user = get_user(s, who.tenant_id, who.user_id)
        locale = user.locale if user.locale in LOCALES else DEFAULT_LOCALE
    app.storage.user.update(
        {
            "tenant_id": who.tenant_id,
            "user_id": who.user_id,
            "user_name": who.user_name,
            "role": who.role.value,
            "token_id": who.token_id,
            "locale": locale,
        }
    )
    return current()


def sign_out() -> None:
    """Forget the principal of this browser session."""
    app.storage.user.clear()


def still_valid(tenant_id: str, user_id: int, token_id: int) -> Role | None:
    """The user's current role if the token is still good, else None."""
    from callops.errors import NotFound
    from callops.store import models
    from callops.store.scoping import get_owned

    now = models.utcnow()
    try:
        with store().session() as s:
            tok = get_owned(s, models.ApiToken, tenant_id, token_id)
            user = get_owned(s, models.User, tenant_id, user_id)
            if tok.user_id != user.id or tok.revoked_at is not None or user.disabled_at is not None:
                return None
            if tok.expires_at is not None and tok.expires_at <= now:
                return None
            return Role(user.role)
    except NotFound:
        return None


def current() -> Ctx | None:
    """The signed-in user of this page view, or None."""
    data = app.storage.user
    if "token_id" not in data:
        return None
    role = still_valid(data["tenant_id"], data["user_id"], data["token_id"])
    if role is None:
        sign_out()
        return None
    return Ctx(
        tenant_id=data["tenant_id"],
        timezone=tenant_zone(data["tenant_id"]),
        user_id=data["user_id"],
        user_name=data["user_name"],
        role=role,
        token_id=data["token_id"],
        locale=data.get("locale", DEFAULT_LOCALE),
    )


def require(permission: Permission | None = None) -> Ctx | None:
    """The page's user, or None after sending the browser to the sign-in page (or showing a refusal)."""
    ctx = current()
    if ctx is None:
        ui.navigate.to("/login")
        return None
    if permission is not None and not ctx.can(permission):
        from callops.ui.i18n import t

        ui.label(t("no_permission", ctx.locale)).classes("text-negative text-lg m-8").props('data-test="forbidden"')
        return None
    return ctx


def set_locale(ctx: Ctx, locale: str) -> None:
    """Store the user's language in the store (audited) and in this session."""
    from callops.store.users import set_locale as store_set_locale

    with store().session() as s:
        store_set_locale(s, ctx.tenant_id, ctx.user_id, locale, actor=ctx.user_name)
    app.storage.user["locale"] = locale
