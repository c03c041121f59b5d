"""Saved views for a person: who may see, save, share and delete which view; running one; its workbook.

Visibility: ``private`` (its owner), ``team`` (users of the owner's team) or ``tenant`` (everyone of the tenant).
Who may share: any reader keeps private views; team leads, planners, directors and admins share with their team;
directors and admins with the whole tenant. Only the owner (or an admin) changes or deletes a view; a view someone
may not see answers 404, as another tenant's does.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from callops.errors import CallopsError, NotFound
from callops.store import models, views
from callops.store.models_platform import HomeBoard
from callops.store.roles import Role
from callops.store.scoping import scoped, tenant_key
from callops.store.users import Principal, get_user
from callops.views.spec import PERIOD_DAYS, VISIBILITIES, ViewSpec, parse_spec

KIND = "metrics"


class Forbidden(CallopsError):  # noqa: N818 - reads like NotFound at call sites
    """The caller's role may not do this with a view (the API answers 403)."""


# Who may share a view that widely (private views: any user who reads metrics).
SHARE_ROLES: dict[str, frozenset[Role]] = {
    "private": frozenset(Role),
    "team": frozenset({Role.admin, Role.director, Role.planner, Role.team_lead}),
    "tenant": frozenset({Role.admin, Role.director}),
}


def visibility_of(view: models.SavedView) -> str:
    """The view's visibility (rows older than migration 0003: shared when they have no owner)."""
    return view.visibility or ("tenant" if view.owner_id is None else "private")


def _team_of(session: Session, who: Principal) -> str | None:
    return get_user(session, who.tenant_id, who.user_id).team


def can_see(session: Session, who: Principal, view: models.SavedView) -> bool:
    """Whether ``who`` may see ``view`` (same tenant assumed: the caller read it through scoping)."""
    vis = visibility_of(view)
    if view.owner_id == who.user_id or vis == "tenant":
        return True
    return vis == "team" and view.team is not None and view.team == _team_of(session, who)


def view_dict(view: models.SavedView) -> dict[str, Any]:
    """A view as the API and the console show it."""
    return {"id": view.id, "name": view.name, "kind": view.kind, "spec": view.spec, "owner_id": view.owner_id,
            "visibility": visibility_of(view), "team": view.team, "created_at": view.created_at,
            "updated_at": view.updated_at}  # fmt: skip


def list_visible(session: Session, who: Principal) -> list[models.SavedView]:
    """The views ``who`` may see, by name."""
    return [v for v in views.list_views(session, who.tenant_id) if can_see(session, who, v)]


def get_visible(session: Session, who: Principal, view_id: int) -> models.SavedView:
    """View ``view_id`` if ``who`` may see it; else 404 (as for another tenant's view)."""
    view = views.get_view(session, who.tenant_id, view_id)
    if not can_see(session, who, view):
        raise NotFound(f"no saved view {view_id}")
    return view


def _check_share(session: Session, who: Principal, visibility: str) -> str | None:
    if visibility not in VISIBILITIES:
        raise CallopsError(f"unknown visibility {visibility!r}; expected one of: {', '.join(VISIBILITIES)}")
    if who.role not in SHARE_ROLES[visibility]:
        raise Forbidden(f"role {who.role.value} may not share views with the {visibility}")
    if visibility == "team":
        team = _team_of(session, who)
        if not team:
            raise CallopsError("you belong to no team (an admin sets it); keep the view private or share it "
                               "with the tenant")
        return team
    return None


def create_view(session: Session, who: Principal, name: str, spec: dict[str, Any],
                visibility: str = "private") -> models.SavedView:  # fmt: skip
    """Save a new view owned by ``who``; the name must be new in the tenant."""
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise CallopsError("a view needs a name of 1 to 200 characters")
    checked = parse_spec(spec).model_dump(mode="json")
    team = _check_share(session, who, visibility)
    if any(v.name == name for v in views.list_views(session, who.tenant_id)):
        raise CallopsError(f"a view called {name!r} already exists in this tenant; choose another name")
    return views.save_view(session, who.tenant_id, name, KIND, checked, f"user:{who.user_name}",
                           owner_id=who.user_id, visibility=visibility, team=team)  # fmt: skip


def update_view(session: Session, who: Principal, view_id: int, *, name: str | None = None,
                spec: dict[str, Any] | None = None, visibility: str | None = None) -> models.SavedView:  # fmt: skip
    """Change a view's name, spec or visibility: its owner (or an admin) only."""
    view = get_visible(session, who, view_id)
    if view.owner_id != who.user_id and who.role != Role.admin:
        raise Forbidden("only the view's owner changes it")
    new_spec = parse_spec(spec).model_dump(mode="json") if spec is not None else view.spec
    vis = visibility or visibility_of(view)
    team = _check_share(session, who, vis) if visibility is not None else view.team
    if name is not None and name.strip() != view.name:
        if any(v.name == name.strip() for v in views.list_views(session, who.tenant_id)):
            raise CallopsError(f"a view called {name.strip()!r} already exists in this tenant")
        view.name = name.strip()
    return views.save_view(session, who.tenant_id, view.name, view.kind, new_spec, f"user:{who.user_name}",
                           owner_id=view.owner_id, visibility=vis, team=team)  # fmt: skip


