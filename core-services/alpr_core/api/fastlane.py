"""A lean path for the two hottest reads, ``GET /events/plate/{plate}`` and ``GET /events/recent``.

FastAPI's per-request dependency and parameter machinery costs about as much CPU as the database call.
For plain, valid requests these two endpoints are answered here with the same SQL, the same key check,
the same audit row and the same body as the FastAPI handlers (routes_events.py). Anything else (fuzzy
lookups, an unknown or repeated parameter, a value FastAPI would reject, a missing or bad key, a missing
X-Reason, any error) is passed to FastAPI untouched, so validation, errors and their bodies have one
implementation. The OpenAPI contract stays the FastAPI routes'.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote

from . import event_sql as q
from .context import ApiContext, page
from .models import PLATE_PATTERN, normalize_plate
from .routes_events import fetch_page, page_body

logger = logging.getLogger(__name__)

PLATE_PREFIX = "/events/plate/"
_PLATE = re.compile(PLATE_PATTERN)
_REASON = re.compile(r"^[^\x00-\x1f\x7f]{0,500}$")
_FALSE = {"false", "0", "off", "no", "f", "n"}


@dataclass(frozen=True)
class _Route:
    path: str  # what MetricsMiddleware and the audit row use as the route template


PLATE_ROUTE, RECENT_ROUTE = _Route("/events/plate/{plate_text}"), _Route("/events/recent")


class Skip(Exception):
    """Not a plain request: let FastAPI answer it."""


def _int(value: str | None, low: int, high: int) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or not low <= int(value) <= high:
        raise Skip
    return int(value)


def _params(query: bytes, allowed: set[str]) -> dict[str, str]:
    try:
        pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True, strict_parsing=False)
    except ValueError:
        raise Skip from None
    params = dict(pairs)
    if len(params) != len(pairs) or not set(params) <= allowed:
        raise Skip
    return params


def _headers(scope: dict[str, Any]) -> tuple[str, str | None]:
    key = reason = None
    for name, value in scope["headers"]:
        if name == b"x-api-key":
            if key is not None:
                raise Skip
            key = value.decode("latin-1")
        elif name == b"x-reason":
            reason = value.decode("latin-1")
    if not key or len(key) > 200 or (reason is not None and not _REASON.match(reason)):
        raise Skip
    return key, (reason.strip() or None) if reason else None


async def _answer(ctx: ApiContext, scope: dict[str, Any]) -> bytes:
    path = scope["path"]
    if path == RECENT_ROUTE.path:
        route, params = RECENT_ROUTE, _params(scope["query_string"], {"limit"})
        plate = None
    else:
        route, params = PLATE_ROUTE, _params(scope["query_string"], {"limit", "offset", "fuzzy"})
        raw = unquote(path[len(PLATE_PREFIX) :])
        if not _PLATE.match(raw) or params.get("fuzzy", "false").lower() not in _FALSE:
            raise Skip
        plate = normalize_plate(raw)
    key, reason = _headers(scope)
    if reason is None and ctx.cfg.api.audit.require_reason:
        raise Skip
    principal = await ctx.keys.verify(key)
    if principal is None:
        raise Skip
    try:
        lim, off = page(
            ctx, _int(params.get("limit"), 1, 10_000), _int(params.get("offset"), 0, 10_000_000) or 0
        )
    except Exception:
        raise Skip from None
    scope["route"] = route
    if plate is None:
        count, items = await fetch_page(ctx, q.RECENT, (lim, 0))
        logged: dict[str, Any] = {"limit": lim}
    else:
        count, items = await fetch_page(ctx, q.BY_PLATE, (plate, lim, off))
        logged = {"plate": plate, "limit": lim, "offset": off, "fuzzy": False}
    client = scope.get("client")
    await ctx.audit.record(
        principal.key_id, f"GET {route.path}", logged, count, reason, client[0] if client else None
    )
    return page_body(count, items, lim, off)


class FastLane:
    """Pure ASGI middleware in front of FastAPI; see the module docstring."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not (
                path == RECENT_ROUTE.path
                or (path.startswith(PLATE_PREFIX) and "/" not in path[len(PLATE_PREFIX) :])
            )
        ):
            await self.app(scope, receive, send)
            return
        try:
            body = await _answer(scope["app"].state.ctx, scope)
        except Skip:
            scope.pop("route", None)
            await self.app(scope, receive, send)
            return
        except Exception as exc:  # database trouble: FastAPI's handlers produce the error body
            logger.debug("fast lane fell back: %s", exc.__class__.__name__)
            scope.pop("route", None)
            await self.app(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
