"""Kafka-side helpers of the runtime: the consumer configuration and Message -> Record."""

from __future__ import annotations

from typing import Any

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


def to_record(msg: Message, value: dict[str, Any] | None) -> Record:
    return Record(
        topic=msg.topic(),
        partition=msg.partition(),
        offset=msg.offset(),
        timestamp_ms=msg.timestamp()[1] if msg.timestamp()[0] else None,
        key=msg.key(),
        raw=msg.value() or b"",
        value=value,
        headers=tuple(msg.headers() or ()),
    )
