"""Service routes: index, health (open), stats, Prometheus metrics (open)."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timezone
from typing import Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from . import API_VERSION
from . import event_sql as q
from .context import Ctx, Viewer
from .db import fetch_one
from .errors import ERROR_RESPONSES
from .models import DependencyStatus, Health, RootInfo, Stats

logger = logging.getLogger(__name__)
router = APIRouter(tags=["service"], responses=ERROR_RESPONSES)
STATS_TTL_S = 10.0


@router.get("/", response_model=RootInfo, summary="Service name, version and endpoints")
async def root(request: Request) -> RootInfo:
    paths = request.app.openapi()["paths"]
    endpoints = sorted(f"{method.upper()} {path}" for path, ops in paths.items() for method in ops)
    return RootInfo(name="ovr-alpr query-api", version=API_VERSION, docs="/docs", endpoints=endpoints)


async def _timed(check: object) -> DependencyStatus:
    start = time.perf_counter()
    try:
        await asyncio.wait_for(check, timeout=3.0)  # type: ignore[arg-type]
    except Exception as exc:
        return DependencyStatus(status="down", error=exc.__class__.__name__[:200])
    return DependencyStatus(status="ok", latency_ms=round((time.perf_counter() - start) * 1000, 2))


async def _db_check(ctx: Ctx) -> None:
    async with ctx.pool.connection(timeout=2.0) as conn:
        await conn.execute("SELECT 1")


async def _search_check(ctx: Ctx) -> None:
    if ctx.search is None or not await ctx.search.ping():
        raise ConnectionError("opensearch ping failed")


async def _kafka_check(ctx: Ctx) -> None:
    host, _, port = ctx.cfg.kafka.bootstrap_servers.split(",")[0].strip().rpartition(":")
    _, writer = await asyncio.open_connection(host or "localhost", int(port))
    writer.close()


@router.get(
    "/health",
    response_model=Health,
    responses={503: {"model": Health}},
    summary="Reachability of the database, OpenSearch and Kafka (open; 503 when the database is down)",
)
async def health(ctx: Ctx) -> JSONResponse:
    db, search, kafka = await asyncio.gather(
        _timed(_db_check(ctx)), _timed(_search_check(ctx)), _timed(_kafka_check(ctx))
    )
    deps = {"database": db, "opensearch": search, "kafka": kafka}
    status: Literal["ok", "degraded", "down"] = (
        "down"
        if db.status == "down"
        else "ok"
        if all(d.status == "ok" for d in deps.values())
        else "degraded"
    )
    body = Health(status=status, version=API_VERSION, dependencies=deps)
    return JSONResponse(body.model_dump(mode="json"), status_code=503 if status == "down" else 200)


@router.get("/stats", response_model=Stats, summary="Totals over plate_events (cached for 10 s)")
async def stats(ctx: Ctx, _: Viewer) -> Stats:
    cached = ctx.cache.get("stats")
    if cached and cached[0] > time.monotonic():
        return cached[1]
    row = await fetch_one(ctx.pool, q.STATS)
    assert row is not None
    value = Stats(**row, computed_at=datetime.now(timezone.utc))
    ctx.cache["stats"] = (time.monotonic() + STATS_TTL_S, value)
    return value


@router.get(
    "/metrics",
    summary="Prometheus metrics (open)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
