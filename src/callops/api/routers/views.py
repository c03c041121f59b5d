"""``/api/views`` (saved views: list, create, read, change, delete, run, Excel) and ``/api/home`` (home board)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from callops.api.deps import HistoryDep, StoreDep, require
from callops.metrics.query import plain
from callops.store.roles import Permission
from callops.store.users import Principal
from callops.views import service
from callops.views.service import Forbidden

router = APIRouter(tags=["views"])
Reader = Annotated[Principal, Depends(require(Permission.metrics_read))]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
T = TypeVar("T")


class ViewIn(BaseModel):
    """A view to create: its name, definition and who else sees it."""

    name: str = Field(min_length=1, max_length=200)
    spec: dict[str, Any]
    visibility: str = Field(default="private", max_length=16, description="private, team or tenant")


class ViewChange(BaseModel):
    """What to change in a view (fields left out stay as they are)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    spec: dict[str, Any] | None = None
    visibility: str | None = Field(default=None, max_length=16)


class Board(BaseModel):
    """A home board: views in order, each ``w`` of 12 columns wide."""

    tiles: list[dict[str, Any]] = Field(default_factory=list, max_length=24)


def _allowed(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except Forbidden as exc:
        raise HTTPException(status_code=403, detail=str(exc)) from None


@router.get("/views", summary="Saved views the caller may see")
def list_views(who: Reader, st: StoreDep) -> list[dict[str, Any]]:
    """The caller's own views and those shared with their team or the tenant, by name."""
    with st.session() as s:
        return [service.view_dict(v) for v in service.list_visible(s, who)]


@router.post("/views", summary="Save a new view", status_code=201)
def create_view(body: ViewIn, who: Reader, st: StoreDep) -> dict[str, Any]:
    """Metrics, grain, dimensions, filter, period, comparison, chart and tiles; checked before it is saved."""
    with st.session() as s:
        return _allowed(lambda: service.view_dict(service.create_view(s, who, body.name, body.spec, body.visibility)))


@router.get("/views/{view_id}", summary="One saved view")
def get_view(view_id: int, who: Reader, st: StoreDep) -> dict[str, Any]:
    """The view's definition (404 if it does not exist or the caller may not see it)."""
    with st.session() as s:
        return service.view_dict(service.get_visible(s, who, view_id))


@router.put("/views/{view_id}", summary="Change a saved view")
def update_view(view_id: int, body: ViewChange, who: Reader, st: StoreDep) -> dict[str, Any]:
    """Its owner (or an admin) renames it, changes its definition or shares it differently."""
    with st.session() as s:
        return _allowed(lambda: service.view_dict(service.update_view(
            s, who, view_id, name=body.name, spec=body.spec, visibility=body.visibility)))


@router.delete("/views/{view_id}", summary="Delete a saved view", status_code=204)
def delete_view(view_id: int, who: Reader, st: StoreDep) -> Response:
    """Its owner (or an admin) deletes it; it leaves every home board."""
    with st.session() as s:
        _allowed(lambda: service.delete_view(s, who, view_id))
    return Response(status_code=204)


@router.get("/views/{view_id}/data", summary="A saved view's numbers (JSON or Excel)")
def view_data(
    view_id: int,
    who: Reader,
    st: StoreDep,
    wh: HistoryDep,
    format: Annotated[str, Query(pattern="^(json|xlsx)$")] = "json",
) -> Any:
    """Rows of period, dimensions and metrics over the view's period (dates in the tenant's zone); from the
    tenant's lake when its ``lake.yaml`` names one (the view runs the metric catalog, canonical tables only)."""
    with st.session() as s:
        view = service.get_visible(s, who, view_id)
        if format == "xlsx":
            body = service.view_workbook(wh, who, view)
            return Response(body, media_type=XLSX,
                            headers={"Content-Disposition": f'attachment; filename="view-{view_id}.xlsx"'})  # fmt: skip
        table = service.run_view(wh, who, view)
    return [{k: plain(v) for k, v in r.items()} for r in table.to_pylist()]


@router.get("/home", summary="The caller's home board")
def get_home(who: Reader, st: StoreDep) -> dict[str, Any]:
    """Tiles of the views on the caller's home board, in order."""
    with st.session() as s:
        return service.home_board(s, who)


@router.put("/home", summary="Set the caller's home board")
def put_home(body: Board, who: Reader, st: StoreDep) -> dict[str, Any]:
    """Replace the board: each tile names a view the caller may see (``view_id``) and its width ``w`` (1-12)."""
    with st.session() as s:
        return service.set_home_board(s, who, body.tiles)
