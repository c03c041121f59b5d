"""HTTP hardening of the whole app (API and console): security headers, request-size limits, trusted hosts.

* **Headers** on every answer: a Content-Security-Policy that lets the console's own scripts run but sends
  nothing anywhere else (``connect-src``/``img-src`` are the app itself, ``frame-ancestors 'none'``), plus
  ``nosniff``, ``DENY`` framing, ``no-referrer`` and a closed Permissions-Policy. NiceGUI compiles Vue
  templates in the browser and writes its page config inline, so ``script-src`` needs ``'unsafe-inline'``
  and ``'unsafe-eval'`` (checked in Chromium by ``tests/security``); the CSP is a second line behind the
  rule that no attribute is built from data (:mod:`callops.ui.guard`).
* **Body limits** before any handler reads the body: ``Content-Length`` above the route's limit answers 413
  at once, and a streamed body is counted and cut off at the limit. Ingest uploads may be large
  (``CALLOPS_MAX_UPLOAD_MB``, default 1024), live event batches ``CALLOPS_MAX_EVENTS_MB`` (default 8),
  everything else 1 MiB.
* **Trusted hosts**: ``CALLOPS_TRUSTED_HOSTS=a.example,b.example`` answers 400 to other ``Host`` headers.
"""

from __future__ import annotations

import json
import os
from typing import Any

from fastapi import FastAPI

MIB = 1024 * 1024
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


def _mb(name: str, default: float) -> int:
    try:
        return int(float(os.environ.get(name, default)) * MIB)
    except ValueError:
        return int(default * MIB)


def body_limit(path: str) -> int:
    """The most bytes a request body to ``path`` may have."""
    if path.startswith("/api/ingest/"):
        return _mb("CALLOPS_MAX_UPLOAD_MB", 1024)
    if path.startswith("/api/live/events"):
        return _mb("CALLOPS_MAX_EVENTS_MB", 8)
    return MIB


class _TooLargeError(Exception):
    pass


class HardeningMiddleware:
    """Pure ASGI middleware: security headers on every HTTP answer, body limits (413) on every request."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope.get("path", ""))
        length = dict(scope.get("headers") or ()).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await _refuse(send, 413, f"request body over the limit of {limit // MIB} MiB for this route")
            return
        seen = 0
        state = {"started": False, "exceeded": False, "replaced": False}
        too_large = f"request body over the limit of {limit // MIB} MiB for this route"

        async def counted_receive() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    state["exceeded"] = True
                    raise _TooLargeError
            return message

        async def with_headers(message: dict) -> None:
            if state["replaced"]:
                return  # the app's own answer to a cut-off body is dropped: the 413 went out instead
            if message["type"] == "http.response.start":
                state["started"] = True
                if state["exceeded"]:  # a handler turned the cut-off into its own error (e.g. a parse error)
                    state["replaced"] = True
                    await _refuse(send, 413, too_large)
                    return
                names = {k.lower() for k, _ in message.get("headers", ())}
                message["headers"] = list(message.get("headers", ())) + [h for h in HEADERS if h[0] not in names]
            await send(message)

        try:
            await self.app(scope, counted_receive, with_headers)
        except _TooLargeError:
            if not state["started"]:
                await _refuse(send, 413, too_large)


async def _refuse(send: Any, status: int, message: str) -> None:
    body = json.dumps({"detail": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *HEADERS]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def trusted_hosts() -> list[str] | None:
    """Host names from ``CALLOPS_TRUSTED_HOSTS`` (comma-separated), or None to accept any host."""
    value = os.environ.get("CALLOPS_TRUSTED_HOSTS", "").strip()
    return [h.strip() for h in value.split(",") if h.strip()] or None


def install(app: FastAPI) -> None:
    """Add the hardening middleware (outermost) and, when configured, trusted-host checking."""
    hosts = trusted_hosts()
    if hosts:
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts)
    app.add_middleware(HardeningMiddleware)
