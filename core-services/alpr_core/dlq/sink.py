"""dlq-consumer sink: every message of alpr.dlq into dlq_messages, counted and logged by error type.

The origin comes from the headers the runtime wrote (runtime/dlq.py); a message without them (written
by some other tool) is stored under its own DLQ coordinates with error type ``Unknown``. Rows are
unique on the original coordinates, so reading the DLQ again stores nothing twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import psycopg
from prometheus_client import CollectorRegistry, Counter
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from alpr_common.settings import DatabaseSettings

from ..runtime import Record, TransientSinkError
from ..runtime.dlq import H_ERROR_CLASS, H_ERROR_MESSAGE, H_GROUP, H_OFFSET, H_PARTITION, H_TOPIC

logger = logging.getLogger(__name__)

INSERT_SQL = """
INSERT INTO dlq_messages (original_topic, "partition", "offset", consumer_group, error_type, error_message,
                          headers, message_key, payload)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (original_topic, "partition", "offset") DO NOTHING
"""


@dataclass(frozen=True)
class DlqEntry:
    """One DLQ message, parsed from its headers."""

    original_topic: str
    partition: int
    offset: int
    consumer_group: str | None
    error_type: str
    error_message: str | None
    headers: dict[str, str]

    def describe(self) -> str:
        return (
            f"{self.original_topic}[{self.partition}]@{self.offset} {self.error_type} "
            f"(group {self.consumer_group or '?'}): {(self.error_message or '')[:200]}"
        )


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def parse_entry(rec: Record) -> DlqEntry:
    headers = {k: (v or b"").decode("utf-8", "replace") for k, v in rec.headers}
    topic, partition, offset = rec.header(H_TOPIC), _int(rec.header(H_PARTITION)), _int(rec.header(H_OFFSET))
    if not topic or partition is None or offset is None:  # no origin: keep the DLQ's own coordinates
        topic, partition, offset = rec.topic, rec.partition, rec.offset
    return DlqEntry(
        original_topic=topic,
        partition=partition,
        offset=offset,
        consumer_group=rec.header(H_GROUP),
        error_type=rec.header(H_ERROR_CLASS) or "Unknown",
        error_message=rec.header(H_ERROR_MESSAGE),
        headers=headers,
    )


class DlqMessageSink:
    """``write(batch)`` stores DLQ messages in ``dlq_messages``."""

    def __init__(
        self,
        db: DatabaseSettings,
        registry: CollectorRegistry | None = None,
        pool: ConnectionPool | None = None,
    ):
        self._db = db
        self._pool = pool or ConnectionPool(
            db.conninfo(),
            min_size=1,
            max_size=2,
            open=False,
            name="dlq-sink",
            check=ConnectionPool.check_connection,
            timeout=db.connect_timeout_s,
        )
        self._pool.open(wait=False)
        self.messages = Counter(
            "alpr_dlq_messages_total",
            "Dead letters read from the DLQ topic.",
            ["error_type", "original_topic"],
            registry=registry,
        )

    def write(self, batch: list[Record]) -> None:
        entries = [parse_entry(rec) for rec in batch]
        params = [self._params(rec, entry) for rec, entry in zip(batch, entries, strict=True)]
        try:
            with self._pool.connection() as conn, conn.cursor() as cur:
                cur.executemany(INSERT_SQL, params)
        except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout) as exc:
            raise TransientSinkError(f"PostgreSQL {self._db.host}:{self._db.port}: {exc}") from exc
        for entry in entries:
            self.messages.labels(entry.error_type, entry.original_topic).inc()
            logger.warning("DLQ message %s", entry.describe())

    @staticmethod
    def _params(rec: Record, entry: DlqEntry) -> tuple[Any, ...]:
        return (
            entry.original_topic,
            entry.partition,
            entry.offset,
            entry.consumer_group,
            entry.error_type,
            entry.error_message,
            Jsonb(entry.headers),
            rec.key,
            rec.raw,
        )

    def close(self) -> None:
        self._pool.close()
