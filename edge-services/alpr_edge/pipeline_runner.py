"""Runs every enabled camera: a capture thread and a processing thread per camera, one shared OCR worker,
all finished reads to one sink. ``stop()`` (Ctrl-C, SIGTERM) ends cleanly: threads joined, tracks flushed,
sinks closed by the caller.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .config import CameraSettings, EdgeConfig
from .pipeline import CameraPipeline, FrameResult, Models, StageTimings, build_camera_pipeline
from .reading.worker import ReadWorker
from .sources import CameraThread, start_camera
from .types import EventSink, Frame

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOptions:
    display: bool = False
    max_frames: int | None = None  # per camera
    save_video: Path | None = None
    stats_interval_s: float = 10.0


@dataclass(frozen=True)
class CameraSummary:
    camera_id: str
    state: str
    frames_in: int
    frames_processed: int
    frames_dropped: int
    reconnects: int
    reads: int


@dataclass(frozen=True)
class RunSummary:
    cameras: tuple[CameraSummary, ...]
    elapsed_s: float
    ocr_calls: int
    tasks_dropped: int  # reading tasks (plate detection + OCR) dropped on a full queue
    timings_ms: dict[str, float]

    @property
    def frames_processed(self) -> int:
        return sum(c.frames_processed for c in self.cameras)


class _CameraRun:
    def __init__(self, settings: CameraSettings, camera: CameraThread, pipeline: CameraPipeline):
        self.settings, self.camera, self.pipeline = settings, camera, pipeline
        self.processed = self.received = self.reads = self.vehicle_detections = 0
        self.writer: cv2.VideoWriter | None = None
        self.labels: dict[int, str] = {}
        self.thread: threading.Thread | None = None


class EdgeRunner:
    def __init__(self, cfg: EdgeConfig, models: Models, sink: EventSink, options: RunOptions | None = None):
        self.cfg, self.models, self.sink = cfg, models, sink
        self.options = options or RunOptions()
        self.timings = StageTimings()
        self._stop = threading.Event()
        self._display_ok = self.options.display
        self.runs: list[_CameraRun] = []
        self.worker: ReadWorker | None = None

    def stop(self) -> None:
        if not self._stop.is_set():
            logger.info("stopping: flushing tracks and joining threads")
        self._stop.set()

    def run(self) -> RunSummary:
        started = time.monotonic()
        worker = self.worker = ReadWorker(self.cfg.pipeline.read_queue_size) if self.models.plates else None
        runs = self.runs = [self._start(cam, worker) for cam in self.cfg.cameras if cam.enabled]
        if not runs:
            logger.warning("no enabled cameras in the configuration")
        next_stats = time.monotonic() + self.options.stats_interval_s
        try:
            while any(r.thread and r.thread.is_alive() for r in runs):
                time.sleep(0.1)
                if time.monotonic() >= next_stats:
                    self._log_stats(runs, worker)
                    next_stats = time.monotonic() + self.options.stats_interval_s
        finally:
            self.stop()
            for r in runs:
                if r.thread:
                    r.thread.join()
            if worker:
                worker.close()
        self._log_stats(runs, worker)
        return self._summary(runs, worker, time.monotonic() - started)

    def _start(self, cam: CameraSettings, worker: ReadWorker | None) -> _CameraRun:
        pipeline = build_camera_pipeline(cam.id, self.cfg, self.models, worker, self.timings)
        run = _CameraRun(cam, start_camera(cam, self.cfg.sources), pipeline)
        run.thread = threading.Thread(target=self._process, args=(run,), name=f"pipeline-{cam.id}",
                                      daemon=True)
        run.thread.start()
        logger.info("camera=%s started kind=%s", cam.id, type(run.camera.source).__name__)
        return run

    def _process(self, run: _CameraRun) -> None:
        skip = self.cfg.pipeline.skip_frames
        try:
            while not self._stop.is_set():
                frame = run.camera.buffer.get(timeout_s=0.5)
                if frame is None:
                    if run.camera.buffer.closed:
                        break
                    continue
                run.received += 1
                if self.options.max_frames and run.received > self.options.max_frames:
                    break
                if skip and (run.received - 1) % (skip + 1):
                    continue
                result = run.pipeline.process(frame)
                run.processed += 1
                run.vehicle_detections += len(result.vehicles)
                self._publish(run, result.reads)
                self._show(run, frame, result)
        except Exception:
            logger.exception("camera=%s pipeline failed", run.settings.id)
        finally:
            run.camera.stop()
            run.camera.join(timeout=10)
            self._publish(run, run.pipeline.flush())
            if run.writer is not None:
                run.writer.release()

    def _publish(self, run: _CameraRun, reads) -> None:
        for read in reads:
            run.reads += 1
            if read.text:
                run.labels[read.track_id] = read.text
            self.sink.publish(read)

    def _show(self, run: _CameraRun, frame: Frame, result: FrameResult) -> None:
        if self.options.save_video is None and not self._display_ok:
            return
        image = annotate(frame.image, result, run.labels)
        if self.options.save_video is not None:
            if run.writer is None:
                run.writer = self._open_writer(run.settings.id, image, run.camera.source.fps or 15.0)
            run.writer.write(image)
        if self._display_ok:
            try:
                cv2.imshow(run.settings.id, image)
                cv2.waitKey(1)
            except cv2.error:
                logger.warning("no display available (headless OpenCV); continuing without --display")
                self._display_ok = False

    def _open_writer(self, camera_id: str, image: np.ndarray, fps: float) -> cv2.VideoWriter:
        path = Path(self.options.save_video or "output/annotated.mp4")
        if len([c for c in self.cfg.cameras if c.enabled]) > 1:
            path = path.with_name(f"{path.stem}_{camera_id}{path.suffix}")
        path.parent.mkdir(parents=True, exist_ok=True)
        h, w = image.shape[:2]
        logger.info("camera=%s writing annotated video to %s", camera_id, path)
        return cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))

    def _log_stats(self, runs: list[_CameraRun], worker: ReadWorker | None) -> None:
        for r in runs:
            s = r.camera.stats.snapshot()
            logger.info("camera=%s state=%s fps_in=%.1f frames=%d processed=%d dropped=%d reconnects=%d"
                        " reads=%d reading_tasks_dropped=%d", r.settings.id, s.state.value, s.fps_in,
                        s.frames_read, r.processed, s.frames_dropped, s.reconnects, r.reads,
                        worker.dropped if worker else 0)

    def _summary(self, runs: list[_CameraRun], worker: ReadWorker | None, elapsed_s: float) -> RunSummary:
        cams = []
        for r in runs:
            s = r.camera.stats.snapshot()
            cams.append(CameraSummary(r.settings.id, s.state.value, s.frames_read, r.processed,
                                      s.frames_dropped, s.reconnects, r.reads))
        ocr_calls = sum(r.pipeline.reader.ocr_calls for r in runs)
        return RunSummary(tuple(cams), elapsed_s, ocr_calls, worker.dropped if worker else 0,
                          self.timings.medians_ms())


def annotate(image: np.ndarray, result: FrameResult, labels: dict[int, str]) -> np.ndarray:
    out = image.copy()
    for track in result.tracks:
        x1, y1, x2, y2 = (int(v) for v in track.xyxy)
        text = f"#{track.track_id} {track.label} {labels.get(track.track_id, '')}".rstrip()
        cv2.rectangle(out, (x1, y1), (x2, y2), (0, 200, 0), 2)
        cv2.putText(out, text, (x1, max(15, y1 - 6)), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 255, 0), 2)
    return out
