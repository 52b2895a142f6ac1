"""Still-image plate reading: detect plates, crop them well, OCR them, vote, apply the format prior.

Public API (alpr-read, the accuracy benchmark and the video pipeline)::

    reader = PlateReader.from_config(cfg)        # builds the detectors and the recogniser once
    reads = reader.read(bgr_image)               # list[StillRead], most plate-like first
    ocr = reader.read_plate(bgr_image, det)      # OcrResult for one plate Detection of that image

Detection is a cascade: the plate detector first runs at a small input (``detector.plate_imgsz``); only
when it finds nothing scoring ``detector.escalate_below`` or more does it run again at
``detector.plate_fallback_imgsz`` (small or distant plates), then the optional backup model
(``detector.plate_backup_model``), then on the largest vehicles' crops at ``detector.vehicle_pass_imgsz``
(:mod:`.detectors.vehicle_crops`), then on ``detector.tile_grid`` x ``tile_grid`` overlapping tiles.
Each read is checked by the plate verifier (:mod:`.plates.verify`: character confidences, length, format
fit); reads are ranked by detection score x verifier score, and only when no read of the boxes scoring
``detector.plate_conf`` is plate-like are the pass's boxes down to ``detector.plate_candidate_conf`` read
too (a plate that scores under a sticker).
The video pipeline can call :meth:`read` on a vehicle crop, or detect plates itself and call
:meth:`read_plate` for the best shot of a track.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np

from .config import EdgeConfig, OcrSettings
from .detectors import (
    Detector,
    build_detector,
    build_plate_detector,
    build_vehicle_detector,
    match_plates_to_vehicles,
    shift_detection,
)
from .detectors.tiled import TiledDetector
from .detectors.vehicle_crops import VehicleCropDetector, largest
from .ocr import PlateRecognizer, build_recognizer, build_second_opinion
from .ocr.fusion import choose_read, needs_second_opinion
from .ocr.preprocess import plate_crops, with_blurred
from .plates import FormatPrior, box_aspect
from .plates.verify import PlateVerifier
from .types import BBox, Detection, OcrResult, PlateCandidate

logger = logging.getLogger(__name__)

# Camera formats whose derived detector inputs are prepared when the reader is built (16:9, 4:3).
COMMON_IMAGE_SIZES = [(720, 1280), (960, 1280)]


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
    plate_score: float = 0.0  # the verifier's score of the read (0..1, alpr_edge.plates.verify)


class PlateReader:
    """Plate detector(s) + recogniser with the crop strategy of :class:`OcrSettings`."""

    def __init__(self, plate_detector: Detector, recognizer: PlateRecognizer, settings: OcrSettings,
                 vehicle_detector: Detector | None = None, min_plate_vehicle_overlap: float = 0.5,
                 fallbacks: list[Detector] | None = None, escalate_below: float = 0.3,
                 plates_in_vehicles: bool = False, second_opinion: PlateRecognizer | None = None,
                 prior: FormatPrior | None = None, plate_conf: float = 0.0):
        self.plates = plate_detector
        self.plates_in_vehicles = plates_in_vehicles and vehicle_detector is not None
        self.fallbacks = list(fallbacks or [])
        self.escalate_below = escalate_below
        self.recognizer = recognizer
        self.second_opinion = second_opinion
        self.settings = settings
        self.vehicles = vehicle_detector
        self.min_overlap = min_plate_vehicle_overlap
        self.prior = prior or FormatPrior(region=settings.region)
        self.verifier = PlateVerifier(self.prior, settings.verifier)
        self.plate_conf = plate_conf  # boxes scoring less are read only when no other read is plate-like

    @classmethod
    def from_config(cls, cfg: EdgeConfig, with_vehicles: bool | None = None) -> PlateReader:
        det = cfg.detector
        use_vehicles = det.plates_in_vehicles if with_vehicles is None else with_vehicles
        vehicles = build_vehicle_detector(cfg) if use_vehicles else None
        first, *fallbacks = plate_cascade(cfg, vehicles)
        return cls(first, build_recognizer(cfg), cfg.ocr, vehicles, det.min_plate_vehicle_overlap,
                   fallbacks, det.escalate_below, det.plates_in_vehicles, build_second_opinion(cfg),
                   FormatPrior(cfg.plate_formats, cfg.ocr.region), det.plate_conf)

    def read_plate(self, image: np.ndarray, det: Detection) -> OcrResult:
        """OCR of one detected plate of ``image``.

        The crop(s) come from :func:`plate_crops`; with a slot-probability backend (fast-plate-ocr) the
        tables of the crops are averaged (test-time voting) and the format prior (:mod:`alpr_edge.plates`)
        breaks near-ties of the decoded table; every read gets the ``region`` of the pack it fits.
        Plates narrower than the model's input (crops that get upscaled) also vote with blurred copies of
        their crops (:func:`with_blurred`). A read less confident than ``ocr.second_opinion_below`` is
        compared with the second-opinion recogniser's read of the middle crop (:func:`choose_read`).
        """
        crops = plate_crops(image, det, self.settings)
        if not crops:
            return OcrResult(text="", confidence=0.0)
        result = self._read_crops(crops, det)
        below = self.settings.second_opinion_below
        if self.second_opinion is not None and needs_second_opinion(result, below):
            result = choose_read(result, self.second_opinion.read(crops[len(crops) // 2]), below)
        if result.region is None:  # a read without the table's prior: label it, change nothing
            result = replace(result, region=self.prior.label(result.text, box_aspect(det.xyxy)))
        return result

    def _read_crops(self, crops: list[np.ndarray], det: Detection) -> OcrResult:
        probabilities = getattr(self.recognizer, "probabilities", None)
        if probabilities is None:
            return self.recognizer.read(crops[0])
        rec = self.recognizer
        if det.xyxy[2] - det.xyxy[0] < rec.cfg.img_width:  # type: ignore[attr-defined]
            crops = with_blurred(crops)  # upscaled to the model input: add smoothed copies to the vote
        probs = probabilities(crops).mean(axis=0)
        cfg = rec.cfg  # type: ignore[attr-defined]
        decoded = rec.decode(probs)  # type: ignore[attr-defined]
        return self.prior.apply_to_table(probs, decoded, cfg.alphabet, cfg.pad_char, box_aspect(det.xyxy))

    def detect_plates(self, image: np.ndarray) -> list[Detection]:
        """Plate boxes, best first, from the first pass of the cascade whose best box scores
        ``escalate_below`` or more (else from the pass with the best box)."""
        best: list[Detection] = []
        for i, detector in enumerate([self.plates, *self.fallbacks]):
            if i:
                logger.debug("no plate scoring %.2f yet; detector pass %d", self.escalate_below, i + 1)
            dets = sorted(detector.detect(image), key=lambda d: -d.score)
            if dets and (not best or dets[0].score > best[0].score):
                best = dets
            if best and best[0].score >= self.escalate_below:
                break
        return best[: self.settings.max_plates]

    def detect_in_vehicles(self, image: np.ndarray, vehicles: list[Detection]) -> list[Detection]:
        """The best plate box inside each of the largest vehicles (plate detector on vehicle crops only)."""
        dets: list[Detection] = []
        for vehicle in largest(vehicles, self.settings.max_plates):
            x1, y1, x2, y2 = (round(v) for v in vehicle.xyxy)
            crop = image[max(0, y1):y2, max(0, x1):x2]
            if crop.size:
                dets.extend(shift_detection(d, max(0, x1), max(0, y1)) for d in self.detect_plates(crop)[:1])
        return dets

    def read(self, image: np.ndarray) -> list[StillRead]:
        """All plates of ``image`` (BGR uint8), most plate-like first, at most ``ocr.max_plates``.

        Boxes scoring less than ``plate_conf`` are read only when no read of the others is plate-like.
        """
        if self.plates_in_vehicles:
            vehicles = self.vehicles.detect(image)  # type: ignore[union-attr]
            dets = self.detect_in_vehicles(image, vehicles)
        else:
            dets = self.detect_plates(image)
            vehicles = self.vehicles.detect(image) if self.vehicles is not None and dets else []
        sure = [d for d in dets if d.score >= self.plate_conf]
        reads = self._read_boxes(image, sure, vehicles)
        unsure = [d for d in dets if d.score < self.plate_conf]
        like = self.verifier.settings.plate_like_at
        if unsure and not any(r.plate_score >= like for r in reads):
            logger.debug("no plate-like read among %d box(es); reading %d below plate_conf", len(sure), len(unsure))
            reads += self._read_boxes(image, unsure, vehicles)
        return sorted(reads, key=plate_likeness, reverse=True)

    def _read_boxes(self, image: np.ndarray, dets: list[Detection], vehicles: list[Detection]) -> list[StillRead]:
        reads: list[StillRead] = []
        for match in match_plates_to_vehicles(dets, vehicles, self.min_overlap):
            ocr = self.read_plate(image, match.plate)
            if not ocr.text or ocr.confidence < self.settings.min_confidence:
                continue
            veh = match.vehicle
            check = self.verifier.check(ocr, box_aspect(match.plate.xyxy))
            reads.append(StillRead(text=ocr.text, confidence=ocr.confidence, bbox=match.plate.xyxy,
                                   candidates=ocr.candidates, char_confidences=ocr.char_confidences,
                                   region=ocr.region, detection_score=match.plate.score,
                                   vehicle_bbox=veh.xyxy if veh else None,
                                   vehicle_type=veh.label if veh else None, plate_score=check.score))
        return reads


def plate_cascade(cfg: EdgeConfig, vehicles: Detector | None = None) -> list[Detector]:
    """The still-image plate detector passes, in order: first input size, fallback size, backup model,
    vehicle crops (``vehicles``, else a vehicle detector built here), tiles.

    Their boxes go down to ``detector.plate_candidate_conf`` (when below ``plate_conf``). Each is prepared
    for :data:`COMMON_IMAGE_SIZES` (derived inputs built now, not on the first image).
    """
    det = cfg.detector
    conf = min(det.plate_conf, det.plate_candidate_conf)
    passes = [build_plate_detector(cfg, det.plate_imgsz, conf=conf)]
    fallback = None
    if det.plate_fallback_imgsz and det.plate_fallback_imgsz != det.plate_imgsz:
        fallback = build_plate_detector(cfg, det.plate_fallback_imgsz, conf=conf)
        passes.append(fallback)
    if det.plate_backup_model:
        passes.append(build_detector(det.backend, det.plate_backup_model, cfg, conf=conf))
    if det.vehicle_pass_imgsz and not det.plates_in_vehicles:
        passes.append(VehicleCropDetector(vehicles or build_vehicle_detector(cfg),
                                          build_plate_detector(cfg, det.vehicle_pass_imgsz, conf=conf),
                                          det.vehicle_pass_max_vehicles, det.vehicle_pass_margin, det.iou_thresh))
    if det.tile_grid > 1:
        same_size = fallback is not None and det.tile_imgsz == det.plate_fallback_imgsz
        inner = (fallback if same_size and fallback is not None
                 else build_plate_detector(cfg, det.tile_imgsz, conf=conf))
        passes.append(TiledDetector(inner, det.tile_grid, det.tile_overlap, det.iou_thresh))
    for detector in passes:
        prepare = getattr(detector, "prepare", None)
        if prepare is not None:
            prepare(COMMON_IMAGE_SIZES)
    return passes


def plate_likeness(read: StillRead) -> float:
    """Ranking of reads in an image: detector score times the verifier's score of the read."""
    return read.detection_score * read.plate_score
