"""Prometheus view of the running pipeline: per-camera state and counters, the reading queue.

A collector reads the runner's counters at scrape time (no per-frame metric calls on the hot path);
stage latencies go to the ``alpr_edge_stage_latency_seconds`` histogram through StageTimings' observer.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .sources.base import CameraState

if TYPE_CHECKING:
    from .pipeline_runner import EdgeRunner
    from .publishing.metrics import EdgeMetrics


class PipelineCollector(Collector):
    """Camera and reading-queue metrics of one EdgeRunner, computed when Prometheus scrapes."""

    def __init__(self, runner: EdgeRunner):
        self.runner = runner
        self._last: dict[str, tuple[float, int]] = {}

    def collect(self) -> Iterator[Metric]:
        cam = ["camera"]
        up = GaugeMetricFamily("alpr_edge_camera_up", "1 while the camera delivers frames, 0 when offline.",
                               labels=cam)
        fps = GaugeMetricFamily("alpr_edge_camera_fps", "Frames processed per second, per camera.",
                                labels=cam)
        fps_in = GaugeMetricFamily("alpr_edge_camera_input_fps", "Frames read from the source per second.",
                                   labels=cam)
        frames = CounterMetricFamily("alpr_edge_camera_frames_read", "Frames read from the source.",
                                     labels=cam)
        dropped = CounterMetricFamily("alpr_edge_camera_frames_dropped", "Frames dropped (latest-frame "
                                      "semantics or a full buffer).", labels=cam)
        reconnects = CounterMetricFamily("alpr_edge_camera_reconnects", "Source reconnections.", labels=cam)
        detections = CounterMetricFamily("alpr_edge_detections", "Detections, by kind (vehicle, plate).",
                                         labels=["camera", "kind"])
        ocr = CounterMetricFamily("alpr_edge_ocr_calls", "OCR calls on plate crops.", labels=cam)
        for run in list(self.runner.runs):
            s = run.camera.stats.snapshot()
            cid = run.settings.id
            up.add_metric([cid], 1.0 if s.state == CameraState.ONLINE else 0.0)
            fps.add_metric([cid], self._processed_fps(cid, run.processed, s.fps_in))
            fps_in.add_metric([cid], s.fps_in)
            frames.add_metric([cid], s.frames_read)
            dropped.add_metric([cid], s.frames_dropped)
            reconnects.add_metric([cid], s.reconnects)
            detections.add_metric([cid, "vehicle"], run.vehicle_detections)
            detections.add_metric([cid, "plate"], run.pipeline.reader.plate_detections)
            ocr.add_metric([cid], run.pipeline.reader.ocr_calls)
        yield from (up, fps, fps_in, frames, dropped, reconnects, detections, ocr)
        yield from self._queue_metrics()

    def _processed_fps(self, camera_id: str, processed: int, fps_in: float) -> float:
        """Processed frames per second between two scrapes (the input rate until there are two)."""
        now = time.monotonic()
        last = self._last.get(camera_id)
        self._last[camera_id] = (now, processed)
        if last is None or now <= last[0]:
            return fps_in
        return (processed - last[1]) / (now - last[0])

    def _queue_metrics(self) -> Iterator[Metric]:
        worker = self.runner.worker
        if worker is None:
            return
        depth = GaugeMetricFamily("alpr_edge_read_queue_depth_tasks", "Reading tasks waiting for the worker.")
        depth.add_metric([], worker.pending)
        dropped = CounterMetricFamily("alpr_edge_read_queue_dropped_tasks",
                                      "Reading tasks dropped because the queue was full.")
        dropped.add_metric([], worker.dropped)
        yield depth
        yield dropped


def attach(runner: EdgeRunner, metrics: EdgeMetrics) -> None:
    """Export ``runner``'s pipeline through ``metrics`` (its registry is served on :8001)."""
    metrics.registry.register(PipelineCollector(runner))
    runner.timings.observer = lambda stage, seconds: metrics.stage_latency.labels(stage).observe(seconds)
