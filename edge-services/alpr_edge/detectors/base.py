"""Detector interface, COCO vehicle classes, ONNX Runtime session creation, plate-vehicle matching."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ..types import BBox, Detection
from .geometry import intersection_over_first

logger = logging.getLogger(__name__)

VEHICLE_CLASSES: dict[int, str] = {2: "car", 3: "motorcycle", 5: "bus", 7: "truck"}


class Detector(Protocol):
    """Finds objects in a BGR uint8 image; boxes are in that image's pixels."""

    def detect(self, image: np.ndarray) -> list[Detection]: ...


def onnx_providers(device: str) -> list[str]:
    """Execution providers for ``device`` (auto/cpu/cuda/tensorrt) among those this onnxruntime has."""
    import onnxruntime as ort

    available = set(ort.get_available_providers())
    wanted = {"cpu": [], "cuda": ["CUDAExecutionProvider"],
              "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider"],
              "auto": ["TensorrtExecutionProvider", "CUDAExecutionProvider"]}[device]
    chosen = [p for p in wanted if p in available]
    if device in ("cuda", "tensorrt") and not chosen:
        logger.warning("device=%s requested but onnxruntime has only %s; using CPU", device,
                       sorted(available))
    return [*chosen, "CPUExecutionProvider"]


def make_session(path: Path, device: str = "auto", threads: int = 2):  # -> onnxruntime.InferenceSession
    """An ONNX Runtime session with full graph optimisation and ``threads`` intra-op threads."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    # idle intra-op threads sleep instead of spinning: on a shared 2-core box spinning steals the core
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.log_severity_level = 3
    session = ort.InferenceSession(str(path), sess_options=opts, providers=onnx_providers(device))
    logger.info("loaded %s with %s", path.name, session.get_providers()[0])
    return session


@dataclass(frozen=True)
class PlateMatch:
    """A plate detection and the vehicle it belongs to (None when outside every vehicle)."""

    plate: Detection
    vehicle: Detection | None


def match_plates_to_vehicles(plates: list[Detection], vehicles: list[Detection],
                             min_overlap: float = 0.5) -> list[PlateMatch]:
    """Give each plate the vehicle containing most of it (ties: the smaller, nearer vehicle box)."""
    if not plates:
        return []
    if not vehicles:
        return [PlateMatch(p, None) for p in plates]
    inside = intersection_over_first(np.array([p.xyxy for p in plates]), np.array([v.xyxy for v in vehicles]))
    areas = np.array([(v.xyxy[2] - v.xyxy[0]) * (v.xyxy[3] - v.xyxy[1]) for v in vehicles], dtype=np.float64)
    out = []
    for i, plate in enumerate(plates):
        ok = np.flatnonzero(inside[i] >= max(min_overlap, 1e-9))
        if ok.size == 0:
            out.append(PlateMatch(plate, None))
            continue
        best = ok[np.lexsort((areas[ok], -np.round(inside[i, ok], 3)))[0]]
        out.append(PlateMatch(plate, vehicles[int(best)]))
    return out


def expand_box(box: BBox, frac_x: float, frac_y: float, width: int, height: int) -> BBox:
    """Grow ``box`` by a fraction of its size on each side, clipped to the image."""
    x1, y1, x2, y2 = box
    dx, dy = (x2 - x1) * frac_x, (y2 - y1) * frac_y
    return (max(0.0, x1 - dx), max(0.0, y1 - dy), min(float(width), x2 + dx), min(float(height), y2 + dy))


def shift_detection(det: Detection, dx: float, dy: float) -> Detection:
    """The same detection in a parent image whose crop started at (dx, dy)."""
    x1, y1, x2, y2 = det.xyxy
    return Detection(xyxy=(x1 + dx, y1 + dy, x2 + dx, y2 + dy), score=det.score, class_id=det.class_id,
                     label=det.label, mask=det.mask)
