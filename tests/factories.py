"""Builders of valid records for tests (one place, so every test shares the same contract)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any


def plate_event(plate: str = "ABC123", camera_id: str = "cam-01", **overrides: Any) -> dict[str, Any]:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    record: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "captured_at": now - timedelta(seconds=2),
        "published_at": now,
        "camera_id": camera_id,
        "track_id": 7,
        "preview": False,
        "plate": {
            "text": plate, "normalized_text": plate, "confidence": 0.93, "region": "us-generic",
            "matches_format": True,
            "candidates": [{"text": plate, "confidence": 0.93}, {"text": plate[:-1] + "8", "confidence": 0.04}],
            "char_confidences": [0.99] * len(plate),
        },
        "vehicle": {"type": "car", "make": None, "model": None, "color": None},
        "bbox": {"x1": 10.0, "y1": 20.0, "x2": 110.0, "y2": 50.0},
        "images": {"plate_url": "s3://alpr-plate-images/2026-11-22/x.jpg", "vehicle_url": None, "frame_url": None},
        "latency_ms": 120,
        "node": {"site": "site-a", "host": "edge-1"},
        "extras": {"roi": None, "direction": None, "quality_score": 0.8, "frame_number": 42, "read_count": 3},
    }
    record.update(overrides)
    return record
