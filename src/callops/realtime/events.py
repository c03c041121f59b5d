"""The live event contract: one JSON object per event, validated by pydantic (see docs/live-events.md).

Every source (JSON-lines file or stdin, ``POST /api/live/events`` batches, the in-process bus, NATS JetStream)
goes through :func:`parse_event`, so a malformed event is rejected the same way everywhere: with a one-line
reason, counted, and never raised into the engine. :class:`Deduper` drops repeats of the same
``(type, contact_id, ts, agent_id)``.
"""

from __future__ import annotations

import json
import sys
import time
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, TextIO

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from callops.names import NAME_MAX, NAME_PATTERN
from callops.schema import AgentState, Channel

EventType = Literal[
    "contact.offered", "contact.answered", "contact.abandoned", "contact.ended", "contact.transferred",
    "contact.diverted", "agent.state",
]  # fmt: skip
EVENT_TYPES: tuple[str, ...] = (
    "contact.offered", "contact.answered", "contact.abandoned", "contact.ended", "contact.transferred",
    "contact.diverted", "agent.state",
)  # fmt: skip
# Same rule as callops.tenancy.TENANT_ID (not imported: that module pulls in Ibis, too heavy for a live edge).
TENANT_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
# Contact ids are opaque to people but still echoed in rejections and logs: printable, no quotes or brackets.
ID_MAX = 128
EVENT_MAX_BYTES = 8192  # one event as text (the durable log keeps the text as received)
ID_PATTERN = r"^[\p{L}\p{N}_.:/#@+-]{1,128}$"


class LiveEvent(BaseModel):
    """One live event. ``ts`` must carry a zone; unknown extra fields are ignored (forward compatibility).

    Required per type: every ``contact.*`` needs ``contact_id`` and ``queue`` (the queue of the leg it is about);
    ``contact.offered`` also needs ``channel``; ``agent.state`` needs ``agent_id`` and ``state``.

    ``contact.diverted`` ends a leg that traffic balancing or care sent away from the agents (self-service first,
    payment in the IVR, another queue; ``reason`` names the route) before an answer. Optional facts the warehouse
    keeps (issue 16): on ``contact.offered`` the ``ivr_s`` spent in the IVR before this queue entry, the
    ``customer_id`` and ``business_type``; on ``contact.ended`` the survey's ``csat`` (1-5) and ``nps`` (0-10).
    """

    model_config = ConfigDict(extra="ignore", frozen=True, use_enum_values=True)

    type: EventType
    ts: AwareDatetime
    tenant: str = Field(pattern=TENANT_PATTERN)
    # Bounded and patterned (issue 21): names reach the console, so only NAME_PATTERN characters get in.
    contact_id: str | None = Field(None, min_length=1, max_length=ID_MAX, pattern=ID_PATTERN)
    queue: str | None = Field(None, pattern=NAME_PATTERN)
    center: str | None = Field(None, pattern=NAME_PATTERN)
    channel: Channel | None = None  # stored as its plain string value
    agent_id: str | None = Field(None, pattern=NAME_PATTERN)
    state: AgentState | None = None  # stored as its plain string value
    reason: str | None = Field(None, max_length=NAME_MAX, pattern=NAME_PATTERN)
    ivr_s: float | None = Field(None, ge=0, le=86_400)
    customer_id: str | None = Field(None, min_length=1, max_length=ID_MAX, pattern=ID_PATTERN)
    business_type: str | None = Field(None, max_length=NAME_MAX, pattern=NAME_PATTERN)
    csat: float | None = Field(None, ge=1, le=5)
    nps: float | None = Field(None, ge=0, le=10)

    @model_validator(mode="after")
    def _required_per_type(self) -> LiveEvent:
        if self.type == "agent.state":
            missing = [n for n in ("agent_id", "state") if getattr(self, n) is None]
        else:
            missing = [n for n in ("contact_id", "queue") if getattr(self, n) is None]
            if self.type == "contact.offered" and self.channel is None:
                missing.append("channel")
        if missing:
            raise ValueError(f"{self.type} needs {', '.join(missing)}")
        return self

    def to_json(self) -> str:
        """The event as one compact JSON line (None fields left out)."""
        return self.model_dump_json(exclude_none=True)


