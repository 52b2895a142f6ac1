"""Capture the finished events of a run through pilot.py's own delivery sink, without Kafka or MinIO.

    cfg = offline_delivery_config(cfg, workdir)           # no producer, no uploads, outbox in workdir
    capture = EventCapture(build_sink(cfg, serve_metrics=False))
    EdgeRunner(cfg, models, FanOutSink([LogSink(), capture])).run()
    capture.events                                        # tuple[FinishedEvent, ...] the processor accepted

Every read goes through the real :class:`~alpr_edge.publishing.DeliverySink`: the event processor's checks,
normalisation and fuzzy per-camera dedup, and the SQLite outbox. Only accepted events are kept; the
processor's outcome counts (deduplicated, rejected:reason) are in ``capture.outcomes``.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..events import ACCEPTED, REJECTED, ProcessResult
from ..types import PlateRead
from .passages import FinishedEvent

if TYPE_CHECKING:
    from ..config import EdgeConfig

CAMERA_FRAME_BASE = 1  # CameraThread numbers frames from 1; labels count cap.read() calls from 0


class ProcessingSink(Protocol):
    def publish(self, read: PlateRead) -> ProcessResult: ...

    def close(self) -> None: ...


def offline_delivery_config(cfg: EdgeConfig, workdir: Path) -> EdgeConfig:
    """A copy of ``cfg`` whose delivery side stays on this machine: no Kafka producer, no Schema Registry
    (events are stored as JSON), no crop uploads, the outbox in ``workdir`` (never the production outbox),
    no events CSV."""
    out = cfg.model_copy(deep=True)
    out.publisher.enabled = False
    out.kafka.use_avro = False
    out.images.enabled = False
    out.outbox.path = workdir / "outbox.sqlite3"
    out.outbox.csv_log_path = None
    return out


def event_from(read: PlateRead, record: dict[str, Any], frame_base: int = CAMERA_FRAME_BASE) -> FinishedEvent:
    """The scored view of an accepted ``plate_event`` record and the read it was made from."""
    best = (record.get("extras") or {}).get("frame_number")
    return FinishedEvent(
        track_id=int(record["track_id"]), plate=record["plate"]["normalized_text"],
        first_frame=read.first_frame - frame_base, last_frame=read.last_frame - frame_base,
        best_frame=None if best is None else int(best) - frame_base,
        confidence=float(record["plate"]["confidence"]), event_id=str(record["event_id"]))


class EventCapture:
    """EventSink: each read goes to ``inner`` (the delivery sink); the events it accepted are kept in order."""

    def __init__(self, inner: ProcessingSink, frame_base: int = CAMERA_FRAME_BASE):
        self.inner, self.frame_base = inner, frame_base
        self.outcomes: Counter[str] = Counter()
        self.log: list[str] = []  # one line per read: track, text, confidence, frames, processor outcome
        self._events: list[FinishedEvent] = []
        self._lock = threading.Lock()

    def publish(self, read: PlateRead) -> None:
        result = self.inner.publish(read)
        outcome = result.outcome if result.outcome != REJECTED else f"rejected:{result.reason}"
        with self._lock:
            self.outcomes[outcome] += 1
            self.log.append(f"track {read.track_id} {read.text or '-'} conf={read.confidence:.2f} "
                            f"reads={read.read_count} frames {read.first_frame - self.frame_base}-"
                            f"{read.last_frame - self.frame_base}: {outcome}")
            if result.outcome == ACCEPTED and result.record is not None:
                self._events.append(event_from(read, result.record, self.frame_base))

    @property
    def events(self) -> tuple[FinishedEvent, ...]:
        with self._lock:
            return tuple(self._events)

    def close(self) -> None:
        self.inner.close()
