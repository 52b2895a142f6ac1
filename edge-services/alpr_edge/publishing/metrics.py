"""Edge metrics (prometheus-client) served on :8001: cameras, stages, events, outbox, uploads, Kafka."""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from .settings import MetricsSettings

logger = logging.getLogger(__name__)

STAGE_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class EdgeMetrics:
    """All metrics of one edge process, in their own registry (so tests can create several)."""

    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        self._pipeline_metrics(self.registry)
        self._delivery_metrics(self.registry)

    def _pipeline_metrics(self, r: CollectorRegistry) -> None:
        """Stage latencies; per-camera metrics come from alpr_edge.telemetry.PipelineCollector."""
        self.stage_latency = Histogram("alpr_edge_stage_latency_seconds", "Latency of one pipeline stage.",
                                       ["stage"], buckets=STAGE_BUCKETS_S, registry=r)

    def _delivery_metrics(self, r: CollectorRegistry) -> None:
        """Recorded by the event sink, the outbox, the producer and the uploader."""
        self.reads = Counter("alpr_edge_reads_total", "Finished plate reads handed to the event sink.",
                             ["camera"], registry=r)
        self.events = Counter("alpr_edge_events_total", "Plate reads by outcome (accepted, deduplicated, "
                              "rejected) and rejection reason.", ["outcome", "reason"], registry=r)
        self.published = Counter("alpr_edge_events_published_total",
                                 "Events acknowledged by Kafka, by topic.", ["topic"], registry=r)
        self.delivery_failures = Counter("alpr_edge_delivery_failures_total", "Failed or refused deliveries "
                                         "(the event stays in the outbox), by error.", ["error"], registry=r)
        self.outbox_depth = Gauge("alpr_edge_outbox_depth_events", "Events in the outbox.", registry=r)
        self.outbox_oldest_age = Gauge("alpr_edge_outbox_oldest_age_seconds",
                                       "Age of the oldest outbox event.", registry=r)
        self.outbox_dropped = Counter("alpr_edge_outbox_dropped_total",
                                      "Events lost to the outbox size bound, by policy.", ["policy"],
                                      registry=r)
        self.in_flight = Gauge("alpr_edge_producer_in_flight_events",
                               "Events produced, not yet acknowledged.", registry=r)
        self.kafka_connected = Gauge("alpr_edge_kafka_connected", "1 when the producer reaches a broker.",
                                     registry=r)
        self.uploads_pending = Gauge("alpr_edge_uploads_pending", "Images waiting in the upload spool.",
                                     registry=r)
        self.uploads = Counter("alpr_edge_uploads_total", "Image uploads by result (ok, failed).", ["result"],
                               registry=r)
        self.object_store_up = Gauge("alpr_edge_object_store_up", "1 when the last upload succeeded.",
                                     registry=r)

    def serve(self, settings: MetricsSettings) -> Any:
        """Start the /metrics HTTP server; returns the server (``shutdown()`` stops it) or None when off."""
        if not settings.enabled:
            return None
        try:
            server, _thread = start_http_server(settings.port, addr=settings.addr, registry=self.registry)
        except OSError as exc:
            logger.error(
                "cannot serve metrics on %s:%s: %s (continuing without /metrics)",
                settings.addr,
                settings.port,
                exc,
            )
            return None
        logger.info("metrics on http://%s:%s/metrics", settings.addr, server.server_port)
        return server
