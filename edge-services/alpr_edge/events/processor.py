"""Event processor: a finished :class:`PlateRead` becomes a ``plate_event`` record, or a counted rejection.

Steps: sanity and confidence check -> normalise (uppercase alphanumerics) -> validate (length, region
formats) -> fuzzy dedup per camera -> enrich (node, camera, track, timestamps, latency, quality, frame,
read count). Nothing here raises on a malformed read: every outcome is a :class:`ProcessResult`.
"""

from __future__ import annotations

import logging
import math
import os
import re
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

from alpr_common.settings import NodeSettings

from ..types import PlateRead
from .dedup import DEFAULT_CONFUSABLES, Deduplicator
from .settings import EventSettings

logger = logging.getLogger(__name__)

_NOT_ALNUM = re.compile(r"[^A-Z0-9]")

UNKNOWN_REGION = "unknown"
ACCEPTED = "accepted"
DEDUPLICATED = "deduplicated"
REJECTED = "rejected"


class FormatMatcher(Protocol):
    """Region plate formats: the region whose layout ``text`` (normalised) fits, or None."""

    def region_of(self, text: str) -> str | None: ...


class NoFormats:
    """Used when no region formats are configured: nothing is validated beyond length."""

    def region_of(self, text: str) -> str | None:
        return None


@dataclass(frozen=True)
class ProcessResult:
    outcome: str  # accepted | deduplicated | rejected
    reason: str | None = None  # rejection reason, or the event id a duplicate repeats
    record: dict[str, Any] | None = None  # plate_event record when accepted


def normalise(text: str) -> str:
    """Uppercase alphanumerics only (the search key)."""
    return _NOT_ALNUM.sub("", text.upper())


def _finite(value: Any) -> bool:
    """A finite real number (Python or numpy scalar), not a bool."""
    kind = type(value)
    if kind is float:  # the usual case first: ~3x cheaper than the general test
        return math.isfinite(value)
    if kind is int:
        return True
    try:
        return math.isfinite(value) and value is not True and value is not False
    except TypeError:
        return False


class EventIds:
    """Random (version 4) UUID strings, as ``str(uuid.uuid4())``, from ``os.urandom`` read 4 KiB at a time:
    one system call per 256 ids instead of one per id, and no ``uuid.UUID`` object. The same kernel CSPRNG;
    the buffer is dropped in a forked child, so parent and child never hand out the same ids."""

    _CHUNK = 4096

    def __init__(self) -> None:
        self._buf, self._pos = b"", 0
        self._lock = threading.Lock()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._drop)

    def _drop(self) -> None:
        self._buf, self._pos = b"", 0
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            pos = self._pos
            if pos + 16 > len(self._buf):
                self._buf, pos = os.urandom(self._CHUNK), 0
            self._pos = pos + 16
            h = self._buf[pos : pos + 16].hex()
        # version nibble 4, variant bits 10 (RFC 4122), as uuid.UUID(version=4) sets them
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


new_event_id = EventIds()


def _scores(values: Any) -> list[float]:
    """Per-character confidences as floats; NaN/inf become 0."""
    out = [float(v) for v in values]
    return out if all(map(math.isfinite, out)) else [v if math.isfinite(v) else 0.0 for v in out]


def _ms(ts_s: float) -> datetime:
    return datetime.fromtimestamp(ts_s, tz=timezone.utc)


