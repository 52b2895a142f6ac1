"""pilot.py on the shared traffic video with the real models: the known plates are read.

Plates verified by looking at the best crops (output/crops): 34A-368.37 (silver car, first seconds) and
34A-231.26 (red car). Slow (real models on CPU); skipped when the models or the video are absent.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("ALPR_SHARED_DIR", ROOT.parent / "shared"))
MODEL_DIR = Path(os.environ.get("ALPR_MODEL_DIR", SHARED / "models"))
VIDEO = SHARED / "data" / "video" / "parkpow_cars.mp4"
KNOWN_PLATES = {"34A36837", "34A23126"}
NEEDED = ("yolo11n_coco_int8_320.onnx", "platedet_yolov8s-seg_plate_640_fp16.onnx", "cct_xs_v1_global.onnx",
          "cct_xs_v1_global_plate_config.yaml")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pilot_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    missing = [name for name in NEEDED if not (MODEL_DIR / name).is_file()]
    if missing or not VIDEO.is_file():
        pytest.skip(f"needs {VIDEO} and models in {MODEL_DIR} (missing: {missing or 'video'})")
    work = tmp_path_factory.mktemp("pilot")
    env = {**os.environ, "ALPR_MODEL_DIR": str(MODEL_DIR.resolve())}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "pilot.py"), "--source", str(VIDEO.resolve()), "--no-display",
         "--as-fast-as-possible", "--output", str(work / "reads.csv")],
        cwd=work, env=env, capture_output=True, text=True, timeout=900)
    return proc, work


def test_pilot_reads_a_known_plate(pilot_run: tuple[subprocess.CompletedProcess, Path]) -> None:
    proc, work = pilot_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = list(csv.DictReader((work / "reads.csv").open()))
    plates = {row["plate"] for row in rows}
    assert plates & KNOWN_PLATES, f"read {plates}, expected one of {KNOWN_PLATES}"
    assert len(rows) <= 6, "one read per vehicle passage, not one per frame"
    assert len({(r["camera_id"], r["track_id"]) for r in rows}) == len(rows)
    row = next(r for r in rows if r["plate"] in KNOWN_PLATES)
    assert int(row["read_count"]) >= 1 and float(row["confidence"]) >= 0.5 and row["region"] == "vn"
    crop = Path(row["crop_path"])
    assert (crop if crop.is_absolute() else work / crop).is_file()


def test_pilot_logs_one_line_per_read(pilot_run: tuple[subprocess.CompletedProcess, Path]) -> None:
    proc, _ = pilot_run
    lines = [line for line in proc.stderr.splitlines() if "plate read:" in line]
    assert any(plate in line for line in lines for plate in KNOWN_PLATES)


def test_pilot_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    missing = [name for name in NEEDED if not (MODEL_DIR / name).is_file()]
    if missing or not VIDEO.is_file():
        pytest.skip(f"needs {VIDEO} and models in {MODEL_DIR}")
    env = {**os.environ, "ALPR_MODEL_DIR": str(MODEL_DIR.resolve())}
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "pilot.py"), "--source", str(VIDEO.resolve()), "--no-display",
         "--output", str(tmp_path / "reads.csv")],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    head = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # wait until the camera runs (models loaded)
            head.append(line)
            if "started kind=" in line:
                break
        time.sleep(3)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    out = "".join(head) + out
    assert proc.returncode == 0, out[-3000:]
    assert "stopping: flushing tracks" in out and "done:" in out
    assert (tmp_path / "reads.csv").read_text().startswith("first_seen,")
