"""Per-stage timings of the edge pipeline: a bounded window for medians, plus an optional observer
(the Prometheus histogram ``alpr_edge_stage_latency_seconds`` in pilot.py)."""

from __future__ import annotations

import statistics
import threading
from collections import deque
from collections.abc import Callable


class StageTimings:
    """Seconds per stage call. Keeps the last ``window`` samples per stage (bounded memory in a
    long-running edge); ``observer(stage, seconds)`` sees every sample."""

    def __init__(self, window: int = 10_000, observer: Callable[[str, float], None] | None = None):
        self.window = window
        self.observer = observer
        self.stages: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            samples = self.stages.get(stage)
            if samples is None:
                samples = self.stages[stage] = deque(maxlen=self.window)
            samples.append(seconds)
        if self.observer is not None:
            self.observer(stage, seconds)

    def medians_ms(self) -> dict[str, float]:
        with self._lock:
            return {k: round(statistics.median(v) * 1000, 2) for k, v in self.stages.items() if v}
