"""Ultralytics backend (``.pt``/``.onnx``/``.engine``); ``ultralytics`` is imported lazily."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from ..types import Detection, to_bbox

logger = logging.getLogger(__name__)


class UltralyticsDetector:
    """Runs a model through ``ultralytics.YOLO`` (TensorRT engines, PyTorch weights, ONNX)."""

    def __init__(self, path: Path, *, conf: float = 0.25, iou: float = 0.45, classes: list[int] | None = None,
                 max_det: int = 50, device: str = "auto", threads: int = 2, with_masks: bool = True,
                 imgsz: int | None = None):
        try:
            from ultralytics import YOLO
        except ImportError as exc:
            raise RuntimeError("the ultralytics detector backend needs `pip install ultralytics` "
                               "(and torch); use detector.backend: onnx otherwise") from exc
        self.model = YOLO(str(path))
        self.kwargs: dict[str, Any] = {"conf": conf, "iou": iou, "classes": classes, "max_det": max_det,
                                       "verbose": False}
        if imgsz and path.suffix == ".engine":  # TensorRT engines keep the input size they were built with
            logger.info("%s: imgsz %d ignored, a TensorRT engine's input size is fixed at export", path.name, imgsz)
        elif imgsz:
            self.kwargs["imgsz"] = imgsz
        if device in ("cuda", "tensorrt"):
            self.kwargs["device"] = 0
        elif device == "cpu":
            self.kwargs["device"] = "cpu"
        self.with_masks = with_masks

    def detect(self, image: np.ndarray) -> list[Detection]:
        result = self.model.predict(image, **self.kwargs)[0]
        boxes = result.boxes
        xyxy = boxes.xyxy.cpu().numpy()
        polygons = None
        if self.with_masks and getattr(result, "masks", None) is not None:
            polygons = result.masks.xy  # polygons in original-image pixels
        out = []
        for i, box in enumerate(xyxy):
            cls = int(boxes.cls[i])
            mask = None
            if polygons is not None:
                mask = polygon_mask(polygons[i], box)
            out.append(Detection(xyxy=to_bbox(box), score=float(boxes.conf[i]), class_id=cls,
                                 label=str(result.names.get(cls, cls)), mask=mask))
        return out


def polygon_mask(polygon: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Bool mask of the box area (rounded out) with ``polygon`` (original-image pixels) filled."""
    import cv2

    x1, y1 = int(box[0]), int(box[1])
    w, h = max(1, int(np.ceil(box[2])) - x1), max(1, int(np.ceil(box[3])) - y1)
    mask = np.zeros((h, w), dtype=np.uint8)
    if len(polygon):
        pts = np.round(np.asarray(polygon, dtype=np.float32) - [x1, y1]).astype(np.int32)
        cv2.fillPoly(mask, [pts], 1)
    return mask.astype(bool)
