"""CSV log of accepted plate events (one line each), kept whether or not Kafka is configured."""

from __future__ import annotations

import csv
import threading
from pathlib import Path
from typing import Any

COLUMNS = (
    "event_id",
    "captured_at",
    "camera_id",
    "track_id",
    "plate",
    "confidence",
    "region",
    "matches_format",
    "plate_url",
)


class CsvEventLog:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists() or self.path.stat().st_size == 0
        self._file = self.path.open("a", newline="", encoding="utf-8")
        self._writer = csv.writer(self._file)
        self._lock = threading.Lock()
        if new:
            self._writer.writerow(COLUMNS)

    def write(self, records: list[dict[str, Any]]) -> None:
        with self._lock:
            for r in records:
                plate = r["plate"]
                self._writer.writerow(
                    (
                        r["event_id"],
                        r["captured_at"].isoformat(),
                        r["camera_id"],
                        r["track_id"],
                        plate["normalized_text"],
                        f"{plate['confidence']:.3f}",
                        plate["region"] or "",
                        plate["matches_format"],
                        r["images"]["plate_url"] or "",
                    )
                )
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()
