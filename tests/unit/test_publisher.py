"""Kafka delivery without a broker: producer settings, encoders, expiry back to the outbox, store-only mode.

librdkafka is real here; it points at a closed port, so messages expire as they would in a long outage.
"""

from __future__ import annotations

import gc
import io
import logging
import struct
from datetime import datetime, timedelta, timezone
from pathlib import Path

import fastavro
import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

from alpr_common.schemas import parsed_schema
from alpr_common.serde import RecordSerde, SerdeError
from alpr_edge.publishing import (
    AvroEncoder,
    DeliveryService,
    EdgeMetrics,
    Envelope,
    JsonEncoder,
    RegistryUnavailable,
    SqliteOutbox,
    producer_config,
)
from alpr_edge.publishing.encoding import cavro
from alpr_edge.publishing.settings import OutboxSettings, PublisherSettings
from alpr_edge.publishing.sink import GC_THRESHOLDS
from tests.factories import plate_event
from tests.waiting import wait_until

DEAD_BROKER = {"bootstrap.servers": "127.0.0.1:1", "client.id": "unit"}


def envelope(**kw) -> Envelope:
    rec = plate_event(**kw)
    return Envelope(rec["event_id"], "unit.plates", "plate_event", rec["camera_id"], rec)


def test_producer_config_is_idempotent_acks_all_compressed() -> None:
    conf = producer_config({"bootstrap.servers": "k:9092"}, PublisherSettings(compression_type="zstd"))
    assert conf["enable.idempotence"] is True and conf["acks"] == "all"
    assert conf["compression.type"] == "zstd" and conf["linger.ms"] == 10
    assert producer_config({}, PublisherSettings(extra_config={"linger.ms": "50"}))["linger.ms"] == "50"


def test_avro_encoder_uses_the_cached_schema_id_without_the_registry() -> None:
    encoder = AvroEncoder(SchemaRegistryClient({"url": "http://127.0.0.1:1", "max.retries": 0}))
    encoder._ids[("plate_event", "unit.plates")] = 4242  # as after a first successful lookup
    rec = plate_event()
    data = encoder.encode("plate_event", rec, "unit.plates")
    assert struct.unpack(">bI", data[:5]) == (0, 4242)
    decoded = fastavro.schemaless_reader(io.BytesIO(data[5:]), parsed_schema("plate_event"), None)
    assert decoded["event_id"] == rec["event_id"] and decoded["plate"]["text"] == "ABC123"


def test_avro_encoder_reports_an_unreachable_registry_and_a_bad_record() -> None:
    encoder = AvroEncoder(SchemaRegistryClient({"url": "http://127.0.0.1:1", "max.retries": 0, "timeout": 2}))
    with pytest.raises(RegistryUnavailable):
        encoder.encode("plate_event", plate_event(), "unit.plates")
    encoder._ids[("plate_event", "unit.plates")] = 1
    for bad in (plate_event(track_id="seven"), plate_event(latency_ms="x"), plate_event(camera_id=None)):
        with pytest.raises(SerdeError):
            encoder.encode("plate_event", bad, "unit.plates")


_NOW = datetime(2026, 11, 22, 7, 57, 1, 123987, tzinfo=timezone.utc)  # sub-millisecond part: truncated alike
_PARITY_RECORDS = [
    ("plate_event", plate_event()),
    ("plate_event", plate_event(captured_at=_NOW, published_at=_NOW + timedelta(microseconds=999))),
    ("plate_event", plate_event(vehicle=None, latency_ms=0, track_id=-(2**40), preview=True)),
    ("plate_event", plate_event(plate="É1Ü", extras={"roi": "gate", "direction": "in", "quality_score": None,
                                                     "frame_number": None, "read_count": 1})),
    ("plate_event", {**plate_event(), "not_in_schema": 1}),  # extra keys are ignored by both writers
    ("system_metric", {"metric_id": "m-1", "timestamp": _NOW, "site": "s", "host": "h", "camera_id": None,
                       "component": "edge-delivery", "status": "ok", "values": {"outbox_depth": 3.0, "x": 1e300},
                       "labels": {"k": "v"}}),
    ("vehicle_event", {"event_id": "v-1", "captured_at": _NOW, "published_at": _NOW, "last_seen_at": None,
                       "camera_id": "c", "track_id": 3, "vehicle_type": "bus", "confidence": 0.5, "frames_seen": 9,
                       "direction": None, "plate_event_id": "p", "bbox": {"x1": 1, "y1": 2.5, "x2": 3, "y2": 4},
                       "image_url": None, "site": "s", "host": "h"}),
]


