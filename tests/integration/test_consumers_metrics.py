"""metrics-consumer against the local stack: alpr.metrics snapshots become labelled gauges on its port."""

from __future__ import annotations

import urllib.request
import uuid
from datetime import datetime, timezone

import pytest

from alpr_common.serde import RecordSerde, registry_client
from tests.integration.test_consumers_support import (
    REGISTRY_URL,
    ConsumerProcess,
    consumer_env,
    free_port,
    produce,
    require,
    topics,
    unique,
    wait_until,
)

pytestmark = pytest.mark.integration


def snapshot(host: str, camera: str | None, **values: float) -> dict:
    return {
        "metric_id": str(uuid.uuid4()),
        "timestamp": datetime.now(timezone.utc),
        "site": "it-site",
        "host": host,
        "camera_id": camera,
        "component": "pipeline",
        "status": "ok",
        "values": values,
        "labels": {},
    }


def test_snapshots_become_gauges_labelled_by_site_host_camera() -> None:
    require((9092, "Kafka"), (8081, "Schema Registry"))
    topic, dlq = unique("test.metrics"), unique("test.dlq")
    port = free_port()
    env = consumer_env(
        "METRICS_CONSUMER",
        "unused",
        dlq,
        unique("g-metrics"),
        port,
        ALPR_KAFKA__TOPICS__METRICS__NAME=topic,
        ALPR_METRICS_CONSUMER__FLUSH_INTERVAL_S="0.2",
    )
    consumer = ConsumerProcess("alpr-metrics-consumer", env, f"metrics-{topic}")
    with topics((topic, 1), (dlq, 1)):
        serde = RecordSerde("system_metric", registry_client(REGISTRY_URL), use_avro=True, auto_register=True)
        snaps = [
            snapshot("edge-a", "cam-1", fps_in=14.5, outbox_depth=3),
            snapshot("edge-b", None, cpu_pct=41),
        ]
        produce(topic, [(s["host"].encode(), serde.serialize(s, topic)) for s in snaps])
        consumer.start()
        try:

            def scrape() -> str:
                try:
                    return (
                        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=3).read().decode()
                    )
                except OSError:
                    return ""

            text = wait_until(lambda: "edge-b" in scrape() and scrape(), 60, "gauges of both edges")
            assert (
                'alpr_edge_metric_value{camera="cam-1",component="pipeline",host="edge-a",name="fps_in",'
                'site="it-site"} 14.5'
            ) in text
            assert 'host="edge-b",name="cpu_pct",site="it-site"} 41.0' in text
            assert (
                'alpr_edge_status{camera="",component="pipeline",host="edge-b",site="it-site",'
                'status="ok"} 1.0' in text
            )
            assert consumer.metric(port, "alpr_consumer_records_written_total") == 2
        finally:
            consumer.stop()
