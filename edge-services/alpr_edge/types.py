"""Results passed between edge stages: frozen dataclasses, plus the event sink interface.

The perception side (sources, detectors, trackers, OCR, per-track reading) produces :class:`PlateRead`
objects and hands them to an :class:`EventSink`; the delivery side (events, publishing) implements it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

BBox = tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels of the original frame


def to_bbox(box: np.ndarray) -> BBox:
    """A :data:`BBox` of floats from one ``x1, y1, x2, y2`` row of a detector's boxes."""
    x1, y1, x2, y2 = box
    return float(x1), float(y1), float(x2), float(y2)


@dataclass(frozen=True)
class Frame:
    camera_id: str
    image: np.ndarray = field(repr=False, compare=False)  # BGR uint8, HxWx3
    frame_number: int
    timestamp_s: float  # wall-clock capture time, seconds since the epoch


@dataclass(frozen=True)
class Detection:
    xyxy: BBox
    score: float
    class_id: int
    label: str
    mask: np.ndarray | None = field(default=None, repr=False, compare=False)  # HxW bool in the box, seg heads


@dataclass(frozen=True)
class PlateCandidate:
    text: str
    confidence: float


@dataclass(frozen=True)
class OcrResult:
    text: str
    confidence: float
    char_confidences: tuple[float, ...] = ()
    candidates: tuple[PlateCandidate, ...] = ()
    region: str | None = None  # format prior the text was read with (us, br), None without one


@dataclass(frozen=True)
class PlateRead:
    """One finished read: a vehicle passage (one track) or one plate of a still image."""

    camera_id: str
    track_id: int
    text: str
    confidence: float
    char_confidences: tuple[float, ...]
    candidates: tuple[PlateCandidate, ...]
    plate_bbox: BBox
    first_seen_s: float
    last_seen_s: float
    frame_number: int
    read_count: int
    quality_score: float
    region: str | None = None
    matches_format: bool | None = None
    vehicle_bbox: BBox | None = None
    vehicle_type: str | None = None
    direction: str | None = None
    preview: bool = False
    plate_crop: np.ndarray | None = field(default=None, repr=False, compare=False)
    vehicle_crop: np.ndarray | None = field(default=None, repr=False, compare=False)
    frame: np.ndarray | None = field(default=None, repr=False, compare=False)
    first_frame: int = 0  # camera frame numbers of the track's first and last sighting (0: no track)
    last_frame: int = 0


class EventSink(Protocol):
    """Where finished reads go (CSV log, event processor + outbox + Kafka...)."""

    def publish(self, read: PlateRead) -> None: ...

    def close(self) -> None: ...
