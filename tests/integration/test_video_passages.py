"""The full per-camera pipeline on the labelled sample video: every readable passage read once, no false event.

The real models and the delivery side's event processor (offline: dedup and validation, no Kafka), with
reading inline (no worker thread), so the run is the same on a loaded machine; scored by the same rules as
``scripts/benchmark_events.py`` (docs/benchmarks.md, "Video passages"). Slow (~30 s of CPU); skipped when the
video, its labels or the models are absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import pytest

from alpr_common.config import load_config
from alpr_edge.config import EdgeConfig
from alpr_edge.evaluation import EventCapture, load_passages, offline_delivery_config, score, table_lines
from alpr_edge.pipeline import build_camera_pipeline, load_models
from alpr_edge.publishing import build_sink
from alpr_edge.types import Frame

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("ALPR_SHARED_DIR", ROOT.parent / "shared"))
MODEL_DIR = Path(os.environ.get("ALPR_MODEL_DIR", SHARED / "models"))
VIDEO = SHARED / "data" / "video" / "parkpow_cars.mp4"
LABELS = SHARED / "data" / "video" / "parkpow_cars_gt.csv"
NEEDED = ("yolo11n_coco_int8_320.onnx", "platedet_yolov8s-seg_plate_640_fp16.onnx", "cct_xs_v1_global.onnx")

pytestmark = pytest.mark.slow


def test_every_readable_passage_is_read_once_and_nothing_else(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    missing = [n for n in NEEDED if not (MODEL_DIR / n).is_file()]
    if missing or not VIDEO.is_file() or not LABELS.is_file():
        pytest.skip(f"needs {VIDEO}, {LABELS} and models in {MODEL_DIR} (missing: {missing})")
    monkeypatch.setenv("ALPR_MODEL_DIR", str(MODEL_DIR))
    cfg = offline_delivery_config(load_config(EdgeConfig, [ROOT / "config"]), tmp_path)
    models = load_models(cfg)
    capture = EventCapture(build_sink(cfg, serve_metrics=False))
    pipe = build_camera_pipeline("sample", cfg, models, worker=None)
    cap = cv2.VideoCapture(str(VIDEO))
    fps = cap.get(cv2.CAP_PROP_FPS) or 18.0
    number = 0
    try:
        while True:
            ok, image = cap.read()
            if not ok:
                break
            number += 1  # the pipeline numbers frames from 1, as the camera thread does
            for read in pipe.process(Frame("sample", image, number, 1_700_000_000.0 + number / fps)).reads:
                capture.publish(read)
        for read in pipe.flush():
            capture.publish(read)
    finally:
        cap.release()
        capture.close()
    result = score(capture.events, load_passages(LABELS))
    table = "\n".join(table_lines(result))
    assert number == 339
    assert result.readable == 4 and result.read == 4, f"{result.summary()}\n{table}\n{capture.log}"
    assert not result.false_events, f"false events: {result.false_events}\n{capture.log}"


def test_camera_and_reading_models_get_their_own_thread_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    if any(not (MODEL_DIR / n).is_file() for n in NEEDED):
        pytest.skip(f"needs the models in {MODEL_DIR}")
    monkeypatch.setenv("ALPR_MODEL_DIR", str(MODEL_DIR))
    cfg = load_config(EdgeConfig, [ROOT / "config"])
    cfg.pipeline.model_threads, cfg.pipeline.reading_model_threads = 2, 1
    models = load_models(cfg, with_ocr=False)

    def threads(detector) -> int:
        return detector.session.get_session_options().intra_op_num_threads

    assert threads(models.vehicles) == 2 and threads(models.vehicles_high_res) == 2
    assert threads(models.plates) == 1
    assert cfg.detector.intra_op_threads == 2  # the caller's config is not changed
