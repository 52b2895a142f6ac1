"""Tiled detection: run a detector on overlapping tiles of the image and merge the boxes.

The plate detector misses some small plates at every whole-image input size (the plate is then
20-50 network pixels wide); on a 3x3 grid of tiles at 640 the same plate is 2-2.5x larger. Costs
``grid * grid`` detector runs, so :class:`alpr_edge.still.PlateReader` only uses it as the last
pass of its cascade, when nothing before it found a plate scoring ``escalate_below``
(docs/benchmarks.md, "Accuracy").
"""

from __future__ import annotations

import numpy as np

from ..types import Detection
from .base import Detector, shift_detection
from .geometry import nms


def tile_origins(length: int, tile: int, grid: int) -> list[int]:
    """Start offsets of ``grid`` tiles of size ``tile`` spread evenly over ``length`` (first at 0, last at the end)."""
    if grid <= 1 or tile >= length:
        return [0]
    return [round(i * (length - tile) / (grid - 1)) for i in range(grid)]


def tile_size(height: int, width: int, grid: int, overlap: float) -> tuple[int, int]:
    """(height, width) of one tile: a ``1/grid`` share of each side grown by ``overlap``, at most the image."""
    grow = 1.0 + overlap if grid > 1 else 1.0
    return min(height, round(height / grid * grow)), min(width, round(width / grid * grow))


class TiledDetector:
    """Wraps a :class:`Detector`; boxes of all tiles in image pixels, merged by NMS, best first."""

    def __init__(self, detector: Detector, grid: int = 3, overlap: float = 0.25, iou_thresh: float = 0.45):
        self.detector = detector
        self.grid = grid
        self.overlap = overlap
        self.iou_thresh = iou_thresh

    def prepare(self, image_sizes: list[tuple[int, int]]) -> None:
        """Prepare the wrapped detector for the tile sizes of these (height, width) image sizes."""
        prepare = getattr(self.detector, "prepare", None)
        if prepare is not None:
            prepare([tile_size(h, w, self.grid, self.overlap) for h, w in image_sizes])

    def detect(self, image: np.ndarray) -> list[Detection]:
        height, width = image.shape[:2]
        th, tw = tile_size(height, width, self.grid, self.overlap)
        found: list[Detection] = []
        for y0 in tile_origins(height, th, self.grid):
            for x0 in tile_origins(width, tw, self.grid):
                tile = np.ascontiguousarray(image[y0:y0 + th, x0:x0 + tw])
                found.extend(shift_detection(d, x0, y0) for d in self.detector.detect(tile))
        if not found:
            return []
        keep = nms(np.array([d.xyxy for d in found]), np.array([d.score for d in found]), self.iou_thresh)
        return [found[int(i)] for i in keep]
