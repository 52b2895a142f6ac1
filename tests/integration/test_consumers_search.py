"""search-consumer against the local stack: template/alias, OpenSearch stop and start, each event once."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.factories import plate_event
from tests.integration.test_consumers_support import (
    OPENSEARCH_URL,
    ConsumerProcess,
    consumer_env,
    encode_events,
    free_port,
    port_open,
    produce,
    require,
    require_managed,
    stack,
    topics,
    unique,
    wait_until,
)

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _stack() -> None:
    require((9092, "Kafka"), (8081, "Schema Registry"), (9200, "OpenSearch"))


def http(method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        OPENSEARCH_URL + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read() or b"null")
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def count(alias: str) -> int:
    http("POST", f"/{alias}/_refresh")
    result = http("GET", f"/{alias}/_count")
    return int(result["count"]) if result and "count" in result else -1


def cleanup(prefix: str) -> None:
    http("DELETE", f"/{prefix}-*")
    http("DELETE", f"/_index_template/{prefix}")
    http("DELETE", f"/_plugins/_ism/policies/{prefix}-retention")


def test_opensearch_stop_and_start_indexes_every_event_once() -> None:
    require_managed("opensearch")
    topic, dlq = unique("test.plates"), unique("test.dlq")
    prefix = f"alpr-test-{unique('s').split('.')[1]}"
    events = [plate_event(plate=f"S{i:04d}AB", camera_id=f"cam-{i % 3}") for i in range(2_000)]
    port = free_port()
    env = consumer_env(
        "SEARCH_CONSUMER",
        topic,
        dlq,
        unique("g-search"),
        port,
        ALPR_SEARCH__INDEX_PREFIX=prefix,
        ALPR_SEARCH_CONSUMER__BATCH_SIZE="100",
        ALPR_SEARCH_CONSUMER__FLUSH_INTERVAL_S="0.5",
    )
    consumer = ConsumerProcess("alpr-search-consumer", env, f"search-restart-{topic}")
    with topics((topic, 3), (dlq, 1)):
        encoded = encode_events(topic, events)
        produce(topic, encoded[:1_000])
        consumer.start()
        try:
            wait_until(lambda: count(prefix) >= 200, 90, "documents before the outage")
            template = http("GET", f"/_index_template/{prefix}")["index_templates"][0]["index_template"]
            assert prefix in template["template"]["aliases"]
            try:
                stack("down", "opensearch")
                assert not port_open(9200), "opensearch still listening after 'stack down opensearch'"
                late = threading.Thread(target=produce, args=(topic, encoded[1_000:]), daemon=True)
                late.start()
                # the outage lasts until the consumer has failed a batch against it (not a fixed time:
                # under load the late events may reach the consumer only after a sleep had ended)
                wait_until(lambda: consumer.metric(port, "alpr_consumer_batch_retries_total") >= 1, 120,
                           "a batch retried while OpenSearch is down")
            finally:
                stack("up", "opensearch")
            late.join(120)
            assert not late.is_alive(), "producing the late events hung"
            wait_until(lambda: count(prefix) == len(events), 180, "all events indexed after the restart")
            time.sleep(3)
            assert count(prefix) == len(events)
            # every event exactly once, by id (the cardinality aggregation is approximate: it once said 1999)
            hits = http("POST", f"/{prefix}/_search", {"size": len(events) + 10, "_source": ["event_id"]})
            ids = [h["_source"]["event_id"] for h in hits["hits"]["hits"]]
            assert len(ids) == len(events) and set(ids) == {e["event_id"] for e in events}
            partial = http(
                "POST", f"/{prefix}/_search", {"query": {"match": {"plate.normalized_text.prefix": "s00"}}}
            )
            assert partial["hits"]["total"]["value"] == 100  # S0000AB..S0099AB: edge n-gram prefix search
            assert consumer.alive() and consumer.starts == 1
            assert consumer.metric(port, "alpr_consumer_batch_retries_total") >= 1
        finally:
            consumer.stop()
            cleanup(prefix)
