"""Care and repair actions (A3): care rules turn the latest snapshot into tasks with an owner and a due time.

A rule fires for a customer whose class and tags match; it creates one task per customer until that
task is resolved (a later run skips customers with an open or contacted task of the same rule). Tasks
move open → contacted → resolved, each move audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from callops import tenancy
from callops.errors import CallopsError
from callops.store import audit
from callops.store.models_value import CareTask
from callops.store.scoping import get_owned, scoped
from callops.value import snapshot
from callops.value.rules import _names, _version
from callops.value.yamlio import fail, load_yaml, number, require_keys, texts

STATUSES = ("open", "contacted", "resolved")
NEXT = {"open": {"contacted", "resolved"}, "contacted": {"resolved"}, "resolved": set()}


@dataclass(frozen=True)
class CareRule:
    """When to create a care task, for which team, due how soon."""

    id: str
    classes: frozenset[str]
    tags_any: frozenset[str]
    team: str
    due_hours: float
    reason: dict[str, str]


def load_care_rules(path: Path | str | None = None, tag_ids: set[str] | None = None) -> list[CareRule]:
    """Read and validate care rules (default: the shipped ones); errors name the file and line."""
    p = Path(path) if path else Path(str(resources.files("callops.value") / "default_care.yaml"))
    origin = str(p)
    try:
        data = load_yaml(p.read_text(encoding="utf-8"), origin)
    except OSError as exc:
        raise CallopsError(f"cannot read {p}: {exc.strerror}") from None
    require_keys(origin, data, "the care rules", ("id", "version", "rules"), ("description",))
    _version(origin, data, "the care rules")
    out: list[CareRule] = []
    for item in data["rules"] if isinstance(data["rules"], list) else []:
        require_keys(origin, item, "a care rule", ("id", "team", "due_hours", "reason"), ("classes", "tags_any"))
        rid = str(item["id"])
        if rid in {r.id for r in out}:
            raise fail(origin, item, f"duplicate care rule id {rid!r}")
        out.append(CareRule(rid, _names(origin, item, "classes", rid), _names(origin, item, "tags_any", rid, tag_ids),
                            str(item["team"]), number(origin, item, "due_hours", rid),
                            texts(origin, item, "reason", rid)))  # fmt: skip
    return out


def _row(task: CareTask) -> dict[str, Any]:
    return {"id": task.id, "rule": task.rule, "customer_id": task.customer_id, "team": task.team,
            "owner": task.owner, "reason": task.reason, "due_at": task.due_at, "status": task.status,
            "note": task.note, "created_at": task.created_at, "updated_at": task.updated_at}  # fmt: skip


def generate_tasks(session: Session, tenant: tenancy.Tenant, actor: str, rules: list[CareRule] | None = None,
                   now: datetime | None = None) -> dict[str, Any]:  # fmt: skip
    """Create the care tasks the rules call for in the latest snapshot; returns counts per rule."""
    version = snapshot.require_snapshot(tenant.tenant_id)
    rules = rules if rules is not None else load_care_rules()
    table = pq.read_table(snapshot.value_dir(tenant.tenant_id) / f"v{version:04d}.parquet",
                          columns=["customer_id", "value_class", "tags"]).to_pydict()  # fmt: skip
    pending = {(t.rule, t.customer_id) for t in session.scalars(
        scoped(CareTask, tenant.tenant_id).where(CareTask.status != "resolved"))}  # fmt: skip
    now = now or datetime.now(UTC)
    created: dict[str, int] = {r.id: 0 for r in rules}
    for cid, cls, tags in zip(table["customer_id"], table["value_class"], table["tags"], strict=True):
        tagset = set(tags or [])
        for r in rules:
            if (r.classes and cls not in r.classes) or (r.tags_any and not (r.tags_any & tagset)):
                continue
            if (r.id, cid) in pending:
                continue
            session.add(CareTask(tenant_id=tenant.tenant_id, rule=r.id, customer_id=cid, team=r.team, owner=None,
                                 reason=f"{r.reason['zh-CN']} / {r.reason['en']}",
                                 due_at=now + timedelta(hours=r.due_hours),
                                 status="open", created_at=now, updated_at=now))  # fmt: skip
            pending.add((r.id, cid))
            created[r.id] += 1
    session.flush()
    audit.record(session, tenant.tenant_id, actor, "value.care.generate", "value_care_tasks", version, after=created)
    return {"snapshot_version": version, "created": created, "total": sum(created.values())}


def list_tasks(session: Session, tenant_id: str, team: str | None = None, status: str | None = None,
               limit: int = 500) -> list[dict[str, Any]]:  # fmt: skip
    """The tenant's care tasks, newest first (optionally one team's, or one status)."""
    if status is not None and status not in STATUSES:
        raise CallopsError(f"unknown status {status!r}; expected one of: {', '.join(STATUSES)}")
    q = scoped(CareTask, tenant_id)
    if team:
        q = q.where(CareTask.team == team)
    if status:
        q = q.where(CareTask.status == status)
    return [_row(t) for t in session.scalars(q.order_by(CareTask.id.desc()).limit(limit))]


def update_task(session: Session, tenant_id: str, actor: str, task_id: int, status: str,
                note: str = "") -> dict[str, Any]:  # fmt: skip
    """Move a task on (open → contacted → resolved); another tenant's task is not found. Audited."""
    task = get_owned(session, CareTask, tenant_id, task_id)
    if status not in STATUSES:
        raise CallopsError(f"unknown status {status!r}; expected one of: {', '.join(STATUSES)}")
    if status not in NEXT[task.status]:
        raise CallopsError(f"a {task.status} task cannot become {status}")
    before = {"status": task.status}
    task.status, task.note, task.owner = status, note or task.note, task.owner or actor
    task.updated_at = datetime.now(UTC)
    audit.record(session, tenant_id, actor, "value.care.update", "value_care_tasks", task.id, before,
                 {"status": status, "note": note})  # fmt: skip
    session.flush()
    return _row(task)


__all__ = ["generate_tasks", "list_tasks", "load_care_rules", "select", "update_task"]
