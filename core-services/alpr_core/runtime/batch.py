"""The messages of one commit and what became of them: decoded records, dead letters, written records.

The runner keeps two: the batch being written and, while its last writes run, the next one, which
the poll loop already fetched and the main thread decodes in the meantime (``ConsumerRunner``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Message, TopicPartition

from .dlq import DeadLetter
from .errors import PermanentDecodeError
from .kafka_io import to_record
from .records import Record

DecodeFn = Callable[[bytes | None, str], "dict[str, Any] | None"]
PrepareFn = Callable[[dict[str, Any]], Any]


@dataclass
class Batch:
    """Consumed messages in offset order; ``records`` decoded but not yet written, ``done`` written."""

    pending: list[Message] = field(default_factory=list)
    decoded_upto: int = 0
    records: list[Record] = field(default_factory=list)
    letters: list[DeadLetter] = field(default_factory=list)
    done: list[Record] = field(default_factory=list)
    first_at: float = 0.0

    def __len__(self) -> int:
        return len(self.pending)

    @property
    def undecoded(self) -> int:
        return len(self.pending) - self.decoded_upto

    def add(self, msg: Message, now: float) -> None:
        if not self.pending:
            self.first_at = now
        self.pending.append(msg)

    def decode(self, decode: DecodeFn, limit: int | None = None, prepare: PrepareFn | None = None) -> None:
        """Decode messages not decoded yet (at most ``limit``), then ``prepare`` each value for the sink;
        permanent failures become dead letters. A transient failure (e.g. the Schema Registry is down)
        propagates and leaves the message for the retry."""
        end = len(self.pending) if limit is None else min(len(self.pending), self.decoded_upto + limit)
        records, letters = self.records, self.letters
        while self.decoded_upto < end:
            msg = self.pending[self.decoded_upto]
            topic = msg.topic()
            assert topic is not None  # error events never reach a batch
            try:
                record = to_record(msg, decode(msg.value(), topic))
            except PermanentDecodeError as exc:
                letters.append(DeadLetter(to_record(msg, None), exc.error_type, str(exc)))
                self.decoded_upto += 1
                continue
            if prepare is not None and record.value is not None:
                try:
                    record.prepared = prepare(record.value)
                except (TypeError, ValueError) as exc:
                    reason = f"sink cannot prepare {record.coordinates}: {type(exc).__name__}: {exc}"
                    letters.append(DeadLetter(record, "SinkRejectedError", reason))
                    self.decoded_upto += 1
                    continue
            records.append(record)
            self.decoded_upto += 1

    def release(self, count: int) -> bool:
        """Drop up to ``count`` messages and records from the end (a committed batch being freed in
        slices); True once nothing is left."""
        for items in (self.pending, self.records, self.done, self.letters):
            del items[-count:]
        return not (self.pending or self.records or self.done or self.letters)

    def offsets(self) -> list[TopicPartition]:
        """Per partition, the offset after the batch's last message (what a commit stores)."""
        last: dict[tuple[str | None, int | None], int | None] = {}
        for msg in self.pending:  # error events never reach a batch: no None below
            last[(msg.topic(), msg.partition())] = msg.offset()
        return [TopicPartition(t, p, o + 1) for (t, p), o in last.items()]  # type: ignore[arg-type,operator]

    def where(self) -> str:
        """``topic[partition]@offset`` of the first message, for log lines."""
        if not self.pending:
            return "-"
        first = self.pending[0]
        return f"{first.topic()}[{first.partition()}]@{first.offset()}"
