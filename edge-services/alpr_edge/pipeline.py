"""Per-camera perception: vehicles on every frame -> ByteTrack -> per-track plate reading.

Vehicles are detected at ``pipeline.vehicle_imgsz`` (256), and on 2 frames of every
``vehicle_high_res_interval_frames`` (8) at ``vehicle_high_res_imgsz`` (480): the high-resolution pass finds
the vehicles that are too small or too cut off at low resolution (a truck at the image edge scores 0.1 at
320, 0.7 at 480) at a quarter of the cost of running it on every frame; their tracks live through the other
frames (ByteTrack keeps a lost track for ``tracking.track_buffer`` frames).

    models = load_models(cfg)                            # detectors + OCR, shared by all cameras
    worker = ReadWorker(cfg.pipeline.read_queue_size)    # plate detection + OCR off the camera thread
    pipe = build_camera_pipeline("cam-01", cfg, models, worker)
    result = pipe.process(frame)                         # FrameResult: tracks, finished PlateReads
    reads = pipe.flush()                                 # end of stream

Plates are detected only on tracked vehicle crops, only for tracks still being read, a few per frame:
that, not the vehicle detector, is what keeps the pipeline real-time on a CPU.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from .config import EdgeConfig
from .detectors.base import Detector
from .pipeline_config import PipelineSettings
from .plates import FormatPrior
from .reading.timings import StageTimings
from .reading.track_reader import TrackReader
from .reading.worker import PlateOcr, ReadWorker
from .trackers import Track, Tracker, build_tracker
from .types import Detection, Frame, PlateRead

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Models:
    vehicles: Detector
    plates: Detector | None = None
    ocr: PlateOcr | None = None
    prior: FormatPrior | None = None  # format packs shared by the reads and the track votes
    vehicles_high_res: Detector | None = None  # periodic pass at pipeline.vehicle_high_res_imgsz


@dataclass(frozen=True)
class FrameResult:
    frame_number: int
    vehicles: tuple[Detection, ...]
    tracks: tuple[Track, ...]
    reads: tuple[PlateRead, ...]




def load_models(cfg: EdgeConfig, with_ocr: bool = True, with_plates: bool = True) -> Models:
    """Vehicle detector (scores down to ByteTrack's low threshold), plate detector, plate reader."""
    from .ocr import build_recognizer
    from .still import PlateReader

    camera_cfg = _with_threads(cfg, cfg.pipeline.model_threads)
    conf = min(cfg.detector.vehicle_conf, cfg.tracking.low_thresh)
    vehicles = _vehicle_detector(camera_cfg, conf, cfg.pipeline.vehicle_imgsz)
    high_res = cfg.pipeline.vehicle_high_res_imgsz
    vehicles_high_res = _vehicle_detector(camera_cfg, conf, high_res) if high_res else None
    cfg = _with_threads(cfg, cfg.pipeline.reading_model_threads)
    plates = _plate_detector(cfg) if with_plates or with_ocr else None
    prior = FormatPrior(cfg.plate_formats, cfg.ocr.region)
    ocr = PlateReader(plates, build_recognizer(cfg), cfg.ocr, prior=prior) if with_ocr and plates is not None else None
    return Models(vehicles=vehicles, plates=plates, ocr=ocr, prior=prior, vehicles_high_res=vehicles_high_res)


def _with_threads(cfg: EdgeConfig, threads: int | None) -> EdgeConfig:
    """``cfg`` with ``threads`` ONNX Runtime intra-op threads per model (None: as configured)."""
    if threads is None:
        return cfg
    out = cfg.model_copy(deep=True)
    out.detector.intra_op_threads = threads
    return out


def _vehicle_detector(cfg: EdgeConfig, conf: float, imgsz: int | None) -> Detector:
    from .detectors import build_detector

    extra = {"imgsz": imgsz} if imgsz else {}
    return build_detector(cfg.detector.backend, cfg.models.vehicle_model, cfg, conf=conf,
                          classes=list(cfg.detector.vehicle_classes), **extra)


def _plate_detector(cfg: EdgeConfig) -> Detector:
    """On vehicle crops a small input is enough (the plate is large in the crop) and several times faster."""
    from .detectors import build_detector, build_plate_detector

    imgsz = cfg.pipeline.plate_crop_imgsz if cfg.pipeline.plate_on_vehicle_crops else None
    if imgsz:
        try:
            return build_detector(cfg.detector.backend, cfg.models.plate_model, cfg,
                                  conf=cfg.detector.plate_conf, imgsz=imgsz)
        except TypeError:
            logger.warning("detector backend %s has no imgsz option; plate detection at the model's own size",
                           cfg.detector.backend)
    return build_plate_detector(cfg)


class CameraPipeline:
    def __init__(self, camera_id: str, vehicles: Detector, reader: TrackReader,
                 tracker: Tracker | None = None, settings: PipelineSettings | None = None,
                 timings: StageTimings | None = None, vehicles_high_res: Detector | None = None):
        self.camera_id = camera_id
        self.vehicles, self.reader = vehicles, reader
        self.vehicles_high_res = vehicles_high_res
        self.frames_processed = 0
        self.tracker = tracker or build_tracker(camera_id=camera_id)
        self.settings = settings or PipelineSettings()
        self.timings = timings or StageTimings()
        self.reader.timings = self.timings
        self._labels = frozenset(self.settings.vehicle_labels)

    def process(self, frame: Frame) -> FrameResult:
        t0 = time.perf_counter()
        self.frames_processed += 1
        vehicles = tuple(d for d in self.vehicle_detector(self.frames_processed).detect(frame.image)
                         if d.label in self._labels and d.score >= self.settings.vehicle_min_score)
        t1 = time.perf_counter()
        tracked = self.tracker.update(vehicles, frame.frame_number)
        t2 = time.perf_counter()
        reads = self.reader.update(frame, tracked)
        t3 = time.perf_counter()
        self.timings.add("vehicle_detect", t1 - t0)
        self.timings.add("track", t2 - t1)
        self.timings.add("read", t3 - t2)
        self.timings.add("frame", t3 - t0)
        return FrameResult(frame.frame_number, vehicles, tracked.tracks, tuple(reads))

    def vehicle_detector(self, index: int) -> Detector:
        """The detector of the ``index``-th processed frame (from 1; skipped frames do not count): the
        high-resolution pass on 2 consecutive ones of every ``vehicle_high_res_interval_frames``."""
        if self.vehicles_high_res is None:
            return self.vehicles
        return self.vehicles_high_res if index % self.settings.vehicle_high_res_interval_frames < 2 \
            else self.vehicles

    def flush(self, timeout_s: float = 30.0) -> list[PlateRead]:
        return self.reader.flush(timeout_s)


def build_camera_pipeline(camera_id: str, cfg: EdgeConfig, models: Models, worker: ReadWorker | None,
                          timings: StageTimings | None = None,
                          prior: FormatPrior | None = None) -> CameraPipeline:
    """One camera's pipeline: its own tracker (own id counter) and track reader; shared models, worker."""
    prior = prior or models.prior or FormatPrior(cfg.plate_formats, cfg.ocr.region)
    reader = TrackReader(camera_id, models.plates, models.ocr, cfg.pipeline, prior, worker=worker)
    tracker = build_tracker(cfg.tracking, camera_id=camera_id)
    return CameraPipeline(camera_id, models.vehicles, reader, tracker, cfg.pipeline, timings,
                          vehicles_high_res=models.vehicles_high_res)
