"""Prometheus of the local stack (needs `scripts/stack up prometheus`) and its scrape config."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

httpx = pytest.importorskip("httpx")

PROM_DIR = Path(__file__).resolve().parents[2] / "core-services" / "monitoring" / "prometheus"


def test_ready(prometheus_url):
    resp = httpx.get(f"{prometheus_url}/-/ready", timeout=10)
    assert resp.status_code == 200


def test_query_up_returns_a_result(prometheus_url):
    """`up` has at least Prometheus' own target once the first scrape ran (<= one interval)."""
    deadline = time.monotonic() + 45
    result: list = []
    while time.monotonic() < deadline:
        body = httpx.get(f"{prometheus_url}/api/v1/query", params={"query": "up"}, timeout=10).json()
        assert body["status"] == "success"
        result = body["data"]["result"]
        if any(r["metric"].get("job") == "prometheus" for r in result):
            break
        time.sleep(1)
    own = [r for r in result if r["metric"].get("job") == "prometheus"]
    assert own, f"no up{{job='prometheus'}} sample yet: {result}"
    assert own[0]["value"][1] == "1"


def test_scrapes_the_design_ports(prometheus_url):
    targets = httpx.get(f"{prometheus_url}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
    ports = {t["labels"]["instance"].rsplit(":", 1)[1] for t in targets}
    assert {str(p) for p in range(8000, 8007)} | {"9090"} <= ports


@pytest.mark.parametrize("name", ["prometheus.local.yml", "prometheus.yml"])
def test_promtool_accepts_config(name):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed (Debian package prometheus; scripts/system_deps.sh)")
    res = subprocess.run([promtool, "check", "config", "--syntax-only", str(PROM_DIR / name)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_alert_rules_loaded(prometheus_url):
    """prometheus.local.yml loads the same rules/*.yml as the compose configuration."""
    groups = httpx.get(f"{prometheus_url}/api/v1/rules", timeout=10).json()["data"]["groups"]
    assert sum(len(g["rules"]) for g in groups) > 0
