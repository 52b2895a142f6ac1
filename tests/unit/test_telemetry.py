"""Pipeline metrics exported at scrape time: camera state and counters, reading queue, stage latencies."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from alpr_edge.pipeline_runner import EdgeRunner
from alpr_edge.publishing.metrics import EdgeMetrics
from alpr_edge.reading.timings import StageTimings
from alpr_edge.sources.base import CameraState, CameraStats
from alpr_edge.telemetry import PipelineCollector, attach


def _run(camera_id: str, state: CameraState, frames: int, dropped: int, reconnects: int) -> SimpleNamespace:
    stats = CameraStats(camera_id)
    stats.set_state(state)
    for _ in range(frames):
        stats.frame()
    stats.count(dropped=dropped, reconnects=reconnects)
    reader = SimpleNamespace(plate_detections=4, ocr_calls=2)
    return SimpleNamespace(settings=SimpleNamespace(id=camera_id), camera=SimpleNamespace(stats=stats),
                           processed=frames, vehicle_detections=7, pipeline=SimpleNamespace(reader=reader))


def _sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


@pytest.mark.parametrize(("state", "up"), [(CameraState.ONLINE, 1.0), (CameraState.OFFLINE, 0.0)])
def test_camera_metrics_follow_the_runner(state: CameraState, up: float) -> None:
    worker = SimpleNamespace(pending=5, dropped=9)
    runner = SimpleNamespace(runs=[_run("gate", state, 12, 3, 2)], worker=worker)
    registry = CollectorRegistry()
    registry.register(PipelineCollector(runner))  # type: ignore[arg-type]
    assert _sample(registry, "alpr_edge_camera_up", camera="gate") == up
    assert _sample(registry, "alpr_edge_camera_frames_read_total", camera="gate") == 12
    assert _sample(registry, "alpr_edge_camera_frames_dropped_total", camera="gate") == 3
    assert _sample(registry, "alpr_edge_camera_reconnects_total", camera="gate") == 2
    assert _sample(registry, "alpr_edge_detections_total", camera="gate", kind="vehicle") == 7
    assert _sample(registry, "alpr_edge_detections_total", camera="gate", kind="plate") == 4
    assert _sample(registry, "alpr_edge_read_queue_depth_tasks") == 5
    assert _sample(registry, "alpr_edge_read_queue_dropped_tasks_total") == 9
    assert b"alpr_edge_camera_fps" in generate_latest(registry)


def test_stage_timings_are_bounded_and_observed() -> None:
    seen: list[tuple[str, float]] = []
    timings = StageTimings(window=3, observer=lambda stage, s: seen.append((stage, s)))
    for value in (0.1, 0.2, 0.3, 0.4, 0.5):
        timings.add("ocr", value)
    assert len(timings.stages["ocr"]) == 3
    assert timings.medians_ms() == {"ocr": 400.0}
    assert len(seen) == 5


def test_attach_feeds_the_stage_histogram() -> None:
    metrics = EdgeMetrics()
    runner = EdgeRunner.__new__(EdgeRunner)
    runner.timings, runner.runs, runner.worker = StageTimings(), [], None
    attach(runner, metrics)
    runner.timings.add("vehicle_detect", 0.02)
    assert _sample(metrics.registry, "alpr_edge_stage_latency_seconds_count", stage="vehicle_detect") == 1
