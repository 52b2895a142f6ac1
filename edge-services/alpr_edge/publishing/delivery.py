"""Outbox forwarding: events are stored, then produced; a delivery thread settles reports and drains.

``submit(envelopes)`` encodes the records, writes them to the outbox in one transaction and hands them
to the producer at once (live events are never queued behind a backlog). The delivery thread polls the
producer, deletes acknowledged rows in batches, puts failed or expired ones back in line, and drains
older rows oldest first at ``drain_max_events_per_s``. A fatal producer error rebuilds the producer and
re-sends everything still in the outbox (duplicates, if any, carry the same ``event_id``).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

from confluent_kafka import KafkaError, KafkaException, Producer

from alpr_common.serde import SerdeError

from .encoding import Encoder, RegistryUnavailable, record_to_json
from .metrics import EdgeMetrics
from .outbox import NewRow, OutboxFullError, OutboxRow, SqliteOutbox
from .settings import OutboxSettings, PublisherSettings

logger = logging.getLogger(__name__)
PARK_S = 5.0  # wait before producing again a row the producer refused (unknown topic...)


class _OncePerInterval(logging.Filter):
    """Lets one librdkafka message per facility (FAIL, METADATAUPDATE...) through every ``interval_s``."""

    def __init__(self, interval_s: float = 30.0):
        super().__init__()
        self.interval_s = interval_s
        self._last: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        facility = record.getMessage().split(" ", 1)[0]
        now = time.monotonic()
        if now - self._last.get(facility, -1e9) < self.interval_s:
            return False
        self._last[facility] = now
        return True


_RDKAFKA_LOG = logging.getLogger("alpr_edge.publishing.librdkafka")  # librdkafka logs, via poll()
_RDKAFKA_LOG.addFilter(_OncePerInterval())


class Envelope(NamedTuple):
    """A record to deliver: ``schema`` names schemas/<schema>.avsc; ``key`` is the Kafka key (camera_id).
    A named tuple: one is made per event, at a third of a frozen dataclass's cost."""

    event_id: str
    topic: str
    schema: str
    key: str | None
    record: dict[str, Any]


@dataclass(frozen=True)
class SubmitResult:
    stored: int
    invalid: int = 0
    refused: int = 0


def producer_config(client_conf: dict[str, str], s: PublisherSettings) -> dict[str, Any]:
    """librdkafka settings of the edge producer: idempotent, acks=all, compressed, batched."""
    conf: dict[str, Any] = dict(client_conf)
    conf.update(
        {
            "enable.idempotence": True,
            "acks": "all",
            "compression.type": s.compression_type,
            "linger.ms": s.linger_ms,
            "batch.num.messages": s.batch_num_messages,
            "message.timeout.ms": s.message_timeout_ms,
            "queue.buffering.max.messages": s.queue_buffering_max_messages,
            "reconnect.backoff.max.ms": 5000,
        }
    )
    conf.update(s.extra_config)
    return conf


