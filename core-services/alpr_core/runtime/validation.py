"""Business rules a decoded plate event must meet beyond its Avro schema (else: ValidationError -> DLQ)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")


def plate_event_validator(
    max_future_skew_s: float = 300.0, *, timestamps_as_millis: bool = False
) -> Callable[[dict[str, Any]], None]:
    """A validator refusing events a sink must never store: no usable event_id, an empty plate, a
    capture time further than ``max_future_skew_s`` in the future. Raises ``ValueError``.
    ``timestamps_as_millis``: captured_at is epoch milliseconds (an int), as decoded by
    ``AvroRegistryDecoder(timestamps_as_millis=True)``, instead of a datetime."""
    skew = timedelta(seconds=max_future_skew_s)
    skew_s = float(max_future_skew_s)

    def validate(record: dict[str, Any]) -> None:
        event_id = record.get("event_id")
        if not isinstance(event_id, str) or UUID_TEXT.fullmatch(event_id) is None:
            raise ValueError(f"event_id {event_id!r} is not a UUID")
        plate = record.get("plate") or {}
        if not str(plate.get("normalized_text") or "").strip() or not str(plate.get("text") or "").strip():
            raise ValueError(f"event {record['event_id']}: empty plate text")
        captured = record.get("captured_at")
        if timestamps_as_millis and type(captured) is int:
            if captured <= (time.time() + skew_s) * 1000:
                return
            captured = datetime.fromtimestamp(captured / 1000, timezone.utc)
        if not isinstance(captured, datetime):
            raise ValueError(f"event {record['event_id']}: captured_at is not a timestamp")
        if captured.tzinfo is None:
            captured = captured.replace(tzinfo=timezone.utc)
        if captured > datetime.now(timezone.utc) + skew:
            raise ValueError(
                f"event {record['event_id']}: captured_at {captured.isoformat()} is in the future"
            )

    return validate
