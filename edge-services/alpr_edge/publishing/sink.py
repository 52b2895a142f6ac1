"""The event sink the pipeline plugs in: processor -> crops -> outbox -> Kafka, with metrics.

``build_sink(cfg)`` builds everything from an :class:`~alpr_edge.config.EdgeConfig`; pilot.py calls
``sink.publish(read)`` for each finished read and ``sink.close()`` at the end.
"""

from __future__ import annotations

import gc
import logging
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from alpr_common.settings import NodeSettings, TopicsSettings

from ..events import ACCEPTED, REJECTED, EventProcessor, ProcessResult
from ..events.processor import FormatMatcher, NoFormats
from ..types import PlateRead
from .csv_log import CsvEventLog
from .delivery import DeliveryService, Envelope
from .encoding import make_encoder
from .images import ImageStorageService
from .metrics import EdgeMetrics
from .outbox import SqliteOutbox

if TYPE_CHECKING:
    from ..config import EdgeConfig

logger = logging.getLogger(__name__)

# Each event makes some 30 short-lived, acyclic containers (record dicts, rows, tuples) while the dedup
# index keeps ~10 lists per remembered plate: with the default thresholds (700, 10, 10) the cyclic GC
# runs a young collection every ~20 events and keeps rescanning the index. Young collections every
# 50,000 allocations (as the consumers, alpr_core.cli): -25 % CPU per published event, -8 % instructions.
GC_THRESHOLDS = (50_000, 20, 20)


def relax_gc() -> None:
    """Set the process's cyclic-GC thresholds to :data:`GC_THRESHOLDS` (the edge process publishes)."""
    gc.set_threshold(*GC_THRESHOLDS)


