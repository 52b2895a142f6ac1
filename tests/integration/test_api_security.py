"""query-api access control and input hardening against the real server and database.

Every protected operation refuses a missing or wrong key (401); admin routes refuse a viewer key (403);
injection strings in every parameter (path, query, JSON body, API key header) are refused with
401/403/422 and leave every table unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import psycopg
import pytest

from tests.integration.api_server import ApiServer, create_key, dsn, ensure_test_db
from tests.integration.conftest import require_port

pytestmark = pytest.mark.integration

INJECTIONS = [
    "' OR '1'='1",
    "1; DROP TABLE plate_events;--",
    '" OR 1=1 --',
    "${jndi:ldap:x}",
    "<script>alert(1)</script>",
    "*) (uid=*",
    '{"match_all": {}}',
    "AB1' UNION SELECT key_hash--",
]
QUERY_PARAMS: dict[str, list[str]] = {
    "/events/recent": ["limit"],
    "/events/plate/AB123": ["limit", "offset", "fuzzy"],
    "/events/camera/cam-1": ["start_time", "end_time", "limit", "offset"],
    "/events/search": [
        "plate",
        "camera",
        "site",
        "start_time",
        "end_time",
        "min_confidence",
        "limit",
        "offset",
    ],
    "/search/fulltext?q=AB1": ["q", "fuzzy", "start_time", "end_time", "limit", "offset"],
    "/search/facets": ["start_time", "end_time", "size"],
    "/search/analytics": ["start_time", "end_time", "interval", "top"],
    "/events/00000000-0000-0000-0000-000000000000/image": ["kind", "redirect"],
    "/alerts": ["plate", "camera_id", "since", "limit", "offset"],
    "/watchlists": ["list_name", "active_only", "limit", "offset"],
    "/dlq": ["pending_only", "limit", "offset"],
}
PATH_TEMPLATES = ["/events/{}", "/events/plate/{}", "/events/camera/{}", "/events/{}/image", "/watchlists/{}"]
POST_TEMPLATES = ["/dlq/{}/replay"]
QUERY_FIELDS = [
    "plates",
    "plate_prefix",
    "plate_fuzzy",
    "cameras",
    "sites",
    "regions",
    "vehicle_types",
    "min_confidence",
    "start_time",
    "end_time",
    "sort",
    "limit",
    "offset",
]
WATCH_FIELDS = ["plate_pattern", "match_type", "list_name", "case_number", "expires_at", "enabled"]
TABLES = {
    "plate_events": "SELECT count(*), md5(coalesce(string_agg(event_id::text, ',' ORDER BY event_id), '')) "
    "FROM plate_events",
    "watchlists": "SELECT count(*), md5(coalesce(string_agg(w::text, ',' ORDER BY id), '')) "
    "FROM watchlists w",
    "alerts": "SELECT count(*), md5(coalesce(string_agg(a::text, ',' ORDER BY id), '')) FROM alerts a",
    "dlq_messages": "SELECT count(*), max(id) FROM dlq_messages",
    "api_keys": "SELECT count(*), md5(coalesce(string_agg(id || key_hash || role || "
    "coalesce(revoked_at::text, ''), ',' ORDER BY id), '')) FROM api_keys",
    "api_audit_log": "SELECT count(*), max(id) FROM api_audit_log",
}


@pytest.fixture(scope="module")
def env() -> Iterator[dict[str, Any]]:
    require_port(5432, "PostgreSQL")
    dbname = ensure_test_db()
    _, viewer = create_key(dbname, "viewer", "apitest-security-viewer")
    _, admin = create_key(dbname, "admin", "apitest-security-admin")
    server = ApiServer(dbname).start()
    yield {"db": dbname, "url": server.url, "viewer": viewer, "admin": admin}
    server.stop()


def snapshot(dbname: str) -> dict[str, tuple[Any, ...]]:
    with psycopg.connect(dsn(dbname), autocommit=True) as conn:
        conn.execute("SELECT pg_sleep(0.5)")  # let the audit writer flush anything pending
        return {name: tuple(conn.execute(sql).fetchone() or ()) for name, sql in TABLES.items()}


def protected_operations(url: str) -> list[tuple[str, str]]:
    spec = httpx.get(url + "/openapi.json", timeout=30).json()
    ops = []
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            if op.get("security"):
                concrete = (
                    path.replace("{event_id}", "00000000-0000-0000-0000-000000000000")
                    .replace("{plate_text}", "AB123")
                    .replace("{camera_id}", "cam-1")
                    .replace("{entry_id}", "1")
                    .replace("{dlq_id}", "1")
                )
                ops.append((method.upper(), concrete))
    return ops


def test_every_protected_operation_needs_a_valid_key(env: dict[str, Any]) -> None:
    before = snapshot(env["db"])
    ops = protected_operations(env["url"])
    assert len(ops) >= 16
    with httpx.Client(base_url=env["url"], timeout=30) as client:
        for method, path in ops:
            body = {"plate_pattern": "AB1"} if method in ("POST", "PATCH") else None
            for headers in (
                {},
                {"X-API-Key": "alpr_not-a-key"},
                {"X-API-Key": INJECTIONS[0]},
                {"X-API-Key": INJECTIONS[7]},
            ):
                resp = client.request(method, path, headers=headers, json=body)
                assert resp.status_code == 401, (method, path, headers, resp.text)
                assert resp.json()["code"] == "unauthorized"
    assert snapshot(env["db"]) == before


def test_viewer_cannot_use_admin_routes(env: dict[str, Any]) -> None:
    before = snapshot(env["db"])
    with httpx.Client(base_url=env["url"], headers={"X-API-Key": env["viewer"]}, timeout=30) as client:
        for method, path, body in (
            ("POST", "/watchlists", {"plate_pattern": "AB123"}),
            ("PATCH", "/watchlists/1", {"reason": "x"}),
            ("DELETE", "/watchlists/1", None),
            ("GET", "/dlq", None),
            ("POST", "/dlq/1/replay", None),
        ):
            resp = client.request(method, path, json=body)
            assert resp.status_code == 403, (method, resp.text)
            assert resp.json()["code"] == "forbidden"
    assert snapshot(env["db"]) == before


def test_injection_strings_in_every_parameter_are_rejected(env: dict[str, Any]) -> None:
    before = snapshot(env["db"])
    checked = 0
    with httpx.Client(base_url=env["url"], headers={"X-API-Key": env["admin"]}, timeout=30) as client:
        for value in INJECTIONS:
            for path, params in QUERY_PARAMS.items():
                for name in params:
                    resp = client.get(path, params={name: value})
                    assert resp.status_code == 422, (path, name, value, resp.status_code, resp.text[:200])
                    checked += 1
            for template in PATH_TEMPLATES:
                # A '/' splits the path (no route: 404), so path values are tested without it.
                resp = client.get(template.format(quote(value.replace("/", ""), safe="")))
                assert resp.status_code == 422, (template, value, resp.text[:200])
                checked += 1
            for template in POST_TEMPLATES:
                resp = client.post(template.format(quote(value.replace("/", ""), safe="")))
                assert resp.status_code == 422, (template, value, resp.text[:200])
                checked += 1
            for name in QUERY_FIELDS:
                resp = client.post("/search/query", json={name: value})
                assert resp.status_code == 422, ("/search/query", name, value)
                resp = client.post("/search/query", json={name: [value]})
                assert resp.status_code == 422, ("/search/query list", name, value)
                checked += 2
            for name in WATCH_FIELDS:
                body = {"plate_pattern": "AB123", name: value}
                assert client.post("/watchlists", json=body).status_code == 422, (name, value)
                checked += 1
            for name in ("expires_at", "enabled", "clear_expiry", "case_number", "unknown"):
                assert client.patch("/watchlists/1", json={name: value}).status_code == 422, (name, value)
                checked += 1
    assert checked > 500
    assert snapshot(env["db"]) == before


def test_free_text_is_stored_verbatim_as_a_bound_parameter(env: dict[str, Any]) -> None:
    """reason is free text: an injection string there is data, never SQL."""
    hostile = "x'); DELETE FROM watchlists; --"
    with httpx.Client(base_url=env["url"], headers={"X-API-Key": env["admin"]}, timeout=30) as client:
        created = client.post(
            "/watchlists", json={"plate_pattern": "SQLI1", "list_name": "apitest-security", "reason": hostile}
        )
        assert created.status_code in (201, 409), created.text
        if created.status_code == 409:
            entry = next(
                e
                for e in client.get("/watchlists", params={"list_name": "apitest-security"}).json()["items"]
                if e["plate_pattern"] == "SQLI1"
            )
            entry = client.patch(f"/watchlists/{entry['id']}", json={"reason": hostile}).json()
        else:
            entry = created.json()
        assert entry["reason"] == hostile
        assert client.get(f"/watchlists/{entry['id']}").json()["reason"] == hostile
        assert client.delete(f"/watchlists/{entry['id']}").status_code == 204
