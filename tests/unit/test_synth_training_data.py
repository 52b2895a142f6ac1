"""The recogniser's training data: label encoding, crops of labelled photos, and no validation photo in it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from alpr_training.ocr.data import InputSpec, RealCrops, crop_box, decode, encode, load_photos, prepare
from alpr_training.splits import split_of

SPEC = InputSpec(width=128, height=64, slots=9, alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_", pad_char="_")


@pytest.mark.parametrize(("label", "expected"), [
    ("ABC-1234", "ABC1234__"), ("ab c12", "ABC12____"), ("123456789", "123456789"),
])
def test_encode_pads_and_round_trips(label, expected):
    idx = encode(label, SPEC)
    assert idx is not None and idx.dtype == np.int64 and idx.shape == (9,)
    assert "".join(SPEC.alphabet[i] for i in idx) == expected
    assert decode(idx, SPEC) == expected.rstrip("_")


@pytest.mark.parametrize("label", ["", "1234567890", "---"])
def test_encode_rejects_what_the_model_cannot_hold(label):
    assert encode(label, SPEC) is None


def test_crop_box_margins_and_clipping():
    image = np.zeros((100, 200, 3), np.uint8)
    assert crop_box(image, (50, 40, 150, 60), 0.1, 0.5).shape[:2] == (40, 120)
    assert crop_box(image, (0, 0, 200, 100), 0.2, 0.2).shape[:2] == (100, 200)  # clipped at the image


def test_prepare_matches_the_reader_contract():
    crop = np.zeros((30, 90, 3), np.uint8)
    crop[..., 0] = 255  # blue in BGR
    out = prepare(crop, SPEC)
    assert out.shape == (64, 128, 3) and out.dtype == np.uint8
    assert out[..., 2].min() == 255 and out[..., 0].max() == 0  # RGB order: blue is the last channel


def _write_photo(folder, name, plate, box=(40, 30, 80, 20)):
    image = np.full((120, 200, 3), 90, np.uint8)
    x, y, w, h = box
    cv2.rectangle(image, (x, y), (x + w, y + h), (255, 255, 255), -1)
    cv2.imwrite(str(folder / f"{name}.jpg"), image)
    (folder / f"{name}.txt").write_text(f"{name}.jpg\t{x}\t{y}\t{w}\t{h}\t{plate}\n", encoding="utf-8")


def test_load_photos_keeps_each_plate_in_its_split(tmp_path):
    plates = [f"AB{i:03d}CD" for i in range(40)]
    for i, plate in enumerate(plates):
        _write_photo(tmp_path, f"p{i}", plate)
    _write_photo(tmp_path, "dup", plates[0])  # a second photo of the same plate
    training = load_photos([tmp_path], "training")
    validation = load_photos([tmp_path], "validation")
    assert {p.plate for p in training}.isdisjoint({p.plate for p in validation})
    assert all(split_of(p.plate) == "training" for p in training)
    assert len(training) + len(validation) == len(plates) + 1
    assert sum(p.plate == plates[0] for p in training + validation) == 2


def test_real_crops_draw_is_deterministic_and_encoded(tmp_path):
    _write_photo(tmp_path, "a", "XY123")
    crops = RealCrops(load_photos([tmp_path], "all"), SPEC)
    a = crops.draw(0, np.random.default_rng(1))
    b = crops.draw(0, np.random.default_rng(1))
    assert np.array_equal(a[0], b[0]) and a[0].shape == (64, 128, 3)
    assert decode(a[1], SPEC) == "XY123"
    x, y = crops.fixed()
    assert x.shape == (1, 64, 128, 3) and y.shape == (1, 9)
