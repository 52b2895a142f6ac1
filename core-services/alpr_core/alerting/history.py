"""Alert history and fan-out: the `alerts` table, the alpr.alerts topic, and notification dead letters.

The table is the idempotency guard: ``INSERT ... ON CONFLICT (event_id, rule_name) DO NOTHING`` means
a redelivered event neither stores nor notifies twice.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import Producer

from alpr_common.serde import RecordSerde

from .alert import Alert
from .config import ActionSpec

logger = logging.getLogger(__name__)

INSERT_SQL = """
INSERT INTO alerts (event_id, rule_name, severity, plate, camera_id, captured_at, watchlist_id,
                    explanation, channel_outcomes, created_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s)
ON CONFLICT (event_id, rule_name) DO NOTHING
RETURNING id
"""
OUTCOME_SQL = """
UPDATE alerts SET channel_outcomes = channel_outcomes || jsonb_build_object(%s::text, %s::jsonb)
WHERE event_id = %s AND rule_name = %s
"""
RECENT_SQL = """
SELECT rule_name, plate, explanation->>'entry', explanation->>'match_type',
       extract(epoch FROM now() - max(created_at))
FROM alerts WHERE created_at > now() - make_interval(secs => %s)
GROUP BY 1, 2, 3, 4
"""


def _row(a: Alert) -> tuple[Any, ...]:
    pending = {c: {"status": "pending"} for c in a.channels}
    return (
        a.event_id,
        a.rule_name,
        a.severity,
        a.plate,
        a.camera_id,
        a.captured_at,
        a.explanation.entry_id,
        json.dumps(a.explanation.to_json()),
        json.dumps(pending),
        a.created_at,
    )


class AlertStore:
    """Writes alerts with a psycopg connection pool."""

    def __init__(self, conninfo: str, min_size: int = 1, max_size: int = 4):
        from psycopg_pool import ConnectionPool

        self._pool = ConnectionPool(conninfo, min_size=min_size, max_size=max_size, open=True)

    def insert(
        self, alerts: Sequence[Alert], before_commit: Callable[[list[Alert]], None] = lambda _new: None
    ) -> list[Alert]:
        """Store ``alerts`` in one transaction; return those that were new (not already stored).

        ``before_commit(new)`` runs inside the transaction (publishing to alpr.alerts): if it fails the
        rows roll back, so a retried batch stores and publishes them again instead of skipping them.
        """
        rows = [_row(a) for a in alerts]
        new: list[Alert] = []
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            cur.executemany(INSERT_SQL, rows, returning=True)  # one pipelined round trip
            for a in alerts:
                if cur.fetchone() is not None:
                    new.append(a)
                cur.nextset()
            if new:
                before_commit(new)
        return new

    def record_outcome(self, alert: Alert, channel: str, outcome: dict[str, Any]) -> None:
        self.record_outcomes([(alert, channel, outcome)])

    def record_outcomes(self, items: Sequence[tuple[Alert, str, dict[str, Any]]]) -> None:
        rows = [(channel, json.dumps(outcome), a.event_id, a.rule_name) for a, channel, outcome in items]
        with self._pool.connection() as conn, conn.cursor() as cur:
            cur.executemany(OUTCOME_SQL, rows)

    def recent(self, horizon_s: float) -> list[tuple[str, str, str, str, float]]:
        """(rule, plate, entry, match_type, age_s) of alerts younger than ``horizon_s`` (cooldown seeding)."""
        with self._pool.connection() as conn:
            return list(conn.execute(RECENT_SQL, (horizon_s,)).fetchall())

    def close(self) -> None:
        self._pool.close()


class OutcomeWriter:
    """Writes channel outcomes in the background, batched, so delivery threads never wait on the database."""

    def __init__(self, store: AlertStore, flush_interval_s: float = 0.2, max_batch: int = 500):
        self._store = store
        self._queue: queue.Queue[tuple[Alert, str, dict[str, Any]] | None] = queue.Queue()
        self._interval_s = flush_interval_s
        self._max_batch = max_batch
        self._thread = threading.Thread(target=self._loop, name="alert-outcomes", daemon=True)
        self._thread.start()

    def __call__(self, alert: Alert, channel: str, outcome: dict[str, Any]) -> None:
        self._queue.put((alert, channel, outcome))

    def _loop(self) -> None:
        done = False
        while not done:
            batch: list[tuple[Alert, str, dict[str, Any]]] = []
            try:
                item = self._queue.get(timeout=self._interval_s)
                while True:
                    if item is None:
                        done = True
                        break
                    batch.append(item)
                    if len(batch) >= self._max_batch:
                        break
                    item = self._queue.get_nowait()
            except queue.Empty:
                pass
            if batch:
                try:
                    self._store.record_outcomes(batch)
                except Exception as exc:  # outcomes are informative; the delivery already happened
                    logger.warning("%d channel outcome(s) not recorded: %s", len(batch), exc)

    def close(self, timeout_s: float = 10.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout_s)


class AlertPublisher:
    """Produces alert_event records to alpr.alerts (key: camera_id); ``publish`` waits for the acks."""

    def __init__(
        self,
        client_config: dict[str, str],
        topic: str,
        serde: RecordSerde,
        timeout_s: float = 30.0,
        producer: Any = None,
    ):
        self.topic = topic
        self._serde = serde
        self._timeout_s = timeout_s
        self._producer = producer or Producer(
            {**client_config, "enable.idempotence": True, "acks": "all", "linger.ms": 2}
        )

    def publish(self, alerts: Sequence[Alert]) -> None:
        errors: list[str] = []

        def on_delivery(err: Any, _msg: Any) -> None:
            if err is not None:
                errors.append(str(err))

        for a in alerts:
            self._producer.produce(
                self.topic,
                key=a.camera_id.encode(),
                value=self._serde.serialize(a.to_avro(), self.topic),
                on_delivery=on_delivery,
            )
        remaining = self._producer.flush(self._timeout_s)
        if remaining or errors:
            raise RuntimeError(f"{self.topic}: {remaining} alert(s) unacknowledged, errors: {errors[:3]}")

    def close(self) -> None:
        self._producer.flush(self._timeout_s)


class KafkaDeadLetters:
    """A notification that failed for good goes to alpr.dlq: the JSON notification as the value, the
    standard DLQ headers (runtime.dlq names) with error class NotificationError."""

    def __init__(
        self,
        client_config: dict[str, str],
        topic: str,
        group_id: str,
        source_topic: str,
        producer: Any = None,
        timeout_s: float = 10.0,
    ):
        self.topic = topic
        self._group_id = group_id
        self._source_topic = source_topic
        self._timeout_s = timeout_s
        self._producer = producer or Producer({**client_config, "acks": "all", "linger.ms": 0})

    def send(self, alert: Alert, action: ActionSpec, error: str, attempts: int) -> None:
        body = {
            "alert": alert.to_payload(),
            "channel": action.channel,
            "action": action.model_dump(),
            "error": error,
            "attempts": attempts,
        }
        headers: list[tuple[str, str | bytes | None]] = [
            ("dlq.original.topic", self._source_topic.encode()),
            ("dlq.original.partition", b"-1"),
            ("dlq.original.offset", b"-1"),
            ("dlq.original.timestamp", str(int(alert.captured_at.timestamp() * 1000)).encode()),
            ("dlq.consumer.group", self._group_id.encode()),
            ("dlq.error.class", b"NotificationError"),
            ("dlq.error.message", f"{action.channel}: {error}"[:2000].encode("utf-8", "replace")),
            ("dlq.failed.at", str(int(time.time() * 1000)).encode()),
            ("alpr.event_id", alert.event_id.encode()),
            ("alpr.alert_id", alert.alert_id.encode()),
            ("alpr.channel", action.channel.encode()),
        ]
        self._producer.produce(
            self.topic, key=alert.event_id.encode(), value=json.dumps(body).encode(), headers=headers
        )
        if self._producer.flush(self._timeout_s):
            raise RuntimeError(f"dead letter for alert {alert.alert_id} not acknowledged by {self.topic}")

    def close(self) -> None:
        self._producer.flush(self._timeout_s)
