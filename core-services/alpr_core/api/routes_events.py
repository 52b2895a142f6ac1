"""Event reads from PostgreSQL: recent, by id, by plate (exact or fuzzy), by camera, search, image."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

import urllib3
from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import RedirectResponse
from minio.error import S3Error

from . import event_sql as q
from .context import ApiContext, Audited, Ctx, page, time_window
from .db import fetch_row
from .errors import ERROR_RESPONSES, ApiError
from .fuzzy import ocr_key, rank
from .models import (
    CAMERA_PATTERN,
    PLATE_PATTERN,
    SITE_PATTERN,
    EventOut,
    EventPage,
    ImageLink,
    normalize_plate,
)

logger = logging.getLogger(__name__)
router = APIRouter(tags=["events"], responses=ERROR_RESPONSES)

Limit = Annotated[int | None, Query(ge=1, le=10_000, description="Page size (default and cap from config).")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Rows to skip.")]
Start = Annotated[datetime | None, Query(description="Window start (UTC when no offset is given).")]
End = Annotated[datetime | None, Query(description="Window end (default now).")]
Camera = Annotated[str, Path(pattern=CAMERA_PATTERN, description="Camera id.")]
Plate = Annotated[str, Path(pattern=PLATE_PATTERN, description="Plate text; normalised before matching.")]


def page_body(count: int, items: str, limit: int, offset: int, extra: str = "") -> bytes:
    """An EventPage from the JSON array PostgreSQL built."""
    return f'{{"items":{items},"count":{count},"limit":{limit},"offset":{offset}{extra}}}'.encode()


def _json_page(count: int, items: str, limit: int, offset: int, extra: str = "") -> Response:
    return Response(page_body(count, items, limit, offset, extra), media_type="application/json")


async def fetch_page(ctx: ApiContext, sql: str, params: Any) -> tuple[int, str]:
    row = await fetch_row(ctx.pool, sql, params)
    assert row is not None
    return int(row[0]), row[1]


@router.get("/events/recent", response_model=EventPage, summary="Latest stored events (by insertion time)")
async def recent(audit: Audited, limit: Limit = None) -> Response:
    ctx = audit.ctx
    lim, _ = page(ctx, limit, 0)
    count, items = await fetch_page(ctx, q.RECENT, (lim, 0))
    await audit.log({"limit": lim}, count)
    return _json_page(count, items, lim, 0)


@router.get("/events/plate/{plate_text}", response_model=EventPage, summary="Sightings of one plate")
async def by_plate(
    audit: Audited,
    plate_text: Plate,
    limit: Limit = None,
    offset: Offset = 0,
    fuzzy: Annotated[
        bool, Query(description="Also match similar plates (OCR confusions, edit distance <= 2).")
    ] = False,
) -> Response:
    ctx = audit.ctx
    lim, off = page(ctx, limit, offset)
    plate = normalize_plate(plate_text)
    if not plate:
        raise ApiError(422, "plate_text has no letters or digits", code="invalid_plate")
    params = {"plate": plate, "limit": lim, "offset": off, "fuzzy": fuzzy}
    if not fuzzy:
        count, items = await fetch_page(ctx, q.BY_PLATE, (plate, lim, off))
        await audit.log(params, count)
        return _json_page(count, items, lim, off)
    async with ctx.pool.connection() as conn, conn.cursor() as cur:
        await cur.execute(q.FUZZY_CANDIDATES, (plate, ocr_key(plate)))
        candidates = [r[0] for r in await cur.fetchall()]
    matched = rank(plate, [*candidates, plate])
    count, items = await fetch_page(ctx, q.BY_PLATES, (matched, lim, off))
    await audit.log(params, count)
    quoted = ",".join(f'"{m}"' for m in matched)  # normalised plates: [A-Z0-9] only
    return _json_page(count, items, lim, off, f',"matched_plates":[{quoted}]')


@router.get(
    "/events/camera/{camera_id}", response_model=EventPage, summary="Events of one camera in a window"
)
async def by_camera(
    audit: Audited,
    camera_id: Camera,
    start_time: Start = None,
    end_time: End = None,
    limit: Limit = None,
    offset: Offset = 0,
) -> Response:
    ctx = audit.ctx
    lim, off = page(ctx, limit, offset)
    start, end = time_window(ctx, start_time, end_time)
    count, items = await fetch_page(ctx, q.BY_CAMERA, (camera_id, start, end, lim, off))
    await audit.log(
        {"camera_id": camera_id, "start_time": start, "end_time": end, "limit": lim, "offset": off}, count
    )
    return _json_page(count, items, lim, off)


@router.get("/events/search", response_model=EventPage, summary="Filter events (PostgreSQL)")
async def search(
    audit: Audited,
    plate: Annotated[str | None, Query(pattern=PLATE_PATTERN, description="Plate.")] = None,
    camera: Annotated[str | None, Query(pattern=CAMERA_PATTERN, description="Camera id.")] = None,
    site: Annotated[str | None, Query(pattern=SITE_PATTERN, description="Site.")] = None,
    start_time: Start = None,
    end_time: End = None,
    min_confidence: Annotated[float | None, Query(ge=0, le=1, description="Minimum confidence.")] = None,
    limit: Limit = None,
    offset: Offset = 0,
) -> Response:
    ctx = audit.ctx
    lim, off = page(ctx, limit, offset)
    start, end = time_window(ctx, start_time, end_time)
    values: dict[str, Any] = {
        "plate": normalize_plate(plate) if plate else None,
        "camera": camera,
        "site": site,
        "min_confidence": min_confidence,
    }
    present = [name for name, value in values.items() if value is not None]
    values.update(start=start, end=end, limit=lim, offset=off)
    count, items = await fetch_page(ctx, q.search_sql(present), values)
    await audit.log(values, count)
    return _json_page(count, items, lim, off)


@router.get("/events/{event_id}", response_model=EventOut, summary="One event")
async def by_id(audit: Audited, event_id: UUID) -> Response:
    ctx = audit.ctx
    row = await fetch_row(ctx.pool, q.BY_ID, (event_id,))
    await audit.log({"event_id": str(event_id)}, 1 if row else 0)
    if row is None:
        raise ApiError(404, "no such event")
    return Response(row[0].encode(), media_type="application/json")


def _split_s3(url: str, bucket: str) -> str:
    prefix = f"s3://{bucket}/"
    if not url.startswith(prefix) or len(url) <= len(prefix):
        raise ApiError(404, "the image is not in the configured bucket", code="image_unavailable")
    return url[len(prefix) :]


async def _require_object(ctx: Ctx, bucket: str, key: str) -> None:
    """404 when the crop is gone (lifecycle expiry, failed upload); 503 when MinIO cannot be reached."""
    try:
        await asyncio.to_thread(ctx.images.stat_object, bucket, key)
    except S3Error as exc:
        if exc.code in ("NoSuchKey", "NoSuchBucket", "NoSuchObject"):
            raise ApiError(404, "the image is no longer stored", code="image_unavailable") from None
        raise ApiError(503, "the object store could not answer") from None
    except (urllib3.exceptions.HTTPError, OSError):
        raise ApiError(503, "the object store is unavailable") from None


@router.get(
    "/events/{event_id}/image",
    response_model=ImageLink,
    status_code=200,
    responses={307: {"description": "Redirect to a presigned MinIO URL."}},
    summary="Presigned URL of an event's crop (redirect by default)",
)
async def image(
    audit: Audited,
    event_id: UUID,
    kind: Annotated[Literal["plate", "vehicle", "frame"], Query(description="Which crop.")] = "plate",
    redirect: Annotated[bool, Query(description="307 to the URL instead of JSON.")] = True,
) -> Any:
    ctx = audit.ctx
    row = await fetch_row(ctx.pool, q.IMAGE_KEYS, (event_id,))
    if row is None:
        await audit.log({"event_id": str(event_id), "kind": kind}, 0)
        raise ApiError(404, "no such event")
    url = row[("plate", "vehicle", "frame").index(kind)]
    await audit.log({"event_id": str(event_id), "kind": kind}, 1 if url else 0)
    if not url:
        raise ApiError(404, f"the event has no {kind} image", code="image_unavailable")
    store = ctx.cfg.object_store
    expiry = ctx.cfg.api.presign_expiry_s
    key = _split_s3(url, store.bucket)
    await _require_object(ctx, store.bucket, key)
    signer = ctx.signer or ctx.images
    signed = signer.presigned_get_object(store.bucket, key, expires=timedelta(seconds=expiry))
    if redirect:
        return RedirectResponse(signed, status_code=307)
    return ImageLink(url=signed, expires_in_s=expiry, kind=kind)
