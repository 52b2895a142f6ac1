"""storage-consumer against the local stack: SIGKILL x3 mid-stream, PostgreSQL restart, exactly-once rows."""

from __future__ import annotations

import threading
import time

import pytest

from tests.factories import plate_event
from tests.integration.test_consumers_support import (
    ConsumerProcess,
    consumer_env,
    encode_events,
    free_port,
    port_open,
    produce,
    require,
    require_managed,
    stack,
    stored,
    topics,
    unique,
    wait_until,
)

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _stack() -> None:
    require((9092, "Kafka"), (8081, "Schema Registry"), (5432, "PostgreSQL"))


def produce_slowly(topic: str, encoded: list, per_second: float) -> threading.Thread:
    """Produce in chunks of 100 at about ``per_second`` so the stream spans the test's disruptions."""

    def run() -> None:
        for start in range(0, len(encoded), 100):
            produce(topic, encoded[start : start + 100])
            time.sleep(100 / per_second)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_sigkill_three_times_mid_stream_stores_each_event_exactly_once() -> None:
    topic, dlq = unique("test.plates"), unique("test.dlq")
    events = [plate_event(plate=f"K{i:05d}", camera_id=f"cam-{i % 7}") for i in range(10_000)]
    ids = [e["event_id"] for e in events]
    port = free_port()
    env = consumer_env(
        "STORAGE_CONSUMER",
        topic,
        dlq,
        unique("g-storage"),
        port,
        ALPR_STORAGE_CONSUMER__BATCH_SIZE="250",
        ALPR_STORAGE_CONSUMER__FLUSH_INTERVAL_S="0.2",
    )
    with topics((topic, 3), (dlq, 1)):
        encoded = encode_events(topic, events)
        consumer = ConsumerProcess("alpr-storage-consumer", env, f"storage-sigkill-{topic}").start()
        try:
            # Four quarters, each streamed while the consumer runs; a kill lands inside each of the first
            # three, so every kill is mid-stream however slowly the machine runs (events are still to come).
            quarter = len(encoded) // 4
            at_kill: list[int] = []
            for k in range(4):
                before = max(stored(ids), 0)
                producer = produce_slowly(topic, encoded[k * quarter : (k + 1) * quarter], per_second=800)
                if k < 3:
                    wait_until(lambda b=before: stored(ids) >= b + 500, 120, "progress before the kill")
                    consumer.kill()
                    at_kill.append(stored(ids))
                    consumer.start()
                producer.join(120)
                assert not producer.is_alive(), "producing hung"
            wait_until(lambda: stored(ids) == len(ids), 180, "all 10,000 events stored")
            time.sleep(2)  # anything still in flight would show up as a duplicate now
            assert stored(ids) == 10_000
            assert all(0 < n < 10_000 for n in at_kill), f"kills were not mid-stream: {at_kill}"
            assert consumer.starts == 4 and consumer.alive()
        finally:
            consumer.stop()


def test_postgres_restart_loses_nothing_and_the_consumer_resumes_by_itself() -> None:
    require_managed("postgres")
    topic, dlq = unique("test.plates"), unique("test.dlq")
    events = [plate_event(plate=f"R{i:05d}") for i in range(3_000)]
    ids = [e["event_id"] for e in events]
    port = free_port()
    env = consumer_env(
        "STORAGE_CONSUMER",
        topic,
        dlq,
        unique("g-storage"),
        port,
        ALPR_STORAGE_CONSUMER__BATCH_SIZE="200",
        ALPR_STORAGE_CONSUMER__FLUSH_INTERVAL_S="0.2",
    )
    with topics((topic, 3), (dlq, 1)):
        encoded = encode_events(topic, events)
        consumer = ConsumerProcess("alpr-storage-consumer", env, f"storage-pgrestart-{topic}").start()
        try:
            producer = produce_slowly(topic, encoded, per_second=400)
            wait_until(lambda: stored(ids) >= 300, 60, "progress before the restart")
            try:
                stack("down", "postgres")
                assert not port_open(5432), "postgres still listening after 'stack down postgres'"
                wait_until(lambda: consumer.metric(port, "alpr_consumer_batch_retries_total") >= 1, 120,
                           "a batch retried while PostgreSQL is down")  # it fails a batch and pauses
            finally:
                stack("up", "postgres")
            producer.join(120)
            wait_until(lambda: stored(ids) == len(ids), 180, "all events stored after the restart")
            assert consumer.alive() and consumer.starts == 1
            assert consumer.metric(port, "alpr_consumer_batch_retries_total") >= 1
            assert consumer.metric(port, "alpr_consumer_dlq_records_total") == 0
        finally:
            consumer.stop()
