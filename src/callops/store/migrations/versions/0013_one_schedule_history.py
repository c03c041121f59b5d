"""People: one schedule history (issue 19). Accepted overtime/VTO offers become versions of the tenant's schedule
in ``people_schedule_versions``, numbered with the approved requests, instead of a table of their own.

Adds ``reason`` and ``source`` (``request`` or ``floor``) to ``people_schedule_versions``, moves every row of
``floor_schedule_versions`` into it (its window is the span of the rows it removed and added; on a schedule whose
blocks do not overlap, which is what the scheduler and the live room keep, that replaces exactly those rows),
renumbers the offers' ``schedule_version`` to the new numbers, and drops ``floor_schedule_versions``.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

Written by hand; it does not import the models, so it keeps describing this revision when the models move on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VERSIONS = "people_schedule_versions"
FLOOR = "floor_schedule_versions"


def _json_type() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _doc(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _floor_table() -> sa.Table:
    return sa.table(FLOOR, sa.column("id"), sa.column("tenant_id"), sa.column("day"), sa.column("version"),
                    sa.column("added", _json_type()), sa.column("removed", _json_type()), sa.column("reason"),
                    sa.column("created_by"), sa.column("created_at"))  # fmt: skip


def _versions_table() -> sa.Table:
    return sa.table(VERSIONS, sa.column("id"), sa.column("tenant_id"), sa.column("version"),
                    sa.column("request_id"), sa.column("agents", _json_type()), sa.column("before", _json_type()),
                    sa.column("after", _json_type()), sa.column("actor"), sa.column("created_at"),
                    sa.column("reason"), sa.column("source"))  # fmt: skip


def upgrade() -> None:
    """Widen the request versions, move the floor's versions into them, drop the floor's table."""
    with op.batch_alter_table(VERSIONS) as batch:
        batch.add_column(sa.Column("reason", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("source", sa.String(16), nullable=False, server_default="request"))
    with op.batch_alter_table(VERSIONS) as batch:  # the default only filled the existing rows
        batch.alter_column("reason", existing_type=sa.Text(), existing_nullable=False, server_default=None)
    conn = op.get_bind()
    floor, versions = _floor_table(), _versions_table()
    offers = sa.table("floor_offers", sa.column("id"), sa.column("tenant_id"), sa.column("start_at"),
                      sa.column("schedule_version"))  # fmt: skip
    last: dict[str, int] = dict(conn.execute(
        sa.select(versions.c.tenant_id, sa.func.max(versions.c.version)).group_by(versions.c.tenant_id)).all())
    renumber: dict[tuple[str, int], list[tuple[list[dict], int]]] = {}
    for row in conn.execute(sa.select(floor).order_by(floor.c.tenant_id, floor.c.id)).mappings().all():
        added, removed = _doc(row["added"]) or [], _doc(row["removed"]) or []
        both = added + removed
        if not both:
            continue
        number = last.get(row["tenant_id"], 0) + 1
        last[row["tenant_id"]] = number
        start = min(both, key=lambda r: datetime.fromisoformat(r["start_at"]))["start_at"]
        end = max(both, key=lambda r: datetime.fromisoformat(r["end_at"]))["end_at"]
        conn.execute(versions.insert().values(
            tenant_id=row["tenant_id"], version=number, request_id=None,
            agents={"agent_ids": sorted({r["agent_id"] for r in both}), "start": start, "end": end},
            before={"rows": removed}, after={"rows": added}, actor=row["created_by"],
            created_at=row["created_at"], reason=row["reason"], source="floor"))  # fmt: skip
        renumber.setdefault((row["tenant_id"], row["version"]), []).append((added, number))
    # an accepted offer's version: the one of its (old) number whose added rows begin when the offer does
    for o in conn.execute(sa.select(offers).where(offers.c.schedule_version.is_not(None))).mappings().all():
        start = o["start_at"] if isinstance(o["start_at"], datetime) else datetime.fromisoformat(str(o["start_at"]))
        start = start if start.tzinfo else start.replace(tzinfo=UTC)  # the store keeps UTC
        for added, number in renumber.get((o["tenant_id"], o["schedule_version"]), []):
            if any(datetime.fromisoformat(r["start_at"]) == start for r in added):
                conn.execute(offers.update().where(offers.c.id == o["id"]).values(schedule_version=number))
                break
    op.drop_table(FLOOR)


def downgrade() -> None:
    """Recreate the floor's table and move the floor's versions back (numbered per local day again)."""
    op.create_table(
        FLOOR,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("added", _json_type(), nullable=False),
        sa.Column("removed", _json_type(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.String(63), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=f"fk_{FLOOR}_tenant_id_tenants",
                                ondelete="CASCADE"),
        sa.Index(f"ix_{FLOOR}_tenant_id", "tenant_id"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{FLOOR}"),
        sa.UniqueConstraint("tenant_id", "day", "version", name=f"uq_{FLOOR}_tenant_id_day_version"),
    )
    conn = op.get_bind()
    floor, versions = _floor_table(), _versions_table()
    per_day: dict[tuple[str, str], int] = {}
    moved = conn.execute(sa.select(versions).where(versions.c.source == "floor")
                         .order_by(versions.c.tenant_id, versions.c.version)).mappings().all()  # fmt: skip
    for row in moved:
        after = _doc(row["after"])["rows"]
        day = (after or _doc(row["before"])["rows"])[0]["start_at"][:10]  # the rows' local date (ISO with offset)
        n = per_day[(row["tenant_id"], day)] = per_day.get((row["tenant_id"], day), 0) + 1
        conn.execute(floor.insert().values(
            tenant_id=row["tenant_id"], day=datetime.fromisoformat(day).date(), version=n, added=after,
            removed=_doc(row["before"])["rows"], reason=row["reason"], created_by=row["actor"],
            created_at=row["created_at"]))  # fmt: skip
    conn.execute(versions.delete().where(versions.c.source == "floor"))
    with op.batch_alter_table(VERSIONS) as batch:
        batch.drop_column("source")
        batch.drop_column("reason")
