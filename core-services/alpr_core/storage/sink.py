"""storage-consumer sink: batches of plate events into PostgreSQL/TimescaleDB.

Each batch is one transaction: COPY of one JSON array per event into a per-connection temporary
staging table (emptied on commit), then ``INSERT INTO plate_events ... SELECT <casts>`` (storage/rows.py).

Idempotent on (event_id, captured_at): redelivered events add nothing. A plain INSERT is tried first;
only when it meets a duplicate (a redelivery after a crash, a producer retry) is the batch staged again
and inserted with ``ON CONFLICT DO NOTHING``, which then stays on for ``CONFLICT_MODE_S``. ON CONFLICT
probes the primary key once more per row before inserting (~12 % of the database's CPU per row in
docs/benchmarks.md); a plain INSERT checks uniqueness in the same index descent. The same statements
work on a hypertable and on a plain table. Connection failures (database restarting, network) are transient: the pool
checks connections before use and reconnects; the runtime retries the batch with backoff.
"""

from __future__ import annotations

import logging
import time
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
# After a duplicate, batches go straight to ON CONFLICT DO NOTHING for this long (redeliveries come in runs).
CONFLICT_MODE_S = 60.0


class PostgresEventSink:
    """``write(batch)`` makes a batch of plate events durable in ``settings.table``."""

    def __init__(
        self,
        db: DatabaseSettings,
        settings: StorageSinkSettings,
        pool: ConnectionPool | None = None,
        writers: int = 1,
    ):
        """``writers``: sink threads that write concurrently; that many connections are opened at start
        (in the background) instead of on the first batch."""
        self._settings = settings
        self._db = db
        self._stage = f"{settings.table}_stage"
        self._copy_sql = sql.SQL("COPY {} (d) FROM STDIN").format(sql.Identifier(self._stage))
        self._insert_plain = insert_sql(settings.table, self._stage, settings.store_raw, on_conflict=False)
        self._insert_idempotent = insert_sql(settings.table, self._stage, settings.store_raw)
        self._conflict_mode_until = 0.0
        self._pool = pool or ConnectionPool(
            db.conninfo(),
            min_size=min(max(db.pool_min_size, writers), db.pool_max_size),
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

    def prepare(self, value: dict[str, Any]) -> bytes:
        """The record's COPY line, made by the runner in its poll thread right after decoding."""
        return copy_line(value, self._settings.store_raw)

    def _line(self, rec: Record) -> bytes:
        prepared = rec.prepared
        return prepared if type(prepared) is bytes else copy_line(rec.value or {}, self._settings.store_raw)

    def write(self, batch: list[Record]) -> None:
        try:
            self._write_lines([self._line(rec) for rec in batch])
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
        """One transaction: COPY the rows, insert them into the table. Returns rows inserted."""
        data = b"".join(lines)
        with self._pool.connection() as conn, conn.cursor() as cur:
            if time.monotonic() >= self._conflict_mode_until:
                try:
                    return self._stage_and_insert(cur, data, self._insert_plain)
                except psycopg.errors.UniqueViolation:
                    conn.rollback()  # the staged rows go with it
                    self._conflict_mode_until = time.monotonic() + CONFLICT_MODE_S
                    logger.info(
                        "storage sink: %d row(s) include events already stored; inserting with ON CONFLICT "
                        "DO NOTHING for the next %.0fs",
                        len(lines),
                        CONFLICT_MODE_S,
                    )
            return self._stage_and_insert(cur, data, self._insert_idempotent)

    def _stage_and_insert(self, cur: psycopg.Cursor[Any], data: bytes, insert: sql.Composed) -> int:
        with cur.copy(self._copy_sql) as copy:
            copy.write(data)
        cur.execute(insert)
        return cur.rowcount

    def _isolate(self, batch: list[Record]) -> None:
        """Write records one by one; those PostgreSQL refuses become permanent failures."""
        failures: list[tuple[Record, str]] = []
        for rec in batch:
            try:
                self._write_lines([self._line(rec)])
            except (psycopg.DataError, ValueError) as exc:
                failures.append((rec, f"PostgreSQL refused {rec.coordinates}: {exc}"))
            except TRANSIENT_DB_ERRORS as exc:
                raise TransientSinkError(f"PostgreSQL: {type(exc).__name__}: {exc}") from exc
        if failures:
            raise PermanentRecordError(failures)

    def close(self) -> None:
        self._pool.close()
