"""Dead-letter publishing: the original bytes and key to the DLQ topic, the origin in headers."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Producer

from .errors import TransientSinkError
from .records import Record

logger = logging.getLogger(__name__)

# Header names on alpr.dlq (also read back by the dlq-consumer and the replay tool).
H_TOPIC = "dlq.original.topic"
H_PARTITION = "dlq.original.partition"
H_OFFSET = "dlq.original.offset"
H_TIMESTAMP = "dlq.original.timestamp"
H_GROUP = "dlq.consumer.group"
H_ERROR_CLASS = "dlq.error.class"
H_ERROR_MESSAGE = "dlq.error.message"
H_FAILED_AT = "dlq.failed.at"
DLQ_HEADERS = (
    H_TOPIC,
    H_PARTITION,
    H_OFFSET,
    H_TIMESTAMP,
    H_GROUP,
    H_ERROR_CLASS,
    H_ERROR_MESSAGE,
    H_FAILED_AT,
)
MAX_MESSAGE_CHARS = 2000
LOGGED_PER_BATCH = 10  # one line per dead letter up to this many per batch, then a summary line


@dataclass(frozen=True)
class DeadLetter:
    """A message the consumer gives up on, with the reason."""

    record: Record
    error_type: str
    message: str


def dlq_headers(letter: DeadLetter, group_id: str) -> list[tuple[str, str | bytes | None]]:
    """The origin's headers (less any ``dlq.*``) and the ``dlq.*`` ones; typed as ``produce`` takes them."""
    rec = letter.record
    origin = [(k, v) for k, v in rec.headers if k not in DLQ_HEADERS]
    return [
        *origin,
        (H_TOPIC, rec.topic.encode()),
        (H_PARTITION, str(rec.partition).encode()),
        (H_OFFSET, str(rec.offset).encode()),
        (H_TIMESTAMP, str(rec.timestamp_ms if rec.timestamp_ms is not None else "").encode()),
        (H_GROUP, group_id.encode()),
        (H_ERROR_CLASS, letter.error_type.encode()),
        (H_ERROR_MESSAGE, letter.message[:MAX_MESSAGE_CHARS].encode("utf-8", "replace")),
        (H_FAILED_AT, str(int(time.time() * 1000)).encode()),
    ]


class DlqPublisher:
    """Produces dead letters with acks=all and idempotence; ``publish`` returns once they are durable."""

    def __init__(
        self,
        client_config: dict[str, str],
        topic: str,
        group_id: str,
        timeout_s: float = 30.0,
        producer: Any = None,
    ):
        self.topic = topic
        self._group_id = group_id
        self._timeout_s = timeout_s
        conf = {**client_config, "enable.idempotence": True, "acks": "all", "linger.ms": 5}
        self._producer = producer or Producer(conf)

    def publish(self, letters: Sequence[DeadLetter]) -> None:
        if not letters:
            return
        errors: list[str] = []

        def on_delivery(err: Any, msg: Any) -> None:
            if err is not None:
                errors.append(str(err))

        for i, letter in enumerate(letters):
            rec = letter.record
            if i < LOGGED_PER_BATCH:
                logger.warning(
                    "dead letter %s -> %s: %s: %s",
                    rec.coordinates,
                    self.topic,
                    letter.error_type,
                    letter.message[:300],
                )
            self._producer.produce(
                self.topic,
                value=rec.raw,
                key=rec.key,
                headers=dlq_headers(letter, self._group_id),
                on_delivery=on_delivery,
            )
        if len(letters) > LOGGED_PER_BATCH:
            logger.warning(
                "... and %d more dead letter(s) in this batch -> %s",
                len(letters) - LOGGED_PER_BATCH,
                self.topic,
            )
        remaining = self._producer.flush(self._timeout_s)
        if remaining or errors:
            raise TransientSinkError(f"DLQ {self.topic}: {remaining} undelivered, errors: {errors[:3]}")

    def close(self) -> None:
        self._producer.flush(self._timeout_s)
