"""``/api/rules``: alert rules managers write (indicator ``rules:`` and live ``alerts:``): check as typed, 7-day
preview, versioned save; a saved live rule reaches the running live engine without a restart."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from callops.api.deps import StoreDep, WarehouseDep, require
from callops.rules import service
from callops.rules.live import reach_running_hubs
from callops.store import documents
from callops.store.roles import Permission
from callops.store.users import Principal

router = APIRouter(tags=["rules"])
Manager = Annotated[Principal, Depends(require(Permission.alerts_act))]


class RuleText(BaseModel):
    """Alert rules as YAML: indicator rules (``rules:``, docs/metrics.md) and/or live rules (``alerts:``,
    docs/live-events.md)."""

    yaml: str = Field(max_length=100_000)


def _doc(d: documents.Document) -> dict[str, Any]:
    return {"name": d.name, "version": d.version, "current_version": d.current_version, "enabled": d.enabled,
            "yaml": d.yaml_text, "created_by": d.created_by, "created_at": d.created_at}  # fmt: skip


@router.post("/rules/check", summary="Check alert rules as they are typed")
def check(body: RuleText, _who: Manager) -> dict[str, Any]:
    """``{"ok": true, "rules": [...]}`` (plus ``"live": [...]`` with live rules) when valid; a 400 naming every
    problem otherwise."""
    rules, live = service.check_all(body.yaml)
    out: dict[str, Any] = {"ok": True, "rules": [r.id for r in rules.rules]}
    if live:
        out["live"] = [r.name for r in live]
    return out


@router.post("/rules/preview", summary="Replay alert rules over the last 7 days")
def preview(body: RuleText, who: Manager, wh: WarehouseDep) -> dict[str, Any]:
    """Per rule: evaluations, alerts it would have raised and their worst levels ("would have fired 12 times")."""
    return service.preview(wh, who.tenant_id, body.yaml)


@router.get("/rules", summary="Saved alert rules")
def list_rules(who: Manager, st: StoreDep) -> list[dict[str, Any]]:
    """The tenant's rule documents at their current version."""
    with st.session() as s:
        return [_doc(d) for d in documents.list_documents(s, who.tenant_id, service.KIND)]


@router.put("/rules/{name}", summary="Save a new version of an alert rule")
def save(name: str, body: RuleText, who: Manager, st: StoreDep) -> dict[str, Any]:
    """Checked first; an unchanged text makes no new version; the change is in the audit log. The running live
    engine of the tenant takes saved live rules up at once (another process's within seconds)."""
    with st.session() as s:
        doc = _doc(service.save(s, who.tenant_id, name, body.yaml, f"user:{who.user_name}"))
    reach_running_hubs(st, who.tenant_id)
    return doc


@router.get("/rules/{name}/versions", summary="Every version of an alert rule")
def versions(name: str, who: Manager, st: StoreDep) -> list[dict[str, Any]]:
    """Versions, oldest first, with who saved each."""
    with st.session() as s:
        return [_doc(d) for d in documents.list_versions(s, who.tenant_id, service.KIND, name)]
