"""Fixtures for the integration tests: connections to the local stack (scripts/stack up).

A fixture whose server port is closed skips its tests with the reason (start the stack first); the
tests never start servers themselves.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


def port_open(port: int, host: str = HOST, timeout_s: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def require_port(port: int, what: str) -> None:
    """Skip the calling test when nothing listens on HOST:port."""
    if not port_open(port):
        pytest.skip(f"{what} not reachable on {HOST}:{port}; start it with: scripts/stack up")


# -- PostgreSQL ---------------------------------------------------------------------------------
PG_PORT = int(os.environ.get("ALPR_DATABASE__PORT", "5432"))


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    require_port(PG_PORT, "PostgreSQL")
    password = os.environ.get("ALPR_DATABASE__PASSWORD", "alpr")
    return f"host={HOST} port={PG_PORT} dbname=alpr_db user=alpr password={password} connect_timeout=5"


@pytest.fixture
def pg_conn(pg_dsn: str) -> Iterator[object]:
    """A psycopg connection as the application role (autocommit off)."""
    psycopg = pytest.importorskip("psycopg")
    with psycopg.connect(pg_dsn) as conn:
        yield conn


# -- MinIO --------------------------------------------------------------------------------------
MINIO_PORT = 9000
MINIO_BUCKET = "alpr-plate-images"


@pytest.fixture(scope="session")
def minio_client() -> object:
    require_port(MINIO_PORT, "MinIO")
    minio = pytest.importorskip("minio")
    return minio.Minio(f"{HOST}:{MINIO_PORT}",
                       access_key=os.environ.get("MINIO_ROOT_USER", "minioadmin"),
                       secret_key=os.environ.get("MINIO_ROOT_PASSWORD", "minioadmin"),
                       secure=False)


# -- Prometheus ---------------------------------------------------------------------------------
PROMETHEUS_PORT = 9090


@pytest.fixture(scope="session")
def prometheus_url() -> str:
    require_port(PROMETHEUS_PORT, "Prometheus")
    return f"http://{HOST}:{PROMETHEUS_PORT}"


# -- Kafka, Schema Registry (Apicurio ccompat), OpenSearch ---------------------------------------
KAFKA_PORT = 9092
SCHEMA_REGISTRY_PORT = 8081
OPENSEARCH_PORT = 9200


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """bootstrap.servers of the local broker (host:port)."""
    require_port(KAFKA_PORT, "Kafka")
    return os.environ.get("ALPR_KAFKA__BOOTSTRAP_SERVERS", f"{HOST}:{KAFKA_PORT}")


@pytest.fixture(scope="session")
def schema_registry_url() -> str:
    """The Confluent-compatible API of the local Apicurio Registry."""
    require_port(SCHEMA_REGISTRY_PORT, "Schema Registry")
    return os.environ.get("ALPR_KAFKA__SCHEMA_REGISTRY_URL", f"http://{HOST}:{SCHEMA_REGISTRY_PORT}/apis/ccompat/v7")


@pytest.fixture(scope="session")
def opensearch_client() -> object:
    require_port(OPENSEARCH_PORT, "OpenSearch")
    opensearchpy = pytest.importorskip("opensearchpy")
    return opensearchpy.OpenSearch(hosts=[{"host": HOST, "port": OPENSEARCH_PORT}], use_ssl=False, timeout=30)
