"""Schemathesis against the running query API: every operation, authenticated with an admin key.

Fails on any 5xx and on any response that breaks the OpenAPI contract (schema, status code, content
type). The server uses the alpr_apitest database (watchlist writes stay out of alpr_db). The same
command, by hand, is in the README ("Query API").
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.api_server import ROOT, ApiServer, create_key, ensure_test_db
from tests.integration.conftest import require_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"


def _opensearch_up() -> bool:
    try:
        return httpx.get("http://127.0.0.1:9200/_cluster/health", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def _run(url: str, key: str, report_dir: Path) -> subprocess.CompletedProcess[str]:
    examples = os.environ.get("ALPR_SCHEMATHESIS_EXAMPLES", "25")
    cmd = [
        str(ROOT / ".venv" / "bin" / "schemathesis"),
        "run",
        f"{url}/openapi.json",
        "--header",
        f"X-API-Key: {key}",
        "--checks",
        CHECKS,
        "--max-examples",
        examples,
        "--max-redirects",
        "0",
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--seed",
        "1",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(report_dir),
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=report_dir)


def test_schemathesis_finds_no_server_error_or_schema_violation(tmp_path: Path) -> None:
    require_port(5432, "PostgreSQL")
    require_port(9200, "OpenSearch")
    dbname = ensure_test_db()
    _, admin = create_key(dbname, "admin", "apitest-schemathesis")
    server = ApiServer(dbname).start()
    try:
        result = _run(server.url, admin, tmp_path)
        # The shared OpenSearch is restarted by other suites; the API then answers 503 (documented).
        # Such a run proves nothing either way: wait for OpenSearch and run once more.
        if result.returncode != 0 and "503" in result.stdout and not _opensearch_up():
            deadline = time.monotonic() + 180
            while not _opensearch_up() and time.monotonic() < deadline:
                time.sleep(5)
            result = _run(server.url, admin, tmp_path)
    finally:
        server.stop()
    output = result.stdout + result.stderr
    if result.returncode != 0 and "503" in output and not _opensearch_up():
        pytest.skip("OpenSearch went down during both schemathesis runs (the API answered 503 as documented)")
    assert result.returncode == 0, output[-6000:]
    assert "22 selected / 22 total" in output and "Server error" not in output, output[-3000:]
