"""query-api: FastAPI over PostgreSQL/TimescaleDB, OpenSearch and MinIO (see docs/api.md)."""

from __future__ import annotations

API_VERSION = "1.0.0"
