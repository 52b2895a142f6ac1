"""OpenSearch-backed search: full text, facets, analytics, and the restricted structured query."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from . import search_dsl as dsl
from .context import ApiContext, Audited, page, time_window
from .errors import ERROR_RESPONSES, ApiError

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/search", tags=["search"], responses=ERROR_RESPONSES)

Start = Annotated[datetime | None, Query(description="Window start (default: end minus the configured cap).")]
End = Annotated[datetime | None, Query(description="Window end (default now).")]


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Hit(_M):
    event_id: str | None = Field(description="Event id.", max_length=64)
    captured_at: str | None = Field(description="First sighting, as indexed.", max_length=64)
    camera_id: str | None = Field(description="Camera.", max_length=128)
    site: str | None = Field(description="Site.", max_length=128)
    plate: str | None = Field(description="Plate as read.", max_length=64)
    normalized_plate: str | None = Field(description="Normalised plate.", max_length=64)
    confidence: float | None = Field(description="Plate confidence.", ge=0, le=1)
    region: str | None = Field(description="Plate region.", max_length=64)
    vehicle_type: str | None = Field(description="Vehicle class.", max_length=64)
    score: float | None = Field(description="Relevance score.", ge=0)


class HitPage(_M):
    items: list[Hit] = Field(description="Hits.", max_length=1000)
    total: int = Field(description="All matching documents.", ge=0)
    count: int = Field(description="Hits in this page.", ge=0, le=1000)
    limit: int = Field(description="Page size.", ge=1, le=10_000)
    offset: int = Field(description="Hits skipped.", ge=0)


class Bucket(_M):
    key: str = Field(description="Bucket key.", max_length=256)
    count: int = Field(description="Documents in the bucket.", ge=0)


class Facets(_M):
    total: int = Field(description="Documents in the window.", ge=0)
    by_camera: list[Bucket] = Field(description="Per camera.", max_length=1000)
    by_site: list[Bucket] = Field(description="Per site.", max_length=1000)
    by_region: list[Bucket] = Field(description="Per plate region.", max_length=1000)
    by_vehicle_type: list[Bucket] = Field(description="Per vehicle type.", max_length=1000)
    by_hour: list[Bucket] = Field(description="Per hour of day (UTC, '0'..'23').", max_length=24)


class Analytics(_M):
    total: int = Field(description="Documents in the window.", ge=0)
    interval: str = Field(description="Histogram interval.", max_length=8)
    histogram: list[Bucket] = Field(description="Counts per interval (key: ISO start).", max_length=100_000)
    top_plates: list[Bucket] = Field(description="Most seen plates.", max_length=100)
    per_camera: list[Bucket] = Field(description="Counts per camera.", max_length=1000)


def _index(ctx: ApiContext) -> str:
    return ctx.cfg.search.index_prefix  # the alias over the monthly indices (search-consumer template)


async def _search(ctx: ApiContext, body: dict[str, Any]) -> dict[str, Any]:
    if ctx.search is None:
        raise ApiError(503, "OpenSearch is not configured")
    return await ctx.search.search(_index(ctx), body)


def _hit(raw: dict[str, Any]) -> Hit:
    src = raw.get("_source") or {}
    plate, vehicle = src.get("plate") or {}, src.get("vehicle") or {}
    captured = src.get("captured_at")
    return Hit(
        event_id=str(src.get("event_id") or raw.get("_id")),
        captured_at=None if captured is None else str(captured),
        camera_id=src.get("camera_id"),
        site=src.get("site"),
        plate=plate.get("text"),
        normalized_plate=plate.get("normalized_text"),
        confidence=plate.get("confidence"),
        region=plate.get("region"),
        vehicle_type=vehicle.get("type"),
        score=raw.get("_score"),
    )


def _hits(resp: dict[str, Any], limit: int, offset: int) -> HitPage:
    hits = resp.get("hits", {})
    items = [_hit(h) for h in hits.get("hits", [])]
    total = hits.get("total", {})
    return HitPage(
        items=items,
        total=total.get("value", 0) if isinstance(total, dict) else int(total),
        count=len(items),
        limit=limit,
        offset=offset,
    )


def _buckets(agg: dict[str, Any], key: str = "key") -> list[Bucket]:
    return [Bucket(key=str(b.get(key, b["key"])), count=b["doc_count"]) for b in agg.get("buckets", [])]


@router.get(
    "/fulltext", response_model=HitPage, summary="Free-text search over plates, cameras, sites, vehicles"
)
async def search_fulltext(
    audit: Audited,
    q: Annotated[
        str,
        Query(
            min_length=1, max_length=64, pattern=r"^[\w .:\-]+$", description="Words or a (partial) plate."
        ),
    ],
    fuzzy: Annotated[bool, Query(description="Tolerate typos and OCR errors.")] = False,
    start_time: Start = None,
    end_time: End = None,
    limit: Annotated[int | None, Query(ge=1, le=1000, description="Hits per page.")] = None,
    offset: Annotated[int, Query(ge=0, le=9000, description="Hits to skip.")] = 0,
) -> HitPage:
    ctx = audit.ctx
    lim, off = page(ctx, limit, offset)
    start, end = time_window(ctx, start_time, end_time)
    resp = await _search(ctx, dsl.fulltext(q, fuzzy, start, end, lim, off))
    result = _hits(resp, lim, off)
    await audit.log(
        {"q": q, "fuzzy": fuzzy, "start_time": start, "end_time": end, "limit": lim, "offset": off},
        result.total,
    )
    return result


@router.get("/facets", response_model=Facets, summary="Counts by camera, site, region, vehicle type, hour")
async def search_facets(
    audit: Audited,
    start_time: Start = None,
    end_time: End = None,
    size: Annotated[int, Query(ge=1, le=1000, description="Buckets per facet.")] = 20,
) -> Facets:
    ctx = audit.ctx
    start, end = time_window(ctx, start_time, end_time)
    resp = await _search(ctx, dsl.facets(start, end, size))
    aggs = resp.get("aggregations", {})
    result = Facets(
        total=resp["hits"]["total"]["value"],
        by_camera=_buckets(aggs.get("by_camera_id", {})),
        by_site=_buckets(aggs.get("by_site", {})),
        by_region=_buckets(aggs.get("by_region", {})),
        by_vehicle_type=_buckets(aggs.get("by_vehicle_type", {})),
        by_hour=sorted(_buckets(aggs.get("by_hour", {})), key=lambda b: int(b.key)),
    )
    await audit.log({"start_time": start, "end_time": end, "size": size}, result.total)
    return result


@router.get("/analytics", response_model=Analytics, summary="Time histogram, top plates, per-camera counts")
async def search_analytics(
    audit: Audited,
    start_time: Start = None,
    end_time: End = None,
    interval: Annotated[Literal["15m", "1h", "6h", "1d"], Query(description="Histogram bucket.")] = "1h",
    top: Annotated[int, Query(ge=1, le=100, description="Top plates.")] = 10,
) -> Analytics:
    ctx = audit.ctx
    start, end = time_window(ctx, start_time, end_time)
    resp = await _search(ctx, dsl.analytics(start, end, interval, top))
    aggs = resp.get("aggregations", {})
    result = Analytics(
        total=resp["hits"]["total"]["value"],
        interval=interval,
        histogram=_buckets(aggs.get("histogram", {}), "key_as_string"),
        top_plates=_buckets(aggs.get("top_plates", {})),
        per_camera=_buckets(aggs.get("per_camera", {})),
    )
    await audit.log({"start_time": start, "end_time": end, "interval": interval, "top": top}, result.total)
    return result


@router.post("/query", response_model=HitPage, summary="Restricted structured query (validated, no raw DSL)")
async def search_query(audit: Audited, body: dsl.SearchQuery) -> HitPage:
    ctx = audit.ctx
    page(ctx, body.limit, 0)
    start, end = time_window(ctx, body.start_time, body.end_time)
    resp = await _search(ctx, dsl.structured(body, start, end))
    result = _hits(resp, body.limit, body.offset)
    await audit.log(body.model_dump(mode="json"), result.total)
    return result
