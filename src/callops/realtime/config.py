"""Inputs of the live engine from files: ``live.yaml`` (tenant settings, queues, centers), the roster
(canonical ``agents`` table as CSV) and today's schedule (canonical ``schedules`` table as CSV)."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from callops.errors import CallopsError
from callops.realtime.state import LiveConfig, QueueConfig, RosterAgent, ScheduleRow, parse_skills


class QueueFile(BaseModel):
    """One queue of live.yaml."""

    model_config = ConfigDict(extra="forbid")
    center: str | None = None
    channel: str | None = None
    sl_threshold_s: float = Field(20.0, ge=0)
    target_sl: float = Field(0.8, gt=0, lt=1)
    short_abandon_s: float = Field(5.0, ge=0)
    patience_s: float | None = Field(None, gt=0)
    aht_s: float | None = Field(None, gt=0)
    direction: Literal["inbound", "outbound"] = "inbound"
    skill: str | None = None


class LiveFile(BaseModel):
    """live.yaml."""

    model_config = ConfigDict(extra="forbid")
    tenant: str
    timezone: str = "Asia/Shanghai"
    sl_definition: Literal["answered+abandoned", "answered", "short-abandons-excluded"] = "answered+abandoned"
    tolerance_s: float = Field(5.0, ge=0)
    tick_s: float = Field(1.0, gt=0)
    centers: dict[str, str | None] = Field(default_factory=dict)  # center -> region
    queues: dict[str, QueueFile] = Field(default_factory=dict)


def load_config(path: str | Path | None, tenant: str, timezone: str | None = None) -> LiveConfig:
    """A :class:`LiveConfig` from live.yaml (or defaults for ``tenant`` when ``path`` is None)."""
    if path is None:
        return LiveConfig(tenant=tenant, timezone=timezone or "Asia/Shanghai")
    p = Path(path)
    if not p.exists():
        raise CallopsError(f"live config {p} not found")
    try:
        data = LiveFile.model_validate(yaml.safe_load(p.read_text()) or {})
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        raise CallopsError(f"{p}: {'.'.join(str(x) for x in err['loc'])}: {err['msg']}") from None
    except yaml.YAMLError as exc:
        raise CallopsError(f"{p}: not valid YAML ({exc})") from None
    if data.tenant != tenant:
        raise CallopsError(f"{p} is for tenant {data.tenant!r}, not {tenant!r}")
    queues = {}
    for name, q in data.queues.items():
        region = data.centers.get(q.center) if q.center else None
        queues[name] = QueueConfig(q.center, q.channel, q.sl_threshold_s, q.target_sl, q.short_abandon_s,
                                   q.patience_s, q.aht_s, q.direction, q.skill, region)  # fmt: skip
    return LiveConfig(
        tenant=tenant, timezone=timezone or data.timezone, queues=queues,
        centers={c: r or c for c, r in data.centers.items()}, sl_definition=data.sl_definition,
        tolerance_s=data.tolerance_s, tick_s=data.tick_s,
    )  # fmt: skip


def _rows(path: str | Path) -> list[dict[str, str]]:
    p = Path(path)
    if not p.exists():
        raise CallopsError(f"file {p} not found")
    with p.open(newline="") as f:
        return list(csv.DictReader(f))


def load_roster(path: str | Path) -> list[RosterAgent]:
    """Roster rows (columns of the canonical agents table; ``skills`` like ``billing:3;vip:1``)."""
    out = []
    for i, r in enumerate(_rows(path), 2):
        if not r.get("agent_id"):
            raise CallopsError(f"{path} line {i}: agent_id is empty")
        try:
            skills = parse_skills(r.get("skills"))
            ech = r.get("emergency_echelon") or ""
            echelon = int(ech) if ech.strip() else None
        except ValueError as exc:
            raise CallopsError(f"{path} line {i}: {exc}") from None
        out.append(RosterAgent(r["agent_id"], r.get("name") or None, r.get("center") or None, r.get("team") or None,
                               skills, echelon))  # fmt: skip
    return out


def load_schedule(path: str | Path) -> list[ScheduleRow]:
    """Schedule rows (agent_id, activity, start_at, end_at with zones, optional queue)."""
    out = []
    for i, r in enumerate(_rows(path), 2):
        try:
            s, e = datetime.fromisoformat(r["start_at"]), datetime.fromisoformat(r["end_at"])
        except (KeyError, ValueError) as exc:
            raise CallopsError(f"{path} line {i}: bad start_at/end_at ({exc})") from None
        if s.tzinfo is None or e.tzinfo is None:
            raise CallopsError(f"{path} line {i}: start_at and end_at need a zone offset")
        out.append(ScheduleRow(r["agent_id"], r["activity"], s.timestamp(), e.timestamp(), r.get("queue") or None))
    return out
