"""Kafka and the Schema Registry of the local stack (scripts/stack up kafka schema-registry).

Each test works on its own unique topic / subject and removes it afterwards. Skipped when the
server's port is closed.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterator

import pytest

pytestmark = pytest.mark.integration

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka import Consumer, KafkaException, Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewTopic  # noqa: E402


def _unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


@pytest.fixture
def temp_topic(kafka_bootstrap: str) -> Iterator[str]:
    """A fresh one-partition topic, created through the AdminClient and deleted afterwards."""
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    topic = _unique("it.stack.")
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)],
                        operation_timeout=30, request_timeout=30)[topic].result(timeout=30)
    try:
        yield topic
    finally:
        with contextlib.suppress(KafkaException):
            admin.delete_topics([topic], operation_timeout=30)[topic].result(timeout=30)


def _consume(kafka_bootstrap: str, topic: str, count: int, timeout_s: float = 30.0) -> list:
    consumer = Consumer({"bootstrap.servers": kafka_bootstrap, "group.id": _unique("it-stack-"),
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    got = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(got) < count and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            got.append(msg)
    finally:
        consumer.close()
    return got


def _produce(kafka_bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    errors = []
    producer = Producer({"bootstrap.servers": kafka_bootstrap, "acks": "all", "enable.idempotence": True})
    for key, value in records:
        producer.produce(topic, key=key, value=value,
                         on_delivery=lambda err, _msg: errors.append(err) if err is not None else None)
    assert producer.flush(30) == 0, "messages still queued after 30 s"
    assert not errors, errors


def test_kafka_broker_metadata(kafka_bootstrap: str) -> None:
    md = AdminClient({"bootstrap.servers": kafka_bootstrap}).list_topics(timeout=10)
    assert len(md.brokers) == 1
    (broker,) = md.brokers.values()
    assert broker.port == int(kafka_bootstrap.rsplit(":", 1)[1])


def test_kafka_produce_consume_round_trip(kafka_bootstrap: str, temp_topic: str) -> None:
    records = [(b"cam-1", json.dumps({"n": i, "plate": f"AB{i:03d}CD"}).encode()) for i in range(5)]
    _produce(kafka_bootstrap, temp_topic, records)
    got = _consume(kafka_bootstrap, temp_topic, len(records))
    assert [(m.key(), m.value()) for m in got] == records
    assert [m.offset() for m in got] == list(range(len(records)))


# -- Schema Registry (Apicurio, Confluent-compatible API) --------------------------------------------
schema_registry = pytest.importorskip("confluent_kafka.schema_registry")
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient  # noqa: E402
from confluent_kafka.schema_registry.error import SchemaRegistryError  # noqa: E402

V1 = {"type": "record", "name": "StackProbe", "namespace": "alpr.test", "doc": "integration probe",
      "fields": [{"name": "plate", "type": "string", "doc": "plate text"}]}
V2_COMPATIBLE = {**V1, "fields": [*V1["fields"],
                                  {"name": "camera_id", "type": "string", "default": "",
                                   "doc": "with a default"}]}
V2_INCOMPATIBLE = {**V1, "fields": [*V1["fields"], {"name": "speed", "type": "int", "doc": "no default"}]}


@pytest.fixture
def sr_client(schema_registry_url: str) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": schema_registry_url})


@pytest.fixture
def subject(sr_client: SchemaRegistryClient) -> Iterator[str]:
    name = _unique("it-stack-") + "-value"
    yield name
    for permanent in (False, True):
        with contextlib.suppress(SchemaRegistryError):
            sr_client.delete_subject(name, permanent=permanent)


def test_schema_register_and_read_back_by_id(sr_client: SchemaRegistryClient, subject: str) -> None:
    schema_id = sr_client.register_schema(subject, Schema(json.dumps(V1), "AVRO"))
    assert isinstance(schema_id, int) and schema_id > 0
    fetched = sr_client.get_schema(schema_id)
    assert fetched.schema_type == "AVRO"
    assert json.loads(fetched.schema_str)["fields"][0]["name"] == "plate"
    latest = sr_client.get_latest_version(subject)
    assert latest.schema_id == schema_id and latest.version == 1
    # registering the same schema again is idempotent
    assert sr_client.register_schema(subject, Schema(json.dumps(V1), "AVRO")) == schema_id


def test_schema_backward_compatibility_enforced(sr_client: SchemaRegistryClient, subject: str) -> None:
    sr_client.set_compatibility(subject_name=subject, level="BACKWARD")
    assert sr_client.get_compatibility(subject) == "BACKWARD"
    first = sr_client.register_schema(subject, Schema(json.dumps(V1), "AVRO"))

    with pytest.raises(SchemaRegistryError) as refused:
        sr_client.register_schema(subject, Schema(json.dumps(V2_INCOMPATIBLE), "AVRO"))
    assert refused.value.http_status_code == 409

    second = sr_client.register_schema(subject, Schema(json.dumps(V2_COMPATIBLE), "AVRO"))
    assert second != first
    assert [v for v in sr_client.get_versions(subject)] == [1, 2]


def test_avro_serde_through_kafka(kafka_bootstrap: str, temp_topic: str,
                                  sr_client: SchemaRegistryClient) -> None:
    """confluent_kafka's Avro serializer registers under <topic>-value and the deserializer finds it by id."""
    pytest.importorskip("fastavro")
    from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
    from confluent_kafka.serialization import MessageField, SerializationContext

    ser = AvroSerializer(sr_client, json.dumps(V1))
    de = AvroDeserializer(sr_client)
    ctx = SerializationContext(temp_topic, MessageField.VALUE)
    payload = ser({"plate": "ZX81ABC"}, ctx)
    assert payload[:1] == b"\x00"  # Confluent wire format: magic byte + 4-byte schema id
    try:
        _produce(kafka_bootstrap, temp_topic, [(b"cam-1", payload)])
        (msg,) = _consume(kafka_bootstrap, temp_topic, 1)
        assert de(msg.value(), ctx) == {"plate": "ZX81ABC"}
    finally:
        for permanent in (False, True):
            with contextlib.suppress(SchemaRegistryError):
                sr_client.delete_subject(f"{temp_topic}-value", permanent=permanent)
