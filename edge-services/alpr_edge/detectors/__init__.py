"""Vehicle and plate detectors.

Public API (used by the video pipeline and alpr-read)::

    vehicles = build_vehicle_detector(cfg)  # detect(bgr) -> list[Detection]: car, motorcycle, bus, truck
    plates = build_plate_detector(cfg)  # plate boxes (+ a seg mask inside each box when the model has one)
    match_plates_to_vehicles(plates, vehicles, min_overlap)  # -> list[PlateMatch]

Backends live in :data:`DETECTOR_BACKENDS` (``detector.backend`` in the config): ``onnx`` (ONNX Runtime,
CPU/CUDA/TensorRT providers) and ``ultralytics`` (``.pt``/``.onnx``/``.engine``, lazy import).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..models import resolve_model
from .base import (
    VEHICLE_CLASSES,
    Detector,
    PlateMatch,
    expand_box,
    make_session,
    match_plates_to_vehicles,
    shift_detection,
)
from .onnx_yolo import OnnxYoloDetector
from .ultralytics_backend import UltralyticsDetector

if TYPE_CHECKING:
    from ..config import EdgeConfig

logger = logging.getLogger(__name__)

DETECTOR_BACKENDS: dict[str, Callable[..., Detector]] = {
    "onnx": OnnxYoloDetector,
    "ultralytics": UltralyticsDetector,
}


def build_detector(backend: str, model: str, cfg: EdgeConfig, **kwargs) -> Detector:
    """A detector from the registry for model file ``model`` (resolved in ``cfg.model_dir``)."""
    try:
        factory = DETECTOR_BACKENDS[backend]
    except KeyError:
        known = sorted(DETECTOR_BACKENDS)
        raise ValueError(f"unknown detector backend {backend!r}; known: {known}") from None
    path = resolve_model(model, cfg.model_dir, cfg.models.verify_sha256)
    return factory(path, device=cfg.device, threads=cfg.detector.intra_op_threads,
                   iou=cfg.detector.iou_thresh, max_det=cfg.detector.max_detections, **kwargs)


def build_vehicle_detector(cfg: EdgeConfig) -> Detector:
    """COCO detector keeping ``detector.vehicle_classes`` (car, motorcycle, bus, truck)."""
    return build_detector(cfg.detector.backend, cfg.models.vehicle_model, cfg,
                          conf=cfg.detector.vehicle_conf, classes=list(cfg.detector.vehicle_classes))


def build_plate_detector(cfg: EdgeConfig, imgsz: int | None = None, conf: float | None = None) -> Detector:
    """Plate detector (one class); seg models also return a mask inside each box.

    ``imgsz`` (long side, multiple of 32) runs it at a smaller/other input than the model's own; ``conf``
    replaces ``detector.plate_conf`` as its minimum score.
    """
    extra = {"imgsz": imgsz} if imgsz else {}
    return build_detector(cfg.detector.backend, cfg.models.plate_model, cfg,
                          conf=cfg.detector.plate_conf if conf is None else conf, **extra)


__all__ = [
    "DETECTOR_BACKENDS",
    "VEHICLE_CLASSES",
    "Detector",
    "OnnxYoloDetector",
    "PlateMatch",
    "UltralyticsDetector",
    "build_detector",
    "build_plate_detector",
    "build_vehicle_detector",
    "expand_box",
    "make_session",
    "match_plates_to_vehicles",
    "shift_detection",
]
