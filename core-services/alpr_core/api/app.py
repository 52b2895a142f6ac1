"""The FastAPI application: lifespan (pool, OpenSearch, MinIO, audit writer), middleware, routers."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import urllib3
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from prometheus_client import Counter, Histogram

from ..config import CoreConfig
from . import API_VERSION
from .audit import AuditWriter
from .auth import KeyStore
from .context import ApiContext
from .db import make_pool
from .errors import install_error_handlers
from .fastlane import FastLane
from .routes_dlq import router as dlq_router
from .routes_events import router as events_router
from .routes_search import router as search_router
from .routes_system import router as system_router
from .routes_watch import router as watch_router
from .search_client import SearchClient

logger = logging.getLogger(__name__)

REQUESTS = Counter(
    "alpr_api_requests_total", "HTTP requests by route template and status.", ["method", "route", "status"]
)
LATENCY = Histogram(
    "alpr_api_request_duration_seconds",
    "Request handling time by route template.",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)


class MetricsMiddleware:
    """Pure ASGI: counts requests and times them by route template (not raw path: no plate in labels)."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]

        async def _send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, _send)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            REQUESTS.labels(scope["method"], route, str(status[0])).inc()
            LATENCY.labels(route).observe(time.perf_counter() - start)


def _image_client(cfg: CoreConfig, endpoint: str | None = None, secure: bool | None = None) -> Any:
    from minio import Minio

    store = cfg.object_store
    # A region avoids a network round trip to discover it: presigning is then purely local.
    return Minio(
        endpoint or store.endpoint,
        access_key=store.access_key.get_secret_value(),
        secret_key=store.secret_key.get_secret_value(),
        secure=store.secure if secure is None else secure,
        region=store.region or "us-east-1",
        http_client=urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=3.0, read=cfg.api.request_timeout_s),
            retries=urllib3.Retry(total=1, backoff_factor=0.2),
            maxsize=10,
        ),
    )


def _signer(cfg: CoreConfig) -> Any:
    """The client that signs image URLs: for the public endpoint when one is set (the host is signed)."""
    public = cfg.api.image_public_url
    if not public:
        return None
    scheme, _, host = public.partition("://")
    return _image_client(cfg, host.rstrip("/"), scheme == "https")


def _lifespan(cfg: CoreConfig):
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = make_pool(cfg.database, cfg.api.request_timeout_s)
        await pool.open(wait=False)
        audit = AuditWriter(pool, cfg.api.audit.flush_interval_s, cfg.api.audit.queue_max)
        ctx = ApiContext(
            cfg=cfg,
            pool=pool,
            keys=KeyStore(pool, cfg.api.key_cache_ttl_s),
            audit=audit,
            search=SearchClient(cfg.search, cfg.api.request_timeout_s),
            images=_image_client(cfg),
            signer=_signer(cfg),
        )
        app.state.ctx = ctx
        audit.start()
        logger.info(
            "query-api ready (db %s:%s, search %s)", cfg.database.host, cfg.database.port, cfg.search.url
        )
        try:
            yield
        finally:
            try:
                await audit.stop()
            except Exception as exc:
                logger.error("audit rows not flushed at shutdown: %s", exc.__class__.__name__)
            await ctx.search.close()
            await pool.close()

    return lifespan


def create_app(cfg: CoreConfig | None = None) -> FastAPI:
    cfg = cfg or CoreConfig()
    app = FastAPI(
        title="OVR-ALPR query API",
        version=API_VERSION,
        lifespan=_lifespan(cfg),
        description="Plate events from PostgreSQL/TimescaleDB and OpenSearch. Send an API key in "
        "X-API-Key; /health and /metrics are open. See docs/api.md.",
    )
    install_error_handlers(app)
    app.add_middleware(FastLane)  # innermost: CORS and metrics wrap it
    if cfg.api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=cfg.api.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["X-API-Key", "X-Reason", "Content-Type"],
        )
    app.add_middleware(MetricsMiddleware)
    for router in (system_router, events_router, search_router, watch_router, dlq_router):
        app.include_router(router)
    return app
