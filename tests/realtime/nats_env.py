"""The NATS server the live tests use: its URL, and a check that fails (with ``CALLOPS_REQUIRE_SERVICES=1``) or
skips when it does not answer."""

from __future__ import annotations

import os
import socket

import pytest

URL = os.environ.get("CALLOPS_NATS_URL", "nats://127.0.0.1:4222")


def require_nats() -> None:
    """Skip (or fail, when services are required) unless the NATS server at :data:`URL` accepts a connection."""
    host, port = URL.removeprefix("nats://").rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return
    except OSError:
        pass
    msg = f"NATS JetStream not reachable at {URL} (start nats-server -js, see .ci/run)"
    if os.environ.get("CALLOPS_REQUIRE_SERVICES") == "1":
        pytest.fail(msg)
    pytest.skip(msg)