@pytest.mark.skipif(cavro is None, reason="cavro has no wheel for this platform")
@pytest.mark.parametrize(("schema", "record"), _PARITY_RECORDS)
def test_cavro_and_fastavro_write_the_same_bytes(schema: str, record: dict) -> None:
    registry = SchemaRegistryClient({"url": "http://127.0.0.1:1", "max.retries": 0})
    fast, cav = AvroEncoder(registry, use_cavro=False), AvroEncoder(registry)
    for enc in (fast, cav):
        enc._ids[(schema, "unit.t")] = 7
    assert cav._cavro is not None and fast._cavro is None
    assert cav.encode(schema, record, "unit.t") == fast.encode(schema, record, "unit.t")


@pytest.mark.parametrize("use_cavro", [True, False])
def test_both_writers_refuse_the_same_bad_records(use_cavro: bool) -> None:
    encoder = AvroEncoder(SchemaRegistryClient({"url": "http://127.0.0.1:1", "max.retries": 0}), use_cavro=use_cavro)
    encoder._ids[("plate_event", "unit.plates")] = 1
    missing = plate_event()
    del missing["camera_id"]
    for bad in (plate_event(track_id="seven"), plate_event(latency_ms=1.5j), plate_event(bbox=None), missing,
                plate_event(captured_at="yesterday"), plate_event(track_id=2**63)):
        with pytest.raises(SerdeError):
            encoder.encode("plate_event", bad, "unit.plates")


def test_json_encoder_round_trips() -> None:
    rec = plate_event()
    data = JsonEncoder().encode("plate_event", rec, "unit.plates")
    decoded = RecordSerde("plate_event", use_avro=False).deserialize(data, "unit.plates")
    assert decoded["event_id"] == rec["event_id"]


def test_expired_messages_stay_in_the_outbox(tmp_path: Path) -> None:
    metrics = EdgeMetrics()
    outbox = SqliteOutbox(tmp_path / "o.sqlite3")
    svc = DeliveryService(outbox, JsonEncoder(), OutboxSettings(path=tmp_path / "o.sqlite3"),
                          PublisherSettings(message_timeout_ms=1000), DEAD_BROKER, metrics).start()
    result = svc.submit([envelope() for _ in range(20)])
    assert result.stored == 20
    wait_until(lambda: metrics.delivery_failures.labels("_MSG_TIMED_OUT")._value.get() >= 20,
               what="20 delivery timeouts")
    assert outbox.depth == 20 and svc.acked_total == 0
    svc.close(timeout_s=0.5)
    assert SqliteOutbox(tmp_path / "o.sqlite3").depth == 20  # still there for the next run


def test_invalid_records_are_refused_and_counted(tmp_path: Path) -> None:
    metrics = EdgeMetrics()
    svc = DeliveryService(SqliteOutbox(tmp_path / "o.sqlite3"), JsonEncoder(), metrics=metrics)
    result = svc.submit([envelope(track_id="x"), envelope()])
    assert (result.stored, result.invalid) == (1, 1)
    assert metrics.events.labels("rejected", "invalid_record")._value.get() == 1
    svc.close(0)


def test_without_kafka_events_stay_stored_and_the_log_says_so(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.WARNING)
    svc = DeliveryService(SqliteOutbox(tmp_path / "o.sqlite3"), JsonEncoder(), kafka_conf=None).start()
    svc.submit([envelope() for _ in range(5)])
    wait_until(lambda: any("not configured" in r.getMessage() for r in caplog.records),
               what="the 'not configured' warning")
    assert svc.outbox.depth == 5
    assert sum("not configured" in r.getMessage() for r in caplog.records) == 1
    svc.close(0)


class FlakyRegistryEncoder(JsonEncoder):
    """JSON encoder whose first calls fail like an unreachable registry."""

    def __init__(self, failures: int):
        super().__init__()
        self.failures = failures

    def encode(self, schema, record, topic):
        if self.failures > 0:
            self.failures -= 1
            raise RegistryUnavailable("down")
        return super().encode(schema, record, topic)


