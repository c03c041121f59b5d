"""Users, roles and API tokens of a tenant.

Every function takes the tenant explicitly and reads through :func:`scoping.scoped`. The one
exception is :func:`authenticate`: a token is presented *before* the tenant is known (the token
carries it), so it is looked up by its public prefix across tenants and the tenant comes back
in the :class:`Principal`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from callops.errors import CallopsError, NotFound
from callops.store import audit, models, tokens
from callops.store.models import Role
from callops.store.scoping import get_owned, scoped, tenant_key
from callops.store.tenants import get_tenant

USER_NAME = re.compile(r"^[\w.@+-]{1,100}$")
LOCALES = ("en", "zh-CN")
# last_used_at is refreshed at most this often, so authentication is not a write per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Bumped by every change that can take a credential away (role, disable, revoke) in this process, at the change
# and again when its transaction commits: the API's principal cache (callops.api.deps) drops what it holds.
_credentials_generation = 0


def credentials_generation() -> int:
    """How many credential changes this process has made (the API's principal cache compares it)."""
    return _credentials_generation


def _credentials_changed(session: Session) -> None:
    def bump(*_: object) -> None:
        global _credentials_generation
        _credentials_generation += 1

    bump()
    event.listen(session, "after_commit", bump, once=True)  # a re-read before the commit must not be kept


@dataclass(frozen=True)
class Principal:
    """Who is calling: resolved from a token, it carries the tenant every request is scoped to."""

    tenant_id: str
    user_id: int
    user_name: str
    role: Role
    token_id: int


def parse_role(role: str | Role) -> Role:
    """``role`` as a :class:`Role`; a clear error naming the valid roles otherwise."""
    try:
        return Role(str(role).strip().lower().replace("-", "_").replace(" ", "_"))
    except ValueError:
        valid = ", ".join(r.value for r in Role)
        raise CallopsError(f"unknown role {role!r}; use one of: {valid}") from None


def create_user(
    session: Session,
    tenant: str,
    name: str,
    role: str | Role,
    actor: str,
    *,
    display_name: str | None = None,
    locale: str = "en",
    token_label: str | None = "created with the user",
) -> tuple[models.User, str]:
    """Create a user with a first API token; returns the user and the plain token (show it once)."""
    key = get_tenant(session, tenant).id
    role = parse_role(role)
    if not USER_NAME.match(name):
        raise CallopsError(f"invalid user name {name!r}: letters, digits and . _ @ + - (at most 100)")
    if locale not in LOCALES:
        raise CallopsError(f"unknown locale {locale!r}; use one of: {', '.join(LOCALES)}")
    if session.scalars(scoped(models.User, key).where(models.User.name == name)).first() is not None:
        raise CallopsError(f"user {name!r} already exists in tenant {key!r}")
    user = models.User(
        tenant_id=key, name=name, role=role.value, display_name=display_name, locale=locale, created_at=models.utcnow()
    )
    session.add(user)
    session.flush()
    audit.record(session, key, actor, "user.create", "user", user.id, None, audit.snapshot(user))
    plain = issue_token(session, key, user.id, actor, label=token_label)
    return user, plain


def list_users(session: Session, tenant: str, *, include_disabled: bool = True) -> list[models.User]:
    """The tenant's users, by name."""
    q = scoped(models.User, tenant)
    if not include_disabled:
        q = q.where(models.User.disabled_at.is_(None))
    return list(session.scalars(q.order_by(models.User.name)))


def get_user(session: Session, tenant: str, user_id: int) -> models.User:
    """The tenant's user ``user_id`` (NotFound for another tenant's user)."""
    return get_owned(session, models.User, tenant, user_id)


def get_user_by_name(session: Session, tenant: str, name: str) -> models.User:
    """The tenant's user called ``name``."""
    user = session.scalars(scoped(models.User, tenant).where(models.User.name == name)).one_or_none()
    if user is None:
        raise NotFound(f"no user {name!r} in tenant {tenant_key(tenant)!r}")
    return user


def set_role(session: Session, tenant: str, user_id: int, role: str | Role, actor: str) -> models.User:
    """Change a user's role."""
    user = get_user(session, tenant, user_id)
    before = audit.snapshot(user)
    user.role = parse_role(role).value
    _credentials_changed(session)
    session.flush()
    audit.record(session, tenant, actor, "user.set_role", "user", user.id, before, audit.snapshot(user))
    return user


def set_locale(session: Session, tenant: str, user_id: int, locale: str, actor: str) -> models.User:
    """Change a user's console language (``en`` or ``zh-CN``)."""
    if locale not in LOCALES:
        raise CallopsError(f"unknown locale {locale!r}; use one of: {', '.join(LOCALES)}")
    user = get_user(session, tenant, user_id)
    before = audit.snapshot(user)
    user.locale = locale
    session.flush()
    audit.record(session, tenant, actor, "user.set_locale", "user", user.id, before, audit.snapshot(user))
    return user


def disable_user(session: Session, tenant: str, user_id: int, actor: str, now: datetime | None = None) -> models.User:
    """Disable a user: their tokens stop working at once."""
    user = get_user(session, tenant, user_id)
    before = audit.snapshot(user)
    user.disabled_at = now or models.utcnow()
    _credentials_changed(session)
    session.flush()
    audit.record(session, tenant, actor, "user.disable", "user", user.id, before, audit.snapshot(user))
    return user


def issue_token(
    session: Session,
    tenant: str,
    user_id: int,
    actor: str,
    *,
    label: str | None = None,
    expires_at: datetime | None = None,
) -> str:
    """A new API token for a user of the tenant; only its hash is stored, the plain text is returned once."""
    user = get_user(session, tenant, user_id)
    new = tokens.new_token()
    # Prefixes are global (48 random bits): redraw on the rare collision rather than fail.
    while session.scalars(select(models.ApiToken.id).where(models.ApiToken.prefix == new.prefix)).first():
        new = tokens.new_token()
    row = models.ApiToken(
        tenant_id=user.tenant_id,
        user_id=user.id,
        prefix=new.prefix,
        token_hash=new.token_hash,
        label=label,
        expires_at=expires_at,
        created_at=models.utcnow(),
    )
    session.add(row)
    session.flush()
    audit.record(session, tenant, actor, "token.issue", "api_token", row.id, None, audit.snapshot(row))
    return new.plain


def list_tokens(session: Session, tenant: str, user_id: int | None = None) -> list[models.ApiToken]:
    """The tenant's tokens (prefix, label, dates — never the secret), optionally of one user."""
    q = scoped(models.ApiToken, tenant)
    if user_id is not None:
        q = q.where(models.ApiToken.user_id == user_id)
    return list(session.scalars(q.order_by(models.ApiToken.id)))


def revoke_token(
    session: Session, tenant: str, token_id: int, actor: str, now: datetime | None = None
) -> models.ApiToken:
    """Revoke a token of the tenant (idempotent)."""
    row = get_owned(session, models.ApiToken, tenant, token_id)
    if row.revoked_at is None:
        before = audit.snapshot(row)
        row.revoked_at = now or models.utcnow()
        _credentials_changed(session)
        session.flush()
        audit.record(session, tenant, actor, "token.revoke", "api_token", row.id, before, audit.snapshot(row))
    return row


def authenticate(session: Session, plain: str, now: datetime | None = None) -> Principal | None:
    """The principal a token stands for, or None if it is malformed, unknown, revoked, expired or disabled.

    Cross-tenant by necessity (see the module docstring); the hash comparison is constant-time.
    """
    return authenticate_until(session, plain, now)[0]


def authenticate_until(session: Session, plain: str,
                       now: datetime | None = None) -> tuple[Principal | None, datetime | None]:  # fmt: skip
    """:func:`authenticate`, and when the token expires (None: never, or not valid)."""
    now = now or models.utcnow()
    prefix = tokens.token_prefix(plain)
    row = None
    if prefix is not None:
        row = session.scalars(select(models.ApiToken).where(models.ApiToken.prefix == prefix)).one_or_none()
    if not tokens.verify_token(plain, row.token_hash if row else None) or row is None:
        return None, None
    if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None, None
    user = get_user(session, row.tenant_id, row.user_id)
    if user.disabled_at is not None:
        return None, None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        # Bookkeeping only: under write contention (a hundred requests racing on SQLite, issue 21) the update
        # is dropped rather than failing the request; the next request a minute later records it.
        try:
            with session.begin_nested():
                row.last_used_at = now
        except OperationalError:
            pass
    return Principal(row.tenant_id, user.id, user.name, Role(user.role), row.id), row.expires_at
