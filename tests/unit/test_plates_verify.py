"""Plate verifier: a read that looks like a plate (sure characters, plate length, a format) beats a sticker."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from alpr_edge.plates import FormatPrior
from alpr_edge.plates.verify import PlateVerifier, PlateVerifierSettings
from alpr_edge.types import OcrResult


def ocr(text: str, *chars: float) -> OcrResult:
    chars = chars or (0.99,) * len(text)
    conf = 1.0
    for c in chars:
        conf *= c
    return OcrResult(text=text, confidence=conf, char_confidences=tuple(chars))


VERIFIER = PlateVerifier(FormatPrior(region="none"), PlateVerifierSettings())


@pytest.mark.parametrize(
    ("plate", "other", "aspect"),
    [
        (ocr("1049338", *[1.0] * 7), ocr("55555", 0.08, 0.14, 0.14, 0.14, 0.12), 2.0),  # car2: plate vs sticker
        (ocr("CDK575"), ocr("CDK575", 0.6, 0.5, 0.7, 0.5, 0.6, 0.4), 2.0),  # same text, less sure
        (ocr("CDK575", *[0.9] * 6), ocr("CD", 0.95, 0.95), 2.0),  # two characters: a fragment
        (ocr("ABC1D23", *[0.9] * 7), ocr("ABCDEFGHIJKL", *[0.95] * 12), 3.1),  # too long: a slogan
        (ocr("ABC1D23", *[0.9] * 7), ocr("ZZZZZZZ", *[0.95] * 7), 3.1),  # Mercosul layout vs no format
    ],
)
def test_plate_like_read_ranks_above_sticker_like_read(plate, other, aspect):
    a, b = VERIFIER.check(plate, aspect), VERIFIER.check(other, aspect)
    assert a.score > b.score
    assert a.plate_like


@pytest.mark.parametrize(
    ("read", "aspect", "fits", "length_ok", "score"),
    [
        (ocr("ABC1D23", *[0.9] * 7), 3.1, True, True, 0.9),
        (ocr("ABC1D23", *[0.9] * 7), 1.0, False, True, 0.72),  # Mercosul text, square box: no pack fits
        (ocr("ZZZZZZZ", *[0.9] * 7), 3.1, False, True, 0.72),
        (ocr("ZZZ", 0.9, 0.9, 0.9), None, False, False, 0.36),
        (ocr("AB1", 0.9, 0.9, 0.9), None, True, False, 0.45),  # fits the German layout, but short
        (ocr("", ), 2.0, False, False, 0.0),
        (OcrResult(text="AB12CD", confidence=0.5), 2.0, False, True, 0.4),  # no per-character confidences
    ],
)
def test_check_factors(read, aspect, fits, length_ok, score):
    check = VERIFIER.check(read, aspect)
    assert (check.fits_format, check.length_ok) == (fits, length_ok)
    assert check.score == pytest.approx(score)
    assert check.plate_like == (score >= 0.5)


def test_factors_of_one_change_nothing_and_bad_range_fails():
    neutral = PlateVerifier(FormatPrior(region="none"), PlateVerifierSettings(unfit_factor=1.0, length_factor=1.0))
    assert neutral.check(ocr("Q", 0.7), 2.0).score == pytest.approx(0.7)
    with pytest.raises(ValidationError):
        PlateVerifierSettings(min_chars=8, max_chars=5)
    with pytest.raises(ValidationError):
        PlateVerifierSettings(unknown=1)
