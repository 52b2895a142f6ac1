"""pilot.py flags: parsing, overrides, --validate-config."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from alpr_edge.cli import apply_overrides, build_parser, camera_id_for
from alpr_edge.config import EdgeConfig

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("source", "index", "cam_id"), [
    ("../shared/data/video/parkpow_cars.mp4", 1, "parkpow_cars"), ("rtsp://u:p@10.0.0.1/s", 2, "cam-02"),
    ("/dev/video0", 3, "cam-03"), ("/data/my clip (1).mp4", 1, "my-clip-1"),
])
def test_camera_id_for(source: str, index: int, cam_id: str) -> None:
    assert camera_id_for(source, index) == cam_id


def test_overrides() -> None:
    args = build_parser().parse_args([
        "--source", "a.mp4", "--source", "rtsp://cam/1", "--skip-frames", "2", "--model", "v.onnx",
        "--plate-model", "p.onnx", "--as-fast-as-possible", "--no-display", "--no-ocr", "--max-frames", "5",
        "--save-video", "out.mp4"])
    cfg = apply_overrides(EdgeConfig(), args)
    assert [(c.id, c.source) for c in cfg.cameras] == [("a", "a.mp4"), ("cam-02", "rtsp://cam/1")]
    assert cfg.pipeline.skip_frames == 2 and cfg.sources.as_fast_as_possible
    assert (cfg.models.vehicle_model, cfg.models.plate_model) == ("v.onnx", "p.onnx")
    assert args.display is False and args.no_ocr and args.max_frames == 5
    assert args.save_video == Path("out.mp4")


def test_display_defaults_to_unset_and_negative_counts_are_rejected() -> None:
    assert build_parser().parse_args([]).display is None
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--skip-frames", "-1"])


def test_validate_config_exits_zero() -> None:
    out = subprocess.run([sys.executable, "pilot.py", "--validate-config"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "configuration OK" in out.stdout


def test_invalid_config_exits_two(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("pipeline:\n  max_reads_per_track: 0\n")
    out = subprocess.run([sys.executable, "pilot.py", "--config", str(bad), "--validate-config"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "pipeline.max_reads_per_track" in out.stderr