class EventError(ValueError):
    """A rejected event; ``reason`` is one line meant for the sender."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _reason(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False)[:3]:
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def parse_event(raw: str | bytes | dict[str, Any]) -> LiveEvent:
    """Validate one event (a JSON text or an already decoded dict); raise :class:`EventError` with a reason."""
    if isinstance(raw, str | bytes) and len(raw) > EVENT_MAX_BYTES:
        raise EventError(f"event of {len(raw)} bytes; at most {EVENT_MAX_BYTES} per event")
    try:
        if isinstance(raw, dict):
            return LiveEvent.model_validate(raw)
        return LiveEvent.model_validate_json(raw)
    except ValidationError as exc:
        if exc.errors() and exc.errors()[0]["type"] == "json_invalid":
            raise EventError(f"not valid JSON: {exc.errors()[0]['msg']}") from None
        if exc.errors() and exc.errors()[0]["type"] == "model_type":
            raise EventError("an event must be a JSON object") from None
        raise EventError(_reason(exc)) from None


@dataclass(frozen=True)
class Rejection:
    """A rejected event: where it came from (``line 12``, ``item 3``, ``nats seq 40``), why, and its start."""

    where: str
    reason: str
    raw: str = ""

    def as_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return {"where": self.where, "reason": self.reason, "raw": self.raw}


@dataclass
class IntakeStats:
    """Counts of what came in: accepted, rejected (with the first reasons kept), duplicates and late events."""

    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    late: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    samples: list[Rejection] = field(default_factory=list)
    max_samples: int = 50

    def reject(self, rejection: Rejection) -> None:
        """Count a rejection (reasons grouped by their text before the first ':' detail)."""
        self.rejected += 1
        key = rejection.reason.split(": ", 1)[-1] if rejection.reason.startswith(("ts", "type")) else rejection.reason
        self.reasons[key[:120]] = self.reasons.get(key[:120], 0) + 1
        if len(self.samples) < self.max_samples:
            self.samples.append(rejection)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready counts and sample rejections."""
        return {
            "accepted": self.accepted,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "late": self.late,
            "reasons": dict(sorted(self.reasons.items(), key=lambda kv: -kv[1])),
            "samples": [r.as_dict() for r in self.samples[:10]],
        }


class EventPacer:
    """How long to hold each event back so that a stream plays at ``speed`` × its own event time (0: never)."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self.first: float | None = None
        self.t0 = time.monotonic()

    def delay(self, raw: str | bytes) -> float:
        """Seconds to wait before submitting ``raw`` (0 for a malformed event: intake rejects it, with its reason)."""
        if not self.speed:
            return 0.0
        try:
            t = parse_event(raw).ts.timestamp()
        except Exception:
            return 0.0
        if self.first is None:
            self.first = t
        return max(0.0, (t - self.first) / self.speed - (time.monotonic() - self.t0))


def iter_lines(stream: TextIO | Iterable[str], start: int = 1) -> Iterator[tuple[str, str]]:
    """(``line N``, text) for each non-blank line of a JSON-lines stream."""
    for n, line in enumerate(stream, start):
        text = line.strip()
        if text:
            yield f"line {n}", text


@contextmanager
def event_lines(events: str) -> Iterator[Iterator[tuple[str, str]]]:
    """``with event_lines(name) as lines:`` (where, text) of a JSON-lines file, or of stdin when ``name`` is ``-``;
    a missing file is a :class:`~callops.errors.CallopsError` naming it. The file is closed on exit."""
    from callops.errors import CallopsError

    if events == "-":
        yield iter_lines(sys.stdin)
        return
    path = Path(events)
    if not path.exists():
        raise CallopsError(f"event file {path} not found")
    with path.open(encoding="utf-8") as source:
        yield iter_lines(source)


def decode_batch(payload: str | bytes) -> list[Any]:
    """Items of a batch body: a JSON array, or JSON lines; raise :class:`EventError` if neither."""
    text = payload.decode() if isinstance(payload, bytes) else payload
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise EventError(f"batch is not valid JSON: {exc.msg} at {exc.pos}") from None
        return list(items)
    return [line for line in text.split("\n") if line.strip()]  # not splitlines(): JSON text may hold U+2028


class Deduper:
    """Remembers event keys ``(type, contact_id, ts, agent_id)`` for ``horizon_s`` of event time.

    Keys are kept in arrival order next to their time, so old ones are forgotten in O(1) each; an event older
    than the horizon behind the newest one seen cannot be recognised as a repeat (it is counted late anyway).
    """

    def __init__(self, horizon_s: float = 3600.0) -> None:
        self.horizon_s = horizon_s
        self.seen: set[tuple] = set()
        self.order: deque[tuple[float, tuple]] = deque()

    def is_duplicate(self, key: tuple, t: float, newest: float) -> bool:
        """True if ``key`` was seen; otherwise remember it (and forget keys older than the horizon)."""
        seen = self.seen
        if key in seen:
            return True
        seen.add(key)
        order = self.order
        order.append((t, key))
        if len(order) & 255 == 0:  # forget old keys now and then (amortised)
            cutoff = newest - self.horizon_s
            while order and order[0][0] < cutoff:
                seen.discard(order.popleft()[1])
        return False


def event_key(ev: LiveEvent, t: float) -> tuple:
    """The duplicate key of an event: same type, contact, instant and agent means the same event."""
    return (ev.type, ev.contact_id, t, ev.agent_id)


def iso(t: float, zone: Any) -> str:
    """ISO-8601 text with the zone's offset for epoch seconds ``t`` (microsecond precision)."""
    return datetime.fromtimestamp(t, zone).isoformat(timespec="microseconds")
