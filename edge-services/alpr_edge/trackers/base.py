"""Tracker interface and the track snapshots it returns."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ..types import BBox, Detection


class TrackState(enum.Enum):
    NEW = "new"  # started on this frame, not confirmed yet
    TRACKED = "tracked"
    LOST = "lost"  # not matched recently, kept for the lost-track buffer
    REMOVED = "removed"


@dataclass(frozen=True)
class Track:
    """A track as seen after one ``update``: box (Kalman-corrected), state and the detection it matched."""

    track_id: int
    xyxy: BBox
    score: float
    label: str
    class_id: int
    state: TrackState
    start_frame: int
    last_frame: int  # last frame a detection was matched
    hits: int  # frames with a matched detection
    detection_index: int | None = None  # index in this frame's detections, None when not matched now


@dataclass(frozen=True)
class TrackerResult:
    tracks: tuple[Track, ...]  # confirmed tracks matched on this frame
    lost: tuple[Track, ...] = ()
    removed: tuple[Track, ...] = ()  # tracks that ended on this frame (after the buffer, or never confirmed)


class Tracker(Protocol):
    def update(self, detections: Sequence[Detection], frame_number: int) -> TrackerResult: ...
