"""SQLAlchemy 2 models of the operational store: tenants, users, tokens, views, rules, plans, alerts, outbox, audit.

Every row that belongs to a tenant inherits :class:`TenantOwned` and so carries ``tenant_id``;
repositories read those rows only through :func:`callops.store.scoping.scoped`. The schema is
created by the Alembic migrations in ``callops/store/migrations`` (a test checks that these
models and the migrations agree), never by ``metadata.create_all``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator

from callops.store.roles import Role

# Deterministic constraint names, so migrations can drop them by name on every backend.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


ROLE_DESCRIPTIONS = {
    Role.admin: "manages the tenant: users, tokens, settings",
    Role.director: "reads every indicator and report of the tenant",
    Role.planner: "forecasts, staffing and schedules",
    Role.dispatcher: "live control: acknowledges alerts, approves plan steps",
    Role.team_lead: "follows a team: its agents, adherence and alerts",
    Role.analyst: "reads indicators, builds views and exports",
    Role.agent: "a roster agent: their own schedule, KPIs and requests",
}


class AlertLevel(StrEnum):
    """Alert levels, in increasing severity (issue 6: yellow/orange/red/black)."""

    yellow = "yellow"
    orange = "orange"
    red = "red"
    black = "black"


class AlertStatus(StrEnum):
    """Life cycle of an alert."""

    open = "open"
    acknowledged = "acknowledged"
    resolved = "resolved"


class AlertEventKind(StrEnum):
    """What happened to an alert (its level history and the people who handled it)."""

    raised = "raised"
    escalated = "escalated"
    deescalated = "deescalated"
    cleared = "cleared"
    acknowledged = "acknowledged"
    resolved = "resolved"


class Channel(StrEnum):
    """Notification channels of the outbox."""

    sms = "sms"
    webhook = "webhook"
    email = "email"
    inapp = "inapp"


class OutboxStatus(StrEnum):
    """Outbox row states: pending → sending (leased) → sent, or back to pending, or failed for good."""

    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"


def _in(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back time-zone aware.

    SQLite has no zone-aware type: without this, values written aware come back naive.
    Naive input is refused rather than guessed.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC before writing; refuse naive datetimes."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store needs time-zone aware timestamps")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Attach UTC to values read back from SQLite."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.
JSONType = JSON().with_variant(JSONB(), "postgresql")
Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER PRIMARY KEY only


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Base of all store models."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSONType}


class TenantOwned:
    """Mixin for rows that belong to one tenant: read them only through ``scoping.scoped``."""

    @declared_attr
    def tenant_id(cls) -> Mapped[str]:  # noqa: N805 - declared_attr receives the class
        """The owning tenant."""
        return mapped_column(String(63), ForeignKey("tenants.id", ondelete="CASCADE"), index=True)


class Tenant(Base):
    """A tenant (mirror of the warehouse ``tenants`` table; see ``callops.store.tenants``)."""

    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RoleRow(Base):
    """The roles a user can have (seeded by the first migration)."""

    __tablename__ = "roles"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    description: Mapped[str] = mapped_column(String(200))


class User(TenantOwned, Base):
    """A person (or a service account) of a tenant, with one role."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    display_name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32), ForeignKey("roles.name"))
    locale: Mapped[str] = mapped_column(String(16), default="en")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None]
    team: Mapped[str | None] = mapped_column(String(100))  # the team views can be shared with (migration 0003)