def test_events_kept_as_json_while_the_registry_is_down_are_encoded_later(tmp_path: Path) -> None:
    outbox = SqliteOutbox(tmp_path / "o.sqlite3")
    svc = DeliveryService(outbox, FlakyRegistryEncoder(failures=3), OutboxSettings(path=outbox.path),
                          PublisherSettings(message_timeout_ms=1000), DEAD_BROKER)
    svc.submit([envelope() for _ in range(3)])
    assert [r.encoded for r in outbox.fetch_after(0, 10)] == [False] * 3
    svc.start()
    wait_until(lambda: all(r.encoded for r in outbox.fetch_after(0, 10)), what="every row encoded")
    row = outbox.fetch_after(0, 1)[0]
    assert RecordSerde("plate_event", use_avro=False).deserialize(row.value, "t")["event_id"] == row.event_id
    svc.close(0.2)


@pytest.mark.parametrize(("policy", "stored", "refused"), [("drop_oldest", 4, 0), ("refuse_new", 0, 4)])
def test_full_outbox_policy_is_counted(tmp_path: Path, policy: str, stored: int, refused: int) -> None:
    metrics = EdgeMetrics()
    outbox = SqliteOutbox(tmp_path / "o.sqlite3", max_events=100, full_policy=policy)
    svc = DeliveryService(outbox, JsonEncoder(), metrics=metrics)
    svc.submit([envelope() for _ in range(100)])
    result = svc.submit([envelope() for _ in range(4)])
    assert (result.stored, result.refused) == (stored, refused)
    assert metrics.outbox_dropped.labels(policy)._value.get() == 4 and outbox.depth == 100
    svc.close(0)


def test_camera_threads_share_one_sink(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from alpr_edge.events import EventProcessor
    from alpr_edge.publishing import DeliverySink
    from alpr_edge.types import PlateRead

    def read(cam: int, i: int) -> PlateRead:
        text = f"{'ABCDEFGHJK'[i % 10]}{'KLMNPRSTUV'[i // 10 % 10]}{cam}Q{1000 + i * 37}"
        return PlateRead(camera_id=f"cam-{cam}", track_id=i, text=text, confidence=0.9, char_confidences=(),
                         candidates=(), plate_bbox=(0.0, 0.0, 1.0, 1.0), first_seen_s=1e9 + i,
                         last_seen_s=1e9 + i, frame_number=i, read_count=1, quality_score=0.5)

    svc = DeliveryService(SqliteOutbox(tmp_path / "o.sqlite3"), JsonEncoder(), kafka_conf=None)
    sink = DeliverySink(EventProcessor(), svc)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda cam: [sink.publish(read(cam, i)) for i in range(200)], range(4)))
    assert sum(sink.processor.counts.values()) == 800
    assert svc.outbox.depth == sink.processor.counts["accepted"] > 700
    sink.close(0)


def test_build_sink_without_kafka_keeps_events_in_the_outbox_and_the_csv(tmp_path: Path, caplog) -> None:
    from alpr_edge.config import EdgeConfig
    from alpr_edge.publishing import build_sink
    from alpr_edge.types import PlateRead

    caplog.set_level(logging.WARNING)
    cfg = EdgeConfig()
    cfg.publisher.enabled = False
    cfg.kafka.use_avro = False
    cfg.images.enabled = False
    cfg.metrics.enabled = False
    cfg.outbox.path, cfg.outbox.csv_log_path = tmp_path / "o.sqlite3", tmp_path / "events.csv"
    thresholds = gc.get_threshold()
    try:
        sink = build_sink(cfg)
        assert gc.get_threshold() == GC_THRESHOLDS  # the publishing process's young collections are rarer
    finally:
        gc.set_threshold(*thresholds)
    read = PlateRead(camera_id="cam-1", track_id=1, text="XYZ789", confidence=0.9, char_confidences=(),
                     candidates=(), plate_bbox=(0.0, 0.0, 1.0, 1.0), first_seen_s=1e9, last_seen_s=1e9,
                     frame_number=1, read_count=1, quality_score=0.5)
    result = sink.publish(read)
    sink.close(0)
    assert result.outcome == "accepted"
    assert SqliteOutbox(tmp_path / "o.sqlite3").depth == 1
    lines = (tmp_path / "events.csv").read_text().splitlines()
    assert len(lines) == 2 and result.record["event_id"] in lines[1] and "XYZ789" in lines[1]
    assert sum("not configured" in r.getMessage() for r in caplog.records) == 1
