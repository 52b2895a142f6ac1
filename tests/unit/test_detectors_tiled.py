"""Tiled detection: tile geometry, boxes shifted back to image pixels, duplicates across tiles merged."""

from __future__ import annotations

import numpy as np
import pytest

from alpr_edge.detectors.tiled import TiledDetector, tile_origins, tile_size
from alpr_edge.types import Detection


@pytest.mark.parametrize(
    ("length", "tile", "grid", "origins"),
    [(1280, 533, 3, [0, 374, 747]), (720, 300, 3, [0, 210, 420]), (100, 60, 2, [0, 40]),
     (100, 100, 3, [0]), (100, 40, 1, [0])],
)
def test_tile_origins(length, tile, grid, origins):
    assert tile_origins(length, tile, grid) == origins


@pytest.mark.parametrize(
    ("hw", "grid", "overlap", "size"),
    [((720, 1280), 3, 0.25, (300, 533)), ((720, 1280), 2, 0.0, (360, 640)), ((720, 1280), 1, 0.5, (720, 1280)),
     ((100, 100), 2, 1.5, (100, 100))],
)
def test_tile_size(hw, grid, overlap, size):
    assert tile_size(*hw, grid, overlap) == size


class BlobDetector:
    """Finds the bounding box of non-zero pixels in the image it gets (one box or none)."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []
        self.prepared: list[tuple[int, int]] = []

    def prepare(self, sizes):
        self.prepared.extend(sizes)

    def detect(self, image):
        self.calls.append(image.shape[:2])
        ys, xs = np.nonzero(image[..., 0])
        if not len(xs):
            return []
        box = (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
        return [Detection(xyxy=box, score=0.5 + 0.01 * len(xs) / image.size, class_id=0, label="plate")]


def test_tiled_detector_shifts_and_merges():
    image = np.zeros((300, 600, 3), np.uint8)
    image[140:160, 280:320] = 255  # in the overlap of several tiles
    inner = BlobDetector()
    dets = TiledDetector(inner, grid=3, overlap=0.25).detect(image)
    assert len(inner.calls) == 9 and set(inner.calls) == {(125, 250)}
    assert len(dets) == 1 and dets[0].xyxy == (280.0, 140.0, 320.0, 160.0)


def test_tiled_detector_empty_and_prepare():
    inner = BlobDetector()
    tiled = TiledDetector(inner, grid=2, overlap=0.0)
    assert tiled.detect(np.zeros((100, 200, 3), np.uint8)) == []
    tiled.prepare([(720, 1280)])
    assert inner.prepared == [(360, 640)]
