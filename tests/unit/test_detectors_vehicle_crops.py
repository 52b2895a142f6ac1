"""Vehicle-crop plate pass: crops padded to a square, boxes mapped back to image pixels, largest vehicles."""

from __future__ import annotations

import numpy as np
import pytest

from alpr_edge.detectors.vehicle_crops import VehicleCropDetector, largest, pad_to_square
from alpr_edge.types import Detection


def det(box, score=0.9, label="car") -> Detection:
    return Detection(xyxy=tuple(float(v) for v in box), score=score, class_id=2, label=label)


class FixedDetector:
    """Returns the same boxes for every image (the vehicle detector)."""

    def __init__(self, boxes):
        self.boxes = [det(b) for b in boxes]

    def detect(self, image):
        return list(self.boxes)


class BlobDetector:
    """The bounding box of the non-zero pixels of channel 0 (the plate detector); records input shapes."""

    def __init__(self) -> None:
        self.shapes: list[tuple[int, int]] = []
        self.prepared: list[tuple[int, int]] = []

    def prepare(self, sizes):
        self.prepared.extend(sizes)

    def detect(self, image):
        self.shapes.append(image.shape[:2])
        ys, xs = np.nonzero(image[..., 0] == 255)
        if not len(xs):
            return []
        return [det((xs.min(), ys.min(), xs.max() + 1, ys.max() + 1), 0.7, "plate")]


@pytest.mark.parametrize(
    ("shape", "out_shape"),
    [((30, 50, 3), (50, 50, 3)), ((80, 20, 3), (80, 80, 3)), ((40, 40, 3), (40, 40, 3))],
)
def test_pad_to_square_keeps_pixel_coordinates(shape, out_shape):
    image = np.random.default_rng(0).integers(0, 200, shape, dtype=np.uint8)
    out = pad_to_square(image, pad=114)
    assert out.shape == out_shape
    assert np.array_equal(out[: shape[0], : shape[1]], image)
    assert (out[shape[0]:] == 114).all() and (out[:, shape[1]:] == 114).all()


@pytest.mark.parametrize(
    ("vehicle", "margin", "plate", "crop_shape"),
    [
        ((100, 50, 300, 150), 0.0, (180, 120, 220, 135), (200, 200)),  # wide vehicle: padded below
        ((400, 20, 460, 200), 0.0, (410, 150, 450, 160), (180, 180)),  # tall vehicle: padded right
        ((100, 50, 300, 150), 0.1, (180, 120, 220, 135), (240, 240)),  # grown by 10 % per side: 240 x 120
        ((0, 0, 100, 60), 0.5, (10, 40, 30, 50), (150, 150)),  # grown, clipped at the corner: 150 x 90
    ],
)
def test_boxes_mapped_back_from_the_crop_to_the_image(vehicle, margin, plate, crop_shape):
    image = np.zeros((240, 640, 3), np.uint8)
    x1, y1, x2, y2 = plate
    image[y1:y2, x1:x2] = 255
    inner = BlobDetector()
    dets = VehicleCropDetector(FixedDetector([vehicle]), inner, max_vehicles=2, margin=margin).detect(image)
    assert [d.xyxy for d in dets] == [tuple(float(v) for v in plate)]
    assert inner.shapes == [crop_shape]


def test_plate_outside_every_vehicle_is_not_found_and_duplicates_merge():
    image = np.zeros((240, 640, 3), np.uint8)
    image[100:110, 500:540] = 255  # outside both vehicles
    inner = BlobDetector()
    vehicles = FixedDetector([(0, 0, 200, 200), (10, 10, 190, 190)])
    assert VehicleCropDetector(vehicles, inner).detect(image) == []
    image[50:60, 80:120] = 255  # inside both: found twice, kept once
    dets = VehicleCropDetector(vehicles, BlobDetector()).detect(image)
    assert [d.xyxy for d in dets] == [(80.0, 50.0, 120.0, 60.0)]


def test_only_the_largest_vehicles_are_searched():
    small, big, mid = (0, 0, 20, 20), (100, 0, 300, 200), (400, 0, 500, 100)
    assert [d.xyxy for d in largest([det(small), det(big), det(mid)], 2)] == [det(big).xyxy, det(mid).xyxy]
    inner = BlobDetector()
    VehicleCropDetector(FixedDetector([small, big, mid]), inner, max_vehicles=1, margin=0.0).detect(
        np.zeros((240, 640, 3), np.uint8))
    assert inner.shapes == [(200, 200)]


def test_prepare_asks_for_one_square_input():
    inner = BlobDetector()
    VehicleCropDetector(FixedDetector([]), inner).prepare([(720, 1280), (960, 1280)])
    assert len(inner.prepared) == 1 and inner.prepared[0][0] == inner.prepared[0][1]
