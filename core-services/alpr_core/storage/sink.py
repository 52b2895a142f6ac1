"""storage-consumer sink: batches of plate events into PostgreSQL/TimescaleDB.

Each batch is one transaction: one binary ``COPY plate_events (...) FROM STDIN (FORMAT binary)`` of
the batch's rows (storage/rows.py), straight into the table.

Idempotent on (event_id, captured_at): redelivered events add nothing. The direct COPY is tried first;
only when it meets a duplicate (a redelivery after a crash, a producer retry) is the transaction rolled
back, the same rows copied into a per-connection temporary staging table of the same columns (emptied
on commit) and inserted with ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``, which then stays on for
``CONFLICT_MODE_S``. ON CONFLICT probes the primary key once more per row before inserting and the
staging doubles the copying; the direct COPY checks uniqueness in the same index descent and inserts
in multi-row heap batches. The same statements work on a hypertable and on a plain table.
Connection failures (database restarting, network) are transient: the pool checks connections
before use and reconnects; the runtime retries the batch with backoff.
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
from .rows import COPY_HEADER, COPY_TRAILER, binary_row, copy_columns

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
        table, stage = sql.Identifier(settings.table), sql.Identifier(self._stage)
        self._columns = sql.SQL(", ").join(map(sql.Identifier, copy_columns(settings.store_raw)))
        copy = "COPY {} ({}) FROM STDIN (FORMAT binary)"
        self._copy_direct = sql.SQL(copy).format(table, self._columns)
        self._copy_stage = sql.SQL(copy).format(stage, self._columns)
        self._insert_staged = sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT DO NOTHING").format(
            table, self._columns, self._columns, stage
        )
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
        # The table's own column types (collations included); only the conflict path writes to it.
        conn.execute(
            sql.SQL(
                "CREATE TEMP TABLE IF NOT EXISTS {} ON COMMIT DELETE ROWS AS SELECT {} FROM {} WITH NO DATA"
            ).format(sql.Identifier(self._stage), self._columns, sql.Identifier(self._settings.table))
        )
        conn.commit()
        logger.info("storage sink connected to %s:%s/%s", self._db.host, self._db.port, self._db.dbname)

    def prepare(self, value: dict[str, Any]) -> bytes:
        """The record's binary COPY row, made by the runner in its poll thread right after decoding."""
        return binary_row(value, self._settings.store_raw)

    def _line(self, rec: Record) -> bytes:
        prepared = rec.prepared
        return prepared if type(prepared) is bytes else binary_row(rec.value or {}, self._settings.store_raw)

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
        """One transaction: COPY the rows into the table. Returns rows inserted."""
        data = b"".join((COPY_HEADER, *lines, COPY_TRAILER))
        with self._pool.connection() as conn, conn.cursor() as cur:
            if time.monotonic() >= self._conflict_mode_until:
                try:
                    return self._copy(cur, self._copy_direct, data)
                except psycopg.errors.UniqueViolation:
                    conn.rollback()
                    self._conflict_mode_until = time.monotonic() + CONFLICT_MODE_S
                    logger.info(
                        "storage sink: %d row(s) include events already stored; inserting with ON CONFLICT "
                        "DO NOTHING for the next %.0fs",
                        len(lines),
                        CONFLICT_MODE_S,
                    )
            self._copy(cur, self._copy_stage, data)
            cur.execute(self._insert_staged)
            return cur.rowcount

    @staticmethod
    def _copy(cur: psycopg.Cursor[Any], statement: sql.Composed, data: bytes) -> int:
        with cur.copy(statement) as copy:
            copy.write(data)
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
