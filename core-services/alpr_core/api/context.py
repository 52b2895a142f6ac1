"""Shared state of a running API (pool, clients, key store, audit writer) and the request dependencies."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Security
from fastapi.security import APIKeyHeader
from psycopg_pool import AsyncConnectionPool

from ..config import CoreConfig
from .audit import AuditWriter
from .auth import KeyStore, Principal, role_allows
from .errors import ApiError

logger = logging.getLogger(__name__)

API_KEY_HEADER = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="API key (alpr-api keys create). viewer reads, admin also writes.",
)


@dataclass
class ApiContext:
    cfg: CoreConfig
    pool: AsyncConnectionPool
    keys: KeyStore
    audit: AuditWriter
    search: Any = None  # opensearchpy.AsyncOpenSearch
    images: Any = None  # minio.Minio (object existence checks)
    signer: Any = None  # minio.Minio for api.image_public_url; None: sign with ``images``
    cache: dict[str, Any] = field(default_factory=dict)


async def get_ctx(request: Request) -> ApiContext:
    # async on purpose: FastAPI runs sync dependencies in a thread pool (a thread hop per request).
    return request.app.state.ctx


Ctx = Annotated[ApiContext, Depends(get_ctx)]
ApiKey = Annotated[str | None, Security(API_KEY_HEADER)]


async def _verify(ctx: ApiContext, key: str | None) -> Principal:
    if not key:
        raise ApiError(401, "missing X-API-Key header", headers={"WWW-Authenticate": "ApiKey"})
    principal = await ctx.keys.verify(key) if len(key) <= 200 else None
    if principal is None:
        raise ApiError(401, "invalid or revoked API key", headers={"WWW-Authenticate": "ApiKey"})
    return principal


async def require_viewer(request: Request, key: ApiKey = None) -> Principal:
    return await _verify(request.app.state.ctx, key)


async def require_admin(request: Request, key: ApiKey = None) -> Principal:
    principal = await _verify(request.app.state.ctx, key)
    if not role_allows(principal.role, "admin"):
        raise ApiError(403, "this operation needs an admin key")
    return principal


Viewer = Annotated[Principal, Depends(require_viewer)]
Admin = Annotated[Principal, Depends(require_admin)]


class Audit:
    """Per-request audit handle: checks X-Reason up front, ``await audit.log(params, count)`` at the end."""

    def __init__(self, request: Request, ctx: ApiContext, principal: Principal, reason: str | None):
        self.request, self.ctx, self.principal, self.reason = request, ctx, principal, reason

    async def log(self, params: dict[str, Any], result_count: int | None) -> None:
        route = self.request.scope.get("route")
        endpoint = f"{self.request.method} {getattr(route, 'path', self.request.url.path)}"
        client = self.request.client.host if self.request.client else None
        await self.ctx.audit.record(
            self.principal.key_id, endpoint, params, result_count, self.reason, client
        )


async def audited(
    request: Request,
    key: ApiKey = None,
    x_reason: Annotated[
        str | None,
        Header(
            description="Purpose of the lookup, stored in the audit log "
            "(required when audit.require_reason is on).",
            max_length=500,
            pattern=r"^[^\x00-\x1f\x7f]*$",
        ),
    ] = None,
) -> Audit:
    """Key check and audit handle in one dependency (a flat graph keeps the hot path cheap)."""
    ctx: ApiContext = request.app.state.ctx
    principal = await _verify(ctx, key)
    reason = (x_reason or "").strip() or None
    if reason is None and ctx.cfg.api.audit.require_reason:
        raise ApiError(400, "an X-Reason header is required for searches", code="reason_required")
    return Audit(request, ctx, principal, reason)


Audited = Annotated[Audit, Depends(audited)]


def utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def time_window(ctx: ApiContext, start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """Resolve an optional start/end into a window no longer than api.max_time_range_days."""
    cap = timedelta(days=ctx.cfg.api.max_time_range_days)
    end_utc = utc(end) or datetime.now(timezone.utc)
    start_utc = utc(start) or end_utc - cap
    if start_utc > end_utc:
        raise ApiError(422, "start_time must not be after end_time", code="invalid_time_range")
    if end_utc - start_utc > cap:
        raise ApiError(
            422, f"time range longer than {ctx.cfg.api.max_time_range_days} days", code="time_range_too_long"
        )
    return start_utc, end_utc


def page(ctx: ApiContext, limit: int | None, offset: int) -> tuple[int, int]:
    api = ctx.cfg.api
    lim = api.page_size_default if limit is None else limit
    if lim > api.page_size_max:
        raise ApiError(422, f"limit must be <= {api.page_size_max}", code="limit_too_large")
    if offset > api.max_offset:
        raise ApiError(422, f"offset must be <= {api.max_offset}", code="offset_too_large")
    return min(lim, api.page_size_max), offset
