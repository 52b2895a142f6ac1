"""scripts/phase: the per-phase timing that `make test` records and .ci/run prints on one line."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

PHASE = Path(__file__).resolve().parents[2] / "scripts" / "phase"


def phase(*args: str, phases: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ALPR_PHASES_FILE": str(phases)} if phases else dict(os.environ)
    if not phases:
        env.pop("ALPR_PHASES_FILE", None)
    return subprocess.run(["bash", str(PHASE), *args], capture_output=True, text=True, env=env, timeout=60)


@pytest.mark.parametrize(("command", "rc"), [(["true"], 0), (["false"], 1), (["sh", "-c", "exit 7"], 7)])
def test_the_exit_status_passes_through_and_the_phase_is_recorded(tmp_path: Path, command: list[str],
                                                                  rc: int) -> None:
    phases = tmp_path / "phases.txt"
    assert phase("lint", *command, phases=phases).returncode == rc
    name, seconds = phases.read_text().split()
    assert name == "lint" and int(seconds) >= 0


def test_without_a_phases_file_nothing_is_written(tmp_path: Path) -> None:
    result = phase("unit", "sh", "-c", "echo out", phases=None)
    assert result.returncode == 0 and result.stdout == "out\n"
    assert list(tmp_path.iterdir()) == []


def test_summary_sums_each_phase_in_first_seen_order(tmp_path: Path) -> None:
    phases = tmp_path / "phases.txt"
    phases.write_text("deps 3\nlint 20\ndeps 5\nunit 40\nstack_up 31\nintegration 400\n")
    line = phase("--summary", str(phases)).stdout.strip()
    assert line == "phases: deps=8s lint=20s unit=40s stack_up=31s integration=400s total=499s"
