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


def _path_without(tmp_path: Path, tool: str) -> str:
    """A PATH with every command of the current one except ``tool`` (symlinks in one folder)."""
    out = tmp_path / "bin"
    out.mkdir()
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        d = Path(folder)
        if not d.is_dir():
            continue
        for exe in d.iterdir():
            link = out / exe.name
            if exe.name != tool and not link.exists() and os.access(exe, os.X_OK):
                link.symlink_to(exe)
    return str(out)


def _would_install(stdout: str) -> list[str]:
    line = next((ln for ln in stdout.splitlines() if "would install" in ln), "")
    return line.split("would install", 1)[1].split() if line else []


def test_dry_run_names_wrk_when_missing(bash, tmp_path):
    env = {**os.environ, "SYSTEM_DEPS_DRY_RUN": "1", "PATH": _path_without(tmp_path, "wrk")}
    res = subprocess.run([bash, str(SCRIPT)], capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "wrk" in _would_install(res.stdout)


def test_dry_run_leaves_present_wrk_alone(bash, tmp_path):
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "wrk").write_text("#!/bin/sh\nexit 0\n")
    (fake / "wrk").chmod(0o755)
    env = {**os.environ, "SYSTEM_DEPS_DRY_RUN": "1", "PATH": f"{fake}{os.pathsep}{os.environ.get('PATH', '')}"}
    res = subprocess.run([bash, str(SCRIPT)], capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "wrk" not in _would_install(res.stdout)
