"""Scheduling inputs: shift templates, breaks, contracts, agents and the week to plan.

Everything is measured in *week minutes*: minutes since Monday 00:00 local time of the
planned week. Templates, break windows and time off must fall on the interval grid
(15 minutes by default). Models are pydantic so they load from YAML with clear errors.
"""

from __future__ import annotations

import math
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from callops.errors import CallopsError

DAYS = 7
DAY_MIN = 24 * 60
WEEK_MIN = DAYS * DAY_MIN
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A shift is a night shift when at least this much of it lies between 22:00 and 06:00.
NIGHT_MINUTES = 180


def _hhmm(text: str) -> int:
    """'HH:MM' -> minutes after midnight ('24:00' allowed as the end of a day)."""
    try:
        hh, mm = text.strip().split(":")
        value = int(hh) * 60 + int(mm)
    except ValueError:
        raise ValueError(f"expected HH:MM, got {text!r}") from None
    if not 0 <= value <= DAY_MIN or not 0 <= int(mm) < 60:
        raise ValueError(f"time {text!r} out of range")
    return value


class BreakRule(BaseModel):
    """One break or lunch inside a shift, placed within a window measured from the shift start."""

    kind: Literal["break", "lunch"] = "break"
    min_minutes: int = Field(15, gt=0)
    max_minutes: int | None = None
    earliest_start: int = Field(..., ge=0, description="minutes after shift start")
    latest_end: int = Field(..., gt=0, description="minutes after shift start")

    @model_validator(mode="after")
    def _check(self) -> BreakRule:
        if self.max_minutes is None:
            self.max_minutes = self.min_minutes
        if self.max_minutes < self.min_minutes:
            raise ValueError("max_minutes is below min_minutes")
        if self.latest_end - self.earliest_start < self.max_minutes:
            raise ValueError("break window is shorter than the break")
        return self

    @property
    def lengths(self) -> list[int]:
        """Allowed lengths (minutes), on a 15-minute step."""
        return list(range(self.min_minutes, (self.max_minutes or self.min_minutes) + 1, 15))


class ShiftTemplate(BaseModel):
    """A shift: start time of day and length; it may cross midnight."""

    name: str
    start: str = Field(..., description="HH:MM local")
    length_minutes: int = Field(..., gt=0, le=DAY_MIN)
    paid_minutes: int | None = Field(None, description="counted against contract hours; default: length")
    breaks: list[BreakRule] = Field(default_factory=list)

    @field_validator("start")
    @classmethod
    def _start(cls, v: str) -> str:
        if _hhmm(v) >= DAY_MIN:
            raise ValueError("start must be before 24:00")
        return v

    @model_validator(mode="after")
    def _check_breaks(self) -> ShiftTemplate:
        if self.paid_minutes is None:
            self.paid_minutes = self.length_minutes
        prev_end = 0
        for b in self.breaks:
            # Windows in order and disjoint: each break is then placed independently of the others,
            # which keeps the counting model exact (see scheduling.py).
            if b.earliest_start < prev_end:
                raise ValueError(f"template {self.name}: break windows must be in order and must not overlap")
            if b.latest_end > self.length_minutes:
                raise ValueError(f"template {self.name}: a break window ends after the shift")
            prev_end = b.latest_end
        return self

    @property
    def start_minute(self) -> int:
        """Start in minutes after local midnight."""
        return _hhmm(self.start)

    @property
    def is_night(self) -> bool:
        """At least NIGHT_MINUTES of the shift fall between 22:00 and 06:00."""
        s, e = self.start_minute, self.start_minute + self.length_minutes
        night = 0
        for day in (-1, 0, 1):
            lo, hi = day * DAY_MIN + 22 * 60, day * DAY_MIN + 30 * 60
            night += max(0, min(e, hi) - max(s, lo))
        return night >= NIGHT_MINUTES


class Contract(BaseModel):
    """Hard rules for an agent's week."""

    name: str
    min_hours: float = Field(0, ge=0)
    max_hours: float = Field(40, gt=0)
    days_off: int = Field(2, ge=0, le=7)
    consecutive_days_off: bool = False
    min_rest_hours: float = Field(11, ge=0)
    max_consecutive_days: int = Field(6, ge=1, le=7)
    templates: list[str] | None = Field(None, description="allowed template names; default: all")
    time_off_credit_hours: float = Field(0, ge=0, description="hours credited per full day of approved time off")

    @model_validator(mode="after")
    def _band(self) -> Contract:
        if self.max_hours < self.min_hours:
            raise ValueError(f"contract {self.name}: max_hours below min_hours")
        return self


