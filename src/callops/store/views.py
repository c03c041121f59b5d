"""Saved console views: a named spec (metric, grain, filters, layout) per tenant, personal or shared."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from callops.errors import CallopsError, NotFound
from callops.store import audit, models
from callops.store.scoping import get_owned, scoped, tenant_key
from callops.store.users import get_user


def save_view(
    session: Session,
    tenant: str,
    name: str,
    kind: str,
    spec: dict[str, Any],
    actor: str,
    *,
    owner_id: int | None = None,
    visibility: str | None = None,
    team: str | None = None,
) -> models.SavedView:
    """Create the view ``name`` or replace its spec; ``owner_id`` None means shared with the tenant.

    ``visibility`` (private, team or tenant; default: private with an owner, else tenant) and ``team`` say who
    else sees it (callops.views.service decides who may share).
    """
    key = tenant_key(tenant)
    if not name.strip():
        raise CallopsError("a saved view needs a name")
    if not isinstance(spec, dict):
        raise CallopsError("a saved view's spec must be a JSON object")
    if owner_id is not None:
        get_user(session, key, owner_id)  # the owner must be a user of this tenant
    view = session.scalars(scoped(models.SavedView, key).where(models.SavedView.name == name)).one_or_none()
    now = models.utcnow()
    if view is None:
        view = models.SavedView(
            tenant_id=key, name=name, kind=kind, spec=spec, owner_id=owner_id, created_at=now, updated_at=now,
            visibility=visibility or ("private" if owner_id is not None else "tenant"), team=team,
        )
        session.add(view)
        session.flush()
        audit.record(session, key, actor, "view.create", "saved_view", view.id, None, audit.snapshot(view))
        return view
    before = audit.snapshot(view)
    view.kind, view.spec, view.owner_id, view.updated_at = kind, spec, owner_id, now
    view.visibility, view.team = visibility or ("private" if owner_id is not None else "tenant"), team
    session.flush()
    audit.record(session, key, actor, "view.update", "saved_view", view.id, before, audit.snapshot(view))
    return view


def list_views(session: Session, tenant: str, *, visible_to: int | None = None) -> list[models.SavedView]:
    """The tenant's views by name; with ``visible_to``, only that user's own and the ones shared with the tenant."""
    q = scoped(models.SavedView, tenant)
    if visible_to is not None:
        v = models.SavedView
        q = q.where((v.owner_id == visible_to) | (v.visibility == "tenant")
                    | (v.owner_id.is_(None) & v.visibility.is_(None)))  # fmt: skip
    return list(session.scalars(q.order_by(models.SavedView.name)))


def get_view(session: Session, tenant: str, view_id: int) -> models.SavedView:
    """The tenant's view ``view_id``."""
    return get_owned(session, models.SavedView, tenant, view_id)


def get_view_by_name(session: Session, tenant: str, name: str) -> models.SavedView:
    """The tenant's view called ``name``."""
    view = session.scalars(scoped(models.SavedView, tenant).where(models.SavedView.name == name)).one_or_none()
    if view is None:
        raise NotFound(f"no saved view {name!r} in tenant {tenant_key(tenant)!r}")
    return view


def delete_view(session: Session, tenant: str, view_id: int, actor: str) -> None:
    """Delete one of the tenant's views."""
    view = get_view(session, tenant, view_id)
    before = audit.snapshot(view)
    session.delete(view)
    session.flush()
    audit.record(session, tenant, actor, "view.delete", "saved_view", view_id, before, None)
