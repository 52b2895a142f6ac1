"""Plate OCR.

Public API::

    recognizer = build_recognizer(cfg)   # PlateRecognizer: read(bgr_crop) -> OcrResult (text, confidence,
                                         # char_confidences, top-N candidates)

Backends live in :data:`RECOGNIZER_BACKENDS` (``ocr.backend``): ``fast_plate`` (fast-plate-ocr ONNX, default),
``paddle`` and ``rapidocr`` (optional, imported lazily). ``build_second_opinion(cfg)``: the PP-OCRv4 line
reader that :class:`alpr_edge.still.PlateReader` asks about unsure reads (``ocr.second_opinion``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..models import resolve_model, resolve_model_dir
from .base import PlateRecognizer, beam_candidates, decode_slots
from .fast_plate import FastPlateRecognizer, PlateModelConfig
from .optional import PaddleRecognizer, RapidOcrRecognizer
from .ppocr import PpOcrLineReader, resolve_ppocr_model

if TYPE_CHECKING:
    from ..config import EdgeConfig

logger = logging.getLogger(__name__)


def _fast_plate(cfg: EdgeConfig) -> PlateRecognizer:
    from ..detectors.base import make_session

    verify = cfg.models.verify_sha256
    model = resolve_model(cfg.models.ocr_model, cfg.model_dir, verify)
    config = resolve_model(cfg.models.ocr_config, cfg.model_dir, verify)
    session = make_session(model, "cpu" if cfg.device == "cpu" else cfg.device, cfg.detector.intra_op_threads)
    return FastPlateRecognizer(model, config, top_n=cfg.ocr.top_n, session=session)


RECOGNIZER_BACKENDS: dict[str, Callable[[EdgeConfig], PlateRecognizer]] = {
    "fast_plate": _fast_plate,
    "paddle": lambda cfg: PaddleRecognizer(),
    "rapidocr": lambda cfg: RapidOcrRecognizer(),
}


def build_second_opinion(cfg: EdgeConfig) -> PlateRecognizer | None:
    """The recogniser of ``cfg.ocr.second_opinion`` (None when ``none``)."""
    if cfg.ocr.second_opinion == "none":
        return None
    from ..detectors.base import make_session

    model_dir = resolve_model_dir(cfg.model_dir)
    det, rec = (make_session(resolve_ppocr_model(name, model_dir), cfg.device, cfg.detector.intra_op_threads)
                for name in (cfg.models.ppocr_det_model, cfg.models.ppocr_rec_model))
    return PpOcrLineReader(det, rec, det_imgsz=cfg.ocr.ppocr_det_imgsz)


def build_recognizer(cfg: EdgeConfig) -> PlateRecognizer:
    """The recogniser named by ``cfg.ocr.backend``."""
    try:
        factory = RECOGNIZER_BACKENDS[cfg.ocr.backend]
    except KeyError:
        known = sorted(RECOGNIZER_BACKENDS)
        raise ValueError(f"unknown OCR backend {cfg.ocr.backend!r}; known: {known}") from None
    return factory(cfg)


__all__ = [
    "RECOGNIZER_BACKENDS",
    "FastPlateRecognizer",
    "PaddleRecognizer",
    "PlateModelConfig",
    "PlateRecognizer",
    "PpOcrLineReader",
    "RapidOcrRecognizer",
    "beam_candidates",
    "build_recognizer",
    "build_second_opinion",
    "decode_slots",
]
