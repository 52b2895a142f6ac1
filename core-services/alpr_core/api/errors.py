"""One error body for every 4xx/5xx, and the handlers that produce it (never a stack trace)."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import psycopg
import psycopg_pool
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
    504: "timeout",
}


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")
    loc: str = Field(description="Where the problem is, e.g. query.limit.", max_length=200)
    msg: str = Field(description="What is wrong.", max_length=500)


class ErrorBody(BaseModel):
    """The body of every error response."""

    model_config = ConfigDict(extra="forbid")
    status: int = Field(description="HTTP status code.", ge=400, le=599)
    code: str = Field(description="Stable machine-readable error code.", max_length=64)
    message: str = Field(description="Human-readable explanation.", max_length=1000)
    details: list[ErrorDetail] = Field(
        default_factory=list, description="Per-field problems.", max_length=100
    )


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": code.replace("_", " ")}
    for status, code in _CODES.items()
    if status in (400, 401, 403, 404, 422, 500, 503)
}


class ApiError(Exception):
    """Raise from a handler to answer with the common error body."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        details: list[ErrorDetail] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code or _CODES.get(status, "error")
        self.message = message
        self.details = details or []
        self.headers = headers


def error_response(
    status: int,
    message: str,
    code: str | None = None,
    details: list[ErrorDetail] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ErrorBody(
        status=status,
        code=code or _CODES.get(status, "error"),
        message=message[:1000],
        details=(details or [])[:100],
    )
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _loc(parts: Any) -> str:
    return ".".join(str(p) for p in parts)[:200]


async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
    details = [
        ErrorDetail(loc=_loc(e.get("loc", ())), msg=str(e.get("msg", "invalid"))[:500]) for e in exc.errors()
    ]
    return error_response(422, "request parameters are invalid", details=details)


async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.message, exc.code, exc.details, exc.headers)


async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
    status = exc.status_code if 400 <= exc.status_code <= 599 else 500
    message = exc.detail if isinstance(exc.detail, str) else _CODES.get(status, "error")
    return error_response(status, message, headers=getattr(exc, "headers", None))


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("dependency unavailable on %s: %s", request.url.path, exc.__class__.__name__)
    return error_response(503, "a backing service is unavailable; retry later")


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    logger.error("unhandled error on %s", request.url.path, exc_info=exc)
    return error_response(500, "internal error")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
    for exc in (
        psycopg.OperationalError,
        psycopg_pool.PoolTimeout,
        httpx.TransportError,
        TimeoutError,
    ):
        app.add_exception_handler(exc, _unavailable)
    app.add_exception_handler(Exception, _unhandled)
