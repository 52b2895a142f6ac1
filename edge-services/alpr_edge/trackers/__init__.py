"""Multi-object trackers (one instance per camera), chosen by name from :data:`TRACKERS`."""

from __future__ import annotations

from ..config import TrackingSettings
from .base import Track, Tracker, TrackerResult, TrackState
from .byte_tracker import ByteTracker

TRACKERS: dict[str, type[ByteTracker]] = {"bytetrack": ByteTracker}


def build_tracker(settings: TrackingSettings | None = None, camera_id: str = "",
                  name: str = "bytetrack") -> Tracker:
    try:
        cls = TRACKERS[name]
    except KeyError:
        raise ValueError(f"unknown tracker {name!r}; known: {', '.join(sorted(TRACKERS))}") from None
    return cls(settings, camera_id=camera_id)


__all__ = ["TRACKERS", "ByteTracker", "Track", "TrackState", "Tracker", "TrackerResult", "build_tracker"]
