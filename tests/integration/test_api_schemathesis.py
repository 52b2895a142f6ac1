"""Schemathesis against the running query API: every operation, authenticated with an admin key.

Fails on any 5xx and on any response that breaks the OpenAPI contract (schema, status code, content
type). The server uses the alpr_apitest database (watchlist writes stay out of alpr_db). The same
command, by hand, is in the README ("Query API").
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.integration.api_server import ROOT, ApiServer, create_key, ensure_test_db
from tests.integration.conftest import require_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"


def test_schemathesis_finds_no_server_error_or_schema_violation(tmp_path: Path) -> None:
    require_port(5432, "PostgreSQL")
    require_port(9200, "OpenSearch")
    dbname = ensure_test_db()
    _, admin = create_key(dbname, "admin", "apitest-schemathesis")
    server = ApiServer(dbname).start()
    examples = os.environ.get("ALPR_SCHEMATHESIS_EXAMPLES", "25")
    cmd = [str(ROOT / ".venv" / "bin" / "schemathesis"), "run", f"{server.url}/openapi.json",
           "--header", f"X-API-Key: {admin}", "--checks", CHECKS, "--max-examples", examples,
           "--max-redirects", "0", "--workers", "1", "--request-timeout", "30", "--seed", "1",
           "--generation-database", "none", "--no-color", "--report", "junit",
           "--report-dir", str(tmp_path)]
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    finally:
        server.stop()
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "/events/plate/{plate_text}" in output and "/watchlists/{entry_id}" in output, output[-3000:]
