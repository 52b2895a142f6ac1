"""Real models on shared photos: PlateReader reads the labelled plates; alpr-read --json; corrupt images.

Needs only ../shared (found through ALPR_SHARED_DIR, or ALPR_MODEL_DIR's parent); skips without it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def shared_dir() -> Path | None:
    candidates = [os.environ.get("ALPR_SHARED_DIR")]
    if os.environ.get("ALPR_MODEL_DIR"):
        candidates.append(str(Path(os.environ["ALPR_MODEL_DIR"]).parent))
    candidates.append(str(ROOT.parent / "shared"))
    for cand in candidates:
        if cand and (Path(cand) / "models" / "cct_xs_v1_global.onnx").is_file():
            return Path(cand)
    return None


SHARED = shared_dir()
needs_shared = pytest.mark.skipif(SHARED is None, reason="../shared (models + plates-dev) not found; "
                                                          "set ALPR_SHARED_DIR")
SAMPLES = [("us", "0b86cecf-67d1-4fc0-87c9-b36b0ee228bb"), ("us", "22e54a62-57a8-4a0a-88c1-4b9758f67651"),
           ("br", "AYO9034"), ("br", "AZJ6991")]


def label(ds: str, stem: str) -> tuple[Path, str, tuple[float, float, float, float]]:
    assert SHARED is not None
    txt = SHARED / "data" / "plates-dev" / ds / f"{stem}.txt"
    name, x, y, w, h, plate = txt.read_text().strip().split("\t")
    x0, y0 = float(x), float(y)
    return txt.parent / name, plate, (x0, y0, x0 + float(w), y0 + float(h))


@pytest.fixture(scope="module")
def reader():
    from alpr_edge.config import EdgeConfig
    from alpr_edge.still import PlateReader

    assert SHARED is not None
    return PlateReader.from_config(EdgeConfig(model_dir=SHARED / "models"))


@needs_shared
@pytest.mark.parametrize(("ds", "stem"), SAMPLES)
def test_reader_reads_the_labelled_plate(reader, ds, stem):
    import cv2

    from alpr_edge.detectors.geometry import iou_matrix

    path, plate, box = label(ds, stem)
    reads = reader.read(cv2.imread(str(path)))
    assert reads, f"no plate found in {path.name}"
    best = max(reads, key=lambda r: iou_matrix([r.bbox], [box])[0, 0])
    assert iou_matrix([best.bbox], [box])[0, 0] > 0.4
    assert best.text == plate
    assert best.candidates and best.candidates[0].text == plate
    assert 0.0 < best.confidence <= 1.0


def run_cli(*args: str) -> subprocess.CompletedProcess:
    assert SHARED is not None
    env = {**os.environ, "ALPR_MODEL_DIR": str(SHARED / "models"),
           "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "edge-services")])}
    return subprocess.run([sys.executable, "-m", "alpr_edge.read_cli", *args], capture_output=True, text=True,
                          env=env, timeout=300, cwd=ROOT)


@needs_shared
def test_alpr_read_json_shape_and_corrupt_image(tmp_path):
    good, plate, _ = label("br", "AYO9034")
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    proc = run_cli("--json", str(corrupt), str(good))
    assert proc.returncode == 1, proc.stderr  # one file failed, the run went on
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(lines) == 2
    assert lines[0]["file"] == str(corrupt) and "error" in lines[0]
    result = lines[1]
    assert set(result) == {"file", "plates", "ms"} and result["ms"] > 0
    first = result["plates"][0]
    assert set(first) == {"text", "confidence", "bbox", "candidates", "region"}
    assert first["text"] == plate and len(first["bbox"]) == 4
    assert all(set(c) == {"text", "confidence"} for c in first["candidates"])


@needs_shared
def test_alpr_read_folder_human_output():
    folder = SHARED / "data" / "plates-dev" / "br"
    proc = run_cli(str(folder / "AYO9034.jpg"), str(folder / "AZJ6991.jpg"))
    assert proc.returncode == 0, proc.stderr
    assert "AYO9034" in proc.stdout and "AZJ6991" in proc.stdout and "plate1:" in proc.stdout


@needs_shared
def test_alpr_read_validate_config():
    proc = run_cli("--validate-config")
    assert proc.returncode == 0 and "configuration OK" in proc.stdout
