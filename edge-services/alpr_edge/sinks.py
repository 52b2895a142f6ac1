"""Event sinks of the edge: a CSV log of finished reads, a log line per read, and a fan-out.

The delivery side (event processor, outbox, Kafka) plugs in as one more :class:`~alpr_edge.types.EventSink`
of the :class:`FanOutSink`.
"""

from __future__ import annotations

import csv
import json
import logging
import threading
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

import cv2

from .types import EventSink, PlateRead

logger = logging.getLogger(__name__)

CSV_COLUMNS = ("first_seen", "last_seen", "camera_id", "track_id", "plate", "confidence", "region",
               "matches_format", "read_count", "quality", "vehicle_type", "frame_number", "plate_bbox",
               "candidates", "crop_path")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="milliseconds")


def describe_read(read: PlateRead) -> str:
    region = f" region={read.region}" if read.region else ""
    return (f"camera={read.camera_id} track={read.track_id} plate={read.text or '-'} "
            f"confidence={read.confidence:.2f} reads={read.read_count}{region} "
            f"vehicle={read.vehicle_type or '-'} frame={read.frame_number}")


class CsvSink:
    """Appends one row per finished read to ``path`` (header written once); best crops saved as PNG."""

    def __init__(self, path: Path | str, crops_dir: Path | str | None = None):
        self.path = Path(path)
        self.crops_dir = Path(crops_dir) if crops_dir else None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.crops_dir:
            self.crops_dir.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists() or self.path.stat().st_size == 0
        self._file = self.path.open("a", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        if new:
            self._writer.writerow(CSV_COLUMNS)
            self._file.flush()
        self.rows = 0

    def publish(self, read: PlateRead) -> None:
        crop_path = self._save_crop(read)
        bbox = [round(v, 1) for v in read.plate_bbox]
        candidates = json.dumps([[c.text, c.confidence] for c in read.candidates[:5]])
        self._writer.writerow([
            _iso(read.first_seen_s), _iso(read.last_seen_s), read.camera_id, read.track_id, read.text,
            f"{read.confidence:.4f}", read.region or "", read.matches_format, read.read_count,
            f"{read.quality_score:.4f}", read.vehicle_type or "", read.frame_number, json.dumps(bbox),
            candidates, crop_path or ""])
        self._file.flush()
        self.rows += 1

    def _save_crop(self, read: PlateRead) -> str | None:
        if self.crops_dir is None or read.plate_crop is None or read.plate_crop.size == 0:
            return None
        stamp = datetime.fromtimestamp(read.first_seen_s, tz=timezone.utc).strftime("%Y%m%dT%H%M%S")
        path = self.crops_dir / f"{read.camera_id}_{stamp}_t{read.track_id}_{read.text or 'unread'}.png"
        if not cv2.imwrite(str(path), read.plate_crop):
            logger.warning("camera=%s track=%s cannot write crop %s", read.camera_id, read.track_id, path)
            return None
        return str(path)

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


class LogSink:
    """One INFO line per plate read, as it happens (``make demo`` shows these)."""

    def __init__(self, log: logging.Logger | None = None):
        self.log = log or logger

    def publish(self, read: PlateRead) -> None:
        self.log.info("plate read: %s", describe_read(read))

    def close(self) -> None:
        pass


class FanOutSink:
    """Publishes each read to every sink, in order; one failing sink is logged and never stops the others.

    Thread-safe: camera threads publish concurrently.
    """

    def __init__(self, sinks: Iterable[EventSink]):
        self.sinks = list(sinks)
        self._lock = threading.Lock()
        self.errors = 0

    def publish(self, read: PlateRead) -> None:
        with self._lock:
            for sink in self.sinks:
                try:
                    sink.publish(read)
                except Exception:
                    self.errors += 1
                    logger.exception("camera=%s track=%s sink %s failed", read.camera_id, read.track_id,
                                     type(sink).__name__)

    def close(self) -> None:
        with self._lock:
            for sink in self.sinks:
                try:
                    sink.close()
                except Exception:
                    logger.exception("closing sink %s failed", type(sink).__name__)
