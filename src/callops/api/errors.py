"""Error answers: every failure is JSON ``{"detail": message}`` with a 4xx code (or 503: try again), never a traceback.

:class:`~callops.errors.NotFound` → 404, :class:`~callops.errors.Unavailable` → 503 (another process did not
answer in time), other :class:`~callops.errors.CallopsError` → 400, request validation → 422 (one readable line
naming the field), anything unexpected → 500 with a generic message (logged with its traceback on the server,
not shown to the caller).
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

import duckdb
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from ibis.common.exceptions import IbisTypeError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from callops.errors import CallopsError, NotFound, Unavailable

# Dates the API accepts: beyond them, a tenant's local midnight can fall outside what datetimes hold.
FIRST_DATE, LAST_DATE = date(1900, 1, 1), date(2999, 12, 31)


# Dates of the engines that hold instants as pandas nanoseconds (value): those overflow after 2262-04-11.
ENGINE_FIRST_DATE, ENGINE_LAST_DATE = date(1970, 1, 1), date(2200, 12, 31)


def check_dates(**dates: date | None) -> None:
    """Refuse dates outside 1900-01-01 … 2999-12-31, naming the parameter."""
    _check_range(dates, FIRST_DATE, LAST_DATE)


def check_engine_dates(**dates: date | None) -> None:
    """Refuse dates outside 1970-01-01 … 2200-12-31 (what nanosecond timestamps hold), naming the parameter."""
    _check_range(dates, ENGINE_FIRST_DATE, ENGINE_LAST_DATE)


def _check_range(dates: dict[str, date | None], first: date, last: date) -> None:
    for name, value in dates.items():
        if value is not None and not first <= value <= last:
            raise CallopsError(f"{name} {value}: expected a date between {first} and {last}")

log = logging.getLogger("callops.api")


class TooLargeError(CallopsError):
    """Input over a size limit (answered 413)."""


class ErrorOut(BaseModel):
    """Every error answer: one message for a person."""

    detail: str


# Declared on every API route so the OpenAPI schema tells clients (and schemathesis) the real error shape.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "Bad input (the message says what and where)"},
    401: {"model": ErrorOut, "description": "Missing, invalid, expired or revoked API token"},
    403: {"model": ErrorOut, "description": "The caller's role lacks the permission named in the message"},
    404: {"model": ErrorOut, "description": "No such object in the caller's tenant"},
    422: {"model": ErrorOut, "description": "A parameter or the body does not validate"},
}


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
        status = (404 if isinstance(exc, NotFound) else 413 if isinstance(exc, TooLargeError)
                  else 503 if isinstance(exc, Unavailable) else 400)  # fmt: skip
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.exception_handler(duckdb.Error)
    async def _engine(req: Request, exc: duckdb.Error) -> JSONResponse:
        # a user's filter or file the engine could not run: their fault, but the engine's text stays in the log
        log.warning("engine error on %s %s: %s", req.method, req.url.path, exc)
        return JSONResponse({"detail": "the request could not be run on this data (details are in the server log)"},
                            status_code=400)  # fmt: skip

    @app.exception_handler(IbisTypeError)
    async def _ibis_type(_req: Request, exc: IbisTypeError) -> JSONResponse:
        # raised while typing a user's filter (e.g. where=center, a column that is not a condition)
        return JSONResponse({"detail": f"invalid filter or expression: {exc}"}, status_code=400)

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
