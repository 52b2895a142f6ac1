"""Dead letters (admin): list dlq_messages and replay one to its original topic.

Replay follows scripts/replay_dlq.py: original key, value bytes and headers (the dlq.* headers replaced
by ``dlq.replayed.from.id``); the row is marked replayed only after Kafka acknowledged the message.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from ..runtime.dlq import DLQ_HEADERS
from .context import Admin, ApiContext, Ctx, page
from .db import fetch_all, fetch_one
from .errors import ERROR_RESPONSES, ApiError

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/dlq", tags=["dlq"], responses=ERROR_RESPONSES)

_COLS = (
    'id, original_topic, "partition", "offset", consumer_group, error_type, error_message, '
    "received_at, replayed_at, replay_count"
)
DlqId = Annotated[int, Path(ge=1, le=2**63 - 1, description="dlq_messages id.")]


class DlqOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: int = Field(description="Row id.", ge=1)
    original_topic: str = Field(description="Topic the message failed on.", max_length=249)
    partition: int = Field(description="Original partition.", ge=0)
    offset: int = Field(description="Original offset.", ge=0)
    consumer_group: str | None = Field(description="Group that failed it.", max_length=255)
    error_type: str = Field(description="Exception class.", max_length=255)
    error_message: str | None = Field(description="Error text.", max_length=100_000)
    received_at: datetime = Field(description="Stored (UTC).")
    replayed_at: datetime | None = Field(description="Last replay (UTC).")
    replay_count: int = Field(description="Replays so far.", ge=0)


class DlqPage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[DlqOut] = Field(description="Dead letters, newest first.", max_length=10_000)
    count: int = Field(description="Items in this page.", ge=0)


@router.get("", response_model=DlqPage, summary="Dead letters (admin)")
async def list_dlq(
    ctx: Ctx,
    _: Admin,
    pending_only: Annotated[bool, Query(description="Only never replayed.")] = False,
    limit: Annotated[int | None, Query(ge=1, le=10_000, description="Page size.")] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Rows to skip.")] = 0,
) -> DlqPage:
    lim, off = page(ctx, limit, offset)
    where = "replayed_at IS NULL" if pending_only else "true"
    rows = await fetch_all(
        ctx.pool,
        f"SELECT {_COLS} FROM dlq_messages WHERE {where} "
        "ORDER BY received_at DESC, id DESC LIMIT %s OFFSET %s",
        (lim, off),
    )
    return DlqPage(items=[DlqOut(**r) for r in rows], count=len(rows))


def _producer(ctx: ApiContext) -> Any:
    if "producer" not in ctx.cache:
        from confluent_kafka import Producer

        conf = {
            **ctx.cfg.kafka.client_config(),
            "acks": "all",
            "enable.idempotence": True,
            "message.timeout.ms": int(ctx.cfg.api.request_timeout_s * 1000),
        }
        ctx.cache["producer"] = Producer(conf)
    return ctx.cache["producer"]


def _publish(producer: Any, row: dict[str, Any], timeout_s: float) -> str | None:
    """Produce and wait; returns the delivery error text, None when acknowledged."""
    outcome: list[str | None] = []
    kept = [(k, str(v).encode()) for k, v in (row["headers"] or {}).items() if k not in DLQ_HEADERS]
    producer.produce(
        row["original_topic"],
        value=bytes(row["payload"]) if row["payload"] is not None else None,
        key=bytes(row["message_key"]) if row["message_key"] is not None else None,
        headers=[*kept, ("dlq.replayed.from.id", str(row["id"]).encode())],
        on_delivery=lambda err, _msg: outcome.append(str(err) if err else None),
    )
    producer.flush(timeout_s)
    return outcome[0] if outcome else "no acknowledgement before the timeout"


@router.post(
    "/{dlq_id}/replay",
    response_model=DlqOut,
    summary="Replay one dead letter (admin)",
    responses={409: {"model": ERROR_RESPONSES[400]["model"], "description": "not deliverable"}},
)
async def replay_dlq(ctx: Ctx, principal: Admin, dlq_id: DlqId) -> DlqOut:
    row = await fetch_one(
        ctx.pool,
        "SELECT id, original_topic, message_key, payload, headers FROM dlq_messages WHERE id = %s",
        (dlq_id,),
    )
    if row is None:
        raise ApiError(404, "no such dead letter")
    error = await asyncio.to_thread(_publish, _producer(ctx), row, ctx.cfg.api.request_timeout_s)
    if error is not None:
        logger.warning("replay of dlq %s to %s failed: %s", dlq_id, row["original_topic"], error)
        raise ApiError(
            409, f"not replayed: Kafka refused or did not acknowledge ({error[:200]})", code="replay_failed"
        )
    done = await fetch_one(
        ctx.pool,
        "UPDATE dlq_messages SET replayed_at = now(), replay_count = replay_count + 1 "
        f"WHERE id = %s RETURNING {_COLS}",
        (dlq_id,),
    )
    logger.info("dlq %s replayed to %s by key %s", dlq_id, row["original_topic"], principal.key_id)
    assert done is not None
    return DlqOut(**done)
