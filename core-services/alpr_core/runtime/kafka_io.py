"""Kafka-side helpers of the runtime: the consumer configuration and Message -> Record."""

from __future__ import annotations

from typing import Any, cast

from confluent_kafka import Message

from alpr_common.settings import KafkaSettings

from ..config import ConsumerSettings
from .records import Record


def consumer_config(kafka: KafkaSettings, settings: ConsumerSettings) -> dict[str, Any]:
    """librdkafka settings: manual offset store after each flush, commits driven by the runner."""
    return {
        **kafka.client_config(),
        "group.id": settings.group_id,
        "enable.auto.commit": True,
        "enable.auto.offset.store": False,
        "auto.offset.reset": settings.auto_offset_reset,
        "session.timeout.ms": 10000,
        "heartbeat.interval.ms": 2000,
        "max.poll.interval.ms": 300000,
        "queued.max.messages.kbytes": 65536,
        "fetch.wait.max.ms": 100,
    }


# What ``Message.headers()`` returns: a list of (key, value) pairs, value None for a null header. The
# stubs type it with the produce-side ``HeadersType`` (a dict or str values too), which it never is.
ConsumedHeaders = list[tuple[str, bytes | None]]


def to_record(msg: Message, value: dict[str, Any] | None) -> Record:
    """The Record of a fetched message. The stubs make topic, partition and offset Optional for error
    events, which never reach a batch (``ConsumerRunner._add`` drops them)."""
    ts_type, ts = msg.timestamp()
    headers = msg.headers()
    return Record(
        msg.topic(),  # type: ignore[arg-type]
        msg.partition(),  # type: ignore[arg-type]
        msg.offset(),  # type: ignore[arg-type]
        ts if ts_type else None,
        msg.key(),
        msg.value() or b"",
        value,
        tuple(cast("ConsumedHeaders", headers)) if headers else (),
    )
