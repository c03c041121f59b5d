"""Error answers: every failure is JSON ``{"detail": message}`` with a 4xx code, never a traceback.

:class:`~callops.errors.NotFound` → 404, other :class:`~callops.errors.CallopsError` → 400, request
validation → 422 (one readable line naming the field), anything unexpected → 500 with a generic
message (logged with its traceback on the server, not shown to the caller).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from callops.errors import CallopsError, NotFound

log = logging.getLogger("callops.api")


def validation_message(exc: RequestValidationError) -> str:
    """One line per problem: ``query.grain: field required``."""
    parts = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err.get("loc", ()) if x != "body") or "request"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def install(app: FastAPI) -> None:
    """Register the exception handlers on ``app``."""

    @app.exception_handler(CallopsError)
    async def _callops(_req: Request, exc: CallopsError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404 if isinstance(exc, NotFound) else 400)

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": validation_message(exc)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(req: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", req.method, req.url.path)
        return JSONResponse({"detail": "internal error; the server log has the details"}, status_code=500)
