"""Alerts and their history: the live engine raises, escalates, de-escalates and clears; people acknowledge and resolve.

One alert per ``key`` (for example ``long-wait:queue:Q1``) is unresolved at a time — the engine's
level changes update it and append to its history. A cleared alert stays on the list until a
person resolves it; if the measure crosses a threshold again before that, the same alert is
raised again. The engine's changes are recorded in the alert's own history; people's actions
(acknowledge, resolve) go to the audit log as well.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from callops.errors import CallopsError
from callops.store import audit, models
from callops.store.models import AlertEventKind, AlertLevel, AlertStatus
from callops.store.scoping import get_owned, scoped, tenant_key

LEVEL_RANK = {level: i for i, level in enumerate(AlertLevel)}


def parse_level(level: str | AlertLevel) -> AlertLevel:
    """``level`` as an :class:`AlertLevel`; a clear error naming the valid levels otherwise."""
    try:
        return AlertLevel(level)
    except ValueError:
        raise CallopsError(f"unknown alert level {level!r}; use one of: {', '.join(AlertLevel)}") from None


def get_open_alert(session: Session, tenant: str, key: str) -> models.Alert | None:
    """The tenant's unresolved alert for ``key``, if any (locked for update on PostgreSQL)."""
    q = scoped(models.Alert, tenant).where(models.Alert.open_key == key).with_for_update()
    return session.scalars(q).one_or_none()


def raise_alert(
    session: Session,
    tenant: str,
    *,
    key: str,
    rule_name: str,
    measure: str,
    scope: str,
    subject: str,
    level: str | AlertLevel,
    value: float | None,
    at: datetime,
    rule_version: int | None = None,
    details: dict[str, Any] | None = None,
) -> tuple[models.Alert, AlertEventKind | None]:
    """Raise the alert ``key`` at ``level`` or move its level; returns the alert and the event written (if any)."""
    level = parse_level(level)
    tk = tenant_key(tenant)
    alert = get_open_alert(session, tk, key)
    if alert is None:
        alert = models.Alert(
            tenant_id=tk,
            key=key,
            open_key=key,
            rule_name=rule_name,
            rule_version=rule_version,
            measure=measure,
            scope=scope,
            subject=subject,
            level=level.value,
            status=AlertStatus.open.value,
            value=value,
            details=details or {},
            opened_at=at,
            updated_at=at,
        )
        session.add(alert)
        session.flush()
        kind: AlertEventKind | None = AlertEventKind.raised
    else:
        old = LEVEL_RANK[AlertLevel(alert.level)]
        if alert.cleared_at is not None:
            kind = AlertEventKind.raised
        elif LEVEL_RANK[level] > old:
            kind = AlertEventKind.escalated
        elif LEVEL_RANK[level] < old:
            kind = AlertEventKind.deescalated
        else:
            kind = None
        alert.level, alert.value, alert.updated_at, alert.cleared_at = level.value, value, at, None
        alert.rule_version = rule_version if rule_version is not None else alert.rule_version
        if details:
            alert.details = {**alert.details, **details}
    if kind is not None:
        _event(session, alert, kind, at, level=level.value, value=value)
    session.flush()
    return alert, kind


def clear_alert(
    session: Session, tenant: str, key: str, at: datetime, value: float | None = None
) -> models.Alert | None:
    """Mark the alert ``key`` cleared (its measure is back to normal); None if there is no unresolved alert."""
    alert = get_open_alert(session, tenant, key)
    if alert is None or alert.cleared_at is not None:
        return alert
    alert.cleared_at, alert.updated_at, alert.value = at, at, value if value is not None else alert.value
    _event(session, alert, AlertEventKind.cleared, at, level=alert.level, value=value)
    session.flush()
    return alert


def acknowledge(
    session: Session, tenant: str, alert_id: int, actor: str, *, note: str | None = None, at: datetime | None = None
) -> models.Alert:
    """A person takes the alert on; acknowledging twice changes nothing; a resolved alert cannot be."""
    alert = get_alert(session, tenant, alert_id)
    if alert.status == AlertStatus.resolved:
        raise CallopsError(f"alert {alert_id} is already resolved")
    if alert.status == AlertStatus.acknowledged:
        return alert
    at = at or models.utcnow()
    before = audit.snapshot(alert)
    alert.status, alert.acknowledged_at, alert.acknowledged_by, alert.updated_at = (
        AlertStatus.acknowledged.value,
        at,
        actor,
        at,
    )
    _event(session, alert, AlertEventKind.acknowledged, at, actor=actor, note=note, level=alert.level)
    session.flush()
    audit.record(session, tenant, actor, "alert.acknowledge", "alert", alert.id, before, audit.snapshot(alert))
    return alert


def resolve(
    session: Session,
    tenant: str,
    alert_id: int,
    actor: str,
    *,
    resolution: str | None = None,
    at: datetime | None = None,
) -> models.Alert:
    """A person closes the alert (idempotent); the key is free for a new alert afterwards."""
    alert = get_alert(session, tenant, alert_id)
    if alert.status == AlertStatus.resolved:
        return alert
    at = at or models.utcnow()
    before = audit.snapshot(alert)
    alert.status, alert.open_key, alert.resolved_at, alert.resolved_by, alert.resolution, alert.updated_at = (
        AlertStatus.resolved.value,
        None,
        at,
        actor,
        resolution,
        at,
    )
    _event(session, alert, AlertEventKind.resolved, at, actor=actor, note=resolution, level=alert.level)
    session.flush()
    audit.record(session, tenant, actor, "alert.resolve", "alert", alert.id, before, audit.snapshot(alert))
    return alert


def get_alert(session: Session, tenant: str, alert_id: int) -> models.Alert:
    """The tenant's alert ``alert_id``."""
    return get_owned(session, models.Alert, tenant, alert_id)


def list_alerts(
    session: Session,
    tenant: str,
    *,
    statuses: Iterable[str | AlertStatus] | None = (AlertStatus.open, AlertStatus.acknowledged),
    limit: int = 200,
) -> list[models.Alert]:
    """The tenant's alerts, most severe then newest first; by default the unresolved ones (None: all)."""
    q = scoped(models.Alert, tenant)
    if statuses is not None:
        q = q.where(models.Alert.status.in_([AlertStatus(s).value for s in statuses]))
    alerts = list(session.scalars(q.order_by(models.Alert.updated_at.desc(), models.Alert.id.desc()).limit(limit)))
    # severity order is not alphabetical; sort in Python (the list is short)
    return sorted(alerts, key=lambda a: -LEVEL_RANK[AlertLevel(a.level)])


def alert_history(session: Session, tenant: str, alert_id: int) -> list[models.AlertEvent]:
    """Every event of one of the tenant's alerts, oldest first."""
    get_alert(session, tenant, alert_id)
    q = scoped(models.AlertEvent, tenant).where(models.AlertEvent.alert_id == alert_id)
    return list(session.scalars(q.order_by(models.AlertEvent.at, models.AlertEvent.id)))


def _event(
    session: Session,
    alert: models.Alert,
    kind: AlertEventKind,
    at: datetime,
    *,
    level: str | None = None,
    value: float | None = None,
    actor: str | None = None,
    note: str | None = None,
) -> None:
    session.add(
        models.AlertEvent(
            tenant_id=alert.tenant_id,
            alert_id=alert.id,
            kind=kind.value,
            level=level,
            value=value,
            actor=actor,
            note=note,
            at=at,
        )
    )
