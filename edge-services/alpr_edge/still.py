"""Still-image plate reading: detect plates, crop them well, OCR them, vote, apply format priors.

Public API (alpr-read, the accuracy benchmark and the video pipeline)::

    reader = PlateReader.from_config(cfg)        # builds the detectors and the recogniser once
    reads = reader.read(bgr_image)               # list[StillRead], most plate-like first
    ocr = reader.read_plate(bgr_image, det)      # OcrResult for one plate Detection of that image

The video pipeline can call :meth:`PlateReader.read` on a vehicle crop, or detect plates itself and call
:meth:`PlateReader.read_plate` for the best shot of a track.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .config import EdgeConfig, OcrSettings
from .detectors import Detector, build_plate_detector, build_vehicle_detector, match_plates_to_vehicles
from .ocr import PlateRecognizer, build_recognizer
from .ocr.preprocess import plate_crops
from .types import BBox, Detection, OcrResult, PlateCandidate

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StillRead:
    """One plate read in a still image (boxes in that image's pixels)."""

    text: str
    confidence: float
    bbox: BBox
    candidates: tuple[PlateCandidate, ...]
    char_confidences: tuple[float, ...] = ()
    region: str | None = None
    detection_score: float = 0.0
    vehicle_bbox: BBox | None = None
    vehicle_type: str | None = None


class PlateReader:
    """Plate detector + recogniser with the crop strategy of :class:`OcrSettings`."""

    def __init__(self, plate_detector: Detector, recognizer: PlateRecognizer, settings: OcrSettings,
                 vehicle_detector: Detector | None = None, min_plate_vehicle_overlap: float = 0.5):
        self.plates = plate_detector
        self.recognizer = recognizer
        self.settings = settings
        self.vehicles = vehicle_detector
        self.min_overlap = min_plate_vehicle_overlap

    @classmethod
    def from_config(cls, cfg: EdgeConfig, with_vehicles: bool | None = None) -> PlateReader:
        use_vehicles = cfg.detector.plates_in_vehicles if with_vehicles is None else with_vehicles
        vehicles = build_vehicle_detector(cfg) if use_vehicles else None
        return cls(build_plate_detector(cfg), build_recognizer(cfg), cfg.ocr, vehicles,
                   cfg.detector.min_plate_vehicle_overlap)

    def read_plate(self, image: np.ndarray, det: Detection) -> OcrResult:
        """OCR of one detected plate: preprocessed crop(s), probabilities averaged when the backend allows."""
        crops = plate_crops(image, det, self.settings)
        if not crops:
            return OcrResult(text="", confidence=0.0)
        probabilities = getattr(self.recognizer, "probabilities", None)
        if probabilities is None or len(crops) == 1:
            return self.recognizer.read(crops[0])
        probs = probabilities(crops).mean(axis=0)
        return self.recognizer.decode(probs)  # type: ignore[attr-defined]

    def read(self, image: np.ndarray) -> list[StillRead]:
        """All plates of ``image`` (BGR uint8), most plate-like first, at most ``ocr.max_plates``."""
        dets = sorted(self.plates.detect(image), key=lambda d: -d.score)[: self.settings.max_plates]
        vehicles = self.vehicles.detect(image) if self.vehicles is not None and dets else []
        matches = match_plates_to_vehicles(dets, vehicles, self.min_overlap)
        reads: list[StillRead] = []
        for match in matches:
            ocr = self.read_plate(image, match.plate)
            if not ocr.text or ocr.confidence < self.settings.min_confidence:
                continue
            veh = match.vehicle
            reads.append(StillRead(text=ocr.text, confidence=ocr.confidence, bbox=match.plate.xyxy,
                                   candidates=ocr.candidates, char_confidences=ocr.char_confidences,
                                   region=self.settings.region, detection_score=match.plate.score,
                                   vehicle_bbox=veh.xyxy if veh else None,
                                   vehicle_type=veh.label if veh else None))
        return reads
