"""Edge delivery against the local stack: Avro/JSON events a plain consumer decodes, registry outage
after start-up, malformed reads, crops in a private MinIO bucket, /metrics."""

from __future__ import annotations

import math
import urllib.request
import uuid
from collections import Counter
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from minio.error import S3Error
from test_delivery_support import consume, create_topic, delete_topic, image_service, make_sink

from alpr_common.schemas import schema_str, subject_for_topic
from alpr_common.settings import KafkaSettings, TopicSpec, TopicsSettings
from alpr_edge.publishing import DeliverySink, EdgeMetrics, wait_delivered
from alpr_edge.publishing.settings import MetricsSettings
from alpr_edge.types import PlateCandidate, PlateRead

pytestmark = pytest.mark.integration


def plate_read(i: int, text: str | None = None, **kw) -> PlateRead:
    text = text if text is not None else f"{'ABCDEFGHJK'[i % 10]}{'KLMNPRSTUV'[i // 10 % 10]}X{1000 + i * 37}"
    base = PlateRead(camera_id=f"cam-{i % 3}", track_id=i, text=text, confidence=0.9,
                     char_confidences=(0.9,) * 7, candidates=(PlateCandidate(text, 0.9),),
                     plate_bbox=(1.0, 2.0, 40.0, 14.0), first_seen_s=1.795e9 + i, last_seen_s=1.795e9 + i + 1,
                     frame_number=i, read_count=2, quality_score=0.7, vehicle_type="car")
    return replace(base, **kw)


@pytest.fixture
def topic(kafka_bootstrap: str):
    name = create_topic(kafka_bootstrap)
    yield name
    delete_topic(kafka_bootstrap, name)


def kafka(bootstrap: str, registry_url: str, use_avro: bool = True) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=bootstrap, schema_registry_url=registry_url, use_avro=use_avro)


def test_avro_events_decode_with_the_registered_schema(tmp_path: Path, kafka_bootstrap: str,
                                                      schema_registry_url: str, topic: str) -> None:
    registry = SchemaRegistryClient({"url": schema_registry_url})
    schema_id = registry.register_schema(subject_for_topic(topic), Schema(schema_str("plate_event"), "AVRO"))
    sink = make_sink(tmp_path, kafka(kafka_bootstrap, schema_registry_url), topic, auto_register=False)
    results = sink.publish_many([plate_read(i) for i in range(30)])
    assert wait_delivered(sink, 60)
    sink.close()
    sent = {r.record["event_id"]: r.record for r in results if r.record}
    assert len(sent) == 30
    got = consume(kafka_bootstrap, topic, schema_registry_url, expected=30)
    assert Counter(v["event_id"] for _, v in got) == Counter(list(sent))
    for key, value in got:
        assert key == value["camera_id"].encode()
        assert value["plate"]["normalized_text"] == sent[value["event_id"]]["plate"]["normalized_text"]
        assert value["node"]["site"] and value["captured_at"].year >= 2026
    msg_schema_id = int.from_bytes(sink.delivery.encoder.encode(  # the id on the wire is the registered one
        "plate_event", next(iter(sent.values())), topic)[1:5], "big")
    assert msg_schema_id == schema_id


def test_json_mode_carries_the_same_records(tmp_path: Path, kafka_bootstrap: str, schema_registry_url: str,
                                            topic: str) -> None:
    sink = make_sink(tmp_path, kafka(kafka_bootstrap, schema_registry_url, use_avro=False), topic)
    results = sink.publish_many([plate_read(i) for i in range(10)])
    assert wait_delivered(sink, 60)
    sink.close()
    got = consume(kafka_bootstrap, topic, None, expected=10)
    assert sorted(v["event_id"] for _, v in got) == sorted(r.record["event_id"] for r in results if r.record)


def test_registry_outage_after_start_up_does_not_stop_publishing(
        tmp_path: Path, kafka_bootstrap: str, schema_registry_url: str, topic: str) -> None:
    sink = make_sink(tmp_path, kafka(kafka_bootstrap, schema_registry_url), topic)
    sink.publish(plate_read(0))
    assert wait_delivered(sink, 60)
    sink.delivery.encoder.registry = SchemaRegistryClient({"url": "http://127.0.0.1:1", "max.retries": 0})
    sink.publish_many([plate_read(i) for i in range(1, 20)])  # schema id cached: no registry call
    assert all(r.encoded for r in sink.delivery.outbox.fetch_after(0, 100))
    assert wait_delivered(sink, 60)
    sink.close()
    assert len(consume(kafka_bootstrap, topic, schema_registry_url, expected=20)) == 20


