"""The in-process bus: routing commands out to the ACD, alert and plan events out to whoever listens.

Commands are plain dicts (``{"type": "overflow", "queue": ..., "to_center": ..., ...}``, see docs/live-events.md);
every command published is also kept, in order, in :attr:`Bus.commands` (the outbound channel an ACD adapter
drains). Subscribers are called synchronously in subscription order, so the engine stays deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Handler = Callable[[str, dict[str, Any]], None]

COMMAND_TYPES: tuple[str, ...] = (
    "overflow",  # send a share of a queue's traffic to a queue of another center
    "play_message",  # IVR self-service message ahead of the queue
    "offer_callback",  # offer a callback instead of waiting
    "disable_cross_sell",  # stop cross-selling on inbound contacts of a queue
    "enable_cross_sell",
    "move_agent",  # put an agent on a queue (skill reassignment)
    "cancel",  # undo an earlier command (by its id)
)


class Bus:
    """Topic -> handlers; ``commands`` keeps every command published on ``commands``."""

    def __init__(self) -> None:
        self.handlers: dict[str, list[Handler]] = {}
        self.commands: list[dict[str, Any]] = []

    def subscribe(self, topic: str, handler: Handler) -> None:
        """Call ``handler(topic, message)`` for each message on ``topic`` (``*`` for every topic)."""
        self.handlers.setdefault(topic, []).append(handler)

    def publish(self, topic: str, message: dict[str, Any]) -> None:
        """Deliver ``message`` to ``topic``'s subscribers (and to ``*``)."""
        if topic == "commands":
            self.commands.append(message)
        for h in self.handlers.get(topic, ()):
            h(topic, message)
        for h in self.handlers.get("*", ()):
            h(topic, message)

    def drain_commands(self) -> list[dict[str, Any]]:
        """Commands published since the last drain (the ACD adapter's read)."""
        out, self.commands = self.commands, []
        return out
