"""Audit log of searches and exports: rows are queued by handlers and written in batches with COPY.

A handler never waits on the database for its audit row; the writer flushes every ``flush_interval_s``
(and on shutdown). When the queue is full, handlers wait for room instead of dropping rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from prometheus_client import Counter, Gauge
from psycopg_pool import AsyncConnectionPool

logger = logging.getLogger(__name__)

AUDIT_ROWS = Counter("alpr_api_audit_rows_total", "Audit rows written to api_audit_log.")
AUDIT_ERRORS = Counter("alpr_api_audit_write_errors_total", "Failed audit batch writes (retried).")
AUDIT_PENDING = Gauge("alpr_api_audit_pending_rows", "Audit rows waiting to be written.")

_COPY = (
    "COPY api_audit_log (key_id, endpoint, params, result_count, reason, client_addr, created_at) FROM STDIN"
)
_BATCH = 5000


@dataclass(frozen=True)
class AuditRow:
    key_id: int | None
    endpoint: str
    params: dict[str, Any]
    result_count: int | None
    reason: str | None
    client_addr: str | None
    created_at: datetime

    def as_copy_row(self) -> tuple[Any, ...]:
        return (
            self.key_id,
            self.endpoint,
            json.dumps(self.params, default=str),
            self.result_count,
            self.reason,
            self.client_addr,
            self.created_at,
        )


class AuditWriter:
    def __init__(self, pool: AsyncConnectionPool, flush_interval_s: float, queue_max: int):
        self.pool = pool
        self.flush_interval_s = flush_interval_s
        self.queue: asyncio.Queue[AuditRow] = asyncio.Queue(maxsize=queue_max)
        self._task: asyncio.Task[None] | None = None
        self._retry: list[AuditRow] = []

    async def record(
        self,
        key_id: int | None,
        endpoint: str,
        params: dict[str, Any],
        result_count: int | None,
        reason: str | None,
        client_addr: str | None,
    ) -> None:
        row = AuditRow(
            key_id, endpoint, params, result_count, reason, client_addr, datetime.now(timezone.utc)
        )
        try:
            self.queue.put_nowait(row)
        except asyncio.QueueFull:
            await self.queue.put(row)
        AUDIT_PENDING.inc()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="audit-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()

    async def flush(self) -> int:
        """Write every queued row now; returns how many were written."""
        written = 0
        while self._retry or not self.queue.empty():
            batch = self._take()
            await self._write(batch)
            written += len(batch)
        return written

    def _take(self) -> list[AuditRow]:
        batch, self._retry = self._retry, []
        batch.extend(self.queue.get_nowait() for _ in range(min(_BATCH, self.queue.qsize())))
        return batch

    async def _write(self, batch: list[AuditRow]) -> None:
        async with self.pool.connection() as conn, conn.cursor() as cur, cur.copy(_COPY) as copy:
            for row in batch:
                await copy.write_row(row.as_copy_row())
        AUDIT_ROWS.inc(len(batch))
        AUDIT_PENDING.dec(len(batch))

    async def _run(self) -> None:
        backoff = self.flush_interval_s
        while True:
            await asyncio.sleep(backoff)
            batch = self._take()
            if not batch:
                continue
            try:
                await self._write(batch)
                backoff = self.flush_interval_s
            except Exception as exc:  # the database may be down: keep the rows, retry later
                AUDIT_ERRORS.inc()
                logger.warning(
                    "audit write failed (%s); %d rows kept for retry", exc.__class__.__name__, len(batch)
                )
                limit = self.queue.maxsize
                if len(batch) > limit:
                    logger.error("audit retry buffer full: %d oldest rows lost", len(batch) - limit)
                self._retry = batch[-limit:]
                backoff = min(backoff * 2, 10.0)
