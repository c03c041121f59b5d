"""Health and readiness of a partitioned live-room member over HTTP (issue 17, operations).

``callops live cluster run ... --http HOST:PORT`` serves, from a thread of the member's own process:

* ``GET /healthz`` - 200 while the member's lease loop turns (an iteration within ``max(2 × lease, 5 s)``), 503
  when it is stuck. What an orchestrator restarts on (liveness).
* ``GET /readyz`` - 200 when the member has joined the lease table, its last lease round reached NATS within one
  lease period, and it surely still holds every tenant lease it counts as its own; 503 with the reason otherwise
  (before joining, NATS away, a lease it could not renew in time, leaving after SIGTERM). What a rollout waits
  for before it stops the next member.

Both answer one JSON object: the member, its state, and per owned tenant its lease epoch and whether its worker
is consuming (``serving``) or still waiting for the previous owner's log (``waiting``).
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from callops.errors import CallopsError


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6; port 0 picks a free one) as (host, port); a clear error otherwise."""
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise CallopsError(f"--http {value!r}: expected HOST:PORT, e.g. 127.0.0.1:8091")
    return host, int(port)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            status, body = self.server.member.health()
        elif path == "/readyz":
            status, body = self.server.member.readiness()
        else:
            status, body = 404, {"error": f"no route {path}; try /healthz or /readyz"}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Probes every few seconds: not one line each on the member's output."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], member: Any) -> None:
        self.member = member
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)


def serve_health(member: Any, listen: str) -> tuple[ThreadingHTTPServer, str]:
    """Serve ``/healthz`` and ``/readyz`` of ``member`` on ``listen`` (``HOST:PORT``) from a daemon thread; the
    server (``shutdown()`` stops it) and the URL it listens on. One clear error when the address cannot be bound."""
    host, port = parse_listen(listen)
    try:
        server = _Server((host, port), member)
    except OSError as exc:
        raise CallopsError(f"--http {listen}: cannot listen there: {exc.strerror or exc}") from None
    threading.Thread(target=server.serve_forever, name="health-http", daemon=True).start()
    bound_host, bound_port = server.server_address[:2]
    shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
    return server, f"http://{shown}:{bound_port}"
