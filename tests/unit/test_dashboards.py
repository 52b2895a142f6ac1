"""Grafana provisioning: dashboards are current, every panel uses a provisioned datasource and has a query."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "core-services" / "monitoring" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))


def _provisioned() -> dict[str, str]:
    doc = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "datasources.yml").read_text())
    return {ds["uid"]: ds["type"] for ds in doc["datasources"]}


def test_dashboards_are_generated_and_current() -> None:
    res = subprocess.run([sys.executable, "scripts/gen_dashboards.py", "--check"], cwd=ROOT, capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr
    titles = {json.loads(p.read_text())["title"] for p in DASHBOARDS}
    assert {"ALPR Overview", "Edge Health", "Kafka & Database", "Search", "Logs Explorer"} <= titles


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_panel_has_a_provisioned_datasource_and_a_query(path: Path) -> None:
    provisioned = _provisioned()
    dash = json.loads(path.read_text())
    assert dash["panels"], f"{path.name} has no panels"
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in dash["panels"]:
        ds = panel["datasource"]
        assert provisioned.get(ds["uid"]) == ds["type"], f"{panel['title']}: datasource {ds} not provisioned"
        for target in panel["targets"]:
            assert target["datasource"] == ds
            query = target.get("expr") or target.get("rawSql")
            assert query and query.strip(), f"{panel['title']}: empty query"


def test_dashboard_provider_points_at_the_mounted_folder() -> None:
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "dashboards.yml").read_text())
    path = provider["providers"][0]["options"]["path"]
    compose = (ROOT / "docker-compose.yml").read_text()
    assert f"grafana/dashboards:{path}" in compose
