"""Queues and skills-based routing.

A queue belongs to one channel and one center. Waiting contacts are ordered by
VIP first, then by their place in line (arrival time; a callback keeps the
place of the call it replaces). When a contact arrives, it goes to the
*longest-idle* agent who has the queue's skill (chat: the least-loaded such
agent, then longest idle); when an agent frees up, it takes the head of the
skilled queue with the highest queue priority, then its own highest skill
level, then the longest wait. Overflow makes a contact that has waited
``overflow_after_s`` visible to a second queue (possibly in another center);
it is answered by whichever queue's agent comes first.

Agent availability is kept in per-queue heaps with lazy deletion: each change
of an agent bumps its token and pushes fresh entries, so stale ones are skipped
when popped, and heaps are compacted when they grow past a few times their
agent count. Every operation is O(log n) in the number of agents.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field

import numpy as np

EXCLUSIVE_CHANNELS = frozenset({"voice", "email", "video", "sms", "social", "web", "app"})
CONCURRENT_CHANNELS = frozenset({"chat"})


@dataclass(frozen=True)
class Patience:
    """Patience distribution of waiting contacts: ``exponential`` (mean) or ``lognormal`` (mean, cv)."""

    kind: str = "exponential"
    mean_s: float = 120.0
    cv: float = 1.0

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` patience times in seconds."""
        if self.kind == "exponential":
            return rng.exponential(self.mean_s, n)
        if self.kind == "lognormal":
            sigma = math.sqrt(math.log1p(self.cv**2))
            return rng.lognormal(math.log(self.mean_s) - sigma**2 / 2, sigma, n)
        raise ValueError(f"unknown patience distribution {self.kind!r}; use exponential or lognormal")


@dataclass(frozen=True)
class HandleTime:
    """Talk-time distribution: ``exponential`` (mean) or ``lognormal`` (mean, cv), plus hold and ACW."""

    mean_s: float = 300.0
    kind: str = "exponential"
    cv: float = 1.0
    acw_mean_s: float = 0.0  # after-contact work (exponential; not for chat)
    hold_p: float = 0.0  # share of contacts put on hold
    hold_mean_s: float = 0.0

    def draw_work(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` work-content multipliers with mean 1 (times ``mean_s`` give talk seconds)."""
        if self.kind == "exponential":
            return rng.exponential(1.0, n)
        if self.kind == "lognormal":
            sigma = math.sqrt(math.log1p(self.cv**2))
            return rng.lognormal(-(sigma**2) / 2, sigma, n)
        raise ValueError(f"unknown handle-time distribution {self.kind!r}; use exponential or lognormal")


@dataclass(frozen=True)
class IvrSpec:
    """Self-service stage: mean duration, success probability and weighted named failure reasons."""

    name: str
    mean_s: float = 60.0
    success_p: float = 0.3
    failure_reasons: dict[str, float] = field(default_factory=lambda: {"wants_agent": 1.0})


@dataclass(frozen=True)
class QueueSpec:
    """A queue: channel, center, priority, patience, handle time and what happens to long waits."""

    name: str
    channel: str = "voice"
    center: str | None = None
    priority: int = 0  # higher is served first by agents who have several skills
    patience: Patience | None = None  # None: nobody abandons (email/tickets: deferred work)
    handle: HandleTime = field(default_factory=HandleTime)
    chat_growth: float = 0.25  # chat handle time x (1 + growth x (chats held - 1))
    overflow_to: str | None = None
    overflow_after_s: float = math.inf
    callback_after_s: float = math.inf  # offer a callback after this wait ...
    callback_accept_p: float = 0.0  # ... accepted with this probability
    transfer_p: float = 0.0  # share of handled contacts transferred ...
    transfer_to: str | None = None  # ... to this queue
    level_speed: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, 1.0)  # handle-time factor for skill levels 1..5

    @property
    def concurrent(self) -> bool:
        """Whether agents hold several contacts of this queue at once (chat)."""
        return self.channel in CONCURRENT_CHANNELS


class Router:
    """Waiting contacts per queue and available agents per queue, with lazy-deletion heaps."""

    def __init__(self, queues: list[QueueSpec], skills: list[dict[int, int]], n_agents: int) -> None:
        self.queues = queues
        self.waiting: list[list] = [[] for _ in queues]  # (-vip, order_t, seq, contact)
        self.idle: list[list] = [[] for _ in queues]  # (load, since, seq, agent, token)
        self.skilled = [sum(1 for s in skills if q in s) for q in range(len(queues))]
        self.token = [0] * n_agents
        self._seq = 0

    # ----------------------------------------------------------------------------------------- contacts
    def enqueue(self, q: int, contact: object, vip: bool, order_t: float) -> None:
        """Put ``contact`` in line in queue ``q``."""
        self._seq += 1
        heapq.heappush(self.waiting[q], (-int(vip), order_t, self._seq, contact))

    def head(self, q: int, is_waiting: object) -> tuple | None:
        """The first entry of queue ``q`` still waiting (``is_waiting(contact)``), stale ones dropped."""
        h = self.waiting[q]
        while h:
            if is_waiting(h[0][3]):
                return h[0]
            heapq.heappop(h)
        return None

    # ------------------------------------------------------------------------------------------- agents
    def offer_agent(self, agent: int, queues: list[int], load: int, since: float) -> None:
        """Make ``agent`` available to ``queues`` (after invalidating its older entries)."""
        self.token[agent] += 1
        tok = self.token[agent]
        for q in queues:
            self._seq += 1
            h = self.idle[q]
            heapq.heappush(h, (load, since, self._seq, agent, tok))
            if len(h) > 4 * self.skilled[q] + 64:
                self.idle[q] = [e for e in h if self.token[e[3]] == e[4]]
                heapq.heapify(self.idle[q])

    def withdraw_agent(self, agent: int) -> None:
        """Make ``agent`` unavailable everywhere (its entries go stale)."""
        self.token[agent] += 1

    def pick_agent(self, q: int) -> int | None:
        """The best available agent for queue ``q`` (longest idle / least loaded), or None."""
        h = self.idle[q]
        token = self.token
        while h:
            e = h[0]
            if token[e[3]] == e[4]:
                return e[3]
            heapq.heappop(h)
        return None
