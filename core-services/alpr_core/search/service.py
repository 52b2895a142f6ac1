"""Wiring of the search-consumer: plate events topic -> OpenSearchEventSink through the runtime."""

from __future__ import annotations

from ..config import CoreConfig
from ..runtime import ConsumerRunner, make_decoder, plate_event_validator
from .sink import OpenSearchEventSink


def build_runner(cfg: CoreConfig) -> ConsumerRunner:
    settings = cfg.search_consumer
    decoder = make_decoder(
        "plate_event",
        cfg.kafka.use_avro,
        cfg.kafka.schema_registry_url,
        plate_event_validator(settings.max_future_skew_s),
    )
    sink = OpenSearchEventSink(cfg.search, cfg.search_index)
    return ConsumerRunner(
        "search", settings, cfg.kafka, sink, [cfg.kafka.topics.plates.name], decoder, sink_threads=2
    )
