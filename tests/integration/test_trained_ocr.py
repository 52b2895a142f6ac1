"""A fine-tuned recogniser (scripts/train_ocr.py) read through alpr-read on shared photos of known plates.

The trained weights are never committed: the test looks for ``ALPR_TRAINED_OCR`` (path of the .onnx, its
``*_plate_config.yaml`` beside it) or ``output/models/cct_xs_v1_alpr_ft.onnx``, and skips without one or
without ../shared. Photos are of the *validation* split (never trained on).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from alpr_training.splits import split_of

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
MODEL = Path(os.environ.get("ALPR_TRAINED_OCR", ROOT / "output" / "models" / "cct_xs_v1_alpr_ft.onnx"))
SHARED = Path(os.environ.get("ALPR_SHARED_DIR", ROOT.parent / "shared"))
PHOTOS = [("br", "AYO9034"), ("us", "wts-lg-000074")]  # AG6V1W: the original reads AG6VIW

needs_model = pytest.mark.skipif(
    not MODEL.is_file() or not (SHARED / "models" / "cct_xs_v1_global.onnx").is_file(),
    reason=f"no trained recogniser at {MODEL} (scripts/train_ocr.py) or no ../shared; set ALPR_TRAINED_OCR")


@needs_model
@pytest.mark.parametrize(("region", "stem"), PHOTOS)
def test_trained_model_reads_a_known_plate(tmp_path, region, stem):
    txt = SHARED / "data" / "plates-dev" / region / f"{stem}.txt"
    name, *_, plate = txt.read_text(encoding="utf-8").strip().split("\t")
    assert split_of(plate) == "validation"
    override = tmp_path / "ocr.yaml"
    config = MODEL.with_name(MODEL.stem + "_plate_config.yaml")
    override.write_text(f"models:\n  ocr_model: {MODEL}\n  ocr_config: {config}\n", encoding="utf-8")
    env = {**os.environ, "ALPR_MODEL_DIR": str(SHARED / "models"),
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "edge-services")])}
    proc = subprocess.run([sys.executable, "-m", "alpr_edge.read_cli", "--json", "--config", str(ROOT / "config"),
                           "--config", str(override), str(txt.parent / name)],
                          capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    assert plate in [p["text"] for p in result["plates"]]
