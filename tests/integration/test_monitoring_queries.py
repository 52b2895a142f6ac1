"""Every PromQL expression of the dashboards and alert rules evaluates on the real Prometheus, and every
SQL panel runs on the real PostgreSQL schema (issue: observability)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import yaml

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
MON = ROOT / "core-services" / "monitoring"


def _panel_queries(kind: str) -> list[tuple[str, str]]:
    out = []
    for path in sorted((MON / "grafana" / "dashboards").glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel["targets"]:
                if kind == "prometheus" and target["datasource"]["uid"] == "prometheus":
                    out.append((f"{path.stem}:{panel['title']}", target["expr"]))
                if kind == "postgres" and target["datasource"]["uid"] == "postgres":
                    out.append((f"{path.stem}:{panel['title']}", target["rawSql"]))
    return out


def _rule_queries() -> list[tuple[str, str]]:
    out = []
    for path in sorted((MON / "prometheus" / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            out += [(f"rule:{rule['alert']}", rule["expr"]) for rule in group["rules"]]
    return out


PROMQL = _panel_queries("prometheus") + _rule_queries()
SQL = _panel_queries("postgres")


@pytest.mark.parametrize(("name", "expr"), PROMQL, ids=[n for n, _ in PROMQL])
def test_promql_evaluates_without_error(prometheus_url: str, name: str, expr: str) -> None:
    resp = httpx.get(f"{prometheus_url}/api/v1/query", params={"query": expr}, timeout=10)
    body = resp.json()
    assert resp.status_code == 200 and body["status"] == "success", f"{name}: {body.get('error')}"


@pytest.mark.parametrize(("name", "sql"), SQL, ids=[n for n, _ in SQL])
def test_sql_panel_runs_on_the_schema(pg_conn, name: str, sql: str) -> None:
    with pg_conn.cursor() as cur:
        cur.execute(sql)
        rows = cur.fetchall()
        assert cur.description is not None and len(cur.description) >= 2, name
    assert isinstance(rows, list)
