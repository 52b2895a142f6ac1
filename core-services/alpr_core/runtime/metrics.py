"""Prometheus metrics of one consumer process, in its own registry (served on the consumer's port)."""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

logger = logging.getLogger(__name__)

BATCH_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class ConsumerMetrics:
    """Counters and gauges labelled by ``consumer`` (storage, search, dlq, metrics, alerts...)."""

    def __init__(self, consumer: str, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        self.consumer = consumer
        labels = ["consumer", "topic"]
        self.consumed = Counter(
            "alpr_consumer_records_consumed_total",
            "Messages read from Kafka.",
            labels,
            registry=self.registry,
        )
        self.written = Counter(
            "alpr_consumer_records_written_total",
            "Records made durable by the sink.",
            labels,
            registry=self.registry,
        )
        self.retries = Counter(
            "alpr_consumer_batch_retries_total",
            "Batch writes retried after a transient error.",
            ["consumer"],
            registry=self.registry,
        )
        self.timeouts = Counter(
            "alpr_consumer_batch_timeouts_total",
            "Batch writes that hit the batch timeout.",
            ["consumer"],
            registry=self.registry,
        )
        self.dlq = Counter(
            "alpr_consumer_dlq_records_total",
            "Messages sent to the dead-letter topic.",
            ["consumer", "error_type"],
            registry=self.registry,
        )
        self.batch_latency = Histogram(
            "alpr_consumer_batch_latency_seconds",
            "Time to decode, write and commit one batch.",
            ["consumer"],
            buckets=BATCH_BUCKETS_S,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "alpr_consumer_batch_size_records",
            "Records per flushed batch.",
            ["consumer"],
            buckets=(1, 10, 50, 100, 500, 1000, 2000, 5000, 10000),
            registry=self.registry,
        )
        self.lag = Gauge(
            "alpr_consumer_lag_records",
            "High watermark minus the consumer position.",
            ["consumer", "topic", "partition"],
            registry=self.registry,
        )
        self.paused = Gauge(
            "alpr_consumer_paused",
            "1 while partitions are paused by a failing sink.",
            ["consumer"],
            registry=self.registry,
        )

    def serve(self, port: int | None) -> None:
        """Expose the registry on ``port`` (None: not served, e.g. in tests)."""
        if port is None:
            return
        start_http_server(port, registry=self.registry)
        logger.info("%s-consumer metrics on :%d/metrics", self.consumer, port)
