"""The QA rows kept in the operational store: draws of sampling plans and coaching tasks (tenant-scoped)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy import delete

from callops.errors import CallopsError
from callops.store.db import Store
from callops.store.models_quality import QaCoachingTask, QaDraw
from callops.store.scoping import get_owned, scoped, tenant_key

TASK_STATUSES = ("open", "done", "cancelled")


def save_draw(store: Store, tenant: str, period: str, rows: Sequence[dict], form: str, seed: int) -> int:
    """Record a plan's draw for ``period`` (replacing an earlier draw of the same period); returns the count."""
    key = tenant_key(tenant)
    with store.session() as s:
        s.execute(delete(QaDraw).where(QaDraw.tenant_id == key, QaDraw.period == period))
        for r in rows:
            reasons = r.get("reasons")
            s.add(QaDraw(tenant_id=key, period=period, contact_id=r["contact_id"], agent_id=r["agent_id"],
                         stream=r["stream"], stratum=r.get("stratum"),
                         inclusion_probability=r.get("inclusion_probability"), weight=r.get("weight"),
                         reasons=",".join(reasons) if isinstance(reasons, list) else reasons, form=form,
                         seed=seed))  # fmt: skip
    return len(rows)


def draws(store: Store, tenant: str, period: str | None = None) -> list[dict]:
    """The recorded draws of ``tenant`` (of one period, or all)."""
    q = scoped(QaDraw, tenant)
    if period:
        q = q.where(QaDraw.period == period)
    with store.session() as s:
        return [{"period": d.period, "contact_id": d.contact_id, "agent_id": d.agent_id, "stream": d.stream,
                 "stratum": d.stratum, "inclusion_probability": d.inclusion_probability, "weight": d.weight,
                 "reasons": d.reasons, "form": d.form, "seed": d.seed}
                for d in s.scalars(q.order_by(QaDraw.period, QaDraw.contact_id))]  # fmt: skip


def risk_contacts(store: Store, tenant: str) -> set[str]:
    """Contacts drawn only in the risk stream: their evaluations never count in agent scores."""
    with store.session() as s:
        rows = s.execute(scoped(QaDraw, tenant).with_only_columns(QaDraw.contact_id).where(QaDraw.stream == "risk"))
        return {r[0] for r in rows}


def _task_dict(t: QaCoachingTask) -> dict:
    return {"id": t.id, "agent_id": t.agent_id, "owner": t.owner, "reason": t.reason, "period": t.period,
            "follow_up_on": t.follow_up_on.isoformat(), "status": t.status, "outcome": t.outcome,
            "created_at": t.created_at.isoformat()}  # fmt: skip


def create_task(store: Store, tenant: str, *, agent_id: str, owner: str, reason: str, period: str,
                follow_up_on: date) -> dict:  # fmt: skip
    """A new open coaching task."""
    if not agent_id or not owner:
        raise CallopsError("a coaching task needs an agent and an owner")
    with store.session() as s:
        t = QaCoachingTask(tenant_id=tenant_key(tenant), agent_id=agent_id, owner=owner, reason=reason,
                           period=period, follow_up_on=follow_up_on, status="open")  # fmt: skip
        s.add(t)
        s.flush()
        return _task_dict(t)


def list_tasks(store: Store, tenant: str, status: str | None = None) -> list[dict]:
    """The tenant's coaching tasks (optionally of one status), by follow-up date."""
    q = scoped(QaCoachingTask, tenant)
    if status:
        q = q.where(QaCoachingTask.status == status)
    with store.session() as s:
        return [_task_dict(t) for t in s.scalars(q.order_by(QaCoachingTask.follow_up_on, QaCoachingTask.id))]


def update_task(store: Store, tenant: str, task_id: int, *, status: str, outcome: str | None = None) -> dict:
    """Close (or cancel, or reopen) a task with its outcome; another tenant's task is not found."""
    if status not in TASK_STATUSES:
        raise CallopsError(f"unknown status {status!r}; use one of {', '.join(TASK_STATUSES)}")
    with store.session() as s:
        t = get_owned(s, QaCoachingTask, tenant, task_id)
        t.status = status
        t.outcome = outcome
        t.updated_at = datetime.now(UTC)
        s.flush()
        return _task_dict(t)
