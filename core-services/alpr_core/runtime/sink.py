"""The one interface a consumer implements: a sink that makes a batch of records durable."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from .records import Record


@runtime_checkable
class BatchSink(Protocol):
    """``write`` returns only when every record of ``batch`` is durable (idempotently: a batch may be
    written again after a crash or a retry). Raise TransientSinkError to have the batch retried with
    backoff (partitions paused, offsets uncommitted), PermanentRecordError to dead-letter some records.
    ``close`` releases connections; it is called once when the consumer exits.

    A sink may also define ``prepare(value) -> Any``: the runner calls it in the poll thread right after
    decoding each record and keeps the result in ``Record.prepared`` (e.g. the storage sink's COPY line),
    so the sink threads only ship bytes; a ValueError/TypeError from it dead-letters the record."""

    def write(self, batch: list[Record]) -> None: ...

    def close(self) -> None: ...
