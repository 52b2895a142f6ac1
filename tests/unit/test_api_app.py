"""query-api HTTP layer without services: OpenAPI contract, open routes, 401 and 422 bodies, CORS."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from alpr_core.api.app import create_app
from alpr_core.api.context import ApiContext
from alpr_core.api.errors import ErrorBody
from alpr_core.config import CoreConfig

ENDPOINTS = {
    "/",
    "/health",
    "/stats",
    "/metrics",
    "/events/recent",
    "/events/{event_id}",
    "/events/plate/{plate_text}",
    "/events/camera/{camera_id}",
    "/events/search",
    "/search/fulltext",
    "/search/facets",
    "/search/analytics",
    "/search/query",
    "/events/{event_id}/image",
    "/alerts",
    "/watchlists",
    "/watchlists/{entry_id}",
    "/dlq",
    "/dlq/{dlq_id}/replay",
}
OPEN = {"/", "/health", "/metrics"}


@pytest.fixture
def client() -> TestClient:
    cfg = CoreConfig()
    cfg.api.cors_origins = ["https://ops.example"]
    app = create_app(cfg)
    # No lifespan: nothing here may reach a database (requests are refused before any query).
    app.state.ctx = ApiContext(cfg=cfg, pool=None, keys=None, audit=None)  # type: ignore[arg-type]
    return TestClient(app, raise_server_exceptions=False)


def test_openapi_lists_every_endpoint_with_security(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert set(spec["paths"]) == ENDPOINTS
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            secured = bool(op.get("security"))
            assert secured == (path not in OPEN), f"{method} {path}"
            if path not in OPEN:
                assert "401" in op["responses"] and "422" in op["responses"], f"{method} {path}"
                assert op["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith(
                    "/ErrorBody"
                )


@pytest.mark.parametrize(
    "path",
    [
        "/stats",
        "/events/recent",
        "/events/plate/AB123",
        "/events/search",
        "/search/fulltext?q=x",
        "/alerts",
        "/watchlists",
        "/events/00000000-0000-0000-0000-000000000000",
    ],
)
def test_no_key_is_401_with_error_body(client: TestClient, path: str) -> None:
    resp = client.get(path)
    assert resp.status_code == 401
    body = ErrorBody.model_validate(resp.json())
    assert body.code == "unauthorized" and "Traceback" not in resp.text


def test_write_without_key_is_401(client: TestClient) -> None:
    assert client.post("/watchlists", json={"plate_pattern": "AB1"}).status_code == 401
    assert client.delete("/watchlists/1").status_code == 401


def test_unknown_route_and_method_use_the_error_body(client: TestClient) -> None:
    for resp, status in ((client.get("/nope"), 404), (client.put("/health"), 405)):
        assert resp.status_code == status
        assert ErrorBody.model_validate(resp.json()).status == status


def test_root_lists_endpoints(client: TestClient) -> None:
    body = client.get("/").json()
    assert "GET /events/plate/{plate_text}" in body["endpoints"] and body["docs"] == "/docs"


def test_metrics_are_open_and_named(client: TestClient) -> None:
    client.get("/")
    text = client.get("/metrics").text
    assert 'alpr_api_requests_total{method="GET",route="/",status="200"}' in text
    assert "alpr_api_request_duration_seconds_bucket" in text


def test_cors_only_for_configured_origins(client: TestClient) -> None:
    ok = client.options(
        "/health", headers={"Origin": "https://ops.example", "Access-Control-Request-Method": "GET"}
    )
    assert ok.headers.get("access-control-allow-origin") == "https://ops.example"
    bad = client.options(
        "/health", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    )
    assert bad.headers.get("access-control-allow-origin") is None


def test_no_cors_by_default() -> None:
    app = create_app(CoreConfig())
    assert not any(m.cls.__name__ == "CORSMiddleware" for m in app.user_middleware)


def test_compose_query_api_service() -> None:
    from pathlib import Path

    import yaml

    root = Path(__file__).resolve().parents[2]
    svc = yaml.safe_load((root / "docker-compose.yml").read_text())["services"]["query-api"]
    assert svc["command"] == ["alpr-api"] and "8000:8000" in svc["ports"]
    assert "/health" in " ".join(svc["healthcheck"]["test"])
    env = svc["environment"]
    assert env["ALPR_API__RETENTION__DAYS"] == env["ALPR_SEARCH_INDEX__RETENTION_DAYS"]
    assert "*" not in str(env["ALPR_API__CORS_ORIGINS"])