def test_malformed_reads_are_counted_and_never_crash(tmp_path: Path, kafka_bootstrap: str,
                                                     schema_registry_url: str, topic: str) -> None:
    metrics = EdgeMetrics()
    sink = make_sink(tmp_path, kafka(kafka_bootstrap, schema_registry_url), topic, metrics=metrics)
    bad = [plate_read(100, text=""), plate_read(101, confidence=math.nan), plate_read(102, text="Z" * 5000),
           plate_read(103, char_confidences=None), plate_read(104, plate_bbox=(1.0, math.inf, 2.0, 3.0))]
    good = [plate_read(i) for i in range(5)]
    results = sink.publish_many([*bad[:2], *good, *bad[2:]])
    assert wait_delivered(sink, 60)
    sink.close()
    reasons = Counter(r.reason for r in results if r.outcome == "rejected")
    assert reasons == {"empty_text": 1, "invalid_confidence": 1, "oversize_text": 1, "malformed": 1,
                       "invalid_bbox": 1}
    for reason, n in reasons.items():
        assert metrics.events.labels("rejected", reason)._value.get() == n
    assert len(consume(kafka_bootstrap, topic, schema_registry_url, expected=5)) == 5


def test_crops_go_to_a_private_bucket_and_the_event_names_them(tmp_path: Path, kafka_bootstrap: str,
                                                              schema_registry_url: str, topic: str,
                                                              minio_client) -> None:
    bucket = f"it-delivery-{uuid.uuid4().hex[:8]}"
    images = image_service(tmp_path, bucket)
    sink = make_sink(tmp_path, kafka(kafka_bootstrap, schema_registry_url), topic, images=images)
    crop = np.full((40, 120, 3), 200, np.uint8)
    try:
        results = sink.publish_many([plate_read(i, plate_crop=crop) for i in range(4)])
        assert wait_delivered(sink, 60)
        sink.close()
        for _, event in consume(kafka_bootstrap, topic, schema_registry_url, expected=4):
            url = event["images"]["plate_url"]
            assert url.startswith(f"s3://{bucket}/")
            stat = minio_client.stat_object(bucket, url.split("/", 3)[3])
            assert stat.size > 0 and stat.metadata["x-amz-meta-camera-id"] == event["camera_id"]
        assert len(results) == 4 and len(list((tmp_path / "crops").glob("*/*.jpg"))) == 4
        with pytest.raises(S3Error) as err:
            minio_client.get_bucket_policy(bucket)
        assert err.value.code == "NoSuchBucketPolicy"
    finally:
        for obj in minio_client.list_objects(bucket, recursive=True):
            minio_client.remove_object(bucket, obj.object_name)
        minio_client.remove_bucket(bucket)


def test_metrics_endpoint_serves_edge_metrics(tmp_path: Path) -> None:
    metrics = EdgeMetrics()
    metrics.outbox_depth.set(7)
    server = metrics.serve(MetricsSettings(port=0, addr="127.0.0.1"))
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        body = urllib.request.urlopen(url, timeout=30).read().decode()
    finally:
        server.shutdown()
    assert "alpr_edge_outbox_depth_events 7.0" in body
    assert "alpr_edge_kafka_connected" in body and "alpr_edge_events_total" not in body.split("# HELP")[0]


def test_health_snapshots_and_vehicle_events_use_their_topics(tmp_path: Path, kafka_bootstrap: str,
                                                              schema_registry_url: str) -> None:
    metrics_topic, vehicles_topic = create_topic(kafka_bootstrap), create_topic(kafka_bootstrap)
    try:
        base = make_sink(tmp_path, kafka(kafka_bootstrap, schema_registry_url), "unused")
        topics = TopicsSettings(metrics=TopicSpec(name=metrics_topic),
                                vehicles=TopicSpec(name=vehicles_topic))
        sink = DeliverySink(base.processor, base.delivery, topics, snapshot_interval_s=0.5)
        vehicle = {"event_id": str(uuid.uuid4()), "captured_at": datetime.now(timezone.utc),
                   "published_at": datetime.now(timezone.utc), "camera_id": "cam-7", "track_id": 3,
                   "vehicle_type": "truck", "confidence": 0.8,
                   "bbox": {"x1": 0.0, "y1": 0.0, "x2": 9.0, "y2": 9.0}, "site": "s", "host": "h"}
        sink.publish_vehicle(vehicle)
        assert wait_delivered(sink, 60)
        # snapshots keep coming every 0.5 s until close: read two of them first (no sleep as a barrier)
        snapshots = [v for _, v in consume(kafka_bootstrap, metrics_topic, schema_registry_url, expected=2,
                                           settle_s=0)]
        sink.close()
        assert len(snapshots) >= 2 and snapshots[0]["component"] == "edge-delivery"
        assert "outbox_depth" in snapshots[0]["values"]
        got = consume(kafka_bootstrap, vehicles_topic, schema_registry_url, expected=1)
        assert [(k, v["event_id"]) for k, v in got] == [(b"cam-7", vehicle["event_id"])]
    finally:
        delete_topic(kafka_bootstrap, metrics_topic)
        delete_topic(kafka_bootstrap, vehicles_topic)
