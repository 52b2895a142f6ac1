"""metrics-consumer: alpr.metrics snapshots as Prometheus gauges labelled by site, host and camera."""

from .exporter import EdgeMetricsCollector
from .sink import EdgeMetricsSink

__all__ = ["EdgeMetricsCollector", "EdgeMetricsSink"]
