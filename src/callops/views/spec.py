"""What a saved view holds: metrics, grain, dimensions, filter, period, comparison, chart and tiles.

Checked when saved (pydantic, then against the metric catalog, the grains and the filter language), so a view
that was saved always runs; errors name the field.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from callops.errors import CallopsError, NotFound
from callops.metrics.grains import MAX_DATE, MIN_DATE, check_grain

CHARTS = ("line", "bar", "table", "number")
VISIBILITIES = ("private", "team", "tenant")
# Relative periods in the tenant's zone, ending with the last complete day (today so far is the live view's).
PERIOD_DAYS = {"last_7_days": 7, "last_14_days": 14, "last_28_days": 28, "last_90_days": 90}


class Tile(BaseModel):
    """One tile of a view's layout: a metric shown as a chart, ``w`` of 12 columns wide, ``h`` rows high."""

    model_config = ConfigDict(extra="forbid")
    metric: str = Field(min_length=1, max_length=200)
    chart: Literal["line", "bar", "table", "number"] = "line"
    w: int = Field(default=6, ge=1, le=12)
    h: int = Field(default=1, ge=1, le=4)


class ViewSpec(BaseModel):
    """A saved view's definition."""

    model_config = ConfigDict(extra="forbid")
    metrics: list[str] = Field(min_length=1, max_length=20)
    grain: str = "day"
    dimensions: list[str] = Field(default_factory=list, max_length=3)
    where: str | None = Field(default=None, max_length=2000)
    period: Literal["last_7_days", "last_14_days", "last_28_days", "last_90_days"] = "last_28_days"
    # fixed local dates instead of the relative period (both or neither)
    start: date | None = None
    end: date | None = None
    compare: Literal["previous", "year"] | None = None
    chart: Literal["line", "bar", "table", "number"] = "line"
    tiles: list[Tile] = Field(default_factory=list, max_length=24)

    @model_validator(mode="after")
    def _dates(self) -> ViewSpec:
        if (self.start is None) != (self.end is None):
            raise ValueError("give both start and end, or neither (then period applies)")
        if self.start and self.end and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        for name, value in (("start", self.start), ("end", self.end)):  # what the metrics engine can query
            if value is not None and not MIN_DATE <= value <= MAX_DATE:
                raise ValueError(f"{name} {value}: expected a date between {MIN_DATE} and {MAX_DATE}")
        return self

    @field_validator("grain")
    @classmethod
    def _grain(cls, value: str) -> str:
        return check_grain(value)


def parse_spec(data: Any) -> ViewSpec:
    """``data`` as a checked :class:`ViewSpec`: metrics, dimensions and tiles known to the catalog, filter valid."""
    if not isinstance(data, dict):
        raise CallopsError("a view spec must be a JSON object")
    try:
        spec = ViewSpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(spec)"
        raise CallopsError(f"view spec, {where}: {err['msg'].removeprefix('Value error, ')}") from None
    except CallopsError as exc:
        raise CallopsError(f"view spec: {exc}") from None
    from callops.metrics.catalog import load_catalog
    from callops.metrics.compiler import parse_where
    from callops.metrics.sources import DIMENSIONS

    cat = load_catalog()
    for m in [*spec.metrics, *(t.metric for t in spec.tiles)]:
        if m not in cat.metrics:
            try:
                cat.metric(m)
            except NotFound as exc:  # a mistake in the spec (400), not a missing resource
                raise CallopsError(f"view spec, metrics: {exc}") from None
    for d in spec.dimensions:
        if d not in DIMENSIONS:
            raise CallopsError(f"view spec, dimensions: unknown dimension {d!r}; expected one of: "
                               f"{', '.join(DIMENSIONS)}")  # fmt: skip
    parse_where(spec.where)
    return spec
