"""Wiring of the metrics-consumer: alpr.metrics -> expiring Prometheus gauges on its metrics port."""

from __future__ import annotations

from ..config import CoreConfig
from ..runtime import ConsumerMetrics, ConsumerRunner, make_decoder
from .exporter import EdgeMetricsCollector
from .sink import EdgeMetricsSink


def build_runner(cfg: CoreConfig) -> ConsumerRunner:
    metrics = ConsumerMetrics("metrics")
    collector = EdgeMetricsCollector(cfg.metrics_exporter.series_ttl_s)
    metrics.registry.register(collector)
    decoder = make_decoder("system_metric", cfg.kafka.use_avro, cfg.kafka.schema_registry_url)
    return ConsumerRunner(
        "metrics",
        cfg.metrics_consumer,
        cfg.kafka,
        EdgeMetricsSink(collector),
        [cfg.kafka.topics.metrics.name],
        decoder,
        metrics=metrics,
    )
