"""storage-consumer sink: batches of plate events into PostgreSQL/TimescaleDB.

Each batch is one transaction: COPY of one JSON document per event into a per-connection temporary
staging table (emptied on commit), then ``INSERT INTO plate_events ... SELECT <flattening> ... ON
CONFLICT DO NOTHING`` (storage/rows.py): idempotent on
(event_id, captured_at), so redelivered batches add nothing. The same statements work on a hypertable
and on a plain table. Connection failures (database restarting, network) are transient: the pool
checks connections before use and reconnects; the runtime retries the batch with backoff.
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolTimeout

from alpr_common.settings import DatabaseSettings

from ..config import StorageSinkSettings
from ..runtime import PermanentRecordError, Record, TransientSinkError
from .rows import copy_line, insert_sql

logger = logging.getLogger(__name__)

TRANSIENT_DB_ERRORS = (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout)


class PostgresEventSink:
    """``write(batch)`` makes a batch of plate events durable in ``settings.table``."""

    def __init__(
        self, db: DatabaseSettings, settings: StorageSinkSettings, pool: ConnectionPool | None = None
    ):
        self._settings = settings
        self._db = db
        self._stage = f"{settings.table}_stage"
        self._copy_sql = sql.SQL("COPY {} (d) FROM STDIN").format(sql.Identifier(self._stage))
        self._insert_sql = insert_sql(settings.table, self._stage, settings.store_raw)
        self._pool = pool or ConnectionPool(
            db.conninfo(),
            min_size=db.pool_min_size,
            max_size=db.pool_max_size,
            open=False,
            configure=self._configure,
            check=ConnectionPool.check_connection,
            name="storage-sink",
            timeout=db.connect_timeout_s,
            reconnect_timeout=0,
        )
        self._pool.open(wait=False)

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        timeout_ms = int(self._settings.statement_timeout_s * 1000)
        conn.execute(sql.SQL("SET statement_timeout = {}").format(sql.Literal(timeout_ms)))
        conn.execute(
            sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} (d jsonb NOT NULL) ON COMMIT DELETE ROWS").format(
                sql.Identifier(self._stage)
            )
        )
        conn.commit()
        logger.info("storage sink connected to %s:%s/%s", self._db.host, self._db.port, self._db.dbname)

    def write(self, batch: list[Record]) -> None:
        try:
            self._write_lines([copy_line(rec.value or {}) for rec in batch])
        except (psycopg.DataError, ValueError) as exc:
            logger.warning(
                "storage sink: batch of %d refused (%s); isolating the bad record(s)", len(batch), exc
            )
            self._isolate(batch)
        except TRANSIENT_DB_ERRORS as exc:
            raise TransientSinkError(
                f"PostgreSQL {self._db.host}:{self._db.port}: {type(exc).__name__}: {exc}"
            ) from exc

    def _write_lines(self, lines: list[bytes]) -> int:
        """One transaction: COPY the documents, flatten them into the table. Returns rows inserted."""
        with self._pool.connection() as conn, conn.cursor() as cur:
            with cur.copy(self._copy_sql) as copy:
                copy.write(b"".join(lines))
            cur.execute(self._insert_sql)
            return cur.rowcount

    def _isolate(self, batch: list[Record]) -> None:
        """Write records one by one; those PostgreSQL refuses become permanent failures."""
        failures: list[tuple[Record, str]] = []
        for rec in batch:
            try:
                self._write_lines([copy_line(rec.value or {})])
            except (psycopg.DataError, ValueError) as exc:
                failures.append((rec, f"PostgreSQL refused {rec.coordinates}: {exc}"))
            except TRANSIENT_DB_ERRORS as exc:
                raise TransientSinkError(f"PostgreSQL: {type(exc).__name__}: {exc}") from exc
        if failures:
            raise PermanentRecordError(failures)

    def close(self) -> None:
        self._pool.close()
