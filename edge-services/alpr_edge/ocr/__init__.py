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
from pathlib import Path
from typing import TYPE_CHECKING

from ..models import ModelMissingError, resolve_model, resolve_model_dir
from .base import PlateRecognizer, beam_candidates, decode_slots
from .fast_plate import FastPlateRecognizer, PlateModelConfig
from .optional import PaddleRecognizer, RapidOcrRecognizer
from .ppocr import PpOcrLineReader, resolve_ppocr_model

if TYPE_CHECKING:
    from ..config import EdgeConfig

logger = logging.getLogger(__name__)


def _fast_plate(cfg: EdgeConfig) -> PlateRecognizer:
    from ..detectors.base import make_session

    model, config = resolve_ocr_files(cfg)
    session = make_session(model, "cpu" if cfg.device == "cpu" else cfg.device, cfg.detector.intra_op_threads)
    return FastPlateRecognizer(model, config, top_n=cfg.ocr.top_n, session=session)


def resolve_ocr_files(cfg: EdgeConfig) -> tuple[Path, Path]:
    """(model, config) of ``models.ocr_model``, or of ``models.ocr_fallback_model`` when the first is missing."""
    m, verify = cfg.models, cfg.models.verify_sha256
    try:
        return (resolve_model(m.ocr_model, cfg.model_dir, verify),
                resolve_model(m.ocr_config, cfg.model_dir, verify))
    except ModelMissingError as exc:
        if not m.ocr_fallback_model or m.ocr_fallback_model == m.ocr_model:
            raise
        logger.warning("%s; using the fallback OCR model %s (models.ocr_fallback_model)", exc,
                       m.ocr_fallback_model)
        return (resolve_model(m.ocr_fallback_model, cfg.model_dir, verify),
                resolve_model(m.ocr_fallback_config or m.ocr_config, cfg.model_dir, verify))


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
    "resolve_ocr_files",
]
