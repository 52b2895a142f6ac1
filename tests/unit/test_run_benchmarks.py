"""scripts/run_benchmarks.sh (`make bench`): runs each benchmark, keeps its log, ends with the last lines."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "run_benchmarks.sh"
# Stands in for .venv/bin/python: prints progress, then a last line named after the script; benchmark_api fails.
FAKE_PYTHON = """#!/bin/sh
name=$(basename "$1" .py)
echo "progress of $name"
echo "stderr of $name" >&2
[ "$name" = benchmark_api ] && exit 3
echo "${name#benchmark_}_per_s=1 args=$#"
"""


@pytest.fixture()
def run(tmp_path):
    if shutil.which("bash") is None:
        pytest.skip("bash not installed")
    fake = tmp_path / "python"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    shared = tmp_path / "shared"
    (shared / "data" / "video").mkdir(parents=True)
    (shared / "data" / "video" / "parkpow_cars.mp4").write_bytes(b"")

    def go(*names: str, **env: str) -> subprocess.CompletedProcess[str]:
        full = {**os.environ, "PYTHON": str(fake), "BENCH_SKIP_STACK": "1", "BENCH_LOCK": "",
                "BENCH_LOG_DIR": str(tmp_path / "logs"), "ALPR_SHARED_DIR": str(shared),
                "ALPR_MODEL_DIR": str(tmp_path), **env}
        return subprocess.run(["bash", str(SCRIPT), *names], capture_output=True, text=True, env=full, timeout=60)

    return go


def test_syntax():
    res = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_all_six_run_in_order_and_the_summary_lists_each_last_line(run, tmp_path):
    res = run()
    assert res.returncode == 1  # benchmark_api failed
    summary = res.stdout.splitlines()[-6:]
    assert summary == [
        "delivery: delivery_per_s=1 args=1",
        "consumers: consumers_per_s=1 args=1",
        f"api: FAILED (exit 3), see {tmp_path / 'logs' / 'api.log'}",
        "alerts: alerts_per_s=1 args=1",
        "video: video_per_s=1 args=2",  # the sample video is passed
        "accuracy: accuracy_per_s=1 args=3",  # both photo folders
    ]
    log = (tmp_path / "logs" / "video.log").read_text()
    assert "progress of benchmark_video" in log and "stderr of benchmark_video" in log


def test_a_chosen_subset_and_its_checks(run):
    res = run("alerts", "delivery")
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.splitlines()[-2:] == ["alerts: alerts_per_s=1 args=1", "delivery: delivery_per_s=1 args=1"]
    bad = run("nope")
    assert bad.returncode == 2 and "unknown benchmark 'nope'" in bad.stderr
    no_models = run("video", ALPR_MODEL_DIR="")
    assert no_models.returncode == 2 and "ALPR_MODEL_DIR" in no_models.stderr
