"""Detector registry and backends: clear errors for missing optional packages; GPU runs skip without CUDA."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

from alpr_edge.config import EdgeConfig
from alpr_edge.detectors import DETECTOR_BACKENDS, build_detector
from alpr_edge.detectors.ultralytics_backend import UltralyticsDetector, polygon_mask
from alpr_edge.models import ModelError


def test_registry_names():
    assert set(DETECTOR_BACKENDS) == {"onnx", "ultralytics"}


def test_unknown_backend_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown detector backend"):
        build_detector("darknet", "x.onnx", EdgeConfig())


def test_missing_model_file_names_the_url(tmp_path):
    cfg = EdgeConfig(model_dir=tmp_path)
    with pytest.raises(ModelError, match=r"yolo11n_coco_int8_320\.onnx.*https://github\.com/ultralytics"):
        build_detector("onnx", "yolo11n_coco_int8_320.onnx", cfg)


@pytest.mark.skipif(importlib.util.find_spec("ultralytics") is not None, reason="ultralytics is installed")
def test_ultralytics_backend_without_the_package():
    with pytest.raises(RuntimeError, match="pip install ultralytics"):
        UltralyticsDetector(Path("yolo11n.pt"))


def test_polygon_mask_is_cropped_to_the_box():
    mask = polygon_mask(np.array([[10, 10], [30, 10], [30, 20], [10, 20]], dtype=np.float32),
                        np.array([10.0, 10.0, 30.0, 20.0]))
    assert mask.shape == (10, 20) and mask.all()


def _cuda_available() -> bool:
    import onnxruntime as ort

    return "CUDAExecutionProvider" in ort.get_available_providers()


@pytest.mark.gpu
@pytest.mark.skipif(not _cuda_available(), reason="no CUDA execution provider in this onnxruntime")
def test_plate_detector_on_cuda():
    model_dir = Path(os.environ.get("ALPR_MODEL_DIR", "../shared/models"))
    if not (model_dir / "platedet_yolov8s-seg_plate_640_fp16.onnx").is_file():
        pytest.skip("model folder not found (ALPR_MODEL_DIR)")
    cfg = EdgeConfig(model_dir=model_dir, device="cuda")
    det = build_detector("onnx", cfg.models.plate_model, cfg, conf=0.25)
    assert det.session.get_providers()[0] == "CUDAExecutionProvider"
    assert det.detect(np.zeros((720, 1280, 3), dtype=np.uint8)) == []
