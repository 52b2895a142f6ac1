"""Bounded OCR queue served by a worker thread: capture and tracking never wait for OCR.

A full queue drops the new job (counted); the track simply tries again with its next better shot.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..types import Detection, OcrResult

logger = logging.getLogger(__name__)


class PlateOcr(Protocol):
    """Reads one detected plate of an image (``alpr_edge.still.PlateReader`` has this method)."""

    def read_plate(self, image: np.ndarray, det: Detection) -> OcrResult: ...


@dataclass(frozen=True)
class OcrJob:
    camera_id: str
    track_id: int
    image: np.ndarray = field(repr=False)  # the vehicle crop (or frame) the plate box refers to
    plate: Detection
    reply: Callable[[OcrJob, OcrResult | None], None] = field(repr=False)  # None: the OCR failed


class OcrWorker:
    """One thread reading plates from a bounded queue; ``submit`` never blocks."""

    def __init__(self, ocr: PlateOcr, queue_size: int = 8):
        self.ocr = ocr
        self._queue: queue.Queue[OcrJob | None] = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(target=self._run, name="ocr-worker", daemon=True)
        self._lock = threading.Lock()
        self._pending = 0
        self.dropped = self.done = self.failed = 0
        self.durations_s: list[float] = []
        self._thread.start()

    def submit(self, job: OcrJob) -> bool:
        with self._lock:
            try:
                self._queue.put_nowait(job)
            except queue.Full:
                self.dropped += 1
                logger.debug("camera=%s track=%s OCR queue full: job dropped", job.camera_id, job.track_id)
                return False
            self._pending += 1
            return True

    @property
    def pending(self) -> int:
        return self._pending

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while self._pending and time.monotonic() < deadline:
            time.sleep(0.005)
        return not self._pending

    def close(self, timeout_s: float = 10.0) -> None:
        self.wait_idle(timeout_s)
        self._queue.put(None)
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            started = time.perf_counter()
            try:
                result: OcrResult | None = self.ocr.read_plate(job.image, job.plate)
                self.done += 1
            except Exception:
                logger.exception("camera=%s track=%s OCR failed", job.camera_id, job.track_id)
                result, self.failed = None, self.failed + 1
            self.durations_s.append(time.perf_counter() - started)
            try:
                job.reply(job, result)
            finally:
                with self._lock:
                    self._pending -= 1


class CropOcr:
    """A bare recogniser (``read(crop)``) as :class:`PlateOcr`: crops the plate box, no preprocessing."""

    def __init__(self, recognizer, margin: float = 0.05):
        self.recognizer, self.margin = recognizer, margin

    def read_plate(self, image: np.ndarray, det: Detection) -> OcrResult:
        x1, y1, x2, y2 = det.xyxy
        dx, dy = (x2 - x1) * self.margin, (y2 - y1) * self.margin
        h, w = image.shape[:2]
        crop = image[max(0, int(y1 - dy)): min(h, int(y2 + dy)), max(0, int(x1 - dx)): min(w, int(x2 + dx))]
        return self.recognizer.read(crop)
