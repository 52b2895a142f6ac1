"""Plate crop preprocessing: margin, deskew by the seg mask, CLAHE, test-time multi-crops.

Which of these are on by default was chosen by measurement on the dev sets (docs/benchmarks.md).
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from ..config import OcrSettings
from ..types import BBox, Detection

logger = logging.getLogger(__name__)

MIN_DESKEW_DEG = 2.0
MAX_DESKEW_DEG = 30.0
# Test-time blur: crops of plates narrower than the OCR input (upscaled) are also read after a Gaussian
# blur of this sigma (source pixels), all tables averaged (US dev top-1 +0.018, BR unchanged;
# docs/benchmarks.md).
TTA_BLUR_SIGMA = 0.7


def crop_box(image: np.ndarray, box: BBox, margin_x: float, margin_y: float) -> np.ndarray:
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


def mask_angle(mask: np.ndarray | None) -> float:
    """Tilt of the plate in degrees from its seg mask's minimum-area rectangle (0 when unknown)."""
    if mask is None or mask.size == 0 or mask.sum() < 20:
        return 0.0
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return 0.0
    (_, _), (rw, rh), angle = cv2.minAreaRect(max(contours, key=cv2.contourArea))
    if rw < rh:  # OpenCV reports the angle of the first side; make it the long side's
        angle -= 90.0
    angle = (angle + 90.0) % 180.0 - 90.0
    return float(angle) if MIN_DESKEW_DEG <= abs(angle) <= MAX_DESKEW_DEG else 0.0


def rotated_crop(image: np.ndarray, box: BBox, angle: float, margin_x: float, margin_y: float) -> np.ndarray:
    """Crop of ``box`` after rotating the image around the box centre by ``angle`` degrees.

    The box of a tilted plate is the plate's axis-aligned hull; after rotation the plate is level and its
    own size is recovered from the hull (w = W cos a - H sin a over cos 2a, likewise h).
    """
    x1, y1, x2, y2 = box
    cx, cy, bw, bh = (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1
    a = np.deg2rad(abs(angle))
    cos2 = np.cos(2 * a)
    pw = (bw * np.cos(a) - bh * np.sin(a)) / cos2 if cos2 > 0.3 else bw
    ph = (bh * np.cos(a) - bw * np.sin(a)) / cos2 if cos2 > 0.3 else bh
    if pw < 0.5 * bw or ph < 0.3 * bh:
        pw, ph = bw, bh
    out_w, out_h = round(pw * (1 + 2 * margin_x)), round(ph * (1 + 2 * margin_y))
    mat = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
    mat[0, 2] += out_w / 2 - cx
    mat[1, 2] += out_h / 2 - cy
    return cv2.warpAffine(image, mat, (max(2, out_w), max(2, out_h)), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def _one_crop(image: np.ndarray, det: Detection, margin: float, angle: float,
              settings: OcrSettings) -> np.ndarray:
    base_y = settings.margin if settings.margin_y is None else settings.margin_y
    margin_y = max(0.0, base_y + margin - settings.margin)
    if angle:
        crop = rotated_crop(image, det.xyxy, angle, margin, margin_y)
    else:
        crop = crop_box(image, det.xyxy, margin, margin_y)
    if crop.size and settings.clahe:
        crop = apply_clahe(crop)
    return crop


def crop_margins(settings: OcrSettings) -> list[float]:
    """Margins of the test-time crops: ``multi_crop`` values spread around ``margin``."""
    n = settings.multi_crop
    if n == 1:
        return [settings.margin]
    spread = settings.multi_crop_spread
    return [max(0.0, settings.margin + spread * (i / (n - 1) - 0.5) * 2) for i in range(n)]


def plate_crops(image: np.ndarray, det: Detection, settings: OcrSettings) -> list[np.ndarray]:
    """The crop(s) to OCR for one detection (several for test-time voting); empty ones dropped."""
    wide = det.xyxy[2] - det.xyxy[0] >= settings.deskew_min_width_px
    angle = mask_angle(det.mask) if settings.deskew and wide else 0.0
    crops = [_one_crop(image, det, m, angle, settings) for m in crop_margins(settings)]
    return [c for c in crops if c.size and min(c.shape[:2]) >= 2]


def with_blurred(crops: list[np.ndarray], sigma: float = TTA_BLUR_SIGMA) -> list[np.ndarray]:
    """``crops`` followed by a Gaussian-blurred copy of each (test-time variants; ``sigma`` <= 0: none).

    Upscaled small crops carry JPEG blocking and aliasing that the OCR model sometimes reads as strokes
    (``2``/``Z``, ``1``/``I``); a slightly smoothed copy votes against those.
    """
    if sigma <= 0:
        return list(crops)
    return list(crops) + [cv2.GaussianBlur(c, (0, 0), sigma) for c in crops]