class EventProcessor:
    """``process(read)`` -> :class:`ProcessResult`; ``counts`` holds outcomes and rejection reasons."""

    def __init__(
        self,
        settings: EventSettings | None = None,
        node: NodeSettings | None = None,
        formats: FormatMatcher | None = None,
        confusables: tuple[str, ...] = DEFAULT_CONFUSABLES,
        clock: Any = time.time,
    ):
        self.settings = settings or EventSettings()
        node = node or NodeSettings()
        self.site = node.site
        self.host = node.host or socket.gethostname()
        self.formats = formats or NoFormats()
        self.clock = clock
        s = self.settings
        self.dedup = Deduplicator(
            s.dedup_similarity_threshold,
            s.dedup_time_window_seconds,
            s.dedup_max_entries_per_camera,
            s.dedup_max_cameras,
            confusables,
        )
        self.counts: Counter[str] = Counter()

    def process(self, read: PlateRead) -> ProcessResult:
        try:
            result = self._process(read)
        except Exception as exc:  # a malformed read never takes the pipeline down
            logger.warning(
                "camera=%s track=%s read rejected: %s: %s",
                getattr(read, "camera_id", "?"),
                getattr(read, "track_id", "?"),
                type(exc).__name__,
                exc,
            )
            result = ProcessResult(REJECTED, "malformed")
        self.counts[result.outcome if result.outcome != REJECTED else f"rejected:{result.reason}"] += 1
        return result

    def _process(self, read: PlateRead) -> ProcessResult:
        reason = self._check(read)
        if reason:
            return ProcessResult(REJECTED, reason)
        text = normalise(read.text)
        s = self.settings
        if len(text) < s.min_length:
            return ProcessResult(REJECTED, "empty_text" if not text else "too_short")
        if len(text) > s.max_length:
            return ProcessResult(REJECTED, "too_long")
        region = read.region if read.region and read.matches_format else self.formats.region_of(text)
        matches = (
            None if isinstance(self.formats, NoFormats) and read.matches_format is None else bool(region)
        )
        if matches is False:
            region = UNKNOWN_REGION  # formats known, none fits (alpr_edge.plates)
        if s.reject_format_mismatch and not matches:
            return ProcessResult(REJECTED, "format_mismatch")
        event_id = new_event_id()
        if s.dedup_enabled:
            hit = self.dedup.check(
                read.camera_id, text, read.last_seen_s, read.track_id, event_id, read.preview
            )
            if hit:
                logger.debug(
                    "camera=%s track=%s %s duplicates event %s (similarity %.2f, %.0f s ago)",
                    read.camera_id,
                    read.track_id,
                    text,
                    hit.event_id,
                    hit.similarity,
                    hit.age_s,
                )
                return ProcessResult(DEDUPLICATED, hit.event_id)
        return ProcessResult(ACCEPTED, None, self._record(read, event_id, text, region, matches))

    def _check(self, read: PlateRead) -> str | None:
        if not isinstance(read.text, str) or not read.text.strip():
            return "empty_text"
        if len(read.text) > self.settings.max_raw_text_chars:
            return "oversize_text"
        if not _finite(read.confidence) or not 0.0 <= read.confidence <= 1.0:
            return "invalid_confidence"
        if read.confidence < self.settings.min_confidence:
            return "low_confidence"
        if not isinstance(read.camera_id, str) or not read.camera_id:
            return "missing_camera"
        if not _finite(read.first_seen_s) or not _finite(read.last_seen_s):
            return "invalid_timestamp"
        bbox = read.plate_bbox
        if len(bbox) != 4 or not (_finite(bbox[0]) and _finite(bbox[1]) and _finite(bbox[2]) and _finite(bbox[3])):
            return "invalid_bbox"
        return None

    def _candidates(self, read: PlateRead) -> list[dict[str, Any]]:
        out = [
            {"text": c.text, "confidence": float(c.confidence)}
            for c in read.candidates
            if isinstance(c.text, str) and _finite(c.confidence)
        ]
        return out[: self.settings.max_candidates]

    def _record(
        self, read: PlateRead, event_id: str, text: str, region: str | None, matches: bool | None
    ) -> dict[str, Any]:
        now = self.clock()
        x1, y1, x2, y2 = read.plate_bbox
        candidates = self._candidates(read)
        quality = float(read.quality_score) if _finite(read.quality_score) else None
        return {
            "event_id": event_id,
            "captured_at": _ms(read.first_seen_s),
            "published_at": _ms(now),
            "camera_id": read.camera_id,
            "track_id": int(read.track_id),
            "preview": bool(read.preview),
            "plate": {
                "text": read.text,
                "normalized_text": text,
                "confidence": float(read.confidence),
                "region": region,
                "matches_format": matches,
                "candidates": candidates,
                "char_confidences": _scores(read.char_confidences),
            },
            "vehicle": {"type": read.vehicle_type, "make": None, "model": None, "color": None}
            if read.vehicle_type
            else None,
            "bbox": {"x1": float(x1), "y1": float(y1), "x2": float(x2), "y2": float(y2)},
            "images": {"plate_url": None, "vehicle_url": None, "frame_url": None},
            "latency_ms": max(0, int((now - read.last_seen_s) * 1000)),
            "node": {"site": self.site, "host": self.host},
            "extras": {
                "roi": None,
                "direction": read.direction,
                "quality_score": quality,
                "frame_number": int(read.frame_number) if _finite(read.frame_number) else None,
                "read_count": int(read.read_count) if _finite(read.read_count) else 1,
            },
        }