class TimeOff(BaseModel):
    """Approved time off: a whole local day (``day``) or a local time range (``start``/``end``)."""

    day: date | None = None
    start: datetime | None = None
    end: datetime | None = None

    @model_validator(mode="after")
    def _one(self) -> TimeOff:
        if self.day is None and (self.start is None or self.end is None):
            raise ValueError("time off needs a day, or a start and an end")
        if self.day is None and self.end <= self.start:  # type: ignore[operator]
            raise ValueError("time off ends before it starts")
        return self

    def local_range(self) -> tuple[datetime, datetime]:
        """Naive local [start, end)."""
        if self.day is not None:
            start = datetime.combine(self.day, time())
            return start, start + timedelta(days=1)
        return self.start.replace(tzinfo=None), self.end.replace(tzinfo=None)  # type: ignore[union-attr]


class Agent(BaseModel):
    """A named agent with a contract, skills, availability and time off."""

    agent_id: str
    name: str | None = None
    contract: str
    skills: list[str] = Field(default_factory=list)
    availability: dict[str, list[str]] | None = Field(
        None, description="weekday (mon..sun) -> ['HH:MM-HH:MM', ...]; end <= start crosses midnight; None: always"
    )
    time_off: list[TimeOff] = Field(default_factory=list)

    @field_validator("availability")
    @classmethod
    def _avail(cls, v: dict[str, list[str]] | None) -> dict[str, list[str]] | None:
        if v is None:
            return v
        for day, windows in v.items():
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r}; use {', '.join(WEEKDAYS)}")
            for w in windows:
                a, _, b = w.partition("-")
                _hhmm(a), _hhmm(b)
        return v


class Weights(BaseModel):
    """Objective weights, per agent-interval of coverage and per shift of spread."""

    under: int = Field(10, ge=0)
    over: int = Field(1, ge=0)
    weekend_spread: int = Field(2, ge=0)
    night_spread: int = Field(2, ge=0)


class AgentOverride(BaseModel):
    """Per-agent data a roster table does not hold (availability, time off, contract override)."""

    agent_id: str
    contract: str | None = None
    skills: list[str] | None = None
    availability: dict[str, list[str]] | None = None
    time_off: list[TimeOff] = Field(default_factory=list)


class Workforce(BaseModel):
    """Everything about a tenant's rules: templates, contracts, weights and agent overrides."""

    interval_minutes: int = 15
    templates: list[ShiftTemplate]
    contracts: list[Contract]
    weights: Weights = Field(default_factory=Weights)
    agents: list[AgentOverride] = Field(default_factory=list)

    @model_validator(mode="after")
    def _grid(self) -> Workforce:
        step = self.interval_minutes
        if step <= 0 or DAY_MIN % step:
            raise ValueError("interval_minutes must divide a day")
        for t in self.templates:
            values = [t.start_minute, t.length_minutes]
            for b in t.breaks:
                values += [b.earliest_start, b.latest_end, *b.lengths]
            if any(v % step for v in values):
                raise ValueError(f"template {t.name}: times and lengths must be multiples of {step} minutes")
        names = {t.name for t in self.templates}
        for c in self.contracts:
            unknown = set(c.templates or ()) - names
            if unknown:
                raise ValueError(f"contract {c.name} names unknown template(s) {', '.join(sorted(unknown))}")
        return self

    def contract(self, name: str) -> Contract:
        """The contract called ``name``; a CallopsError lists the known ones."""
        for c in self.contracts:
            if c.name == name:
                return c
        raise CallopsError(
            f"unknown contract {name!r}; workforce file defines: {', '.join(c.name for c in self.contracts)}"
        )


