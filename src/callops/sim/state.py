"""A starting state for intraday what-ifs: contacts already waiting and agents already busy "now"."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class WaitingContact:
    """A contact that has been waiting ``waited_s`` seconds in ``queue`` when the run starts."""

    queue: str
    waited_s: float = 0.0
    vip: bool = False
    customer_id: str | None = None
    business_type: str | None = None


@dataclass(frozen=True)
class BusyAgent:
    """An agent handling a contact of ``queue`` that started ``elapsed_s`` ago and ends in ``remaining_s``."""

    agent_id: str
    queue: str
    remaining_s: float
    elapsed_s: float = 0.0


@dataclass(frozen=True)
class InitialState:
    """What the center looks like at the start of the run."""

    waiting: tuple[WaitingContact, ...] = field(default=())
    busy: tuple[BusyAgent, ...] = field(default=())
