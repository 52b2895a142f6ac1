"""What the reader remembers about one track: timing, best plate shot, OCR reads and their vote."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from ..types import BBox, OcrResult


@dataclass
class TrackReading:
    track_id: int
    first_seen_s: float
    first_frame: int
    last_seen_s: float = 0.0
    last_frame: int = 0
    vehicle_bbox: BBox | None = None
    first_vehicle_bbox: BBox | None = None
    vehicle_label: str | None = None  # most frequent detector label over the track (labels flicker)
    label_counts: dict[str, int] = field(default_factory=dict)
    last_plate_frame: int = -10**9  # last frame the plate detector ran on this track
    next_plate_frame: int = 0  # earliest frame for the next plate detection (interval, miss back-off)
    plate_misses: int = 0  # consecutive plate detections that led to no OCR
    last_ocr_frame: int = -10**9
    heights: deque[tuple[int, float]] = field(default_factory=lambda: deque(maxlen=128), repr=False)
    best_quality: float = 0.0
    best_bbox: BBox | None = None  # plate box in frame pixels
    best_crop: np.ndarray | None = field(default=None, repr=False)
    best_vehicle_crop: np.ndarray | None = field(default=None, repr=False)
    best_frame_number: int = 0
    ocr_calls: int = 0
    jobs_pending: int = 0  # reading tasks queued or running for this track
    reads: list[OcrResult] = field(default_factory=list)
    emitted: bool = False  # a final read went out: no more plate work on this track
    ended_at_s: float | None = None  # the tracker removed it; waiting for pending OCR
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def snapshot_reads(self) -> list[OcrResult]:
        with self.lock:
            return list(self.reads)

    def approaching(self, frame_number: int, window_frames: int, min_growth: float) -> bool:
        """The box height's trend (least squares over the last 2 windows) grows by ``min_growth`` per window.

        A trend, not two samples: boxes jitter by 5-10% between frames (more between detector inputs).
        True while the track is younger than one window (too young to tell).
        """
        recent = [(f, h) for f, h in self.heights if f > frame_number - 2 * window_frames]
        if len(recent) < 3 or frame_number - recent[0][0] < window_frames:
            return True
        frames, heights = np.array(recent, dtype=np.float64).T
        slope = np.polyfit(frames, heights, 1)[0]
        return bool(slope * window_frames / max(heights.mean(), 1e-6) > min_growth)


def direction_of(first: BBox | None, last: BBox | None, min_shift: float = 0.25) -> str | None:
    """``approaching`` (moving down the image or growing), ``receding``, or None when it barely moved.

    The shift is measured in box heights, so it does not depend on the resolution.
    """
    if first is None or last is None:
        return None
    h0, h1 = first[3] - first[1], last[3] - last[1]
    dy = ((last[1] + last[3]) - (first[1] + first[3])) / 2 / max(h0, 1e-6)
    growth = h1 / max(h0, 1e-6) - 1.0
    score = dy + growth
    if abs(score) < min_shift:
        return None
    return "approaching" if score > 0 else "receding"
