"""Plate detection on vehicle crops at a higher resolution than the whole-image passes.

A plate that the whole-image passes miss is often small in the image but not in its vehicle: behind a
trailer's grille it is 60 px wide in a 1280 px photo (5% of the 640 input's width), and no whole-image
pass or tile scores it. The vehicle detector's boxes (largest first), grown by a margin, are cut out,
each padded to a square (bottom and right, so that one input size serves every crop and the crop's
pixels keep their coordinates) and handed to a plate detector whose input is a square of
``detector.vehicle_pass_imgsz``: a 564 px wide trailer crop at 960 is 1.7x the image's own resolution.
:class:`alpr_edge.still.PlateReader` runs it as a cascade pass only when the whole-image passes found no
plate scoring ``detector.escalate_below`` (docs/benchmarks.md, "#14 D4").
"""

from __future__ import annotations

import numpy as np

from ..types import Detection
from .base import Detector, expand_box, shift_detection
from .geometry import PAD_VALUE, nms


def pad_to_square(image: np.ndarray, pad: int = PAD_VALUE) -> np.ndarray:
    """``image`` padded at the bottom and right to a square (pixels keep their coordinates)."""
    h, w = image.shape[:2]
    side = max(h, w)
    if h == w:
        return np.ascontiguousarray(image)
    out = np.full((side, side, *image.shape[2:]), pad, dtype=image.dtype)
    out[:h, :w] = image
    return out


def largest(dets: list[Detection], count: int) -> list[Detection]:
    """The ``count`` largest boxes, largest first."""
    def area(d: Detection) -> float:
        return (d.xyxy[2] - d.xyxy[0]) * (d.xyxy[3] - d.xyxy[1])

    return sorted(dets, key=area, reverse=True)[:count]


class VehicleCropDetector:
    """Wraps a vehicle and a plate :class:`Detector`; plate boxes of every vehicle crop in image pixels,
    merged by NMS, best first."""

    def __init__(self, vehicles: Detector, plates: Detector, max_vehicles: int = 2, margin: float = 0.05,
                 iou_thresh: float = 0.45):
        self.vehicles = vehicles
        self.plates = plates
        self.max_vehicles = max_vehicles
        self.margin = margin
        self.iou_thresh = iou_thresh

    def prepare(self, image_sizes: list[tuple[int, int]]) -> None:
        """Prepare the plate detector for its one (square) input; the image sizes do not matter."""
        prepare = getattr(self.plates, "prepare", None)
        if prepare is not None and image_sizes:
            prepare([(64, 64)])

    def detect(self, image: np.ndarray) -> list[Detection]:
        height, width = image.shape[:2]
        found: list[Detection] = []
        for vehicle in largest(self.vehicles.detect(image), self.max_vehicles):
            x1, y1, x2, y2 = (round(v) for v in expand_box(vehicle.xyxy, self.margin, self.margin, width, height))
            if x2 - x1 < 2 or y2 - y1 < 2:
                continue
            crop = pad_to_square(image[y1:y2, x1:x2])
            found.extend(shift_detection(d, x1, y1) for d in self.plates.detect(crop)
                         if d.xyxy[0] < x2 - x1 and d.xyxy[1] < y2 - y1)  # not wholly in the padding
        if not found:
            return []
        keep = nms(np.array([d.xyxy for d in found]), np.array([d.score for d in found]), self.iou_thresh)
        return [found[int(i)] for i in keep]
