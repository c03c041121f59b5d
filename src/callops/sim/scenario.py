"""Scenario files: a whole contact center (centers, queues, traffic, roster, customers, surveys, quality,
marketing) described in YAML and validated by pydantic models.

:func:`load_scenario` reads a file, :func:`demo_scenario` the provincial hotline shipped inside the
package, and :meth:`Scenario.scaled` shrinks or grows one (tests run the hotline with 60 agents).
Validation errors come back as one :class:`~callops.errors.CallopsError` that names the file and,
per problem, the path of the offending field (``queues.3.channel: Input should be 'voice', ...``).
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from callops.errors import CallopsError
from callops.schema import Activity, Channel, CustomerStatus

DEMO_SCENARIO = "provincial_hotline.yaml"
SLOTS = 48  # intraday profiles are half-hours


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CenterCfg(_Model):
    """A contact center (site)."""

    name: str
    region: str | None = None


class PatienceCfg(_Model):
    """Patience of waiting contacts."""

    kind: Literal["exponential", "lognormal"] = "exponential"
    mean_s: float = Field(gt=0)
    cv: float = Field(1.0, gt=0)


class HandleCfg(_Model):
    """Handle time: talk (mean, distribution), hold and after-contact work."""

    mean_s: float = Field(gt=0)
    kind: Literal["exponential", "lognormal"] = "lognormal"
    cv: float = Field(0.8, gt=0)
    acw_mean_s: float = Field(0.0, ge=0)
    hold_p: float = Field(0.0, ge=0, le=1)
    hold_mean_s: float = Field(0.0, ge=0)


class QueueCfg(_Model):
    """A queue: channel, center, routing options and the outcome model of its contacts."""

    name: str
    channel: Channel
    center: str
    business_type: str | None = None
    priority: int = 0
    patience: PatienceCfg | None = None
    handle: HandleCfg
    chat_growth: float = Field(0.25, ge=0)
    overflow_to: str | None = None
    overflow_after_s: float = Field(math.inf, gt=0)
    callback_after_s: float = Field(math.inf, gt=0)
    callback_accept_p: float = Field(0.0, ge=0, le=1)
    transfer_p: float = Field(0.0, ge=0, le=1)
    transfer_to: str | None = None
    fcr: float = Field(0.8, ge=0, le=1, description="probability that a handled contact resolves the need")
    survey_p: float = Field(0.0, ge=0, le=1, description="share of handled contacts that answer the survey")
    offer_p: float = Field(0.0, ge=0, le=1, description="share of handled contacts offered a campaign product")
    language: Literal["zh", "en"] = "zh"


class IvrCfg(_Model):
    """A self-service stage (IVR, app flow, web form): success probability and weighted failure reasons."""

    name: str
    mean_s: float = Field(gt=0)
    success_p: float = Field(ge=0, le=1)
    failure_reasons: dict[str, float]

    @field_validator("failure_reasons")
    @classmethod
    def _positive(cls, v: dict[str, float]) -> dict[str, float]:
        if not v or any(w < 0 for w in v.values()) or sum(v.values()) <= 0:
            raise ValueError("needs at least one reason with a positive weight (and no negative weights)")
        return v


class PeakCfg(_Model):
    """A month-start peak: the first ``days`` days of every month are ``factor`` times busier."""

    days: int = Field(ge=1, le=31)
    factor: float = Field(gt=0)


class StreamCfg(_Model):
    """Inbound traffic of one business type into one queue."""

    queue: str
    business_type: str
    daily_volume: float = Field(ge=0)
    intraday: str = "day"
    weekly: tuple[float, float, float, float, float, float, float] = (1.0, 1.0, 1.0, 1.0, 1.0, 0.8, 0.7)
    month_start_peak: PeakCfg | None = None
    holiday_factor: float = Field(1.0, ge=0)
    trend_per_day: float = 0.0
    dispersion_shape: float | None = Field(None, gt=0)
    ivr: str | None = None


class OutboundCfg(_Model):
    """Outbound dialing into a queue: connected calls per hour in a daily window."""

    queue: str
    dials_per_hour: float = Field(gt=0)
    connect_p: float = Field(gt=0, le=1)
    window: tuple[float, float] = (9.0, 18.0)
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    business_type: str = "outbound_marketing"


class BreakCfg(_Model):
    """A break inside a shift, ``after_h`` hours after its start."""

    activity: Activity
    after_h: float = Field(gt=0)
    minutes: float = Field(gt=0)


class ShiftCfg(_Model):
    """A shift template: local start time, length and breaks."""

    name: str
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    hours: float = Field(gt=0, le=14)
    breaks: tuple[BreakCfg, ...] = ()

    @property
    def start_h(self) -> float:
        """Start as local hours after midnight."""
        h, m = self.start.split(":")
        return int(h) + int(m) / 60

    @model_validator(mode="after")
    def _breaks_inside(self) -> ShiftCfg:
        for b in self.breaks:
            if b.after_h + b.minutes / 60 > self.hours:
                raise ValueError(f"break {b.activity} after {b.after_h} h does not fit in a {self.hours} h shift")
        return self


class AgentGroupCfg(_Model):
    """A group of agents with the same skills, center and working pattern."""

    name: str
    center: str
    count: int = Field(ge=0)
    skills: dict[str, int]
    chat_capacity: int = Field(1, ge=1, le=10)
    shifts: dict[str, float]  # shift template -> share of the group's shifts
    days_per_week: int = Field(5, ge=1, le=7)
    team_size: int = Field(15, ge=1)
    contracts: dict[str, float] = Field(default_factory=lambda: {"full-time": 0.85, "part-time": 0.15})
    echelons: dict[int, float] = Field(default_factory=dict)  # emergency echelon (1..3) -> share; rest none
    tenure_years: float = Field(3.0, gt=0)

    @field_validator("skills")
    @classmethod
    def _levels(cls, v: dict[str, int]) -> dict[str, int]:
        bad = {q: lvl for q, lvl in v.items() if not 1 <= lvl <= 5}
        if not v or bad:
            raise ValueError(f"skills need at least one queue and levels 1..5 (bad: {bad})")
        return v

    @field_validator("echelons")
    @classmethod
    def _echelons(cls, v: dict[int, float]) -> dict[int, float]:
        if any(e not in (1, 2, 3) for e in v) or sum(v.values()) > 1 + 1e-9 or any(s < 0 for s in v.values()):
            raise ValueError("echelons are 1, 2 or 3 with non-negative shares summing to at most 1")
        return v


class AdherenceCfg(_Model):
    """Schedule adherence noise (seconds)."""

    login_late_mean_s: float = 60.0
    login_sd_s: float = Field(90.0, ge=0)
    break_late_sd_s: float = Field(60.0, ge=0)
    break_overrun_mean_s: float = Field(45.0, ge=0)
    logout_sd_s: float = Field(60.0, ge=0)


class PlanCfg(_Model):
    """A tariff plan: share of customers, ARPU and usage."""

    name: str
    share: float = Field(gt=0)
    arpu_mean: float = Field(gt=0)
    usage_gb_mean: float = Field(ge=0)
    network: dict[str, float]  # 2G/3G/4G/5G -> share


class CustomersCfg(_Model):
    """The customer base the contacts come from."""

    count: int = Field(ge=1)
    plans: tuple[PlanCfg, ...]
    regions: dict[str, float]
    status: dict[CustomerStatus, float]
    vip_levels: dict[int, float]  # 1..n -> share; the rest are level 0
    tenure_months_mean: float = Field(48.0, gt=0)
    arrears_contact_factor: float = Field(2.0, gt=0, description="how much likelier arrears customers call")


class ReasonEscalationCfg(_Model):
    """A self-service failure reason that sends customers to another channel (a documented cause for journeys)."""

    p: float = Field(ge=0, le=1)  # probability that a contact failed for this reason brings the customer to `to`
    to: Channel
    delay_mean_min: float = Field(gt=0)
    within_h: float = Field(24.0, gt=0)  # no target contact within this many hours: no escalation


class RepeatsCfg(_Model):
    """Repeat contacts after an unresolved one, and escalations up the channel ladder."""

    p_unresolved: float = Field(ge=0, le=1)
    window_days: float = Field(gt=0)
    delay_mean_h: float = Field(gt=0)
    escalation_p: float = Field(0.0, ge=0, le=1)
    escalation_delay_mean_min: float = Field(10.0, gt=0)
    ladder: dict[Channel, Channel] = Field(default_factory=dict)  # channel -> the channel people try next
    by_reason: dict[str, ReasonEscalationCfg] = Field(default_factory=dict)  # failure reason -> its escalation


class ScoreModelCfg(_Model):
    """A survey score: round(base + resolved * r + wait_min * w + N(0, sd)) clipped to [low, high]."""

    base: float
    resolved: float
    wait_per_min: float
    sd: float = Field(gt=0)
    low: int
    high: int


class SurveysCfg(_Model):
    """Post-contact surveys."""

    csat: ScoreModelCfg
    nps: ScoreModelCfg
    nps_share: float = Field(0.5, ge=0, le=1, description="share of respondents also giving an NPS score")


class QaItemCfg(_Model):
    """An item of the QA form."""

    item: str
    max_score: float = Field(gt=0)
    weight: float = Field(gt=0)


class QualityCfg(_Model):
    """QA evaluations and transcripts of a sample of handled contacts."""

    sample_share: float = Field(ge=0, le=1)
    greeting: str
    greeting_missing_p: float = Field(ge=0, le=1)
    closing: str
    forbidden: tuple[str, ...]
    forbidden_p: float = Field(ge=0, le=1)
    evaluators: tuple[str, ...] = ("qa01", "qa02", "qa03")
    items: tuple[QaItemCfg, ...]


class OfferCfg(_Model):
    """An offer of a campaign."""

    offer_id: str
    product: str
    unit_price: float = Field(ge=0)
    commission: float = Field(ge=0)
    accept_p: float = Field(ge=0, le=1)
    channels: tuple[Channel, ...]
    kind: Literal["data", "5g", "broadband", "roaming", "video", "other"] = Field(
        "other", description="what the offer sells: it decides which customer traits move acceptance (sim.marketing)")
    reasons: tuple[str, ...] = Field((), description="business types (reasons for contact) the offer fits")
    # what a pitch adds to the agent's handle time (means; sim.marketing draws around them)
    pitch_s: float = Field(40.0, ge=0, description="talk seconds a declined pitch adds")
    pitch_acw_s: float = Field(5.0, ge=0, description="after-contact work seconds a declined pitch adds")
    accepted_pitch_s: float = Field(120.0, ge=0, description="talk seconds an accepted pitch adds (terms, consent)")
    accepted_acw_s: float = Field(60.0, ge=0, description="after-contact work seconds an accepted offer adds (order)")


class CampaignCfg(_Model):
    """A marketing campaign, active on days ``first_day``..``last_day`` of the run (1-based, inclusive)."""

    campaign_id: str
    name: str
    product: str
    first_day: int = Field(1, ge=1)
    last_day: int | None = Field(None, ge=1)
    importance: float = Field(ge=0, le=1)
    difficulty: float = Field(ge=0, le=1)
    offers: tuple[OfferCfg, ...]


class JourneysCfg(_Model):
    """Which customer sessions are recorded as journey events."""

    share: float = Field(0.3, ge=0, le=1)
    session_gap_min: float = Field(120.0, gt=0)


class Scenario(_Model):
    """A whole contact center to simulate."""

    name: str
    description: str = ""
    timezone: str = "Asia/Shanghai"
    country: str | None = "CN"
    id_prefix: str = Field("S", pattern=r"^[A-Za-z0-9_]{0,8}$")
    centers: tuple[CenterCfg, ...]
    intraday: dict[str, tuple[float, ...]]
    queues: tuple[QueueCfg, ...]
    ivrs: tuple[IvrCfg, ...] = ()
    streams: tuple[StreamCfg, ...]
    outbound: tuple[OutboundCfg, ...] = ()
    shifts: tuple[ShiftCfg, ...]
    agent_groups: tuple[AgentGroupCfg, ...]
    adherence: AdherenceCfg = AdherenceCfg()
    customers: CustomersCfg
    repeats: RepeatsCfg
    surveys: SurveysCfg
    quality: QualityCfg
    campaigns: tuple[CampaignCfg, ...] = ()
    journeys: JourneysCfg = JourneysCfg()

    @field_validator("intraday")
    @classmethod
    def _profiles(cls, v: dict[str, tuple[float, ...]]) -> dict[str, tuple[float, ...]]:
        for name, w in v.items():
            if len(w) != SLOTS or any(x < 0 for x in w) or sum(w) <= 0:
                raise ValueError(f"profile {name!r} needs {SLOTS} non-negative half-hour weights (got {len(w)})")
        return v

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        """Every name a part refers to must exist; report all unknown names at once."""
        problems: list[str] = []
        centers = {c.name for c in self.centers}
        queues = {q.name: q for q in self.queues}
        ivrs = {i.name for i in self.ivrs}
        shifts = {s.name for s in self.shifts}

        def need(what: str, name: str | None, known: set | dict) -> None:
            if name is not None and name not in known:
                problems.append(f"{what} refers to unknown {name!r} (known: {', '.join(sorted(known))})")

        if len(queues) != len(self.queues):
            problems.append("queue names must be unique")
        for q in self.queues:
            need(f"queue {q.name}: center", q.center, centers)
            need(f"queue {q.name}: overflow_to", q.overflow_to, queues)
            need(f"queue {q.name}: transfer_to", q.transfer_to, queues)
        for i, s in enumerate(self.streams):
            need(f"streams.{i}: queue", s.queue, queues)
            need(f"streams.{i}: ivr", s.ivr, ivrs)
            need(f"streams.{i}: intraday", s.intraday, self.intraday)
        for i, o in enumerate(self.outbound):
            need(f"outbound.{i}: queue", o.queue, queues)
        for g in self.agent_groups:
            need(f"agent group {g.name}: center", g.center, centers)
            for q in g.skills:
                need(f"agent group {g.name}: skill", q, queues)
            for s in g.shifts:
                need(f"agent group {g.name}: shift", s, shifts)
        skilled = {q for g in self.agent_groups if g.count > 0 for q in g.skills}
        fed = {s.queue for s in self.streams} | {o.queue for o in self.outbound}
        for q in sorted(fed - skilled):
            problems.append(f"queue {q} receives contacts but no agent group has its skill")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def scaled(self, agents: float = 1.0, volume: float | None = None, customers: int | None = None) -> Scenario:
        """A copy with agent groups times ``agents``, traffic times ``volume`` (default: same as agents)
        and ``customers`` customers: a small center with the same shape, e.g. for tests."""
        volume = agents if volume is None else volume
        groups = tuple(g.model_copy(update={"count": max(1, round(g.count * agents)) if g.count else 0})
                       for g in self.agent_groups)
        streams = tuple(s.model_copy(update={"daily_volume": s.daily_volume * volume}) for s in self.streams)
        outbound = tuple(o.model_copy(update={"dials_per_hour": o.dials_per_hour * volume}) for o in self.outbound)
        cust = self.customers.model_copy(update={"count": customers or self.customers.count})
        return self.model_copy(update={"agent_groups": groups, "streams": streams, "outbound": outbound,
                                       "customers": cust})

    def queue(self, name: str) -> QueueCfg:
        """The queue called ``name``."""
        return next(q for q in self.queues if q.name == name)


def _format_errors(label: str, exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:8]:
        loc = ".".join(str(x) for x in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    more = f" (+{exc.error_count() - 8} more)" if exc.error_count() > 8 else ""
    return f"invalid scenario {label}: " + "; ".join(parts) + more


def parse_scenario(text: str, label: str = "<text>") -> Scenario:
    """Parse and validate scenario YAML ``text``; errors name ``label`` and the offending fields."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CallopsError(f"scenario {label} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise CallopsError(f"scenario {label} must be a YAML mapping (name:, centers:, queues:, ...)")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise CallopsError(_format_errors(label, exc)) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate the scenario file ``path``."""
    p = Path(path)
    if not p.is_file():
        raise CallopsError(f"scenario file {p} not found")
    return parse_scenario(p.read_text(encoding="utf-8"), str(p))


def demo_scenario_text() -> str:
    """The YAML of the provincial hotline shipped inside the package."""
    return (resources.files("callops.sim") / "scenarios" / DEMO_SCENARIO).read_text(encoding="utf-8")


def demo_scenario() -> Scenario:
    """The provincial telecom hotline scenario shipped inside the package."""
    return parse_scenario(demo_scenario_text(), f"callops.sim/scenarios/{DEMO_SCENARIO}")
