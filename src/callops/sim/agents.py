"""Agents: skills with levels, shifts with breaks and lunch, and adherence noise.

Times are seconds since the run start. An agent without shifts is logged in for
the whole run (the Erlang set-up). With shifts, the engine follows the *realised*
schedule: :func:`realise_shift` moves log-in, break starts and log-out by
adherence noise, and lengthens breaks by an overrun, so recorded agent states
differ from the plan the way real ones do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Break:
    """A planned break inside a shift (activity ``break``, ``lunch``, ``training``, ``meeting``)."""

    activity: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Shift:
    """A planned shift: logged in from ``start_s`` to ``end_s``, away during its breaks."""

    start_s: float
    end_s: float
    breaks: tuple[Break, ...] = ()
    queue: str | None = None  # the queue the work block is for, when planned per queue


@dataclass(frozen=True)
class AgentSpec:
    """One agent: skills (queue -> level 1..5), home center, chat capacity and shifts."""

    agent_id: str
    skills: dict[str, int]
    center: str | None = None
    chat_capacity: int = 1
    shifts: tuple[Shift, ...] | None = None  # None: logged in for the whole run

    def skills_text(self) -> str:
        """Skills in the canonical ``queue:level;...`` form of the agents table."""
        return ";".join(f"{q}:{lvl}" for q, lvl in sorted(self.skills.items()))


@dataclass(frozen=True)
class Adherence:
    """How far agents stray from their schedule (seconds). Zeros mean perfect adherence."""

    login_late_mean_s: float = 60.0  # mean lateness of log-in (normal; early log-ins allowed)
    login_sd_s: float = 90.0
    break_late_sd_s: float = 60.0  # breaks start |N(0, sd)| late
    break_overrun_mean_s: float = 45.0  # breaks last an exponential overrun longer
    logout_sd_s: float = 60.0  # log-out moves by N(0, sd)


PERFECT = Adherence(0.0, 0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class AgentEvent:
    """A realised schedule event of one agent."""

    t: float
    kind: str  # "login", "aux_start", "aux_end", "logout"
    reason: str | None = None


@dataclass
class RealisedShift:
    """Events of one shift after adherence noise, in time order."""

    events: list[AgentEvent] = field(default_factory=list)


def realise_shift(shift: Shift, adherence: Adherence, rng: np.random.Generator) -> RealisedShift:
    """Apply adherence noise to ``shift``: returns its login/aux/logout events, ordered and non-overlapping."""
    a = adherence
    login = shift.start_s + (rng.normal(a.login_late_mean_s, a.login_sd_s) if a.login_sd_s else a.login_late_mean_s)
    logout = shift.end_s + (rng.normal(0.0, a.logout_sd_s) if a.logout_sd_s else 0.0)
    events = [AgentEvent(login, "login")]
    cursor = login
    for b in sorted(shift.breaks, key=lambda b: b.start_s):
        late = abs(rng.normal(0.0, a.break_late_sd_s)) if a.break_late_sd_s else 0.0
        over = rng.exponential(a.break_overrun_mean_s) if a.break_overrun_mean_s else 0.0
        start = max(b.start_s + late, cursor)
        end = max(start, b.end_s + late + over)
        if start >= logout:
            break
        end = min(end, logout)
        events.append(AgentEvent(start, "aux_start", b.activity))
        events.append(AgentEvent(end, "aux_end", b.activity))
        cursor = end
    events.append(AgentEvent(max(logout, cursor), "logout"))
    return RealisedShift(events)