class ApiToken(TenantOwned, Base):
    """An API token: only its SHA-256 hash is stored, with a short public prefix to find it."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class SavedView(TenantOwned, Base):
    """A saved console view (metric, grain, filters, layout) owned by a user or shared (owner null)."""

    __tablename__ = "saved_views"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(50))
    spec: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # private (the owner), team (users of ``team``) or tenant; empty in rows older than migration 0003
    visibility: Mapped[str | None] = mapped_column(String(16))
    team: Mapped[str | None] = mapped_column(String(100))


class VersionedDocHead:
    """Columns shared by alert rules and plans: a named document whose text is kept per version."""

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    current_version: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class VersionedDocVersion:
    """Columns shared by the version rows: the YAML as written and its parsed form."""

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    version: Mapped[int] = mapped_column(Integer)
    yaml_text: Mapped[str] = mapped_column(Text)
    spec: Mapped[dict[str, Any]]
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertRule(VersionedDocHead, TenantOwned, Base):
    """A named set of alert rules (YAML); every change makes a new version."""

    __tablename__ = "alert_rules"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)


class AlertRuleVersion(VersionedDocVersion, TenantOwned, Base):
    """One version of an alert rule document."""

    __tablename__ = "alert_rule_versions"
    __table_args__ = (UniqueConstraint("doc_id", "version"),)

    doc_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"), index=True)


class Plan(VersionedDocHead, TenantOwned, Base):
    """A named contingency plan (YAML, levels 1–4); every change makes a new version."""

    __tablename__ = "plans"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)


class PlanVersion(VersionedDocVersion, TenantOwned, Base):
    """One version of a contingency plan."""

    __tablename__ = "plan_versions"
    __table_args__ = (UniqueConstraint("doc_id", "version"),)

    doc_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"), index=True)


class Alert(TenantOwned, Base):
    """An alert on one measure of one subject (queue, center, ...), from raise to resolution.

    ``open_key`` equals ``key`` while the alert is not resolved and is null afterwards, so the
    unique (tenant, open_key) constraint allows one unresolved alert per key on every backend
    (nulls are distinct in both SQLite and PostgreSQL). ``cleared_at`` is set while the measure is
    back below its thresholds (the engine cleared it) but no person has resolved the alert yet.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "open_key"),
        CheckConstraint(_in("level", AlertLevel), name="level"),
        CheckConstraint(_in("status", AlertStatus), name="status"),
        Index(None, "tenant_id", "status"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(300))
    open_key: Mapped[str | None] = mapped_column(String(300))
    rule_name: Mapped[str] = mapped_column(String(200))
    rule_version: Mapped[int | None] = mapped_column(Integer)
    measure: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(String(50))
    subject: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=AlertStatus.open.value)
    value: Mapped[float | None]
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    opened_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    cleared_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolution: Mapped[str | None] = mapped_column(Text)


class AlertEvent(TenantOwned, Base):
    """One entry of an alert's history: level changes, acknowledgement, resolution."""

    __tablename__ = "alert_events"
    __table_args__ = (CheckConstraint(_in("kind", AlertEventKind), name="kind"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    level: Mapped[str | None] = mapped_column(String(16))
    value: Mapped[float | None]
    actor: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]


class OutboxMessage(TenantOwned, Base):
    """A notification written before it is sent (transactional outbox).

    ``claimed_by``/``lease_until`` implement the lease: a sender that dies leaves rows in
    ``sending`` whose lease runs out, and the next claim takes them again.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("tenant_id", "dedup_key"),
        CheckConstraint(_in("channel", Channel), name="channel"),
        CheckConstraint(_in("status", OutboxStatus), name="status"),
        Index(None, "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    dedup_key: Mapped[str] = mapped_column(String(300))
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.pending.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class AuditEntry(TenantOwned, Base):
    """Who changed what, when, with the object before and after."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "tenant_id", "at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str | None] = mapped_column(String(200))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    at: Mapped[datetime] = mapped_column(default=utcnow)


TENANT_OWNED: tuple[type[Base], ...] = (
    User,
    ApiToken,
    SavedView,
    AlertRule,
    AlertRuleVersion,
    Plan,
    PlanVersion,
    Alert,
    AlertEvent,
    OutboxMessage,
    AuditEntry,
)


# Domain packages keep their operational tables in modules of their own (value, quality, knowledge, ...), built on
# Base and TenantOwned above. Importing them here registers them with Base.metadata, so the migrations and the
# models/migrations agreement test see every table. Add a module to the import below.
from callops.store import (  # noqa: E402, F401
    models_campaigns,
    models_floor,
    models_knowledge,
    models_marketing,
    models_people,
    models_platform,
    models_quality,
    models_value,
)
