"""Plate / not-plate verification from the recogniser's own read of a box.

A sticker, a warning label or a slogan can score higher than the plate in the plate detector; the
recogniser tells them apart: on a plate it is sure of every character, on a sticker it spreads its
probability (the Penske truck's loading-ramp label reads ``55555`` at 0.08-0.14 per character, the plate
beside it ``1049338`` at 1.00). The verifier scores a read by its mean per-character confidence, times
``length_factor`` when it has fewer than ``min_chars`` or more than ``max_chars`` characters, times
``unfit_factor`` when it fits no format pack for the box's shape (mild: vanity and many real plates fit
none)::

    verifier = PlateVerifier(prior, cfg.ocr.verifier)
    check = verifier.check(ocr_result, aspect=box_width / box_height)
    check.score, check.plate_like            # e.g. 0.99, True;  0.10, False for the sticker

:class:`alpr_edge.still.PlateReader` ranks an image's reads by detection score x ``check.score`` and,
when none of them is ``plate_like``, also reads the boxes scoring between ``detector.plate_candidate_conf``
and ``detector.plate_conf``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field, model_validator

from alpr_common.settings import StrictModel

from ..types import OcrResult
from .formats import FormatPrior


class PlateVerifierSettings(StrictModel):
    """How plate-like a read is (``ocr.verifier``; :mod:`alpr_edge.plates.verify`)."""

    min_chars: int = Field(4, ge=1, le=16, description="Reads with fewer characters get length_factor.")
    max_chars: int = Field(10, ge=1, le=16, description="Reads with more characters get length_factor.")
    length_factor: float = Field(0.5, ge=0.0, le=1.0,
                                 description="Score multiplier of a read outside min_chars..max_chars.")
    unfit_factor: float = Field(0.8, ge=0.0, le=1.0,
                                description="Score multiplier of a read that fits no format pack for the "
                                            "box's shape (1: format ignored).")
    plate_like_at: float = Field(0.5, ge=0.0, le=1.0,
                                 description="A read scoring this or more is plate-like; when no read of an "
                                             "image is, the boxes below detector.plate_conf are read too.")

    @model_validator(mode="after")
    def _range(self) -> PlateVerifierSettings:
        if self.min_chars > self.max_chars:
            raise ValueError(f"min_chars {self.min_chars} > max_chars {self.max_chars}")
        return self


@dataclass(frozen=True)
class PlateCheck:
    """How plate-like one read is: ``score`` in 0..1 and what went into it."""

    score: float
    mean_char_confidence: float
    fits_format: bool
    length_ok: bool
    plate_like: bool


class PlateVerifier:
    """Scores reads as plate / not plate (see the module docstring)."""

    def __init__(self, prior: FormatPrior | None = None, settings: PlateVerifierSettings | None = None):
        self.prior = prior or FormatPrior()
        self.settings = settings or PlateVerifierSettings()

    def check(self, read: OcrResult, aspect: float | None = None) -> PlateCheck:
        """The verdict on ``read`` of a box whose width / height is ``aspect`` (None: any shape)."""
        s = self.settings
        text = read.text
        if not text:
            return PlateCheck(0.0, 0.0, False, False, False)
        chars = read.char_confidences
        mean = sum(chars) / len(chars) if chars else read.confidence
        length_ok = s.min_chars <= len(text) <= s.max_chars
        fits = bool(self.prior.fitting(text, aspect))
        score = mean * (1.0 if length_ok else s.length_factor) * (1.0 if fits else s.unfit_factor)
        score = min(1.0, max(0.0, score))
        return PlateCheck(score, mean, fits, length_ok, score >= s.plate_like_at)
