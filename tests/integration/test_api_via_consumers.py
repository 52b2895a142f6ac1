"""End to end: events produced to Kafka (Avro), stored and indexed by the real consumer processes
(alpr-storage-consumer, alpr-search-consumer), then read through the query API.

Own topics, consumer groups, index prefix and database (alpr_apitest), so nothing is shared with other
suites; cleaned up afterwards.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.factories import plate_event
from tests.integration.api_server import ApiServer, create_key, ensure_test_db
from tests.integration.test_consumers_support import (
    ConsumerProcess,
    consumer_env,
    encode_events,
    free_port,
    produce,
    require,
    topics,
    unique,
    wait_until,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _get(url: str, key: str, path: str, **params: Any) -> Any:
    resp = httpx.get(url + path, params=params, headers={"X-API-Key": key}, timeout=30)
    return resp.json() if resp.status_code == 200 else None


def test_events_flow_from_kafka_through_the_consumers_to_the_api() -> None:
    require((9092, "Kafka"), (8081, "Schema Registry"), (5432, "PostgreSQL"), (9200, "OpenSearch"))
    dbname = ensure_test_db()
    run = uuid.uuid4().hex[:8]
    topic, dlq = unique("test.apiplates"), unique("test.apidlq")
    prefix = f"alpr-apitest-{run}"
    plate, camera = f"KF{run.upper()}", f"apikafka-{run}"
    events = [plate_event(plate=plate, camera_id=camera) for _ in range(3)]
    common = {"ALPR_DATABASE__DBNAME": dbname, "ALPR_SEARCH__INDEX_PREFIX": prefix}
    storage = ConsumerProcess(
        "alpr-storage-consumer",
        consumer_env("STORAGE_CONSUMER", topic, dlq, unique("g-apistore"), free_port(), **common),
        f"api-storage-{run}",
    )
    search = ConsumerProcess(
        "alpr-search-consumer",
        consumer_env(
            "SEARCH_CONSUMER",
            topic,
            dlq,
            unique("g-apisearch"),
            free_port(),
            ALPR_SEARCH_CONSUMER__FLUSH_INTERVAL_S="0.5",
            **common,
        ),
        f"api-search-{run}",
    )
    _, key = create_key(dbname, "viewer", f"apitest-kafka-{run}")
    server = ApiServer(dbname, ALPR_SEARCH__INDEX_PREFIX=prefix)
    with topics((topic, 3), (dlq, 1)):
        produce(topic, encode_events(topic, events))
        storage.start()
        search.start()
        server.start()
        try:
            by_plate = wait_until(
                lambda: (b := _get(server.url, key, f"/events/plate/{plate}")) and b["count"] == 3 and b,
                120,
                "the events in PostgreSQL via the API",
            )
            assert {e["event_id"] for e in by_plate["items"]} == {e["event_id"] for e in events}
            one = _get(server.url, key, f"/events/{events[0]['event_id']}")
            assert one["plate"]["normalized_text"] == plate and one["camera_id"] == camera
            hits = wait_until(
                lambda: (b := _get(server.url, key, "/search/fulltext", q=plate)) and b["total"] == 3 and b,
                120,
                "the events in OpenSearch via the API",
            )
            assert {h["event_id"] for h in hits["items"]} == {e["event_id"] for e in events}
            facets = _get(server.url, key, "/search/facets")
            assert {b["key"]: b["count"] for b in facets["by_camera"]} == {camera: 3}
        finally:
            server.stop()
            storage.stop()
            search.stop()
            for path in (
                f"/{prefix}-*",
                f"/_index_template/{prefix}",
                f"/_plugins/_ism/policies/{prefix}-retention",
            ):
                httpx.delete("http://127.0.0.1:9200" + path, timeout=30)


def test_dlq_list_and_replay_to_the_original_topic() -> None:
    import psycopg

    from alpr_core.runtime.dlq import DLQ_HEADERS
    from tests.integration.api_server import dsn
    from tests.integration.test_consumers_support import read_all

    require((9092, "Kafka"), (5432, "PostgreSQL"))
    dbname = ensure_test_db()
    run = uuid.uuid4().hex[:8]
    topic = unique("test.apireplay")
    payload = f"payload-{run}".encode()
    _, admin = create_key(dbname, "admin", f"apitest-dlq-admin-{run}")
    _, viewer = create_key(dbname, "viewer", f"apitest-dlq-viewer-{run}")
    server = ApiServer(dbname)
    with topics((topic, 1)), psycopg.connect(dsn(dbname), autocommit=True) as conn:
        row = conn.execute(
            'INSERT INTO dlq_messages (original_topic, "partition", "offset", error_type, headers, '
            "message_key, payload) VALUES (%s, 0, 7, 'ValidationError', %s::jsonb, %s, %s) RETURNING id",
            (topic, f'{{"{DLQ_HEADERS[0]}": "x", "trace": "t-{run}"}}', b"cam-9", payload),
        ).fetchone()
        assert row is not None
        dlq_id = row[0]
        server.start()
        try:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                assert client.get("/dlq", headers={"X-API-Key": viewer}).status_code == 403
                assert client.post(f"/dlq/{dlq_id}/replay", headers={"X-API-Key": viewer}).status_code == 403
                listed = client.get(
                    "/dlq", params={"pending_only": True, "limit": 1000}, headers={"X-API-Key": admin}
                ).json()
                assert dlq_id in {item["id"] for item in listed["items"]}
                done = client.post(f"/dlq/{dlq_id}/replay", headers={"X-API-Key": admin})
                assert done.status_code == 200, done.text
                assert done.json()["replay_count"] == 1 and done.json()["replayed_at"]
                assert client.post("/dlq/999999999/replay", headers={"X-API-Key": admin}).status_code == 404
            messages = read_all(topic, 1)
            assert len(messages) == 1 and messages[0].value() == payload and messages[0].key() == b"cam-9"
            headers = dict(messages[0].headers())
            assert headers["dlq.replayed.from.id"] == str(dlq_id).encode()
            assert headers["trace"] == f"t-{run}".encode() and DLQ_HEADERS[0] not in headers
        finally:
            server.stop()
            conn.execute("DELETE FROM dlq_messages WHERE id = %s", (dlq_id,))
