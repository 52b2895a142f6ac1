"""ONNX Runtime backend for Ultralytics YOLOv8/YOLO11 detect and seg heads (exported without NMS)."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import cv2
import numpy as np

from ..types import Detection, to_bbox
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


def rect_shape(image_hw: tuple[int, int], long_side: int, stride: int = 32) -> tuple[int, int]:
    """Network input (height, width) for an image: long side ``long_side``, short side up to a stride."""
    h, w = image_hw
    scale = long_side / max(h, w)
    short = int(np.ceil(min(h, w) * scale / stride) * stride)
    return (long_side, short) if h >= w else (short, long_side)


class OnnxYoloDetector:
    """YOLO head ``1x(4+nc)xN`` (detect) or ``1x(4+nc+32)xN`` + protos (seg, masks cropped to boxes).

    The input dtype (float32/float16) comes from the model; int8 dynamic-quant models take float32.
    With ``imgsz`` (a long side, multiple of 32) static exports are re-derived (fp32, per-aspect input
    shape, see :mod:`.derive`) so that a small, non-square input is used; needs the ``onnx`` package.
    """

    def __init__(self, path: Path, *, conf: float = 0.25, iou: float = 0.45, classes: list[int] | None = None,
                 max_det: int = 50, device: str = "auto", threads: int = 2, with_masks: bool = True,
                 imgsz: int | None = None):
        self.path, self.device, self.threads, self.imgsz = path, device, threads, imgsz
        self.session = make_session(path, device, threads)
        self.names = _class_names(self.session)
        outputs = self.session.get_outputs()
        self.is_seg = len(outputs) > 1
        channels = outputs[0].shape[1]
        self.num_classes = len(self.names) or (channels - 4 - (32 if self.is_seg else 0))
        self.conf, self.iou, self.max_det = conf, iou, max_det
        self.classes = frozenset(classes) if classes else None
        self.with_masks = with_masks
        self._sessions: dict[tuple[int, int], object] = {self._input_size(self.session): self.session}

    @staticmethod
    def _input_size(session) -> tuple[int, int]:
        h, w = session.get_inputs()[0].shape[2:4]
        return (h if isinstance(h, int) else 640, w if isinstance(w, int) else 640)

    def session_for(self, image_hw: tuple[int, int]):
        """The session whose input fits this image (derived and cached on first use)."""
        if not self.imgsz:
            return self.session
        shape = rect_shape(image_hw, self.imgsz)
        if shape not in self._sessions:
            try:
                from .derive import derive_yolo_onnx

                derived = derive_yolo_onnx(self.path, shape)
                self._sessions[shape] = make_session(derived, self.device, self.threads)
            except (ImportError, ValueError, OSError) as exc:
                logger.warning("cannot derive a %s input from %s (%s); using its own input size",
                               shape, self.path.name, exc)
                self.imgsz = None
                return self.session
        return self._sessions[shape]

    def prepare(self, image_sizes: list[tuple[int, int]]) -> None:
        """Derive and load the sessions for these (height, width) image sizes now, not on first use."""
        for size in image_sizes:
            self.session_for(size)

    def preprocess(self, image: np.ndarray, session) -> tuple[np.ndarray, Letterbox]:
        boxed, lb = letterbox(image, self._input_size(session))
        blob = cv2.dnn.blobFromImage(boxed, 1.0 / 255.0, swapRB=True)  # 1x3xHxW float32 RGB
        dtype = _DTYPES.get(session.get_inputs()[0].type, np.float32)
        return blob.astype(dtype, copy=False), lb

    def detect(self, image: np.ndarray) -> list[Detection]:
        session = self.session_for(image.shape[:2])
        blob, lb = self.preprocess(image, session)
        outputs = session.run(None, {session.get_inputs()[0].name: blob})
        raw = decode_yolo(outputs[0], self.num_classes, self.conf, self.classes)
        keep = batched_nms(raw.boxes, raw.scores, raw.classes, self.iou)[: self.max_det]
        boxes = unletterbox(raw.boxes[keep], lb)
        masks: list[np.ndarray | None] = [None] * len(keep)
        if self.is_seg and self.with_masks and raw.mask_coefs is not None and len(keep):
            protos = outputs[1][0]
            net = self._input_size(session)
            masks = list(masks_in_boxes(raw.mask_coefs[keep], protos, raw.boxes[keep], boxes, lb, net))
        return [Detection(xyxy=to_bbox(box), score=float(raw.scores[k]),
                          class_id=int(raw.classes[k]), label=self._label(int(raw.classes[k])), mask=mask)
                for box, k, mask in zip(boxes, keep, masks, strict=True)
                if box[2] - box[0] >= 1 and box[3] - box[1] >= 1]

    def _label(self, class_id: int) -> str:
        return self.names.get(class_id, str(class_id))
