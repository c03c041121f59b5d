"""Store tables of quality inspection (issue 14): the contacts each sampling plan drew, and coaching tasks.

``qa_draws`` records, per tenant, period and contact, the stream (``routine`` or ``risk``), the stratum, the
inclusion probability and design weight of a plan's draw; rankings leave out evaluations of risk-stream contacts.
``qa_coaching_tasks`` are the follow-ups a QA lead assigns from the coaching list.
Created by migration 0005 (written by hand; ``tests/store/test_migrations.py`` checks the two agree).
``qa_calibration_sessions`` / ``qa_calibration_ratings`` (calibration of evaluators: several score the same contacts
blind) are created by revision 0012.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from callops.store.models import Base, Id, TenantOwned, utcnow


class QaDraw(TenantOwned, Base):
    """One contact a sampling plan chose for evaluation."""

    __tablename__ = "qa_draws"
    __table_args__ = (UniqueConstraint("tenant_id", "period", "contact_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    period: Mapped[str] = mapped_column(String(7))
    contact_id: Mapped[str] = mapped_column(String(200))
    agent_id: Mapped[str] = mapped_column(String(200))
    stream: Mapped[str] = mapped_column(String(16))
    stratum: Mapped[str | None] = mapped_column(String(300))
    inclusion_probability: Mapped[float | None] = mapped_column(Float)
    weight: Mapped[float | None] = mapped_column(Float)
    reasons: Mapped[str | None] = mapped_column(String(200))
    form: Mapped[str] = mapped_column(String(120))
    seed: Mapped[int] = mapped_column(Id)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QaCoachingTask(TenantOwned, Base):
    """A coaching session to hold with an agent: who owns it, why, and when to follow up."""

    __tablename__ = "qa_coaching_tasks"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    period: Mapped[str] = mapped_column(String(7))
    follow_up_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    outcome: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class QaCalibrationSession(TenantOwned, Base):
    """A calibration session: the contacts every listed evaluator scores, blind, on one form."""

    __tablename__ = "qa_calibration_sessions"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    form: Mapped[str] = mapped_column(String(120))
    contacts: Mapped[str] = mapped_column(Text)  # JSON list of contact ids
    evaluators: Mapped[str] = mapped_column(Text)  # JSON list of user names
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QaCalibrationRating(TenantOwned, Base):
    """One evaluator's answers for one contact of a calibration session (one row; a second save replaces it)."""

    __tablename__ = "qa_calibration_ratings"
    __table_args__ = (UniqueConstraint("session_id", "contact_id", "evaluator"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(Id, ForeignKey("qa_calibration_sessions.id", ondelete="CASCADE"),
                                            index=True)  # fmt: skip
    contact_id: Mapped[str] = mapped_column(String(200))
    evaluator: Mapped[str] = mapped_column(String(200))
    answers: Mapped[str] = mapped_column(Text)  # JSON: item → option, points or null (N/A)
    score: Mapped[float | None] = mapped_column(Float)
    failed: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
