"""Optional scene-text recognisers on plate crops: PaddleOCR (rec only) and rapidocr_onnxruntime.

Both are imported lazily and are not in requirements-edge.txt; they give text + confidence only
(one candidate), so voting and format priors have less to work with than with fast-plate-ocr.
"""

from __future__ import annotations

import logging
import re

import numpy as np

from ..types import OcrResult, PlateCandidate

logger = logging.getLogger(__name__)

_KEEP = re.compile(r"[^0-9A-Z]")


def _result(text: str, score: float) -> OcrResult:
    clean = _KEEP.sub("", text.upper())
    conf = float(score) if clean else 0.0
    return OcrResult(text=clean, confidence=conf, char_confidences=tuple(conf for _ in clean),
                     candidates=(PlateCandidate(clean, conf),) if clean else ())


class PaddleRecognizer:
    """PaddleOCR recognition-only model (PP-OCR rec) on the crop."""

    def __init__(self, **_: object):
        try:
            from paddleocr import PaddleOCR
        except ImportError as exc:
            raise RuntimeError("ocr.backend=paddle needs `pip install paddleocr paddlepaddle`") from exc
        self.engine = PaddleOCR(use_angle_cls=False, lang="en", show_log=False)

    def read(self, crop: np.ndarray) -> OcrResult:
        res = self.engine.ocr(crop, det=False, cls=False)
        lines = [item for block in (res or []) for item in (block or [])]
        if not lines:
            return OcrResult(text="", confidence=0.0)
        text, score = max(lines, key=lambda t: t[1])
        return _result(text, score)


class RapidOcrRecognizer:
    """PP-OCR recogniser through rapidocr_onnxruntime (weights ship inside the wheel)."""

    def __init__(self, **_: object):
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as exc:
            raise RuntimeError("ocr.backend=rapidocr needs `pip install rapidocr_onnxruntime`") from exc
        self.engine = RapidOCR()

    def read(self, crop: np.ndarray) -> OcrResult:
        res, _ = self.engine(crop, use_det=False, use_cls=False, use_rec=True)
        if not res:
            return OcrResult(text="", confidence=0.0)
        text, score = max(((r[0], float(r[1])) for r in res), key=lambda t: t[1])
        return _result(text, score)
