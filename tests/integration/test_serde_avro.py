"""Avro plate_event through the real Schema Registry and Kafka: produced, consumed, decoded identically."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient

from alpr_common.serde import MAGIC_BYTE, RecordSerde, SerdeError
from tests.factories import plate_event

pytestmark = pytest.mark.integration


@pytest.fixture
def topic(kafka_bootstrap: str) -> str:
    name = f"test.serde.{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])[name].result(timeout=30)
    yield name
    admin.delete_topics([name])


def _consume_one(bootstrap: str, topic: str) -> bytes:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    try:
        for _ in range(60):
            msg = consumer.poll(1.0)
            if msg is not None and msg.error() is None:
                return msg.value()
        raise AssertionError(f"no message on {topic}")
    finally:
        consumer.close()


def test_plate_event_round_trip_through_registry(kafka_bootstrap: str, schema_registry_url: str, topic: str) -> None:
    registry = SchemaRegistryClient({"url": schema_registry_url})
    serde = RecordSerde("plate_event", registry, use_avro=True, auto_register=True)
    record = plate_event(plate="7ABC123")
    data = serde.serialize(record, topic)
    assert data[0] == MAGIC_BYTE
    schema_id = int.from_bytes(data[1:5], "big")
    assert registry.get_schema(schema_id).schema_type == "AVRO"

    producer = Producer({"bootstrap.servers": kafka_bootstrap, "enable.idempotence": True, "acks": "all"})
    producer.produce(topic, key=record["camera_id"].encode(), value=data)
    assert producer.flush(30) == 0

    decoded = RecordSerde("plate_event", registry, use_avro=True).deserialize(_consume_one(kafka_bootstrap, topic),
                                                                             topic)
    expected = serde._normalise(record)  # float32 fields as Avro stores them
    assert decoded == expected
    assert decoded["event_id"] == record["event_id"]
    assert decoded["captured_at"] == record["captured_at"]
    assert decoded["plate"]["normalized_text"] == "7ABC123"


def test_record_breaking_schema_is_refused_by_serializer(schema_registry_url: str, topic: str) -> None:
    serde = RecordSerde("plate_event", SchemaRegistryClient({"url": schema_registry_url}), auto_register=True)
    bad = plate_event()
    bad["plate"]["confidence"] = "very"
    with pytest.raises(SerdeError, match=r"plate_event.*confidence"):
        serde.serialize(bad, topic)


def test_garbage_bytes_are_refused_by_deserializer(schema_registry_url: str, topic: str) -> None:
    serde = RecordSerde("plate_event", SchemaRegistryClient({"url": schema_registry_url}))
    with pytest.raises(SerdeError, match="wire format"):
        serde.deserialize(b"\x07not-avro", topic)
    with pytest.raises(SerdeError):
        serde.deserialize(b"\x00\x7f\xff\xff\xf0garbage", topic)  # unknown schema id
