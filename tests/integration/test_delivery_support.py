"""Shared helpers of the delivery integration tests (imported by test_delivery*.py; no tests here).

Each test uses its own topic (``it.delivery.<uuid>``, created with the admin client and deleted after)
so concurrent runs do not interfere; outage tests stop and restart shared servers through
``scripts/stack`` and always restart them in a ``finally`` block.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from alpr_common.serde import RecordSerde
from alpr_common.settings import KafkaSettings, ObjectStoreSettings, TopicSpec, TopicsSettings
from alpr_edge.events import EventProcessor, EventSettings
from alpr_edge.publishing import DeliveryService, DeliverySink, EdgeMetrics, SqliteOutbox, make_encoder
from alpr_edge.publishing.images import ImageStorageService
from alpr_edge.publishing.settings import ImageSettings, OutboxSettings, PublisherSettings

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
BENCH = str(ROOT / "scripts" / "benchmark_delivery.py")


def create_topic(bootstrap: str, partitions: int = 3) -> str:
    topic = f"it.delivery.{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)],
                        request_timeout=120)[topic].result(180)
    return topic


def delete_topic(bootstrap: str, topic: str) -> None:
    # Generous deadlines: right after an outage test restarts Kafka, a loaded broker may take well over
    # 30 s to answer the first admin request (seen once in the stress runs).
    future = AdminClient({"bootstrap.servers": bootstrap}).delete_topics(
        [topic], operation_timeout=60, request_timeout=120)[topic]
    with contextlib.suppress(KafkaException):
        future.result(180)


def make_sink(tmp_path: Path, kafka: KafkaSettings, topic: str, *, auto_register: bool = True,
              message_timeout_ms: int = 120_000, images: ImageStorageService | None = None,
              metrics: EdgeMetrics | None = None) -> DeliverySink:
    """Processor + outbox + producer on ``topic`` (what build_sink assembles, with test paths)."""
    metrics = metrics or EdgeMetrics()
    outbox_settings = OutboxSettings(path=tmp_path / "outbox.sqlite3", csv_log_path=None)
    publisher = PublisherSettings(auto_register_schemas=auto_register, message_timeout_ms=message_timeout_ms)
    encoder = make_encoder(kafka.use_avro, kafka.schema_registry_url, auto_register=auto_register)
    delivery = DeliveryService(SqliteOutbox(outbox_settings.path), encoder, outbox_settings, publisher,
                               kafka.client_config(), metrics).start()
    topics = TopicsSettings(plates=TopicSpec(name=topic))
    return DeliverySink(EventProcessor(EventSettings()), delivery, topics, images, metrics=metrics)


def image_service(tmp_path: Path, bucket: str, **overrides: Any) -> ImageStorageService:
    settings = ImageSettings(local_dir=tmp_path / "crops", spool_dir=tmp_path / "spool", **overrides)
    return ImageStorageService(settings, ObjectStoreSettings(endpoint="127.0.0.1:9000", bucket=bucket))


def consume(bootstrap: str, topic: str, registry_url: str | None, expected: int, timeout_s: float = 60.0,
            settle_s: float = 2.0) -> list[tuple[bytes | None, dict[str, Any]]]:
    """Every message of ``topic`` decoded by a plain consumer: Avro with the registered (writer) schema
    fetched by id from the registry, or JSON. Reads until ``expected`` and then ``settle_s`` more."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"it-{uuid.uuid4()}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    decode = AvroDeserializer(SchemaRegistryClient({"url": registry_url})) if registry_url else None
    serde = RecordSerde("plate_event", use_avro=False)
    consumer.subscribe([topic])
    out: list[tuple[bytes | None, dict[str, Any]]] = []
    deadline = time.monotonic() + timeout_s
    settle_until = None
    try:
        while time.monotonic() < deadline and (settle_until is None or time.monotonic() < settle_until):
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                ctx = SerializationContext(topic, MessageField.VALUE)
                value = decode(msg.value(), ctx) if decode else serde.deserialize(msg.value(), topic)
                out.append((msg.key(), value))
            if len(out) >= expected and settle_until is None:
                settle_until = time.monotonic() + settle_s
    finally:
        consumer.close()
    return out


def stack(action: str, name: str, timeout_s: float = 180.0) -> None:
    """``scripts/stack up|down NAME`` (up waits for health)."""
    subprocess.run([str(ROOT / "scripts" / "stack"), action, name], check=True, timeout=timeout_s,
                   capture_output=True)


def stack_state(name: str) -> str:
    out = subprocess.run([str(ROOT / "scripts" / "stack"), "status", name], capture_output=True, text=True,
                         timeout=60).stdout
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] == name:
            return parts[1]
    return "unknown"


@contextmanager
def server_stopped(name: str) -> Iterator[None]:
    """Stop a stack server for the block; always start it again and wait until it is healthy."""
    stack("down", name)
    try:
        yield
    finally:
        stack("up", name)


def bench(*args: str, log: Path) -> subprocess.Popen:
    """scripts/benchmark_delivery.py as a separate process (produce/drain modes), output to ``log``."""
    handle = log.open("ab")
    return subprocess.Popen([PYTHON, BENCH, *args], stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT)


def plate_texts(indices: range | list[int]) -> dict[str, int]:
    sys.path.insert(0, str(ROOT / "scripts"))
    from benchmark_delivery import plate_text

    return {plate_text(i): i for i in indices}


def dump(records: list[tuple[bytes | None, dict[str, Any]]], path: Path) -> None:
    path.write_text("\n".join(json.dumps(r, default=str) for _, r in records))
