"""Bounded queue of reading tasks (plate detection on a vehicle crop, then OCR) served by a worker thread.

``submit`` never blocks: capture and vehicle tracking never wait for plate work. A full queue drops the
new task (counted); the track simply tries again a few frames later.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Protocol

import numpy as np

from ..types import Detection, OcrResult

logger = logging.getLogger(__name__)


class PlateOcr(Protocol):
    """Reads one detected plate of an image (``alpr_edge.still.PlateReader`` has this method)."""

    def read_plate(self, image: np.ndarray, det: Detection) -> OcrResult: ...


class ReadWorker:
    """Runs submitted tasks one at a time on its own thread."""

    def __init__(self, queue_size: int = 8, name: str = "read-worker"):
        self._queue: queue.Queue[tuple[Callable[[], None], str] | None] = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._lock = threading.Lock()
        self._pending = 0
        self.dropped = self.done = self.failed = 0
        self._thread.start()

    def submit(self, task: Callable[[], None], context: str = "") -> bool:
        """Queue ``task``; False (and counted) when the queue is full."""
        with self._lock:
            try:
                self._queue.put_nowait((task, context))
            except queue.Full:
                self.dropped += 1
                logger.debug("%s reading queue full: task dropped", context)
                return False
            self._pending += 1
            return True

    @property
    def pending(self) -> int:
        return self._pending

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while self._pending and time.monotonic() < deadline:
            time.sleep(0.002)
        return not self._pending

    def close(self, timeout_s: float = 10.0) -> None:
        self.wait_idle(timeout_s)
        self._queue.put(None)
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            task, context = item
            try:
                task()
                self.done += 1
            except Exception:
                self.failed += 1
                logger.exception("%s reading task failed", context)
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
