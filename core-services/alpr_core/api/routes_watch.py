"""Watchlists (admin writes, viewer reads) and alert history; the alert engine reads the same tables."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any

import psycopg
from fastapi import APIRouter, Path, Query, Response

from .context import Admin, Audited, Ctx, Viewer, page, utc
from .db import fetch_all, fetch_one
from .errors import ERROR_RESPONSES, ApiError
from .models import (
    CAMERA_PATTERN,
    PLATE_PATTERN,
    AlertOut,
    AlertPage,
    WatchlistIn,
    WatchlistOut,
    WatchlistPage,
    WatchlistUpdate,
    normalize_plate,
)

logger = logging.getLogger(__name__)
router = APIRouter(responses=ERROR_RESPONSES)

_W_COLS = (
    "id, plate_pattern, match_type, list_name, reason, case_number, expires_at, enabled, "
    "coalesce(expires_at <= now(), false) AS expired, created_at, updated_at"
)
EntryId = Annotated[int, Path(ge=1, le=2**63 - 1, description="Watchlist entry id.")]
Limit = Annotated[int | None, Query(ge=1, le=10_000, description="Page size.")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Rows to skip.")]


@router.get(
    "/watchlists", response_model=WatchlistPage, tags=["watchlists"], summary="List watchlist entries"
)
async def list_watchlists(
    ctx: Ctx,
    _: Viewer,
    list_name: Annotated[str | None, Query(pattern=CAMERA_PATTERN, description="Only this list.")] = None,
    active_only: Annotated[bool, Query(description="Hide disabled and expired.")] = False,
    limit: Limit = None,
    offset: Offset = 0,
) -> WatchlistPage:
    lim, off = page(ctx, limit, offset)
    where = ["true"]
    if list_name is not None:
        where.append("list_name = %(list_name)s")
    if active_only:
        where.append("enabled AND (expires_at IS NULL OR expires_at > now())")
    rows = await fetch_all(
        ctx.pool,
        f"SELECT {_W_COLS} FROM watchlists WHERE {' AND '.join(where)} "
        "ORDER BY id LIMIT %(limit)s OFFSET %(offset)s",
        {"list_name": list_name, "limit": lim, "offset": off},
    )
    return WatchlistPage(items=[WatchlistOut(**r) for r in rows], count=len(rows))


@router.get("/watchlists/{entry_id}", response_model=WatchlistOut, tags=["watchlists"], summary="One entry")
async def get_watchlist(ctx: Ctx, _: Viewer, entry_id: EntryId) -> WatchlistOut:
    row = await fetch_one(ctx.pool, f"SELECT {_W_COLS} FROM watchlists WHERE id = %s", (entry_id,))
    if row is None:
        raise ApiError(404, "no such watchlist entry")
    return WatchlistOut(**row)


@router.post(
    "/watchlists",
    response_model=WatchlistOut,
    status_code=201,
    tags=["watchlists"],
    responses={409: {"model": ERROR_RESPONSES[400]["model"], "description": "duplicate"}},
    summary="Add a plate to a watchlist (admin)",
)
async def create_watchlist(ctx: Ctx, principal: Admin, body: WatchlistIn) -> WatchlistOut:
    values = body.model_dump(mode="python")
    values["match_type"] = body.match_type.value
    values["expires_at"] = utc(body.expires_at)
    try:
        row = await fetch_one(
            ctx.pool,
            (
                "INSERT INTO watchlists (plate_pattern, match_type, list_name, reason, case_number, "
                "expires_at, enabled) VALUES (%(plate_pattern)s, %(match_type)s, %(list_name)s, %(reason)s, "
                f"%(case_number)s, %(expires_at)s, %(enabled)s) RETURNING {_W_COLS}"
            ),
            values,
        )
    except psycopg.errors.UniqueViolation:
        raise ApiError(409, "this pattern is already on the list") from None
    assert row is not None
    logger.info("watchlist entry %s created by key %s", row["id"], principal.key_id)
    return WatchlistOut(**row)


@router.patch(
    "/watchlists/{entry_id}",
    response_model=WatchlistOut,
    tags=["watchlists"],
    summary="Change reason, case number, expiry or enabled (admin)",
)
async def update_watchlist(
    ctx: Ctx, principal: Admin, entry_id: EntryId, body: WatchlistUpdate
) -> WatchlistOut:
    sets = ["updated_at = now()"]
    values: dict[str, Any] = {"id": entry_id}
    for name in ("reason", "case_number", "enabled"):
        if getattr(body, name) is not None:
            sets.append(f"{name} = %({name})s")
            values[name] = getattr(body, name)
    if body.clear_expiry:
        sets.append("expires_at = NULL")
    elif body.expires_at is not None:
        sets.append("expires_at = %(expires_at)s")
        values["expires_at"] = utc(body.expires_at)
    row = await fetch_one(
        ctx.pool, f"UPDATE watchlists SET {', '.join(sets)} WHERE id = %(id)s RETURNING {_W_COLS}", values
    )
    if row is None:
        raise ApiError(404, "no such watchlist entry")
    logger.info("watchlist entry %s updated by key %s", entry_id, principal.key_id)
    return WatchlistOut(**row)


@router.delete(
    "/watchlists/{entry_id}",
    status_code=204,
    response_class=Response,
    tags=["watchlists"],
    summary="Remove an entry (admin)",
)
async def delete_watchlist(ctx: Ctx, principal: Admin, entry_id: EntryId) -> Response:
    row = await fetch_one(ctx.pool, "DELETE FROM watchlists WHERE id = %s RETURNING id", (entry_id,))
    if row is None:
        raise ApiError(404, "no such watchlist entry")
    logger.info("watchlist entry %s deleted by key %s", entry_id, principal.key_id)
    return Response(status_code=204)


@router.get("/alerts", response_model=AlertPage, tags=["alerts"], summary="Alert history, newest first")
async def list_alerts(
    audit: Audited,
    plate: Annotated[str | None, Query(pattern=PLATE_PATTERN, description="Plate.")] = None,
    camera_id: Annotated[str | None, Query(pattern=CAMERA_PATTERN, description="Camera.")] = None,
    since: Annotated[datetime | None, Query(description="Raised at or after.")] = None,
    limit: Limit = None,
    offset: Offset = 0,
) -> AlertPage:
    ctx = audit.ctx
    lim, off = page(ctx, limit, offset)
    values: dict[str, Any] = {
        "plate": normalize_plate(plate) if plate else None,
        "camera_id": camera_id,
        "since": utc(since),
        "limit": lim,
        "offset": off,
    }
    clauses = {
        "plate": "plate = %(plate)s",
        "camera_id": "camera_id = %(camera_id)s",
        "since": "created_at >= %(since)s",
    }
    where = " AND ".join(["true"] + [c for k, c in clauses.items() if values[k] is not None])
    rows = await fetch_all(
        ctx.pool,
        "SELECT id, event_id, rule_name, severity, plate, camera_id, captured_at, "
        "watchlist_id, explanation, channel_outcomes, acknowledged_at, created_at "
        f"FROM alerts WHERE {where} ORDER BY created_at DESC, id DESC "
        "LIMIT %(limit)s OFFSET %(offset)s",
        values,
    )
    await audit.log(values, len(rows))
    return AlertPage(items=[AlertOut(**r) for r in rows], count=len(rows))
