"""query-api against the running PostgreSQL, OpenSearch and MinIO, with data written by the real sinks.

Events go through alpr_core.storage.PostgresEventSink and alpr_core.search.OpenSearchEventSink (the
consumers' sinks, without Kafka in between); the alert row is inserted directly (the alert engine's own
tests cover its writer). Camera ids and plates are unique per run.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import psycopg
import pytest

from alpr_common.settings import DatabaseSettings, ObjectStoreSettings, SearchSettings
from alpr_core.config import SearchSinkSettings, StorageSinkSettings
from alpr_core.runtime import Record
from tests.factories import plate_event
from tests.integration.api_server import ApiServer, create_key, dsn, ensure_test_db, free_port
from tests.integration.conftest import require_port
from tests.waiting import wait_until

pytestmark = pytest.mark.integration
RUN = uuid.uuid4().hex[:8].upper()
NOW = datetime.now(timezone.utc).replace(microsecond=0)


def _event(plate: str, camera: str, minutes_ago: int, confidence: float, **extra: Any) -> dict[str, Any]:
    ev = plate_event(
        plate=plate,
        camera_id=camera,
        captured_at=NOW - timedelta(minutes=minutes_ago),
        node={"site": f"apisite-{RUN}", "host": "edge-api"},
        **extra,
    )
    ev["plate"]["confidence"] = confidence
    ev["plate"]["candidates"][0]["confidence"] = confidence
    return ev


def _records(events: list[dict[str, Any]]) -> list[Record]:
    return [
        Record(
            topic="alpr.events.plates",
            partition=0,
            offset=i,
            timestamp_ms=None,
            key=ev["camera_id"].encode(),
            raw=b"",
            value=ev,
        )
        for i, ev in enumerate(events)
    ]


@pytest.fixture(scope="module")
def data() -> Iterator[dict[str, Any]]:
    for port, what in ((5432, "PostgreSQL"), (9200, "OpenSearch"), (9000, "MinIO")):
        require_port(port, what)
    from minio import Minio

    from alpr_core.search.sink import OpenSearchEventSink
    from alpr_core.storage.sink import PostgresEventSink

    dbname = ensure_test_db()
    cam_a, cam_b = f"apitest-{RUN.lower()}-a", f"apitest-{RUN.lower()}-b"
    plate, ocr_plate = f"QX{RUN}", f"8OD8{RUN[:6]}"
    image_key = f"apitest/{RUN}/plate.jpg"
    e1 = _event(
        plate,
        cam_a,
        60,
        0.95,
        images={"plate_url": f"s3://alpr-plate-images/{image_key}", "vehicle_url": None, "frame_url": None},
    )
    e2 = _event(plate, cam_b, 120, 0.55)
    e3 = _event(ocr_plate, cam_a, 30, 0.9)
    events = [e1, e2, e3]
    store = ObjectStoreSettings()
    minio = Minio(
        store.endpoint,
        access_key=store.access_key.get_secret_value(),
        secret_key=store.secret_key.get_secret_value(),
        secure=False,
    )
    image = b"\xff\xd8apitest-" + RUN.encode()
    minio.put_object(store.bucket, image_key, io.BytesIO(image), len(image), content_type="image/jpeg")
    PostgresEventSink(DatabaseSettings(dbname=dbname), StorageSinkSettings()).write(_records(events))
    search = SearchSettings()
    OpenSearchEventSink(search, SearchSinkSettings()).write(_records(events))
    httpx.post(f"{search.url}/{search.index_prefix}/_refresh", timeout=30)
    with psycopg.connect(dsn(dbname), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO alerts (event_id, rule_name, severity, plate, camera_id, captured_at, "
            "explanation) VALUES (%s, 'apitest', 'high', %s, %s, %s, '{\"why\": \"test\"}')",
            (e1["event_id"], plate, cam_a, e1["captured_at"]),
        )
    viewer_id, viewer = create_key(dbname, "viewer", f"apitest-viewer-{RUN}")
    admin_id, admin = create_key(dbname, "admin", f"apitest-admin-{RUN}")
    server = ApiServer(dbname).start()
    yield {
        "db": dbname,
        "url": server.url,
        "viewer": viewer,
        "viewer_id": viewer_id,
        "admin": admin,
        "admin_id": admin_id,
        "cam_a": cam_a,
        "cam_b": cam_b,
        "plate": plate,
        "ocr_plate": ocr_plate,
        "events": events,
        "image": image,
        "server": server,
    }
    server.stop()
    with psycopg.connect(dsn(dbname), autocommit=True) as conn:
        conn.execute("UPDATE api_keys SET revoked_at = now() WHERE id = ANY(%s)", ([viewer_id, admin_id],))


@pytest.fixture(scope="module")
def viewer(data: dict[str, Any]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=data["url"], headers={"X-API-Key": data["viewer"]}, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def admin(data: dict[str, Any]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=data["url"], headers={"X-API-Key": data["admin"]}, timeout=30) as client:
        yield client


def _ids(body: dict[str, Any]) -> set[str]:
    return {item["event_id"] for item in body["items"]}


def test_root_openapi_and_docs(viewer: httpx.Client) -> None:
    assert "GET /events/plate/{plate_text}" in viewer.get("/").json()["endpoints"]
    assert viewer.get("/openapi.json").json()["info"]["title"] == "OVR-ALPR query API"
    assert viewer.get("/docs").status_code == 200


def test_health_reports_each_dependency(data: dict[str, Any]) -> None:
    body = httpx.get(data["url"] + "/health", timeout=10).json()
    assert set(body["dependencies"]) == {"database", "opensearch", "kafka"}
    assert body["dependencies"]["database"]["status"] == "ok"
    assert body["dependencies"]["opensearch"]["status"] == "ok"
    assert body["status"] in ("ok", "degraded")


def test_health_is_503_when_the_database_is_down(data: dict[str, Any]) -> None:

    server = ApiServer(
        data["db"], ALPR_DATABASE__PORT=str(free_port()), ALPR_DATABASE__CONNECT_TIMEOUT_S="1"
    ).start()
    try:
        resp = httpx.get(server.url + "/health", timeout=15)
        assert resp.status_code == 503
        assert resp.json()["status"] == "down" and resp.json()["dependencies"]["database"]["status"] == "down"
        failed = httpx.get(server.url + "/events/recent", headers={"X-API-Key": data["viewer"]}, timeout=30)
        assert failed.status_code == 503 and failed.json()["code"] == "unavailable"
        assert "Traceback" not in failed.text
    finally:
        server.stop()


def test_stats(viewer: httpx.Client) -> None:
    body = viewer.get("/stats").json()
    assert body["total_events"] >= 3 and body["unique_plates"] >= 2 and body["active_cameras"] >= 2
    assert 0 < body["avg_confidence"] <= 1


def test_recent_by_insertion_time(viewer: httpx.Client, data: dict[str, Any]) -> None:
    body = viewer.get("/events/recent", params={"limit": 1000}).json()
    assert {e["event_id"] for e in data["events"]} <= _ids(body)
    assert viewer.get("/events/recent", params={"limit": 1001}).status_code == 422


def test_event_by_id_and_404(viewer: httpx.Client, data: dict[str, Any]) -> None:
    e1 = data["events"][0]
    body = viewer.get(f"/events/{e1['event_id']}").json()
    assert body["plate"]["normalized_text"] == data["plate"] and body["camera_id"] == data["cam_a"]
    assert body["site"] == f"apisite-{RUN}" and body["plate"]["candidates"][0]["text"] == data["plate"]
    missing = viewer.get(f"/events/{uuid.uuid4()}")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_plate_lookup_is_normalised(viewer: httpx.Client, data: dict[str, Any]) -> None:
    plate = data["plate"]
    spaced = f"{plate[:2].lower()}-{plate[2:6]} {plate[6:]}"
    body = viewer.get(f"/events/plate/{spaced}").json()
    assert body["count"] == 2 and _ids(body) == {data["events"][0]["event_id"], data["events"][1]["event_id"]}
    assert body["items"][0]["captured_at"] > body["items"][1]["captured_at"]
    assert viewer.get(f"/events/plate/{plate}", params={"limit": 1, "offset": 1}).json()["count"] == 1


def test_fast_lane_and_fastapi_answer_alike(viewer: httpx.Client, data: dict[str, Any]) -> None:
    """A repeated parameter sends the request through FastAPI instead of the fast lane (fastlane.py)."""
    for path in (f"/events/plate/{data['plate']}", "/events/recent"):
        fast = viewer.get(path + "?limit=50")
        slow = viewer.get(path + "?limit=50&limit=50")
        assert fast.status_code == slow.status_code == 200
        if path == "/events/recent" and fast.json()["items"][:1] != slow.json()["items"][:1]:
            continue  # a row arrived in between
        assert fast.json() == slow.json()
    assert viewer.get("/events/plate/AB1?limit=0").json()["code"] == "validation_error"


def test_plate_fuzzy_finds_ocr_confusions(viewer: httpx.Client, data: dict[str, Any]) -> None:
    query = "B0O8" + data["ocr_plate"][4:]  # stored as 8OD8...
    assert viewer.get(f"/events/plate/{query}").json()["count"] == 0
    body = viewer.get(f"/events/plate/{query}", params={"fuzzy": "true"}).json()
    assert data["ocr_plate"] in body["matched_plates"] and data["events"][2]["event_id"] in _ids(body)
    near = data["plate"][:-1] + ("7" if data["plate"][-1] != "7" else "1")  # one edit away
    assert (
        data["plate"] in viewer.get(f"/events/plate/{near}", params={"fuzzy": True}).json()["matched_plates"]
    )


def test_camera_window(viewer: httpx.Client, data: dict[str, Any]) -> None:
    cam = data["cam_a"]
    assert viewer.get(f"/events/camera/{cam}").json()["count"] == 2
    window = {"start_time": (NOW - timedelta(minutes=45)).isoformat(), "end_time": NOW.isoformat()}
    assert _ids(viewer.get(f"/events/camera/{cam}", params=window).json()) == {data["events"][2]["event_id"]}
    too_long = viewer.get(f"/events/camera/{cam}", params={"start_time": "2020-01-01T00:00:00Z"})
    assert too_long.status_code == 422 and too_long.json()["code"] == "time_range_too_long"


def test_events_search_filters(viewer: httpx.Client, data: dict[str, Any]) -> None:
    site = f"apisite-{RUN}"
    assert viewer.get("/events/search", params={"site": site}).json()["count"] == 3
    strong = viewer.get(
        "/events/search", params={"site": site, "plate": data["plate"], "min_confidence": 0.9}
    )
    assert _ids(strong.json()) == {data["events"][0]["event_id"]}
    assert viewer.get("/events/search", params={"camera": data["cam_b"]}).json()["count"] == 1


def test_search_fulltext(viewer: httpx.Client, data: dict[str, Any]) -> None:
    body = viewer.get("/search/fulltext", params={"q": data["plate"]}).json()
    assert body["total"] >= 2 and {h["event_id"] for h in body["items"]} >= {
        data["events"][0]["event_id"],
        data["events"][1]["event_id"],
    }
    prefix = viewer.get("/search/fulltext", params={"q": data["plate"][:6]}).json()
    assert data["events"][0]["event_id"] in {h["event_id"] for h in prefix["items"]}
    typo = data["plate"][:-1] + ("Z" if data["plate"][-1] != "Z" else "Y")
    fuzzy = viewer.get("/search/fulltext", params={"q": typo, "fuzzy": True}).json()
    assert data["events"][0]["event_id"] in {h["event_id"] for h in fuzzy["items"]}


def test_search_facets_and_analytics(viewer: httpx.Client, data: dict[str, Any]) -> None:
    facets = viewer.get("/search/facets", params={"size": 1000}).json()
    cams = {b["key"]: b["count"] for b in facets["by_camera"]}
    assert cams.get(data["cam_a"]) == 2 and cams.get(data["cam_b"]) == 1
    assert any(b["key"] == f"apisite-{RUN}" for b in facets["by_site"]) and facets["by_hour"]
    stats = viewer.get("/search/analytics", params={"interval": "1h", "top": 100}).json()
    assert stats["total"] >= 3 and sum(b["count"] for b in stats["histogram"]) == stats["total"]
    assert {b["key"]: b["count"] for b in stats["per_camera"]}.get(data["cam_a"]) == 2


def test_search_structured_query(viewer: httpx.Client, data: dict[str, Any]) -> None:
    body = viewer.post(
        "/search/query", json={"plates": [data["plate"]], "cameras": [data["cam_a"]], "min_confidence": 0.9}
    ).json()
    assert [h["event_id"] for h in body["items"]] == [data["events"][0]["event_id"]]
    raw = viewer.post("/search/query", json={"query": {"match_all": {}}})
    assert raw.status_code == 422


def test_image_presigned_redirect(viewer: httpx.Client, data: dict[str, Any]) -> None:
    e1, e2 = data["events"][0], data["events"][1]
    resp = viewer.get(f"/events/{e1['event_id']}/image")
    assert resp.status_code == 307 and "X-Amz-Signature" in resp.headers["location"]
    assert httpx.get(resp.headers["location"], timeout=10).content == data["image"]
    link = viewer.get(f"/events/{e1['event_id']}/image", params={"redirect": False}).json()
    assert link["expires_in_s"] == 300 and link["kind"] == "plate"
    assert viewer.get(f"/events/{e1['event_id']}/image", params={"kind": "frame"}).status_code == 404
    assert viewer.get(f"/events/{e2['event_id']}/image").status_code == 404  # factory key, not uploaded


def test_alerts(viewer: httpx.Client, data: dict[str, Any]) -> None:
    body = viewer.get("/alerts", params={"plate": data["plate"]}).json()
    assert body["count"] == 1 and body["items"][0]["rule_name"] == "apitest"
    assert body["items"][0]["explanation"] == {"why": "test"}


def test_watchlist_crud(admin: httpx.Client, viewer: httpx.Client) -> None:
    plate = f"WL{RUN}"
    created = admin.post(
        "/watchlists",
        json={
            "plate_pattern": plate.lower(),
            "reason": "stolen",
            "case_number": "C-42",
            "list_name": f"apitest-{RUN.lower()}",
            "expires_at": (NOW + timedelta(days=1)).isoformat(),
        },
    )
    assert created.status_code == 201, created.text
    entry = created.json()
    assert entry["plate_pattern"] == plate and entry["expired"] is False
    assert (
        admin.post(
            "/watchlists", json={"plate_pattern": plate, "list_name": f"apitest-{RUN.lower()}"}
        ).status_code
        == 409
    )
    listed = viewer.get("/watchlists", params={"list_name": f"apitest-{RUN.lower()}"}).json()
    assert [e["id"] for e in listed["items"]] == [entry["id"]]
    expired = admin.patch(
        f"/watchlists/{entry['id']}",
        json={"expires_at": (NOW - timedelta(hours=1)).isoformat(), "case_number": "C-43"},
    ).json()
    assert expired["expired"] is True and expired["case_number"] == "C-43" and expired["reason"] == "stolen"
    assert (
        viewer.get("/watchlists", params={"list_name": f"apitest-{RUN.lower()}", "active_only": True}).json()[
            "count"
        ]
        == 0
    )
    assert viewer.get(f"/watchlists/{entry['id']}").json()["id"] == entry["id"]
    assert admin.delete(f"/watchlists/{entry['id']}").status_code == 204
    assert admin.delete(f"/watchlists/{entry['id']}").status_code == 404


def test_metrics_open(data: dict[str, Any]) -> None:
    text = httpx.get(data["url"] + "/metrics", timeout=10).text
    assert "alpr_api_requests_total" in text and "alpr_api_request_duration_seconds" in text


def test_searches_write_audit_rows(viewer: httpx.Client, data: dict[str, Any]) -> None:
    plate = f"AUD{RUN}"
    viewer.get(f"/events/plate/{plate}", headers={"X-Reason": f"case {RUN}"})
    with psycopg.connect(dsn(data["db"]), autocommit=True) as conn:
        row = wait_until(lambda: conn.execute(
            "SELECT key_id, endpoint, params, result_count, reason FROM api_audit_log "
            "WHERE params->>'plate' = %s",
            (plate,),
        ).fetchone(), what="the audit row")  # written after the response
    assert row[0] == data["viewer_id"] and row[1] == "GET /events/plate/{plate_text}"
    assert row[3] == 0 and row[4] == f"case {RUN}"


def test_reason_required_when_configured(data: dict[str, Any]) -> None:
    server = ApiServer(data["db"], ALPR_API__AUDIT__REQUIRE_REASON="true").start()
    try:
        headers = {"X-API-Key": data["viewer"]}
        missing = httpx.get(f"{server.url}/events/plate/{data['plate']}", headers=headers, timeout=30)
        assert missing.status_code == 400 and missing.json()["code"] == "reason_required"
        ok = httpx.get(
            f"{server.url}/events/plate/{data['plate']}",
            timeout=30,
            headers={**headers, "X-Reason": "investigation"},
        )
        assert ok.status_code == 200 and ok.json()["count"] == 2
    finally:
        server.stop()
