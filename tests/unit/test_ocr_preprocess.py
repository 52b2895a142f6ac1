"""Plate crop preprocessing: margins, deskew angle from a mask, rotated crops, multi-crop margins."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from alpr_edge.config import OcrSettings
from alpr_edge.ocr import RECOGNIZER_BACKENDS, build_recognizer
from alpr_edge.ocr.preprocess import (
    crop_box,
    crop_margins,
    mask_angle,
    plate_crops,
    rotated_crop,
    with_blurred,
)
from alpr_edge.types import Detection


@pytest.mark.parametrize(
    ("box", "mx", "my", "shape"),
    [((100, 100, 200, 150), 0.0, 0.0, (50, 100)), ((100, 100, 200, 150), 0.1, 0.2, (70, 120)),
     ((0, 0, 50, 20), 0.5, 0.5, (30, 75)), ((10, 10, 10.5, 10.5), 0.0, 0.0, (0, 0))],
)
def test_crop_box(box, mx, my, shape):
    image = np.zeros((480, 640, 3), dtype=np.uint8)
    assert crop_box(image, box, mx, my).shape[:2] == shape


def _tilted_mask(angle: float) -> np.ndarray:
    mask = np.zeros((200, 300), dtype=np.uint8)
    rect = ((150, 100), (200, 60), angle)
    cv2.fillPoly(mask, [cv2.boxPoints(rect).astype(np.int32)], 1)
    return mask.astype(bool)


@pytest.mark.parametrize(("angle", "expected"),
                         [(0, 0.0), (1, 0.0), (8, 8.0), (-8, -8.0), (15, 15.0), (60, 0.0)])
def test_mask_angle(angle, expected):
    assert mask_angle(_tilted_mask(angle)) == pytest.approx(expected, abs=1.0)


def test_mask_angle_without_mask():
    assert mask_angle(None) == 0.0 and mask_angle(np.zeros((10, 10), dtype=bool)) == 0.0


def test_rotated_crop_levels_a_tilted_bar():
    image = np.zeros((300, 400, 3), dtype=np.uint8)
    rect = ((200, 150), (160, 40), 10)
    cv2.fillPoly(image, [cv2.boxPoints(rect).astype(np.int32)], (255, 255, 255))
    pts = cv2.boxPoints(rect)
    box = (pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max())
    crop = rotated_crop(image, box, 10, 0.0, 0.0)
    assert crop.shape[1] == pytest.approx(160, abs=4) and crop.shape[0] == pytest.approx(40, abs=4)
    assert crop[4:-4, 4:-4].mean() > 240  # level: the bar fills the crop


@pytest.mark.parametrize(("n", "spread", "margins"), [(1, 0.08, [0.1]), (3, 0.08, [0.02, 0.1, 0.18]),
                                                       (5, 0.08, [0.02, 0.06, 0.1, 0.14, 0.18])])
def test_crop_margins(n, spread, margins):
    settings = OcrSettings(margin=0.1, multi_crop=n, multi_crop_spread=spread)
    assert crop_margins(settings) == pytest.approx(margins)


def test_plate_crops_count_and_degenerate_boxes():
    image = np.zeros((480, 640, 3), dtype=np.uint8)
    det = Detection(xyxy=(100, 100, 220, 140), score=0.9, class_id=0, label="plate")
    assert len(plate_crops(image, det, OcrSettings(multi_crop=5))) == 5
    tiny = Detection(xyxy=(5, 5, 5.5, 5.5), score=0.9, class_id=0, label="plate")
    assert plate_crops(image, tiny, OcrSettings(multi_crop=1, margin=0.0)) == []


def test_recognizer_registry_and_optional_backends():
    from alpr_edge.config import EdgeConfig

    assert set(RECOGNIZER_BACKENDS) == {"fast_plate", "paddle", "rapidocr"}
    for backend, package in (("paddle", "paddleocr"), ("rapidocr", "rapidocr_onnxruntime")):
        try:
            __import__(package)
        except ImportError:
            cfg = EdgeConfig()
            cfg.ocr.backend = backend
            with pytest.raises(RuntimeError, match="pip install"):
                build_recognizer(cfg)


def test_with_blurred_appends_smoothed_copies():
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 256, (20, 40, 3), dtype=np.uint8), rng.integers(0, 256, (30, 60, 3), dtype=np.uint8)]
    out = with_blurred(crops, 0.7)
    assert len(out) == 4
    assert out[0] is crops[0] and out[1] is crops[1]
    for src, blurred in zip(crops, out[2:], strict=True):
        assert blurred.shape == src.shape and blurred.dtype == np.uint8
        assert blurred.astype(float).std() < src.astype(float).std()  # smoothed
    assert with_blurred(crops, 0.0) == crops


class _CountingRecognizer:
    """Slot-probability recogniser stub that records how many crops each call gets."""

    def __init__(self):
        from types import SimpleNamespace

        self.cfg = SimpleNamespace(img_width=128, alphabet="AB_", pad_char="_")
        self.batches: list[int] = []

    def probabilities(self, crops):
        self.batches.append(len(crops))
        table = np.zeros((len(crops), 3, 3), dtype=np.float32)
        table[:, :, 0] = 1.0
        return table

    def decode(self, probs):
        from alpr_edge.ocr.base import decode_slots

        return decode_slots(probs, self.cfg.alphabet, self.cfg.pad_char, 3)


@pytest.mark.parametrize(("width", "crops"), [(60, 10), (300, 5)])
def test_read_plate_adds_blurred_crops_only_for_upscaled_plates(width, crops):
    from alpr_edge.still import PlateReader

    rec = _CountingRecognizer()
    reader = PlateReader(plate_detector=None, recognizer=rec, settings=OcrSettings(region="none"))
    image = np.random.default_rng(1).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    det = Detection(xyxy=(100, 200, 100 + width, 200 + width / 3), score=0.9, class_id=0, label="plate")
    assert reader.read_plate(image, det).text == "AAA"
    assert rec.batches == [crops]


def _sheared_plate(width: int) -> tuple[np.ndarray, Detection]:
    """A plate seen at an angle: upright strokes, top and bottom edges sloping 16 degrees (a shear)."""
    h = width * 2 // 3
    image = np.full((400, 400, 3), 40, np.uint8)
    x0, y0, slope = 50, 100, np.tan(np.deg2rad(16))
    quad = np.array([[x0, y0 + slope * width], [x0 + width, y0], [x0 + width, y0 + h // 2],
                     [x0, y0 + h // 2 + slope * width]], np.int32)
    cv2.fillPoly(image, [quad], (230, 230, 230))
    x1, y1, x2, y2 = x0, y0, x0 + width, int(y0 + h // 2 + slope * width)
    mask = np.zeros((y2 - y1, x2 - x1), np.uint8)
    cv2.fillPoly(mask, [quad - [x1, y1]], 1)
    return image, Detection(xyxy=(x1, y1, x2, y2), score=0.9, class_id=0, label="plate", mask=mask.astype(bool))


@pytest.mark.parametrize(("width", "min_width", "deskewed"), [
    (33, 64, False),   # the sample video's V08: a deskewed crop lost 9 of its 22 px of height
    (33, 0, True),     # the former behaviour
    (120, 64, True),   # a plate wide enough for its mask's angle
])
def test_small_plates_are_not_deskewed(width: int, min_width: int, deskewed: bool) -> None:
    image, det = _sheared_plate(width)
    settings = OcrSettings(multi_crop=1, deskew=True, deskew_min_width_px=min_width)
    assert mask_angle(det.mask) != 0.0
    crop = plate_crops(image, det, settings)[0]
    level = crop_box(image, det.xyxy, settings.margin, settings.margin_y if settings.margin_y is not None
                     else settings.margin)
    assert (crop.shape != level.shape) is deskewed
