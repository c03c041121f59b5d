"""Pydantic models of the catalog: measures, metrics, scope groups and tenant parameters.

A *measure* aggregates one source table (count, sum, ...) over the rows that pass
its filter, anchored in time by one timestamp column. A *metric* is what users
see: ``simple`` (one measure), ``ratio`` (numerator / denominator, recomputed at
every grain, null on a zero denominator) or ``derived`` (a formula over other
metrics). Scope groups multiply metrics declaratively: ``service_level`` scoped
by channel gives ``service_level__voice``, ``service_level__chat`` and so on.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ID = re.compile(r"^[a-z][a-z0-9_]*$")
SCOPE_SEPARATOR = "__"


class Aggregation(StrEnum):
    """How a measure folds rows into one number."""

    COUNT = "count"
    SUM = "sum"
    AVG = "avg"
    MIN = "min"
    MAX = "max"
    COUNT_DISTINCT = "count_distinct"


class Direction(StrEnum):
    """Which way is better for a metric."""

    HIGHER = "higher"
    LOWER = "lower"
    NEUTRAL = "neutral"


class MetricType(StrEnum):
    """The three kinds of metric."""

    SIMPLE = "simple"
    RATIO = "ratio"
    DERIVED = "derived"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Label(_Strict):
    """A name in both languages of the product."""

    en: str
    zh: str = Field(alias="zh-CN")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _check_id(value: str) -> str:
    if not ID.match(value):
        raise ValueError(f"id {value!r} must be lower-case letters, digits and '_' and start with a letter")
    return value


class Measure(_Strict):
    """An aggregation over one source table."""

    id: str
    source: str = "contacts"
    agg: Aggregation
    expr: str | None = None
    filter: str | None = None
    time: str = "offered_at"
    unit: str = "count"
    description: str = ""

    _id = field_validator("id")(_check_id)


class Variant(_Strict):
    """Numerator and denominator of a ratio for one value of a parameter."""

    numerator: str
    denominator: str
    description: str = ""


class Metric(_Strict):
    """A metric as declared in YAML (before scope expansion)."""

    id: str
    type: MetricType
    label: Label
    description: str
    unit: str
    direction: Direction
    version: int = 1
    formula: str = ""
    measure: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    variant_parameter: str | None = None
    variants: dict[str, Variant] | None = None
    expr: str | None = None
    scopes: tuple[str, ...] = ()
    parameters: tuple[str, ...] = ()
    scale: float = 1.0

    _id = field_validator("id")(_check_id)


class ScopeValue(_Strict):
    """One value of a scope group (e.g. channel ``voice``)."""

    value: str
    label: Label


class ScopeGroup(_Strict):
    """A dimension and the values metrics are scoped to (``channel``: voice, chat, ...)."""

    id: str
    dimension: str
    values: tuple[ScopeValue, ...]

    _id = field_validator("id")(_check_id)


class CatalogFile(_Strict):
    """The content of one catalog YAML file."""

    measures: list[Measure] = []
    metrics: list[Metric] = []
    scope_groups: list[ScopeGroup] = []


# The canonical channels (callops.schema.Channel, repeated here so the catalog models import nothing heavy) and
# the default fixed cost of a contact on each.
CHANNELS = ("voice", "chat", "web", "app", "sms", "email", "social", "video")
DEFAULT_CHANNEL_COSTS = {"voice": 0.8, "chat": 0.3, "email": 0.2, "video": 1.0, "app": 0.05, "web": 0.05, "sms": 0.02,
                         "social": 0.05}

SlVariant = Literal[
    "within_t_over_answered_abandoned",
    "within_t_excl_abandoned_within_t",
    "within_t_over_answered",
    "within_t_over_offered",
]


class Parameters(_Strict):
    """Tenant-level choices where the industry disagrees, with their documented defaults."""

    sl_variant: SlVariant = Field(
        "within_t_over_answered_abandoned",
        description=(
            "Service-level formula: within_t_over_answered_abandoned = answered within T / (answered + abandoned); "
            "within_t_excl_abandoned_within_t = answered within T / (answered + abandoned after T); "
            "within_t_over_answered = answered within T / answered; "
            "within_t_over_offered = answered within T / offered."
        ),
    )
    sl_threshold_s: float = Field(20.0, ge=0, description="Service-level threshold T in seconds of wait.")
    short_abandon_s: float = Field(
        0.0, ge=0, description="Short-abandon threshold S: abandons with a wait under S seconds are not counted."
    )
    repeat_window_days: float = Field(
        7.0, gt=0, description="FCR/repeat window: a contact is repeated when the customer comes back within it."
    )
    agent_cost_per_hour: float = Field(60.0, ge=0, description="Fully loaded cost of an agent hour (cost view).")
    channel_cost_per_contact: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_CHANNEL_COSTS),
        description="Fixed cost per contact by channel: licences, telecom (cost view); a channel not named costs 0.",
    )

    @field_validator("channel_cost_per_contact")
    @classmethod
    def _known_channels(cls, costs: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(costs) - set(CHANNELS))
        if unknown:
            raise ValueError(f"unknown channel(s) {', '.join(unknown)}; known: {', '.join(CHANNELS)}")
        negative = sorted(c for c, v in costs.items() if not v >= 0)
        if negative:
            raise ValueError(f"a cost cannot be negative: {', '.join(negative)}")
        return costs

    def numeric(self) -> dict[str, float]:
        """The numeric parameters, by name (what expressions may refer to); ``channel_cost_<channel>`` per channel."""
        return {
            "sl_threshold_s": self.sl_threshold_s,
            "short_abandon_s": self.short_abandon_s,
            "repeat_window_days": self.repeat_window_days,
            "agent_cost_per_hour": self.agent_cost_per_hour,
            **{f"channel_cost_{c}": float(self.channel_cost_per_contact.get(c, 0.0)) for c in CHANNELS},
        }


PARAMETER_NAMES = tuple(Parameters.model_fields)


# ---------------------------------------------------------------------------------------------- units
# Display units and what they mean in the algebra: counts and ratios are pure numbers.
_DIMENSIONLESS = {"count", "ratio", "points", "1"}
_BASE = {"s", "currency", "score", "gb"}


def parse_unit(unit: str) -> dict[str, int]:
    """A unit string ('s', 'ratio', 'currency/count', 's*count') as base-unit exponents; raise on unknown."""
    powers: dict[str, int] = {}
    for i, part in enumerate(re.split(r"([*/])", unit.replace(" ", ""))):
        if i % 2 == 1 or not part:
            continue
        sign = -1 if i > 0 and re.split(r"([*/])", unit.replace(" ", ""))[i - 1] == "/" else 1
        if part in _DIMENSIONLESS:
            continue
        if part not in _BASE:
            known = ", ".join(sorted(_DIMENSIONLESS | _BASE))
            raise ValueError(f"unknown unit {part!r} in {unit!r}; known units: {known} (combine with * and /)")
        powers[part] = powers.get(part, 0) + sign
    return {k: v for k, v in powers.items() if v}


def unit_text(powers: dict[str, int]) -> str:
    """Readable form of base-unit exponents ('1' for a pure number)."""
    if not powers:
        return "1 (pure number)"
    return "*".join(k if v == 1 else f"{k}^{v}" for k, v in sorted(powers.items()))
