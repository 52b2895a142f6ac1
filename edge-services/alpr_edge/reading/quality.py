"""Best-shot scoring of plate crops: sharpness (variance of the Laplacian), size and detection score."""

from __future__ import annotations

import cv2
import numpy as np

SHARPNESS_WIDTH_PX = 128  # the OCR input width: measure sharpness at the scale the recogniser sees


def sharpness(crop: np.ndarray) -> float:
    """Variance of the Laplacian of the crop resized to the OCR width (0 for an empty crop)."""
    if crop is None or crop.size == 0 or min(crop.shape[:2]) < 2:
        return 0.0
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    h, w = gray.shape[:2]
    height = max(2, round(h * SHARPNESS_WIDTH_PX / w))
    interpolation = cv2.INTER_AREA if w > SHARPNESS_WIDTH_PX else cv2.INTER_LINEAR
    gray = cv2.resize(gray, (SHARPNESS_WIDTH_PX, height), interpolation=interpolation)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def shot_quality(crop: np.ndarray, det_score: float, sharpness_ref: float, width_ref_px: float) -> float:
    """0..1: detection score times the mean of normalised sharpness and normalised plate width."""
    sharp = min(1.0, sharpness(crop) / sharpness_ref)
    size = min(1.0, crop.shape[1] / width_ref_px) if crop.size else 0.0
    return float(det_score) * (0.5 * sharp + 0.5 * size)
