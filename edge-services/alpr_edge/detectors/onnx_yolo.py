"""ONNX Runtime backend for Ultralytics YOLOv8/YOLO11 detect and seg heads (exported without NMS)."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import cv2
import numpy as np

from ..types import Detection
from .base import make_session
from .geometry import Letterbox, batched_nms, decode_yolo, letterbox, masks_in_boxes, unletterbox

logger = logging.getLogger(__name__)

_DTYPES = {"tensor(float16)": np.float16, "tensor(float)": np.float32, "tensor(double)": np.float64}


def _class_names(session) -> dict[int, str]:
    raw = session.get_modelmeta().custom_metadata_map.get("names", "")
    try:
        names = ast.literal_eval(raw) if raw else {}
    except (ValueError, SyntaxError):
        names = {}
    return {int(k): str(v) for k, v in names.items()} if isinstance(names, dict) else {}


class OnnxYoloDetector:
    """YOLO head ``1x(4+nc)xN`` (detect) or ``1x(4+nc+32)xN`` + protos (seg, masks cropped to boxes).

    Input dtype (float32/float16) comes from the model; int8 dynamic-quant models take float32.
    """

    def __init__(self, path: Path, *, conf: float = 0.25, iou: float = 0.45, classes: list[int] | None = None,
                 max_det: int = 50, device: str = "auto", threads: int = 2, with_masks: bool = True):
        self.session = make_session(path, device, threads)
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.dtype = _DTYPES.get(inp.type, np.float32)
        h, w = inp.shape[2], inp.shape[3]
        self.size = (h if isinstance(h, int) else 640, w if isinstance(w, int) else 640)
        self.names = _class_names(self.session)
        outputs = self.session.get_outputs()
        self.is_seg = len(outputs) > 1
        channels = outputs[0].shape[1]
        self.num_classes = len(self.names) or (channels - 4 - (32 if self.is_seg else 0))
        self.conf, self.iou, self.max_det = conf, iou, max_det
        self.classes = frozenset(classes) if classes else None
        self.with_masks = with_masks

    def _label(self, class_id: int) -> str:
        return self.names.get(class_id, str(class_id))

    def preprocess(self, image: np.ndarray) -> tuple[np.ndarray, Letterbox]:
        boxed, lb = letterbox(image, self.size)
        blob = cv2.dnn.blobFromImage(boxed, 1.0 / 255.0, swapRB=True)  # 1x3xHxW float32 RGB
        return blob.astype(self.dtype, copy=False), lb

    def detect(self, image: np.ndarray) -> list[Detection]:
        blob, lb = self.preprocess(image)
        outputs = self.session.run(None, {self.input_name: blob})
        raw = decode_yolo(outputs[0], self.num_classes, self.conf, self.classes)
        keep = batched_nms(raw.boxes, raw.scores, raw.classes, self.iou)[: self.max_det]
        boxes = unletterbox(raw.boxes[keep], lb)
        masks: list[np.ndarray | None] = [None] * len(keep)
        if self.is_seg and self.with_masks and raw.mask_coefs is not None and len(keep):
            protos = outputs[1][0]
            masks = list(masks_in_boxes(raw.mask_coefs[keep], protos, raw.boxes[keep], boxes, lb, self.size))
        return [Detection(xyxy=tuple(float(v) for v in box), score=float(raw.scores[k]),
                          class_id=int(raw.classes[k]), label=self._label(int(raw.classes[k])), mask=mask)
                for box, k, mask in zip(boxes, keep, masks, strict=True)
                if box[2] - box[0] >= 1 and box[3] - box[1] >= 1]
