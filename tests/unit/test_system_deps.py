"""scripts/system_deps.sh parses and, in dry-run mode, only reports (never installs)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "system_deps.sh"


@pytest.fixture(scope="module")
def bash() -> str:
    path = shutil.which("bash")
    if path is None:
        pytest.skip("bash not installed")
    return path


def test_syntax(bash):
    res = subprocess.run([bash, "-n", str(SCRIPT)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_dry_run_reports_without_installing(bash):
    env = {**os.environ, "SYSTEM_DEPS_DRY_RUN": "1"}
    res = subprocess.run([bash, str(SCRIPT)], capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.startswith("system_deps: ")
    assert "apt-get update" not in res.stdout
