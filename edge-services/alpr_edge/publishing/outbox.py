"""Durable store-and-forward outbox: SQLite in WAL mode, one row per event until Kafka acknowledges it.

Rows are written (in one transaction per batch) before anything is produced and deleted only after a
successful delivery report, so a process kill, a broker outage or a librdkafka timeout never loses an
event. Ids grow with insertion, so ``ORDER BY id`` is oldest first. The size bound applies a policy:
``refuse_new`` (the new events are refused) or ``drop_oldest`` (the oldest rows are deleted); both are
counted in ``dropped`` and logged.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL,
    topic TEXT NOT NULL,
    schema TEXT NOT NULL,
    key BLOB,
    value BLOB NOT NULL,
    encoded INTEGER NOT NULL,
    created_at REAL NOT NULL
)
"""
_COLUMNS = "id, event_id, topic, schema, key, value, encoded, created_at"


class OutboxRow(NamedTuple):
    """One stored event. ``encoded``: ``value`` is the wire payload; otherwise a JSON record to encode.

    A named tuple (immutable, made for every event: a third of a frozen dataclass's cost) whose fields
    are the table's columns in order, so it is the INSERT's parameter row as it is.
    """

    id: int
    event_id: str
    topic: str
    schema: str
    key: bytes | None
    value: bytes
    encoded: bool
    created_at: float


class NewRow(NamedTuple):
    """An event to store (see :class:`OutboxRow`)."""

    event_id: str
    topic: str
    schema: str
    key: bytes | None
    value: bytes
    encoded: bool


def id_ranges(ids: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted, distinct ``ids`` as inclusive ``(first, last)`` runs of consecutive ids."""
    ordered = sorted(set(ids))
    if not ordered:
        return []
    spans, start, prev = [], ordered[0], ordered[0]
    for i in ordered[1:]:
        if i != prev + 1:
            spans.append((start, prev))
            start = i
        prev = i
    spans.append((start, prev))
    return spans


class OutboxFullError(RuntimeError):
    """The outbox is at its bound and its policy is ``refuse_new``."""


class SqliteOutbox:
    """``add(rows)``, ``fetch_after(id, n)``, ``delete(ids)``, ``depth``, ``oldest_age_s()``."""

    def __init__(
        self,
        path: str | Path,
        max_events: int = 1_000_000,
        full_policy: str = "drop_oldest",
        synchronous: str = "NORMAL",
        clock=time.time,
    ):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_events = max_events
        self.full_policy = full_policy
        self.clock = clock
        self.dropped = 0
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.execute(_SCHEMA)
        self._next_id = (self._db.execute("SELECT MAX(id) FROM outbox").fetchone()[0] or 0) + 1
        self.depth = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
        if self.depth:
            logger.info("outbox %s holds %d event(s) from a previous run", self.path, self.depth)

    def add(self, rows: Sequence[NewRow]) -> list[OutboxRow]:
        """Store ``rows`` in one transaction; raises :class:`OutboxFullError` when full and refusing."""
        if not rows:
            return []
        now = self.clock()
        with self._lock:
            self._make_room(len(rows))
            first = self._next_id
            stored = [OutboxRow(first + i, *r, now) for i, r in enumerate(rows)]  # NewRow: the columns between
            self._db.execute("BEGIN")
            try:  # OutboxRow's fields are the columns in order (encoded: a bool, stored as 0/1)
                self._db.executemany(f"INSERT INTO outbox ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", stored)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._next_id = first + len(rows)
            self.depth += len(rows)
        return stored

    def _make_room(self, n: int) -> None:
        excess = self.depth + n - self.max_events
        if excess <= 0:
            return
        if self.full_policy == "refuse_new":
            self.dropped += n
            logger.warning(
                "outbox full (%d of %d events): %d new event(s) refused (policy refuse_new)",
                self.depth,
                self.max_events,
                n,
            )
            raise OutboxFullError(f"outbox full: {self.depth} events")
        cur = self._db.execute(
            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT ?)", (excess,)
        )
        self.depth -= cur.rowcount
        self.dropped += cur.rowcount
        logger.warning(
            "outbox full (%d events): dropped the %d oldest event(s) (policy drop_oldest)",
            self.max_events,
            cur.rowcount,
        )

    def fetch_after(self, after_id: int, limit: int) -> list[OutboxRow]:
        """Up to ``limit`` rows with id > ``after_id``, oldest first."""
        with self._lock:
            cur = self._db.execute(
                f"SELECT {_COLUMNS} FROM outbox WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
            )
            return [OutboxRow(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), r[7]) for r in cur.fetchall()]

    def delete(self, ids: Iterable[int]) -> int:
        """Delete the rows ``ids`` in one transaction, as ranges of consecutive ids (acknowledgements come
        per partition batch, so a few ranges cover thousands of rows: half the cost of one DELETE each)."""
        spans = id_ranges(ids)
        if not spans:
            return 0
        with self._lock:
            self._db.execute("BEGIN")
            cur = self._db.executemany("DELETE FROM outbox WHERE id BETWEEN ? AND ?", spans)
            self._db.execute("COMMIT")
            self.depth -= cur.rowcount
            return cur.rowcount

    def replace_value(self, row_id: int, value: bytes) -> None:
        """Store the encoded payload of a row kept as JSON while the schema registry was unreachable."""
        with self._lock:
            self._db.execute("UPDATE outbox SET value = ?, encoded = 1 WHERE id = ?", (value, row_id))

    def oldest_age_s(self) -> float:
        with self._lock:
            row = self._db.execute("SELECT created_at FROM outbox ORDER BY id LIMIT 1").fetchone()
        return max(0.0, self.clock() - row[0]) if row else 0.0

    def last_id(self) -> int:
        with self._lock:
            return self._next_id - 1

    def close(self) -> None:
        with self._lock:
            try:
                self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            finally:
                self._db.close()
