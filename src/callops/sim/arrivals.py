"""Arrival streams: non-homogeneous Poisson contacts per queue and channel.

Rates are piecewise constant over intraday slots (e.g. 48 half-hours in the
tenant's local time), so a stream is generated exactly by drawing a Poisson
count per slot and placing that many uniform times inside it. The expected
count of a slot on a day is::

    daily_volume x intraday[slot] / sum(intraday) x weekly[weekday] x monthly[day-1]
                 x (holiday_factor if the date is a public holiday) x (1 + trend_per_day) ** day_index
                 x M_day,   M_day ~ Gamma(shape=k, scale=1/k)  (mean 1; over-dispersion, k = dispersion_shape)

Holidays come from the ``holidays`` package (``CN``, China, by default). Slots
are laid out from each local midnight, so a day with a DST change keeps the
wall-clock shape (an hour may be doubled or dropped; China has no DST).
Outbound campaigns are streams whose slots cover only the dialing window and
whose contacts are the *connected* dials (direction ``outbound``).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import holidays as holidays_lib
import numpy as np

DEFAULT_COUNTRY = "CN"


@dataclass(frozen=True)
class ArrivalStream:
    """Contacts arriving to one queue (the queue fixes the channel) for one business type."""

    queue: str
    daily_volume: float
    intraday: tuple[float, ...] = (1.0,) * 48  # weights of equal slots covering a local day
    weekly: tuple[float, ...] = (1.0,) * 7  # Monday .. Sunday
    monthly: tuple[float, ...] = (1.0,) * 31  # day of month 1 .. 31 (e.g. a billing peak on the 1st)
    holiday_factor: float = 1.0
    trend_per_day: float = 0.0
    dispersion_shape: float | None = None  # gamma shape k of the day multiplier; None: pure Poisson
    business_type: str | None = None
    direction: str = "inbound"
    vip_share: float = 0.0  # share of high-value customers when no customer pool is given
    ivr: str | None = None  # name of the IVR/self-service stage contacts go through first


@dataclass(frozen=True)
class OutboundCampaign:
    """Scheduled dialing: connected calls to ``queue`` during a daily window on chosen weekdays."""

    queue: str
    dials_per_hour: float
    connect_p: float
    window: tuple[float, float] = (9.0, 18.0)  # local hours [start, end)
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    first_day: date | None = None
    last_day: date | None = None
    business_type: str | None = "outbound_marketing"

    def to_stream(self, slots: int = 48) -> ArrivalStream:
        """The stream of connected calls, as an arrival stream over ``slots`` daily slots."""
        per_slot_h = 24.0 / slots
        weights = []
        for i in range(slots):
            lo, hi = i * per_slot_h, (i + 1) * per_slot_h
            weights.append(max(0.0, min(hi, self.window[1]) - max(lo, self.window[0])) / per_slot_h)
        daily = self.dials_per_hour * self.connect_p * sum(weights) * per_slot_h
        return ArrivalStream(
            queue=self.queue,
            daily_volume=daily,
            intraday=tuple(weights),
            weekly=tuple(1.0 if d in self.weekdays else 0.0 for d in range(7)),
            business_type=self.business_type,
            direction="outbound",
        )


@dataclass
class Arrivals:
    """Generated contacts, sorted by arrival time (seconds since the run start)."""

    t: np.ndarray  # float seconds
    stream: np.ndarray  # index into the list of streams
    vip: np.ndarray  # bool
    customer: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))  # index in the pool, -1: none

    def __len__(self) -> int:
        return len(self.t)


def day_factors(stream: ArrivalStream, days: list[date], country: str | None = DEFAULT_COUNTRY) -> np.ndarray:
    """Deterministic per-day factor (weekly x monthly x holiday x trend) for ``days``."""
    hol = holidays_lib.country_holidays(country, years={d.year for d in days}) if country else {}
    out = np.empty(len(days))
    for i, d in enumerate(days):
        f = stream.weekly[d.weekday()] * stream.monthly[d.day - 1] * (1.0 + stream.trend_per_day) ** i
        if d in hol:
            f *= stream.holiday_factor
        out[i] = f
    return out


def generate_arrivals(
    streams: list[ArrivalStream],
    start: datetime,
    days: int,
    rng: np.random.Generator,
    timezone: str = "Asia/Shanghai",
    country: str | None = DEFAULT_COUNTRY,
    pool_vip: np.ndarray | None = None,
) -> Arrivals:
    """Arrivals of every stream over ``days`` local days beginning on ``start``'s local date.

    Times are seconds since ``start`` (a UTC-aware datetime); contacts before ``start`` are dropped.
    With ``pool_vip`` (the VIP flags of a customer pool) each contact gets a random customer from
    the pool and its VIP flag; otherwise VIP is drawn with the stream's ``vip_share``.
    """
    zone = zoneinfo.ZoneInfo(timezone)
    first = start.astimezone(zone).date()
    day_list = [first + timedelta(days=i) for i in range(days)]
    midnights = np.array(
        [(datetime.combine(d, time(0), tzinfo=zone) - start).total_seconds() for d in day_list]
    )
    ts, idx = [], []
    for s_i, st in enumerate(streams):
        w = np.asarray(st.intraday, dtype=float)
        if w.sum() <= 0 or st.daily_volume <= 0:
            continue
        slot_len = 86400.0 / len(w)
        expected = np.outer(day_factors(st, day_list, country) * st.daily_volume, w / w.sum())
        if st.dispersion_shape:
            k = st.dispersion_shape
            expected *= rng.gamma(k, 1.0 / k, size=days)[:, None]
        counts = rng.poisson(expected).ravel()
        slot_start = (midnights[:, None] + np.arange(len(w))[None, :] * slot_len).ravel()
        t = np.repeat(slot_start, counts) + rng.uniform(0.0, slot_len, int(counts.sum()))
        ts.append(t)
        idx.append(np.full(len(t), s_i, dtype=np.int32))
    if not ts:
        empty = np.empty(0)
        return Arrivals(empty, np.empty(0, dtype=np.int32), np.empty(0, dtype=bool), np.empty(0, dtype=np.int64))
    t = np.concatenate(ts)
    stream = np.concatenate(idx)
    keep = t >= 0.0
    t, stream = t[keep], stream[keep]
    order = np.argsort(t, kind="stable")
    t, stream = t[order], stream[order]
    if pool_vip is not None and len(pool_vip):
        customer = rng.integers(0, len(pool_vip), len(t))
        vip = np.asarray(pool_vip, dtype=bool)[customer]
    else:
        customer = np.full(len(t), -1, dtype=np.int64)
        shares = np.array([s.vip_share for s in streams])
        vip = rng.random(len(t)) < shares[stream]
    return Arrivals(t, stream, vip, customer)


def poisson_arrivals(rate_per_s: float, horizon_s: float, rng: np.random.Generator) -> np.ndarray:
    """Sorted times of a homogeneous Poisson process on ``[0, horizon_s)``."""
    n = int(rng.poisson(rate_per_s * horizon_s))
    return np.sort(rng.uniform(0.0, horizon_s, n))


def expected_volume(stream: ArrivalStream, day: date, country: str | None = DEFAULT_COUNTRY) -> float:
    """Expected contacts of ``stream`` on ``day`` as the first day of a run (no trend, no dispersion)."""
    return float(stream.daily_volume * day_factors(stream, [day], country)[0])
