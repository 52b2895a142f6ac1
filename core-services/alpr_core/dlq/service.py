"""Wiring of the dlq-consumer: alpr.dlq (raw bytes + headers) -> DlqMessageSink."""

from __future__ import annotations

from ..config import CoreConfig
from ..runtime import ConsumerMetrics, ConsumerRunner, RawDecoder
from .sink import DlqMessageSink


def build_runner(cfg: CoreConfig) -> ConsumerRunner:
    metrics = ConsumerMetrics("dlq")
    sink = DlqMessageSink(cfg.database, registry=metrics.registry)
    return ConsumerRunner(
        "dlq", cfg.dlq_consumer, cfg.kafka, sink, [cfg.kafka.topics.dlq.name], RawDecoder(), metrics=metrics
    )
