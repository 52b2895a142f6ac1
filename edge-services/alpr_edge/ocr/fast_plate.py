"""fast-plate-ocr format recogniser (ONNX): ``N x H x W x 3`` uint8 RGB in, ``N x slots x alphabet`` out."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import yaml

from ..types import OcrResult
from .base import decode_slots

logger = logging.getLogger(__name__)

_INTERP = {"linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC, "area": cv2.INTER_AREA,
           "nearest": cv2.INTER_NEAREST, "lanczos4": cv2.INTER_LANCZOS4}


@dataclass(frozen=True)
class PlateModelConfig:
    """The fast-plate-ocr ``*_plate_config.yaml``."""

    max_plate_slots: int
    alphabet: str
    pad_char: str
    img_height: int
    img_width: int
    keep_aspect_ratio: bool = False
    interpolation: str = "linear"
    image_color_mode: str = "rgb"

    @classmethod
    def load(cls, path: Path) -> PlateModelConfig:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


class FastPlateRecognizer:
    """Runs a fast-plate-ocr ONNX model; :meth:`probabilities` exposes the slot table for voting."""

    def __init__(self, model: Path, config: Path, *, top_n: int = 10, session=None,
                 area_downscale: bool = False):
        from ..detectors.base import make_session

        self.cfg = PlateModelConfig.load(config)
        self.session = session or make_session(model, "cpu", 1)
        self.input_name = self.session.get_inputs()[0].name
        self.top_n = top_n
        self.interp = _INTERP.get(self.cfg.interpolation, cv2.INTER_LINEAR)
        self.area_downscale = area_downscale

    def prepare(self, crop: np.ndarray) -> np.ndarray:
        """BGR crop -> model input image (HxWx3 RGB or HxWx1 gray, uint8)."""
        size = (self.cfg.img_width, self.cfg.img_height)
        interp = self.interp
        if self.area_downscale and crop.shape[1] > 2 * size[0]:
            interp = cv2.INTER_AREA  # large crops: average instead of aliasing
        if self.cfg.image_color_mode == "grayscale":
            gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
            return cv2.resize(gray, size, interpolation=interp)[..., None]
        return cv2.cvtColor(cv2.resize(crop, size, interpolation=interp), cv2.COLOR_BGR2RGB)

    def probabilities(self, crops: list[np.ndarray]) -> np.ndarray:
        """``len(crops) x slots x alphabet`` probabilities for a batch of BGR crops."""
        batch = np.stack([self.prepare(c) for c in crops]).astype(np.uint8, copy=False)
        out = self.session.run(None, {self.input_name: batch})[0]
        return np.asarray(out, dtype=np.float32).reshape(len(crops), self.cfg.max_plate_slots, -1)

    def decode(self, probs: np.ndarray) -> OcrResult:
        return decode_slots(probs, self.cfg.alphabet, self.cfg.pad_char, self.top_n)

    def read(self, crop: np.ndarray) -> OcrResult:
        return self.decode(self.probabilities([crop])[0])