class DeliverySink:
    """EventSink: ``publish(read)`` returns the :class:`ProcessResult` (accepted ones are in the outbox)."""

    def __init__(
        self,
        processor: EventProcessor,
        delivery: DeliveryService,
        topics: TopicsSettings | None = None,
        images: ImageStorageService | None = None,
        csv_log: CsvEventLog | None = None,
        metrics: EdgeMetrics | None = None,
        node: NodeSettings | None = None,
        snapshot_interval_s: float = 0.0,
        metrics_server: Any = None,
    ):
        self.processor, self.delivery, self.images, self.csv_log = processor, delivery, images, csv_log
        self.topics = topics or TopicsSettings()
        self.metrics = metrics or delivery.metrics
        node = node or NodeSettings()
        self._site, self._host = node.site, node.host or socket.gethostname()
        self._server = metrics_server
        self._stop = threading.Event()
        self._process_lock = threading.Lock()
        self._snapshots: threading.Thread | None = None
        if snapshot_interval_s > 0:
            self._snapshots = threading.Thread(
                target=self._snapshot_loop, args=(snapshot_interval_s,), name="alpr-snapshots", daemon=True
            )
            self._snapshots.start()

    def publish(self, read: PlateRead) -> ProcessResult:
        return self.publish_many([read])[0]

    def publish_many(self, reads: Sequence[PlateRead]) -> list[ProcessResult]:
        """Process ``reads`` and store the accepted ones in one outbox transaction."""
        results, envelopes, records = [], [], []
        reads_by_camera: Counter[str] = Counter()
        outcomes: Counter[tuple[str, str | None]] = Counter()  # (outcome, rejection reason)
        for read in reads:
            with self._process_lock:  # camera threads share the processor (dedup memory, counts)
                result = self.processor.process(read)
            reads_by_camera[getattr(read, "camera_id", "?")] += 1
            outcomes[(result.outcome, result.reason if result.outcome == REJECTED else "")] += 1
            results.append(result)
            if result.outcome != ACCEPTED or result.record is None:
                continue
            record = result.record
            if self.images is not None:
                record["images"] = self.images.store(read, record["event_id"], read.last_seen_s)
            envelopes.append(
                Envelope(
                    record["event_id"], self.topics.plates.name, "plate_event", record["camera_id"], record
                )
            )
            records.append(record)
        for camera, n in reads_by_camera.items():
            self.metrics.reads.labels(camera).inc(n)
        for (outcome, reason), n in outcomes.items():
            self.metrics.events.labels(outcome, reason).inc(n)
        if envelopes:
            self.delivery.submit(envelopes)
            if self.csv_log is not None:
                self.csv_log.write(records)
        return results

    def publish_vehicle(self, record: dict[str, Any]) -> None:
        """Deliver a ``vehicle_event`` record (same outbox, topic ``alpr.events.vehicles``)."""
        self.delivery.submit(
            [
                Envelope(
                    record["event_id"],
                    self.topics.vehicles.name,
                    "vehicle_event",
                    record["camera_id"],
                    record,
                )
            ]
        )

    def snapshot(self) -> dict[str, Any]:
        """An edge health ``system_metric`` record (outbox, producer, events, uploads)."""
        outbox = self.delivery.outbox
        values = {
            "outbox_depth": float(outbox.depth),
            "outbox_oldest_age_s": outbox.oldest_age_s(),
            "outbox_dropped": float(outbox.dropped),
            "in_flight": float(self.delivery.in_flight()),
            "acked_total": float(self.delivery.acked_total),
            "uploads_pending": float(self.images.pending() if self.images else 0),
        }
        values.update({f"events_{k.replace(':', '_')}": float(v) for k, v in self.processor.counts.items()})
        return {
            "metric_id": str(uuid.uuid4()),
            "timestamp": datetime.now(timezone.utc),
            "site": self._site,
            "host": self._host,
            "camera_id": None,
            "component": "edge-delivery",
            "status": "ok" if self.delivery.connected else "degraded",
            "values": values,
            "labels": {},
        }

    def _snapshot_loop(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            record = self.snapshot()
            self.delivery.submit(
                [Envelope(record["metric_id"], self.topics.metrics.name, "system_metric", self._host, record)]
            )

    def close(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self.images is not None:
            self.images.close(timeout_s)
        self.delivery.close(timeout_s)
        if self.csv_log is not None:
            self.csv_log.close()
        if self._server is not None:
            self._server.shutdown()
        logger.info("event sink closed: %s", dict(self.processor.counts))


def region_formats(cfg: EdgeConfig) -> FormatMatcher:
    """The format packs of ``plate_formats:`` (the same prior as the pipeline's), or none when all are off."""
    from ..plates import FormatPrior

    prior = FormatPrior(cfg.plate_formats, cfg.ocr.region)
    if not prior.packs:
        logger.warning("no plate format packs enabled: plates are validated by length only")
        return NoFormats()
    return prior


def build_sink(cfg: EdgeConfig, serve_metrics: bool = True) -> DeliverySink:
    """The edge's event sink from its configuration (what pilot.py plugs into the pipeline)."""
    relax_gc()
    metrics = EdgeMetrics()
    server = metrics.serve(cfg.metrics) if serve_metrics else None
    processor = EventProcessor(
        cfg.events, cfg.node, region_formats(cfg), tuple(cfg.plate_formats.confusables)
    )
    outbox = SqliteOutbox(
        cfg.outbox.path, cfg.outbox.max_events, cfg.outbox.full_policy, cfg.outbox.synchronous
    )
    encoder = make_encoder(
        cfg.kafka.use_avro, cfg.kafka.schema_registry_url, cfg.publisher.auto_register_schemas
    )
    kafka_conf = cfg.kafka.client_config() if cfg.publisher.enabled else None
    delivery = DeliveryService(outbox, encoder, cfg.outbox, cfg.publisher, kafka_conf, metrics).start()
    images = ImageStorageService(cfg.images, cfg.object_store, metrics) if cfg.images.enabled else None
    csv_log = CsvEventLog(cfg.outbox.csv_log_path) if cfg.outbox.csv_log_path else None
    return DeliverySink(
        processor,
        delivery,
        cfg.kafka.topics,
        images,
        csv_log,
        metrics,
        cfg.node,
        cfg.publisher.metrics_snapshot_interval_s,
        server,
    )


def wait_delivered(sink: DeliverySink, timeout_s: float) -> bool:
    """Block until the outbox and the upload spool are empty (tests, benchmarks, end of a file run)."""
    deadline = time.monotonic() + timeout_s
    ok = sink.delivery.wait_empty(timeout_s)
    if sink.images is not None:
        ok = sink.images.wait_idle(max(0.0, deadline - time.monotonic())) and ok
    return ok
