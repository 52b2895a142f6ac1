"""Edge metric snapshots (schemas/system_metric.avsc) as Prometheus gauges that expire.

Each snapshot sets, per value, ``alpr_edge_metric_value{site,host,camera,component,name}``, plus
``alpr_edge_status{site,host,camera,component,status}`` and
``alpr_edge_last_report_timestamp_seconds{site,host,camera,component}``. A series whose newest
snapshot is older than ``ttl_s`` disappears from the next scrape, so an edge that stopped reporting
shows up as absent (alert on ``absent()`` or on the timestamp) instead of frozen values.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

SeriesKey = tuple[str, str, str, str]  # site, host, camera ('' = node-wide), component


class EdgeMetricsCollector(Collector):
    """Holds the latest snapshot of every (site, host, camera, component) and yields it on scrape."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.time):
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._latest: dict[SeriesKey, tuple[float, str, dict[str, float]]] = {}
        self.expired = 0

    def update(self, snapshot: dict[str, Any]) -> None:
        ts = snapshot["timestamp"]
        seconds = ts.timestamp() if isinstance(ts, datetime) else float(ts) / 1000.0
        key = (snapshot["site"], snapshot["host"], snapshot.get("camera_id") or "", snapshot["component"])
        values = {str(k): float(v) for k, v in (snapshot.get("values") or {}).items()}
        with self._lock:
            current = self._latest.get(key)
            if current is None or seconds >= current[0]:
                self._latest[key] = (seconds, str(snapshot.get("status") or "ok"), values)

    def _live(self) -> dict[SeriesKey, tuple[float, str, dict[str, float]]]:
        cutoff = self._clock() - self._ttl_s
        with self._lock:
            stale = [key for key, (seconds, _, _) in self._latest.items() if seconds < cutoff]
            for key in stale:
                del self._latest[key]
            self.expired += len(stale)
            return dict(self._latest)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["site", "host", "camera", "component"]
        value = GaugeMetricFamily(
            "alpr_edge_metric_value", "Latest value reported by an edge.", labels=[*labels, "name"]
        )
        status = GaugeMetricFamily(
            "alpr_edge_status", "1 for the status an edge reports.", labels=[*labels, "status"]
        )
        seen = GaugeMetricFamily(
            "alpr_edge_last_report_timestamp_seconds",
            "When the edge took its latest snapshot.",
            labels=labels,
        )
        for key, (seconds, state, values) in sorted(self._live().items()):
            for name, number in sorted(values.items()):
                value.add_metric([*key, name], number)
            status.add_metric([*key, state], 1.0)
            seen.add_metric(list(key), seconds)
        yield value
        yield status
        yield seen
