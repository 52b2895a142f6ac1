"""A fine-tuned recogniser (scripts/train_ocr.py) read through alpr-read on shared photos of known plates.

The trained weights are never committed: the test looks for ``ALPR_TRAINED_OCR`` (path of the .onnx, its
``*_plate_config.yaml`` beside it) or ``output/models/cct_xs_v1_alpr_ft.onnx``, and skips without one or
without ../shared. Photos are of the *validation* split (never trained on). Without the trained file,
``models.ocr_fallback_model`` must take over (that test always runs).
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
    # By manifest name, found in the trained-model folder and checked against the manifest or its record.
    proc = read(tmp_path, txt.parent / name, MODEL.name, MODEL.stem + "_plate_config.yaml", MODEL.parent)
    assert proc.returncode == 0, proc.stderr
    assert "ocr_fallback_model" not in proc.stderr, "the trained model was not found"
    result = json.loads(proc.stdout.splitlines()[-1])
    assert plate in [p["text"] for p in result["plates"]]


def read(tmp_path: Path, photo: Path, model: str, config: str, trained_dir: Path) -> subprocess.CompletedProcess:
    override = tmp_path / "ocr.yaml"
    override.write_text(f"models:\n  ocr_model: {model}\n  ocr_config: {config}\n", encoding="utf-8")
    env = {**os.environ, "ALPR_MODEL_DIR": str(SHARED / "models"), "ALPR_TRAINED_MODEL_DIR": str(trained_dir),
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "edge-services")])}
    return subprocess.run([sys.executable, "-m", "alpr_edge.read_cli", "--json", "--config", str(ROOT / "config"),
                           "--config", str(override), str(photo)],
                          capture_output=True, text=True, env=env, timeout=300, cwd=ROOT)


@pytest.mark.skipif(not (SHARED / "models" / "cct_xs_v1_global.onnx").is_file(), reason="no ../shared")
def test_a_missing_trained_model_falls_back_to_the_original_and_still_reads(tmp_path):
    txt = SHARED / "data" / "plates-dev" / "br" / "AYO9034.txt"
    name, *_, plate = txt.read_text(encoding="utf-8").strip().split("\t")
    proc = read(tmp_path, txt.parent / name, "cct_xs_v1_alpr_ft.onnx", "cct_xs_v1_alpr_ft_plate_config.yaml",
                tmp_path / "no-trained-models")
    assert proc.returncode == 0, proc.stderr
    assert "scripts/train_ocr.py" in proc.stderr and "ocr_fallback_model" in proc.stderr
    assert plate in [p["text"] for p in json.loads(proc.stdout.splitlines()[-1])["plates"]]
