"""Versioned YAML documents: alert rules and contingency plans.

Each document has a name per tenant and a list of versions; a version keeps the YAML exactly as
written (comments and all, for people) and its parsed form as JSON (for the engine). Saving text
identical to the current version makes no new version. Checking what the YAML *means* (measures,
levels, steps) belongs to the live engine: pass its validator as ``validate``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import yaml
from sqlalchemy.orm import Session

from callops.errors import CallopsError, NotFound
from callops.store import audit, models
from callops.store.scoping import scoped, tenant_key


class DocKind(StrEnum):
    """The kinds of versioned document."""

    alert_rules = "alert_rules"
    plans = "plans"


_MODELS: dict[DocKind, tuple[type[models.AlertRule | models.Plan], type[models.AlertRuleVersion | models.PlanVersion]]]
_MODELS = {
    DocKind.alert_rules: (models.AlertRule, models.AlertRuleVersion),
    DocKind.plans: (models.Plan, models.PlanVersion),
}


@dataclass(frozen=True)
class Document:
    """One version of a document, detached from the session."""

    kind: DocKind
    id: int
    name: str
    version: int
    current_version: int
    enabled: bool
    yaml_text: str
    spec: dict[str, Any]
    created_by: str
    created_at: datetime


def parse_yaml(text: str) -> dict[str, Any]:
    """The YAML document ``text`` as a mapping; a clear error for bad YAML or a non-mapping."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise CallopsError(f"invalid YAML{where}: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(data, dict):
        raise CallopsError("the YAML document must be a mapping (key: value) at the top level")
    return data


def save_document(
    session: Session,
    tenant: str,
    kind: DocKind | str,
    name: str,
    yaml_text: str,
    actor: str,
    *,
    validate: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Document:
    """Save ``yaml_text`` as the new current version of document ``name`` (created if new)."""
    kind = DocKind(kind)
    key = tenant_key(tenant)
    head_model, version_model = _MODELS[kind]
    if not name.strip():
        raise CallopsError("a document needs a name")
    spec = parse_yaml(yaml_text)
    if validate is not None:
        spec = validate(spec)
    head = session.scalars(scoped(head_model, key).where(head_model.name == name).with_for_update()).one_or_none()
    now = models.utcnow()
    if head is None:
        head = head_model(tenant_id=key, name=name, current_version=1, enabled=True, created_at=now, updated_at=now)
        session.add(head)
        session.flush()
        before = None
    else:
        current = _version_row(session, key, kind, head.id, head.current_version)
        if current.yaml_text == yaml_text:
            return _document(kind, head, current)
        before = {**audit.snapshot(head), "yaml_text": current.yaml_text}
        head.current_version += 1
        head.updated_at = now
    row = version_model(
        tenant_id=key,
        doc_id=head.id,
        version=head.current_version,
        yaml_text=yaml_text,
        spec=spec,
        created_by=actor,
        created_at=now,
    )
    session.add(row)
    session.flush()
    after = {**audit.snapshot(head), "yaml_text": yaml_text}
    action = f"{kind.value}.{'create' if before is None else 'update'}"
    audit.record(session, key, actor, action, kind.value, head.id, before, after)
    return _document(kind, head, row)


def get_document(session: Session, tenant: str, kind: DocKind | str, name: str, version: int | None = None) -> Document:
    """Document ``name`` at ``version`` (default: current)."""
    kind = DocKind(kind)
    head = _head(session, tenant, kind, name)
    row = _version_row(session, tenant, kind, head.id, version or head.current_version)
    return _document(kind, head, row)


def list_documents(session: Session, tenant: str, kind: DocKind | str, *, enabled_only: bool = False) -> list[Document]:
    """The tenant's documents of ``kind`` at their current versions, by name."""
    kind = DocKind(kind)
    head_model, version_model = _MODELS[kind]
    q = (
        scoped(version_model, tenant)
        .join(
            head_model, (head_model.id == version_model.doc_id) & (head_model.current_version == version_model.version)
        )
        .add_columns(head_model)
        .order_by(head_model.name)
    )
    if enabled_only:
        q = q.where(head_model.enabled.is_(True))
    return [_document(kind, head, row) for row, head in session.execute(q)]


def list_versions(session: Session, tenant: str, kind: DocKind | str, name: str) -> list[Document]:
    """Every version of document ``name``, oldest first."""
    kind = DocKind(kind)
    _, version_model = _MODELS[kind]
    head = _head(session, tenant, kind, name)
    q = scoped(version_model, tenant).where(version_model.doc_id == head.id).order_by(version_model.version)
    return [_document(kind, head, row) for row in session.scalars(q)]


def set_enabled(session: Session, tenant: str, kind: DocKind | str, name: str, enabled: bool, actor: str) -> Document:
    """Switch document ``name`` on or off (no new version; audited)."""
    kind = DocKind(kind)
    head = _head(session, tenant, kind, name)
    if head.enabled != enabled:
        before = audit.snapshot(head)
        head.enabled = enabled
        head.updated_at = models.utcnow()
        session.flush()
        audit.record(
            session,
            tenant,
            actor,
            f"{kind.value}.{'enable' if enabled else 'disable'}",
            kind.value,
            head.id,
            before,
            audit.snapshot(head),
        )
    return get_document(session, tenant, kind, name)


def _head(session: Session, tenant: str, kind: DocKind, name: str) -> models.AlertRule | models.Plan:
    head_model, _ = _MODELS[kind]
    head = session.scalars(scoped(head_model, tenant).where(head_model.name == name)).one_or_none()
    if head is None:
        raise NotFound(f"no {kind.value.replace('_', ' ').rstrip('s')} {name!r} in tenant {tenant_key(tenant)!r}")
    return head


def _version_row(
    session: Session, tenant: str, kind: DocKind, doc_id: int, version: int
) -> models.AlertRuleVersion | models.PlanVersion:
    _, version_model = _MODELS[kind]
    q = scoped(version_model, tenant).where(version_model.doc_id == doc_id, version_model.version == version)
    row = session.scalars(q).one_or_none()
    if row is None:
        raise NotFound(f"no version {version} of that {kind.value.replace('_', ' ').rstrip('s')}")
    return row


def _document(kind: DocKind, head: Any, row: Any) -> Document:
    return Document(
        kind=kind,
        id=head.id,
        name=head.name,
        version=row.version,
        current_version=head.current_version,
        enabled=head.enabled,
        yaml_text=row.yaml_text,
        spec=row.spec,
        created_by=row.created_by,
        created_at=row.created_at,
    )