class DeliveryService:
    """Store-and-forward from :class:`SqliteOutbox` to Kafka. ``kafka_conf`` None: store only (said once)."""

    def __init__(
        self,
        outbox: SqliteOutbox,
        encoder: Encoder,
        settings: OutboxSettings | None = None,
        publisher: PublisherSettings | None = None,
        kafka_conf: dict[str, str] | None = None,
        metrics: EdgeMetrics | None = None,
        producer_factory: Callable[[dict], Any] = Producer,
    ):
        self.outbox, self.encoder = outbox, encoder
        self.settings = settings or OutboxSettings()
        self.publisher = publisher or PublisherSettings()
        self.metrics = metrics or EdgeMetrics()
        self._factory = producer_factory
        self._conf: dict[str, Any] | None = None
        if kafka_conf is not None:
            hooks = {"error_cb": self._on_error, "logger": _RDKAFKA_LOG}
            self._conf = {**producer_config(kafka_conf, self.publisher), **hooks}
        self._lock = threading.Lock()
        self._in_flight: set[int] = set()
        self._acked: list[tuple[int, str]] = []
        self._failed: list[tuple[int, str]] = []
        self._cursor = 0
        self._tokens = 0.0
        self._fatal = False
        self._registry_down = False
        self._parked: dict[int, float] = {}  # row id -> monotonic time it may be produced again
        self._park_logged: dict[str, float] = {}
        self._failures_logged_at, self._failures_unlogged = -1e9, 0
        self.connected = self._conf is not None
        self.acked_total = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._producer = self._factory(self._conf) if self._conf else None
        if self._producer is None:
            logger.warning(
                "Kafka publishing is not configured: events stay in the outbox %s (and the CSV log) "
                "until a run with Kafka enabled sends them",
                outbox.path,
            )

    # -- live path -------------------------------------------------------------------------------------
    def submit(self, envelopes: Sequence[Envelope]) -> SubmitResult:
        rows, invalid = self._encode_all(envelopes)
        with self._lock:  # stored and produced atomically, so the drain never sends them a second time
            dropped = self.outbox.dropped
            try:
                stored = self.outbox.add(rows)
            except OutboxFullError:
                self.metrics.outbox_dropped.labels("refuse_new").inc(len(rows))
                return SubmitResult(0, invalid, len(rows))
            if self.outbox.dropped > dropped:
                self.metrics.outbox_dropped.labels("drop_oldest").inc(self.outbox.dropped - dropped)
            if self._producer is not None and stored:
                self._produce_live(stored)
        return SubmitResult(len(stored), invalid)

    def _encode_all(self, envelopes: Sequence[Envelope]) -> tuple[list[NewRow], int]:
        rows: list[NewRow] = []
        invalid = 0
        for env in envelopes:
            key = env.key.encode() if env.key is not None else None
            try:
                value, encoded = self.encoder.encode(env.schema, env.record, env.topic), True
                self._registry_down = False
            except RegistryUnavailable as exc:
                if not self._registry_down:
                    logger.warning("schema id unknown and registry unreachable, events kept as JSON in the "
                                   "outbox until it answers: %s", exc)
                self._registry_down = True
                value, encoded = record_to_json(env.record), False
            except SerdeError as exc:
                invalid += 1
                self.metrics.events.labels("rejected", "invalid_record").inc()
                logger.error(
                    "event %s for %s refused, it breaks the schema: %s", env.event_id, env.topic, exc
                )
                continue
            rows.append(NewRow(env.event_id, env.topic, env.schema, key, value, encoded))
        return rows, invalid

    def _produce_live(self, stored: list[OutboxRow]) -> None:
        """Produce just-stored rows (caller holds the lock); what is not produced waits for the drain."""
        caught_up = self._cursor >= stored[0].id - 1
        if len(self._in_flight) + len(stored) > self._in_flight_limit():
            return
        sent = 0
        for row in stored:
            if not row.encoded or not self._produce(row):
                break
            sent += 1
        if caught_up and sent == len(stored):
            self._cursor = stored[-1].id

    def _in_flight_limit(self) -> int:
        return self.publisher.max_in_flight_events if self.connected else self.settings.drain_batch_size

    def _produce(self, row: OutboxRow) -> bool:
        """Hand one row to librdkafka (caller holds the lock); False when its queue is full."""
        assert self._producer is not None
        self._in_flight.add(row.id)
        try:
            self._producer.produce(
                row.topic, value=row.value, key=row.key, on_delivery=partial(self._on_delivery, row.id)
            )
        except BufferError:
            self._in_flight.discard(row.id)
            return False
        except KafkaException as exc:  # e.g. unknown topic: park the row, keep the rest flowing
            self._in_flight.discard(row.id)
            self._park(row, exc.args[0].name() if exc.args else "KafkaException", str(exc))
        return True

    def _park(self, row: OutboxRow, error: str, detail: str) -> None:
        """Keep a row the producer refused out of the drain for ``PARK_S`` (logged once a minute a topic)."""
        now = time.monotonic()
        self._parked[row.id] = now + PARK_S
        self.metrics.delivery_failures.labels(error).inc()
        if now - self._park_logged.get(row.topic, -1e9) >= 60:
            self._park_logged[row.topic] = now
            logger.error("cannot produce to %s (%s): event %s and others wait in the outbox, retried "
                         "every %.0f s", row.topic, detail, row.event_id, PARK_S)

    # -- callbacks (run inside producer.poll/flush) ----------------------------------------------------
    def _on_delivery(self, row_id: int, err: KafkaError | None, msg: Any) -> None:
        if err is None:
            self._acked.append((row_id, msg.topic()))
        else:
            self._failed.append((row_id, err.name()))

    def _on_error(self, err: KafkaError) -> None:
        if err.code() == KafkaError._ALL_BROKERS_DOWN:
            if self.connected:
                logger.warning("Kafka unreachable (%s): events wait in the outbox", err.str())
            self.connected = False
        if err.fatal():
            logger.error("fatal producer error %s: the producer will be rebuilt", err.str())
            self._fatal = True

    # -- delivery thread ------------------------------------------------------------------------------
    def start(self) -> DeliveryService:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="alpr-delivery", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        last = time.monotonic()
        gauges_at = 0.0
        while not self._stop.is_set():
            if self._producer is not None:
                self._producer.poll(self.settings.poll_interval_s)
                self._settle()
                now = time.monotonic()
                self._drain(now - last)
                last = now
                if self._fatal:
                    self._rebuild()
            else:
                self._stop.wait(self.settings.poll_interval_s * 10)
            if time.monotonic() - gauges_at >= 1.0:
                gauges_at = time.monotonic()
                self.update_gauges()

    def _settle(self) -> None:
        """Delete acknowledged rows (batched), then put failed ones back in line for the drain."""
        acked, self._acked = self._acked, []
        failed, self._failed = self._failed, []
        step = self.settings.ack_batch_size
        for i in range(0, len(acked), step):
            chunk = acked[i : i + step]
            self.outbox.delete(row_id for row_id, _ in chunk)
        for topic, n in Counter(topic for _, topic in acked).items():
            self.metrics.published.labels(topic).inc(n)
        with self._lock:
            self._in_flight.difference_update(row_id for row_id, _ in acked)
            self.acked_total += len(acked)
            if acked and not self.connected:
                logger.info("Kafka reachable again: delivering the outbox (%d event(s))", self.outbox.depth)
            self.connected = self.connected or bool(acked)
            if failed:
                self._in_flight.difference_update(row_id for row_id, _ in failed)
                retry_at = time.monotonic() + PARK_S  # sent again by the drain after a pause
                self._parked.update((row_id, retry_at) for row_id, _ in failed)
        for error, n in Counter(error for _, error in failed).items():
            self.metrics.delivery_failures.labels(error).inc(n)
        self._failures_unlogged += len(failed)
        if failed and time.monotonic() - self._failures_logged_at >= 10:
            logger.warning("%d delivery report(s) failed (last: outbox row %d, %s): kept in the outbox, "
                           "sent again", self._failures_unlogged, failed[-1][0], failed[-1][1])
            self._failures_logged_at, self._failures_unlogged = time.monotonic(), 0

    def _drain(self, dt_s: float) -> None:
        rate = self.settings.drain_max_events_per_s
        self._tokens = min(self._tokens + rate * dt_s, max(rate * 0.1, 1.0))
        with self._lock:
            budget = min(
                int(self._tokens),
                self.settings.drain_batch_size,
                self._in_flight_limit() - len(self._in_flight),
            )
            if budget <= 0:
                return
            self._unpark()
            rows = self.outbox.fetch_after(self._cursor, budget)
            for row in rows:
                if row.id in self._in_flight or row.id in self._parked:
                    self._cursor = row.id
                    continue
                if not row.encoded:
                    encoded = self._encode_stored(row)
                    if encoded is None:
                        break
                    row = encoded
                if not self._produce(row):
                    break
                self._cursor = row.id
                self._tokens -= 1

    def _unpark(self) -> None:
        """Parked rows whose wait is over go back in line (the drain cursor moves back to them)."""
        if not self._parked:
            return
        now = time.monotonic()
        due = [row_id for row_id, at in self._parked.items() if at <= now]
        for row_id in due:
            del self._parked[row_id]
        if due:
            self._cursor = min(self._cursor, min(due) - 1)

    def _encode_stored(self, row: OutboxRow) -> OutboxRow | None:
        """Encode a row kept as JSON; None (stop draining) while the registry is still unreachable."""
        try:
            value = self.encoder.encode(row.schema, json.loads(row.value), row.topic)
        except RegistryUnavailable:
            return None
        except (SerdeError, ValueError) as exc:
            logger.error("outbox event %s can never be encoded, removed: %s", row.event_id, exc)
            self.outbox.delete([row.id])
            self._cursor = row.id
            return None
        self.outbox.replace_value(row.id, value)
        return OutboxRow(row.id, row.event_id, row.topic, row.schema, row.key, value, True, row.created_at)

    def _rebuild(self) -> None:
        assert self._conf is not None  # only a producer that exists (so a config) can need rebuilding
        with self._lock:
            self._fatal = False
            self._producer = self._factory(self._conf)
            self._in_flight.clear()
            self._acked, self._failed = [], []
            self._cursor = 0
        logger.warning("producer rebuilt: re-sending the %d event(s) of the outbox", self.outbox.depth)

    # -- state and shutdown ------------------------------------------------------------------------------
    def update_gauges(self) -> None:
        self.metrics.outbox_depth.set(self.outbox.depth)
        self.metrics.outbox_oldest_age.set(self.outbox.oldest_age_s())
        self.metrics.in_flight.set(len(self._in_flight))
        self.metrics.kafka_connected.set(1 if self.connected else 0)
        self.metrics.outbox_dropped.labels(self.outbox.full_policy)  # present at 0

    def in_flight(self) -> int:
        return len(self._in_flight)

    def wait_empty(self, timeout_s: float) -> bool:
        """Block until every stored event is acknowledged (True) or ``timeout_s`` passes (False)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.outbox.depth == 0 and not self._in_flight:
                return True
            time.sleep(0.05)
        return self.outbox.depth == 0

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop the thread, give in-flight events ``timeout_s`` to be acknowledged; the rest stays stored."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout_s + 5)
        if self._producer is not None:
            self._producer.flush(timeout_s)
            self._settle()
        self.update_gauges()
        logger.info(
            "delivery closed: %d event(s) acknowledged, %d left in the outbox",
            self.acked_total,
            self.outbox.depth,
        )
        self.outbox.close()
