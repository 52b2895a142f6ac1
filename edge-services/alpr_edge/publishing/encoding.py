"""Record encoders: Avro in the Confluent wire format with schema ids cached per topic, or JSON.

The schema id of ``<topic>-value`` is looked up once (or registered when ``auto_register``) and kept,
so a registry outage after the first event of a topic does not stop publishing. Before that first
lookup succeeds, :class:`RegistryUnavailable` tells the caller to keep the record as JSON and retry.

The Avro body is written by cavro (Cython, about half fastavro's CPU per plate event, the same bytes:
tests/unit/test_publisher.py) where it is installed (x86_64 wheels, requirements.txt), by fastavro
otherwise; a record cavro refuses is handed to fastavro, so what is accepted and the errors raised are
fastavro's on every platform.
"""

from __future__ import annotations

import io
import json
import logging
import struct
import threading
import time
from datetime import datetime
from typing import Any, Protocol

import fastavro

try:
    import cavro
except ImportError:  # no wheel for this platform (requirements.txt): fastavro writes everything
    cavro = None
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from alpr_common.schemas import parsed_schema, schema_str, subject_for_topic
from alpr_common.serde import SerdeError

logger = logging.getLogger(__name__)

_HEADER = struct.Struct(">bI")


class RegistryUnavailable(RuntimeError):
    """The schema id of a topic is not known yet and the registry cannot be reached."""


class Encoder(Protocol):
    def encode(self, schema: str, record: dict[str, Any], topic: str) -> bytes: ...


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def record_to_json(record: dict[str, Any]) -> bytes:
    """Compact JSON of a record (timestamps as epoch milliseconds), for rows kept before encoding."""
    return json.dumps(record, default=_json_default, separators=(",", ":")).encode()


def check_record(schema: str, record: dict[str, Any]) -> None:
    """Validate against schemas/<schema>.avsc; the cheap boolean check first, the detailed one on failure."""
    parsed = parsed_schema(schema)
    if fastavro.validation.validate(record, parsed, raise_errors=False):
        return
    try:
        fastavro.validation.validate(record, parsed, raise_errors=True)
    except fastavro.validation.ValidationError as exc:
        raise SerdeError(f"record does not match schema {schema}: {exc}") from None
    raise SerdeError(f"record does not match schema {schema}")


def fastavro_body(schema: str, record: dict[str, Any]) -> bytes:
    """The schemaless Avro body of ``record`` written by fastavro; :class:`SerdeError` when it does not fit."""
    buf = io.BytesIO()
    try:
        fastavro.schemaless_writer(buf, parsed_schema(schema), record)
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        raise SerdeError(f"record does not match schema {schema}: {exc}") from None
    return buf.getvalue()


class AvroEncoder:
    """Confluent wire format: magic byte 0, 4-byte schema id, schemaless Avro body (cavro or fastavro).

    The writer refuses values that do not fit the schema (wrong types, no union branch), which is the
    validation; ``validate=True`` adds fastavro's full validator first (slower, more precise errors).
    ``use_cavro=False`` writes with fastavro even where cavro is installed.
    """

    def __init__(self, registry: SchemaRegistryClient, auto_register: bool = False, validate: bool = False,
                 retry_interval_s: float = 5.0, use_cavro: bool = True):
        self.registry = registry
        self._cavro: dict[str, Any] | None = {} if use_cavro and cavro is not None else None
        self._headers: dict[int, bytes] = {}
        self.retry_interval_s = retry_interval_s  # after a failed lookup, fail fast for this long
        self._retry_at = 0.0
        self.auto_register = auto_register
        self.validate = validate
        self._ids: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def schema_id(self, schema: str, topic: str) -> int:
        key = (schema, topic)
        found = self._ids.get(key)
        if found is not None:
            return found
        with self._lock:
            subject = subject_for_topic(topic)
            if time.monotonic() < self._retry_at:
                raise RegistryUnavailable(f"schema registry unreachable for {subject} (retrying later)")
            try:
                if self.auto_register:
                    found = self.registry.register_schema(subject, Schema(schema_str(schema), "AVRO"))
                else:
                    found = self.registry.lookup_schema(subject, Schema(schema_str(schema), "AVRO")).schema_id
            except SchemaRegistryError as exc:
                if exc.http_status_code in (404, 409, 422):
                    raise SerdeError(f"schema {schema} is not registered under {subject}: {exc}") from None
                raise RegistryUnavailable(f"schema registry error for {subject}: {exc}") from None
            except Exception as exc:  # network errors (httpx) while the registry is down
                self._retry_at = time.monotonic() + self.retry_interval_s
                raise RegistryUnavailable(f"schema registry unreachable for {subject}: {exc}") from None
            assert found is not None
            self._ids[key] = found
            logger.info("schema %s for topic %s has id %s (cached)", schema, topic, found)
            return found

    def encode(self, schema: str, record: dict[str, Any], topic: str) -> bytes:
        if self.validate:
            check_record(schema, record)
        schema_id = self._ids.get((schema, topic))
        if schema_id is None:
            schema_id = self.schema_id(schema, topic)
        header = self._headers.get(schema_id)
        if header is None:
            header = self._headers[schema_id] = _HEADER.pack(0, schema_id)
        return header + self._body(schema, record)

    def _body(self, schema: str, record: dict[str, Any]) -> bytes:
        if self._cavro is None:
            return fastavro_body(schema, record)
        writer = self._cavro.get(schema)
        if writer is None:
            writer = self._cavro[schema] = cavro.Schema(schema_str(schema))
        try:
            return writer.binary_encode(record)
        except Exception:  # refused by cavro: fastavro decides (same acceptance and errors everywhere)
            return fastavro_body(schema, record)


class JsonEncoder:
    """UTF-8 JSON of the same records, validated against the same schemas (what RecordSerde JSON mode reads).

    Records are complete (the processor fills every field), so plain ``json.dumps`` gives the same
    document as RecordSerde's JSON mode without its Avro round trip.
    """

    def encode(self, schema: str, record: dict[str, Any], topic: str) -> bytes:
        check_record(schema, record)
        try:
            return record_to_json(record)
        except (TypeError, ValueError) as exc:
            raise SerdeError(f"record of schema {schema} is not JSON serialisable: {exc}") from None


def make_encoder(use_avro: bool, registry_url: str, auto_register: bool = False) -> Encoder:
    if not use_avro:
        return JsonEncoder()
    registry = SchemaRegistryClient({"url": registry_url, "timeout": 5, "max.retries": 1})
    return AvroEncoder(registry, auto_register=auto_register)
