"""What a simulation run is given (:class:`Model`) and the offer pitches planned for it (:class:`Pitches`).

Kept apart from :mod:`callops.sim.engine` so that the engine's compiled copy (``tools/build_fast_sim.py``)
reads the same classes as the pure-Python engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from callops.sim.agents import PERFECT, Adherence, AgentSpec
from callops.sim.arrivals import DEFAULT_COUNTRY, Arrivals, ArrivalStream, OutboundCampaign
from callops.sim.routing import IvrSpec, QueueSpec
from callops.sim.state import InitialState

DEFAULT_START = datetime.fromisoformat("2024-01-01T00:00:00+08:00")


@dataclass
class Model:
    """Everything a run needs: queues, agents, arrivals, IVR stages and the calendar."""

    queues: list[QueueSpec]
    agents: list[AgentSpec]
    streams: list[ArrivalStream] = field(default_factory=list)
    campaigns: list[OutboundCampaign] = field(default_factory=list)
    ivrs: dict[str, IvrSpec] = field(default_factory=dict)
    start: datetime = DEFAULT_START
    days: int = 1
    timezone: str = "Asia/Shanghai"
    country: str | None = DEFAULT_COUNTRY
    adherence: Adherence = PERFECT
    initial: InitialState = field(default_factory=InitialState)
    customer_ids: list[str] | None = None  # a pool of customers the contacts come from ...
    customer_vip: np.ndarray | None = None  # ... and which of them are high-value
    id_prefix: str = "S"
    arrivals: Arrivals | None = None  # given arrivals replace the generated ones (what-ifs, tests)
    # offer pitches per arrival, planned once the arrivals are known (callops.sim.marketing.OfferPlanner)
    pitches: Callable[[Arrivals, list[ArrivalStream]], Pitches] | None = None


@dataclass
class Pitches:
    """Offer pitches planned per arrival: the talk and after-contact seconds a pitch adds (0: no offer fits),
    a uniform draw ``u`` and each queue's share of handled contacts offered (``offer_p``). A leg gets the pitch
    when an agent takes it in a queue of the arrival's ``channel`` with ``u < offer_p`` and will not transfer it:
    the seconds are part of the agent's busy time. ``done`` (contact id -> arrival) is what the run pitched."""

    talk: np.ndarray
    acw: np.ndarray
    u: np.ndarray
    channel: np.ndarray
    offer_p: dict[str, float]
    done: dict[str, int] = field(default_factory=dict)
