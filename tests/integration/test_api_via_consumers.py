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
