"""``alpr-api keys create|list|revoke`` against the real database, and revocation seen by the API."""

from __future__ import annotations

import json
import os
import subprocess
import uuid

import httpx
import psycopg
import pytest

from tests.integration.api_server import ROOT, ApiServer, dsn, ensure_test_db
from tests.integration.conftest import require_port
from tests.waiting import wait_until

pytestmark = pytest.mark.integration


def _cli(dbname: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ALPR_DATABASE__DBNAME": dbname}
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "alpr-api"), "keys", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_keys_are_hashed_listed_and_revocable() -> None:
    require_port(5432, "PostgreSQL")
    dbname = ensure_test_db()
    name = f"apitest-cli-{uuid.uuid4().hex[:8]}"
    created = json.loads(_cli(dbname, "create", "--name", name, "--role", "viewer").stdout)
    assert created["key"].startswith("alpr_") and created["role"] == "viewer"
    with psycopg.connect(dsn(dbname), autocommit=True) as conn:
        stored = conn.execute("SELECT key_hash FROM api_keys WHERE id = %s", (created["id"],)).fetchone()
    assert stored is not None and created["key"] not in stored[0] and len(stored[0]) == 64
    listing = _cli(dbname, "list").stdout
    assert name in listing and created["key"] not in listing
    server = ApiServer(dbname).start()  # key cache TTL 1 s in the test server
    try:
        headers = {"X-API-Key": created["key"]}
        assert httpx.get(server.url + "/stats", headers=headers, timeout=30).status_code == 200
        assert json.loads(_cli(dbname, "revoke", str(created["id"])).stdout)["revoked"] is True
        # the revoked key is refused once the server's key cache (TTL 1 s) has expired
        resp = wait_until(lambda: (r := httpx.get(server.url + "/stats", headers=headers, timeout=30))
                          .status_code == 401 and r, what="the revoked key to be refused", interval_s=0.2)
        assert resp.json()["code"] == "unauthorized"
    finally:
        server.stop()
    assert _cli(dbname, "revoke", str(created["id"])).returncode == 1  # already revoked
