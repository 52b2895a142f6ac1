"""metrics-consumer sink: system_metric records update the expiring edge gauges."""

from __future__ import annotations

import logging

from ..runtime import Record
from .exporter import EdgeMetricsCollector

logger = logging.getLogger(__name__)


class EdgeMetricsSink:
    """``write(batch)`` applies each snapshot to the collector (in memory: always succeeds)."""

    def __init__(self, collector: EdgeMetricsCollector):
        self._collector = collector

    def write(self, batch: list[Record]) -> None:
        for rec in batch:
            if rec.value is not None:
                self._collector.update(rec.value)

    def close(self) -> None:
        return None
