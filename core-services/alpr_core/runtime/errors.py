"""Errors the consumer runtime understands.

A sink raises :class:`TransientSinkError` for failures that may heal (database down, OpenSearch 429 or
unreachable): the runtime retries the whole batch with backoff and keeps its offsets uncommitted.
It raises :class:`PermanentRecordError` naming the records that can never be written: the runtime
sends exactly those to the DLQ and calls ``write`` again with the rest.

A decoder raises a :class:`PermanentDecodeError` subclass for bytes that can never become a record;
its ``error_type`` is the class name carried in the DLQ headers and stored in ``dlq_messages``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .records import Record


class TransientSinkError(Exception):
    """The batch could not be made durable now; retry it later (never sent to the DLQ)."""


class PermanentRecordError(Exception):
    """Some records of the batch can never be written.

    ``failures`` pairs each such record with a readable reason. Contract: when a sink raises this it
    has NOT necessarily written the others; the runtime removes the failed records and calls
    ``write`` again with the remaining ones (sinks are idempotent, so rewriting is harmless).
    """

    def __init__(self, failures: Sequence[tuple[Record, str]]):
        super().__init__(
            f"{len(failures)} record(s) can never be written: "
            + "; ".join(reason for _, reason in failures[:3])
        )
        self.failures = list(failures)


class PermanentDecodeError(Exception):
    """Bytes that can never be decoded into a valid record (sent to the DLQ)."""

    @property
    def error_type(self) -> str:
        return type(self).__name__


class DeserializationError(PermanentDecodeError):
    """Not a message of the expected format (random bytes, truncated Avro, not JSON)."""


class UnknownSchemaError(PermanentDecodeError):
    """Confluent wire format whose schema id the Schema Registry does not know."""


class ValidationError(PermanentDecodeError):
    """Decoded, but the record breaks the contract (schema or business rules)."""


class TransientDecodeError(TransientSinkError):
    """Decoding failed for a reason that may heal (Schema Registry unreachable)."""
