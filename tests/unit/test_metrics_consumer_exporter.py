"""metrics-consumer: snapshots become gauges labelled by site/host/camera and expire."""

from __future__ import annotations

from datetime import datetime, timezone

from prometheus_client import CollectorRegistry, generate_latest

from alpr_core.metrics import EdgeMetricsCollector, EdgeMetricsSink
from alpr_core.runtime import Record

T0 = 1_795_000_000.0


def snapshot(host: str, ts: float, camera: str | None = "cam-01", **values: float) -> dict:
    return {
        "metric_id": "m",
        "timestamp": datetime.fromtimestamp(ts, timezone.utc),
        "site": "s1",
        "host": host,
        "camera_id": camera,
        "component": "pipeline",
        "status": "ok",
        "values": values,
        "labels": {},
    }


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def scrape(collector: EdgeMetricsCollector) -> str:
    registry = CollectorRegistry()
    registry.register(collector)
    return generate_latest(registry).decode()


def write(sink: EdgeMetricsSink, *snaps: dict) -> None:
    sink.write([Record("alpr.metrics", 0, i, None, None, b"", s) for i, s in enumerate(snaps)])


def test_values_are_labelled_by_site_host_camera() -> None:
    clock = Clock()
    collector = EdgeMetricsCollector(ttl_s=60, clock=clock)
    write(
        EdgeMetricsSink(collector),
        snapshot("edge-1", T0, fps_in=12.5),
        snapshot("edge-1", T0, camera=None, cpu=0.4),
    )
    text = scrape(collector)
    assert (
        'alpr_edge_metric_value{camera="cam-01",component="pipeline",host="edge-1",name="fps_in",'
        'site="s1"} 12.5' in text
    )
    assert (
        'alpr_edge_metric_value{camera="",component="pipeline",host="edge-1",name="cpu",site="s1"} 0.4'
        in text
    )
    assert (
        'alpr_edge_status{camera="cam-01",component="pipeline",host="edge-1",site="s1",status="ok"} 1.0'
        in text
    )


def test_older_snapshot_does_not_overwrite_newer() -> None:
    collector = EdgeMetricsCollector(ttl_s=60, clock=Clock())
    write(EdgeMetricsSink(collector), snapshot("edge-1", T0, fps_in=10), snapshot("edge-1", T0 - 5, fps_in=3))
    assert 'name="fps_in",site="s1"} 10.0' in scrape(collector)


def test_silent_edges_expire() -> None:
    clock = Clock()
    collector = EdgeMetricsCollector(ttl_s=60, clock=clock)
    sink = EdgeMetricsSink(collector)
    write(sink, snapshot("edge-1", T0, fps_in=10), snapshot("edge-2", T0, fps_in=20))
    clock.now = T0 + 50
    write(sink, snapshot("edge-2", T0 + 50, fps_in=21))
    clock.now = T0 + 70
    text = scrape(collector)
    assert 'host="edge-1"' not in text and 'host="edge-2",name="fps_in",site="s1"} 21.0' in text
    assert collector.expired == 1
