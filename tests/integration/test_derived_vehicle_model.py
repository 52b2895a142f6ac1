"""The shared int8 vehicle model, derived to fp32 with the frame's aspect, on frames of the shared video.

Why the video pipeline runs a derived model (docs/benchmarks.md, "Session 7"): at the same scale it finds the
same vehicles as the int8 export; at 480 it finds the truck cut off by the left image edge (passage V08) that
the 320 input scores at 0.1. Skipped when the video or the model is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from alpr_edge.detectors.geometry import iou_matrix
from alpr_edge.detectors.onnx_yolo import OnnxYoloDetector

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("ALPR_SHARED_DIR", ROOT.parent / "shared"))
MODEL = Path(os.environ.get("ALPR_MODEL_DIR", SHARED / "models")) / "yolo11n_coco_int8_320.onnx"
VIDEO = SHARED / "data" / "video" / "parkpow_cars.mp4"
VEHICLES = [2, 3, 5, 7]
V08_FRAMES = (170, 200, 230)  # the dark-green truck stands at the left edge, 0-based cap.read() indices

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def frames() -> dict[int, np.ndarray]:
    if not (MODEL.is_file() and VIDEO.is_file()):
        pytest.skip(f"needs {MODEL} and {VIDEO}")
    cap = cv2.VideoCapture(str(VIDEO))
    out, index = {}, 0
    wanted = {20, 120, *V08_FRAMES}
    while index <= max(wanted):
        ok, image = cap.read()
        assert ok, f"video ended at frame {index}"
        if index in wanted:
            out[index] = image
        index += 1
    return out


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    os.environ["ALPR_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))


def test_the_derived_model_finds_the_int8_models_vehicles(frames: dict[int, np.ndarray], cache: None) -> None:
    int8 = OnnxYoloDetector(MODEL, conf=0.25, classes=VEHICLES, threads=1)
    fp32 = OnnxYoloDetector(MODEL, conf=0.25, classes=VEHICLES, threads=1, imgsz=320)
    assert fp32.session_for((720, 1280)).get_inputs()[0].shape == [1, 3, 192, 320]
    for index in (20, 120, 230):
        want = [d for d in int8.detect(frames[index]) if d.score >= 0.5]
        got = fp32.detect(frames[index])
        assert want, f"frame {index}: no confident vehicle to compare"
        ious = iou_matrix(np.array([d.xyxy for d in want]), np.array([d.xyxy for d in got]))
        assert (ious.max(axis=1) > 0.8).all(), f"frame {index}: a confident int8 vehicle has no derived match"


def test_the_high_resolution_pass_finds_the_cut_off_truck(frames: dict[int, np.ndarray], cache: None) -> None:
    low = OnnxYoloDetector(MODEL, conf=0.05, classes=VEHICLES, threads=1)
    high = OnnxYoloDetector(MODEL, conf=0.05, classes=VEHICLES, threads=1, imgsz=480)

    def truck_score(detector: OnnxYoloDetector, image: np.ndarray) -> float:
        at_edge = [d.score for d in detector.detect(image) if d.xyxy[0] < 40 and d.xyxy[3] - d.xyxy[1] > 150]
        return max(at_edge, default=0.0)

    for index in V08_FRAMES:
        assert truck_score(low, frames[index]) < 0.3, f"frame {index}: the 320 input already finds the truck"
        assert truck_score(high, frames[index]) >= 0.6, f"frame {index}: 480 misses the truck at the edge"
