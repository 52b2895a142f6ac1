"""Helpers of the query-API integration tests: a test database, a real alpr-api process, API keys.

The API runs as its console script (uvicorn, one worker) on a free port. Its database is ``alpr_apitest``
on the running PostgreSQL (created through the local stack's superuser socket, schema from
scripts/init_db.sql), so schemathesis' watchlist writes never reach the shared alpr_db; where that
database cannot be created the tests use alpr_db with unique camera ids and plates.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import httpx
import psycopg

from alpr_core.api.auth import hash_key, new_secret

ROOT = Path(__file__).resolve().parents[2]
SOCKET_DIR = ROOT / ".stack" / "postgres" / "run"
TEST_DB = "alpr_apitest"
PG_PORT = int(os.environ.get("ALPR_DATABASE__PORT", "5432"))
PASSWORD = os.environ.get("ALPR_DATABASE__PASSWORD", "alpr")


def dsn(dbname: str) -> str:
    return f"host=127.0.0.1 port={PG_PORT} dbname={dbname} user=alpr password={PASSWORD} connect_timeout=5"


def ensure_test_db() -> str:
    """The database name to use: alpr_apitest when it exists or can be created, else alpr_db."""
    with psycopg.connect(dsn("alpr_db"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (TEST_DB,)).fetchone()
    if not exists:
        try:
            with psycopg.connect(
                host=str(SOCKET_DIR), port=PG_PORT, dbname="postgres", user="postgres", autocommit=True
            ) as conn:
                conn.execute(f'CREATE DATABASE "{TEST_DB}" OWNER alpr')
            with psycopg.connect(
                host=str(SOCKET_DIR), port=PG_PORT, dbname=TEST_DB, user="postgres", autocommit=True
            ) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except psycopg.Error:
            return "alpr_db"
    with psycopg.connect(dsn(TEST_DB), autocommit=True) as conn:
        conn.execute((ROOT / "scripts" / "init_db.sql").read_text())  # type: ignore[arg-type]
    return TEST_DB


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def create_key(dbname: str, role: str, name: str) -> tuple[int, str]:
    secret = new_secret()
    with psycopg.connect(dsn(dbname), autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO api_keys (name, key_hash, role) VALUES (%s, %s, %s) RETURNING id",
            (name, hash_key(secret), role),
        ).fetchone()
    assert row is not None
    return int(row[0]), secret


class ApiServer:
    """``alpr-api`` in a subprocess; ``url`` once started."""

    def __init__(self, dbname: str, **env: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "ALPR_DATABASE__DBNAME": dbname,
            "ALPR_DATABASE__PORT": str(PG_PORT),
            "ALPR_API__PORT": str(self.port),
            "ALPR_API__HOST": "127.0.0.1",
            "ALPR_API__WORKERS": "1",
            "ALPR_API__AUDIT__FLUSH_INTERVAL_S": "0.1",
            "ALPR_API__KEY_CACHE_TTL_S": "1",
            **env,
        }
        self.log = Path(os.environ.get("TMPDIR", "/tmp")) / f"alpr_api_test_{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 90.0) -> ApiServer:
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [str(ROOT / ".venv" / "bin" / "alpr-api")], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"alpr-api exited: {self.log.read_text()[-2000:]}")
            try:
                httpx.get(self.url + "/", timeout=2)
                return self
            except httpx.HTTPError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"alpr-api did not answer within {timeout_s}s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
