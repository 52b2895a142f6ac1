"""Wiring of the storage-consumer: plate events topic -> PostgresEventSink through the runtime."""

from __future__ import annotations

from ..config import CoreConfig
from ..runtime import ConsumerRunner, make_decoder, plate_event_validator
from .sink import PostgresEventSink

# Two PostgreSQL connections write sub-batches concurrently (one or three: slower, docs/benchmarks.md).
SINK_THREADS = 2


def build_runner(cfg: CoreConfig) -> ConsumerRunner:
    settings = cfg.storage_consumer
    decoder = make_decoder(
        "plate_event",
        cfg.kafka.use_avro,
        cfg.kafka.schema_registry_url,
        plate_event_validator(settings.max_future_skew_s, timestamps_as_millis=cfg.kafka.use_avro),
        timestamps_as_millis=True,  # rows.py sends them as epoch milliseconds anyway (Avro only)
    )
    sink = PostgresEventSink(cfg.database, cfg.storage, writers=SINK_THREADS)
    return ConsumerRunner(
        "storage", settings, cfg.kafka, sink, [cfg.kafka.topics.plates.name], decoder, sink_threads=SINK_THREADS
    )