def delete_view(session: Session, who: Principal, view_id: int) -> None:
    """Delete a view: its owner (or an admin) only; it also leaves every home board."""
    view = get_visible(session, who, view_id)
    if view.owner_id != who.user_id and who.role != Role.admin:
        raise Forbidden("only the view's owner deletes it")
    views.delete_view(session, who.tenant_id, view_id, f"user:{who.user_name}")


def period_dates(spec: ViewSpec, zone: str, today: date | None = None) -> tuple[date, date]:
    """The local dates a view covers: its fixed dates, else the last N complete days before today in ``zone``."""
    if spec.start and spec.end:
        return spec.start, spec.end
    today = today or datetime.now(ZoneInfo(zone)).date()
    end = today - timedelta(days=1)
    return end - timedelta(days=PERIOD_DAYS[spec.period] - 1), end


def home_board(session: Session, who: Principal) -> dict[str, Any]:
    """``who``'s home board: tiles of views they may still see, in order (views gone or hidden are left out)."""
    row = session.scalars(scoped(HomeBoard, who.tenant_id).where(HomeBoard.user_id == who.user_id)).one_or_none()
    tiles = []
    for tile in (row.spec.get("tiles", []) if row else []):
        try:
            view = get_visible(session, who, int(tile["view_id"]))
        except NotFound:
            continue
        tiles.append({**tile, "name": view.name})
    return {"tiles": tiles}


def set_home_board(session: Session, who: Principal, tiles: list[dict[str, Any]]) -> dict[str, Any]:
    """Replace ``who``'s home board with ``tiles`` (``view_id``, width ``w`` of 12); each view must be visible."""
    clean = []
    for t in tiles[:24]:
        if not isinstance(t, dict) or "view_id" not in t:
            raise CallopsError("each home-board tile needs a view_id")
        w = int(t.get("w", 6))
        if not 1 <= w <= 12:
            raise CallopsError("a tile's width w is 1 to 12 columns")
        get_visible(session, who, int(t["view_id"]))
        clean.append({"view_id": int(t["view_id"]), "w": w})
    key = tenant_key(who.tenant_id)
    row = session.scalars(scoped(HomeBoard, key).where(HomeBoard.user_id == who.user_id)).one_or_none()
    if row is None:
        row = HomeBoard(tenant_id=key, user_id=who.user_id, spec={"tiles": clean}, updated_at=models.utcnow())
        session.add(row)
    else:
        row.spec, row.updated_at = {"tiles": clean}, models.utcnow()
    session.flush()
    return home_board(session, who)


def run_view(wh: Any, who: Principal, view: models.SavedView, today: date | None = None) -> Any:
    """The view's numbers (a ``pyarrow.Table``: period, dimensions, one column per metric) over its period."""
    from callops import tenancy
    from callops.metrics.query import query

    spec = ViewSpec.model_validate(view.spec)
    t = tenancy.get_tenant(wh, who.tenant_id)
    start, end = period_dates(spec, t.timezone, today)
    return query(wh, who.tenant_id, spec.metrics, grain=spec.grain, by=spec.dimensions, start=start, end=end,
                 where=spec.where, compare=spec.compare)  # fmt: skip


def view_workbook(wh: Any, who: Principal, view: models.SavedView, today: date | None = None) -> bytes:
    """The view as an Excel workbook: its numbers, and a sheet saying what it is (metrics, period, filter)."""
    from callops import tenancy
    from callops.exports import table_headers, workbook_bytes
    from callops.metrics.query import plain

    table = run_view(wh, who, view, today)
    spec = ViewSpec.model_validate(view.spec)
    t = tenancy.get_tenant(wh, who.tenant_id)
    start, end = period_dates(spec, t.timezone, today)
    cols = table.column_names
    rows = [[plain(r[c]) for c in cols] for r in table.to_pylist()]
    about = [["view", view.name], ["metrics", ", ".join(spec.metrics)], ["grain", spec.grain],
             ["dimensions", ", ".join(spec.dimensions)], ["filter", spec.where or ""],
             ["period", f"{start} .. {end} ({t.timezone})"], ["comparison", spec.compare or ""]]  # fmt: skip
    title = re.sub(r"[\[\]:*?/\\']", "_", view.name)[:31].strip() or "view"  # characters Excel refuses in titles
    headers = table_headers(table, t.timezone)  # time columns name the tenant's zone
    return workbook_bytes([(title, headers, rows), ("definition", ["field", "value"], about)])