def load_workforce(path: Path | str | None = None, text: str | None = None) -> Workforce:
    """Load a workforce YAML (file or text); errors name the file and the field."""
    origin = str(path) if path else "workforce YAML"
    if text is None:
        if path is None:
            raise CallopsError("no workforce file given")
        p = Path(path)
        if not p.is_file():
            raise CallopsError(f"workforce file {p} does not exist")
        text = p.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CallopsError(f"{origin}: not valid YAML: {exc}") from None
    try:
        return Workforce.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise CallopsError(f"{origin}: {where}: {first['msg']}") from None


def default_workforce() -> Workforce:
    """The workforce rules shipped with callops (used when a tenant has none)."""
    from importlib import resources

    text = (resources.files("callops.wfm") / "default_workforce.yaml").read_text(encoding="utf-8")
    return load_workforce(text=text)


@dataclass
class Problem:
    """One week to schedule.

    ``requirements`` maps a queue (skill) name to required agents per interval; the key ``None``
    means total requirements that any agent can cover (skills are then ignored).
    """

    week_start: date
    timezone: str
    interval_minutes: int
    templates: list[ShiftTemplate]
    contracts: dict[str, Contract]
    agents: list[Agent]
    requirements: dict[str | None, np.ndarray]
    weights: Weights = field(default_factory=Weights)

    def __post_init__(self) -> None:
        if self.week_start.weekday() != 0:
            raise CallopsError(f"week {self.week_start} does not start on a Monday")
        zoneinfo.ZoneInfo(self.timezone)
        n = WEEK_MIN // self.interval_minutes
        fixed: dict[str | None, np.ndarray] = {}
        for q, req in self.requirements.items():
            arr = np.asarray(req, dtype=float)
            if arr.shape != (n,):
                raise CallopsError(f"requirements for {q or 'all'}: expected {n} intervals, got {arr.shape}")
            if (arr < 0).any() or not np.isfinite(arr).all():
                raise CallopsError(f"requirements for {q or 'all'}: values must be finite and >= 0")
            fixed[q] = np.ceil(arr - 1e-9).astype(int)  # whole agents: fractional needs round up
        if None in fixed and len(fixed) > 1:
            raise CallopsError("give requirements either in total or per queue, not both")
        self.requirements = fixed
        for a in self.agents:
            if a.contract not in self.contracts:
                raise CallopsError(f"agent {a.agent_id}: unknown contract {a.contract!r}")
        ids = [a.agent_id for a in self.agents]
        if len(set(ids)) != len(ids):
            raise CallopsError("agent ids must be unique")

    @property
    def n_intervals(self) -> int:
        """Intervals in the week."""
        return WEEK_MIN // self.interval_minutes

    @property
    def queues(self) -> list[str | None]:
        """Queue names (``[None]`` for total requirements)."""
        return list(self.requirements)

    def week_minute(self, local: datetime) -> int:
        """Naive local datetime -> minutes since the week start (may be outside 0..WEEK_MIN)."""
        delta = local.replace(tzinfo=None) - datetime.combine(self.week_start, time())
        return math.floor(delta.total_seconds() / 60)

    def to_utc(self, minute: int) -> datetime:
        """Week minute -> aware UTC datetime (local wall time resolved in the tenant zone)."""
        local = datetime.combine(self.week_start, time()) + timedelta(minutes=minute)
        return local.replace(tzinfo=zoneinfo.ZoneInfo(self.timezone)).astimezone(UTC)


def problem_from_workforce(
    wf: Workforce,
    agents: list[Agent],
    week_start: date,
    timezone: str,
    requirements: dict[str | None, np.ndarray],
) -> Problem:
    """Build a Problem, applying the workforce file's per-agent overrides to the roster."""
    overrides = {o.agent_id: o for o in wf.agents}
    merged = []
    for a in agents:
        o = overrides.get(a.agent_id)
        if o is not None:
            a = a.model_copy(
                update={
                    "contract": o.contract or a.contract,
                    "skills": o.skills if o.skills is not None else a.skills,
                    "availability": o.availability if o.availability is not None else a.availability,
                    "time_off": [*a.time_off, *o.time_off],
                }
            )
        merged.append(a)
    return Problem(
        week_start=week_start,
        timezone=timezone,
        interval_minutes=wf.interval_minutes,
        templates=wf.templates,
        contracts={c.name: c for c in wf.contracts},
        agents=merged,
        requirements=requirements,
        weights=wf.weights,
    )
