"""PlateReader detection with fake detectors and a fake recogniser: when the cascade's later passes (the
vehicle-crop pass among them) run, and when boxes below plate_conf are read and how reads are ranked."""

from __future__ import annotations

import numpy as np
import pytest

from alpr_edge.config import OcrSettings
from alpr_edge.detectors.vehicle_crops import VehicleCropDetector
from alpr_edge.still import PlateReader
from alpr_edge.types import Detection, OcrResult

SETTINGS = OcrSettings(region="none", multi_crop=1, second_opinion="none", deskew=False)


def det(box, score, label="plate") -> Detection:
    return Detection(xyxy=tuple(float(v) for v in box), score=score, class_id=0, label=label)


class FakeDetector:
    """Returns fixed boxes and counts its calls."""

    def __init__(self, *dets: Detection):
        self.dets = list(dets)
        self.calls = 0

    def detect(self, image):
        self.calls += 1
        return list(self.dets)


class ShadeRecognizer:
    """Reads a crop by the grey level at its centre: each test paints its boxes with a level of ``reads``."""

    def __init__(self, reads: dict[int, OcrResult]):
        self.reads = reads
        self.calls = 0

    def read(self, crop):
        self.calls += 1
        h, w = crop.shape[:2]
        return self.reads.get(int(crop[h // 2, w // 2, 0]), OcrResult(text="", confidence=0.0))


PLATE = OcrResult(text="1049338", confidence=0.99, char_confidences=(1.0,) * 7)
STICKER = OcrResult(text="55555", confidence=0.0, char_confidences=(0.08, 0.14, 0.14, 0.14, 0.12))
PLATE_BOX, STICKER_BOX = (200, 600, 290, 645), (400, 650, 460, 680)


def image_with(levels: dict[tuple[int, int, int, int], int]) -> np.ndarray:
    image = np.zeros((768, 1024, 3), np.uint8)
    for (x1, y1, x2, y2), level in levels.items():
        image[y1:y2, x1:x2] = level
    return image


@pytest.mark.parametrize(
    ("first_scores", "later_runs"),
    [
        ([0.9], False),  # a confident plate: the cascade stops at the first pass
        ([0.3], False),  # exactly escalate_below
        ([0.29, 0.1], True),  # nothing confident: the vehicle-crop pass runs
        ([], True),  # nothing at all
    ],
)
def test_vehicle_pass_runs_only_when_the_first_finds_nothing_confident(first_scores, later_runs):
    first = FakeDetector(*[det((10 * i, 0, 10 * i + 40, 20), s) for i, s in enumerate(first_scores)])
    vehicles = FakeDetector(det((0, 0, 500, 500), 0.9, "car"))
    crop_plates = FakeDetector(det((100, 400, 190, 440), 0.8))
    tiles = FakeDetector()
    reader = PlateReader(first, ShadeRecognizer({}), SETTINGS, escalate_below=0.3,
                         fallbacks=[VehicleCropDetector(vehicles, crop_plates), tiles])
    dets = reader.detect_plates(np.zeros((600, 800, 3), np.uint8))
    assert first.calls == 1
    assert (vehicles.calls, crop_plates.calls) == ((1, 1) if later_runs else (0, 0))
    assert tiles.calls == 0  # the vehicle pass found a confident box: no tiles
    if later_runs:
        assert [d.xyxy for d in dets] == [(100.0, 400.0, 190.0, 440.0)]  # crop box in image pixels


STICKER_LEVEL, PLATE_LEVEL = 50, 100
READS = {STICKER_LEVEL: STICKER, PLATE_LEVEL: PLATE}


@pytest.mark.parametrize(
    ("boxes", "plate_conf", "expected", "ocr_calls"),
    [
        # the sticker scores above plate_conf, the plate below: the sticker's read is not plate-like,
        # so the box below plate_conf is read too and its plate-like read ranks first
        ([(STICKER_BOX, 0.29, STICKER_LEVEL), (PLATE_BOX, 0.21, PLATE_LEVEL)], 0.25, ["1049338", "55555"], 2),
        # a plate-like read above plate_conf: the weaker box is never read
        ([(PLATE_BOX, 0.29, PLATE_LEVEL), (STICKER_BOX, 0.21, STICKER_LEVEL)], 0.25, ["1049338"], 1),
        # plate_conf 0 (the video pipeline): every box is read; ranking by detection x verifier
        ([(STICKER_BOX, 0.29, STICKER_LEVEL), (PLATE_BOX, 0.21, PLATE_LEVEL)], 0.0, ["1049338", "55555"], 2),
        # only boxes below plate_conf: they are read
        ([(PLATE_BOX, 0.2, PLATE_LEVEL)], 0.25, ["1049338"], 1),
    ],
)
def test_boxes_below_plate_conf_are_read_only_without_a_plate_like_read(boxes, plate_conf, expected, ocr_calls):
    rec = ShadeRecognizer(READS)
    reader = PlateReader(FakeDetector(*[det(box, score) for box, score, _ in boxes]), rec, SETTINGS,
                         plate_conf=plate_conf)
    out = reader.read(image_with({box: level for box, _, level in boxes}))
    assert [r.text for r in out] == expected
    assert rec.calls == ocr_calls
    assert out[0].plate_score > 0.5


SLOGAN = OcrResult(text="GOPENSKECOM18", confidence=0.3, char_confidences=(0.9,) * 13)
US_PLATE = OcrResult(text="CDK575", confidence=0.7, char_confidences=(0.95,) * 6)


@pytest.mark.parametrize(
    ("other", "other_score", "plate", "plate_score"),
    [
        (STICKER, 0.9, PLATE, 0.3),  # unsure characters
        (SLOGAN, 0.9, US_PLATE, 0.5),  # sure characters, but too long for a plate and no format fits
    ],
)
def test_ranking_uses_the_verifier_not_the_detection_score_alone(other, other_score, plate, plate_score):
    reader = PlateReader(FakeDetector(det(STICKER_BOX, other_score), det(PLATE_BOX, plate_score)),
                         ShadeRecognizer({STICKER_LEVEL: other, PLATE_LEVEL: plate}), SETTINGS)
    out = reader.read(image_with({STICKER_BOX: STICKER_LEVEL, PLATE_BOX: PLATE_LEVEL}))
    assert [r.text for r in out] == [plate.text, other.text]
    assert out[0].detection_score == plate_score and out[1].plate_score < out[0].plate_score
