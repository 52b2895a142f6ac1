"""Dockerfiles: hadolint-clean, non-root, with a healthcheck."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = [ROOT / "core-services" / "Dockerfile", ROOT / "edge-services" / "Dockerfile",
               ROOT / "edge-services" / "Dockerfile.jetson"]
HADOLINT = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_non_root_with_healthcheck(path: Path) -> None:
    text = path.read_text()
    users = [line.split()[1] for line in text.splitlines() if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0"), "the final USER must not be root"
    assert "HEALTHCHECK" in text


@pytest.mark.skipif(not Path(HADOLINT).exists(), reason="hadolint not installed (requirements-dev.txt)")
@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_hadolint_clean(path: Path) -> None:
    res = subprocess.run([HADOLINT, "--no-color", str(path)], cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
