"""promtool over the shipped Prometheus configuration: config, rules, and the rule unit tests."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

PROM = Path(__file__).resolve().parents[2] / "core-services" / "monitoring" / "prometheus"
PROMTOOL = shutil.which("promtool")

pytestmark = pytest.mark.skipif(
    PROMTOOL is None and not os.environ.get("CI"),
    reason="promtool not installed (scripts/system_deps.sh installs it; CI requires it)",
)


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL, "promtool is required in CI"
    return subprocess.run([PROMTOOL, *args], cwd=PROM, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("config", ["prometheus.yml", "prometheus.local.yml"])
def test_check_config(config: str) -> None:
    if not (PROM / config).exists():
        pytest.fail(f"{config} missing")
    res = _promtool("check", "config", config)
    assert res.returncode == 0, res.stdout + res.stderr


def test_check_rules() -> None:
    res = _promtool("check", "rules", *sorted(str(p.relative_to(PROM)) for p in (PROM / "rules").glob("*.yml")))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "SUCCESS" in res.stdout


def test_rule_unit_tests() -> None:
    res = _promtool("test", "rules", *sorted(str(p.relative_to(PROM)) for p in (PROM / "tests").glob("*.yml")))
    assert res.returncode == 0, res.stdout + res.stderr
