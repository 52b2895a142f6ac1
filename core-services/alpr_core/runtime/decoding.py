"""Decoders turn a message's bytes into a record dict, classifying every failure.

* :class:`AvroRegistryDecoder`: Confluent wire format (magic byte 0, 4-byte schema id, Avro body). The
  writer schema is fetched from the Schema Registry once per id and cached; records are resolved to
  the reader schema (``schemas/<name>.avsc``). An id the registry does not know (HTTP 404) is a
  permanent :class:`UnknownSchemaError`; an unreachable registry is a :class:`TransientDecodeError`.
* :class:`JsonDecoder`: UTF-8 JSON validated against the same schema (``use_avro=false``).
* :class:`RawDecoder`: no decoding (the dlq-consumer reads raw bytes and headers).

Each decoder runs an optional ``validator(record)`` afterwards; a ``ValueError`` from it becomes a
permanent :class:`ValidationError`.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sys
from collections.abc import Callable
from typing import Any, Protocol

# cavro imports numpy, whose OpenBLAS starts a spinning thread per core unless told otherwise: ~1 % of a
# consumer's CPU doing nothing (cachegrind). The consumers do no linear algebra.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import fastavro

try:
    import cavro
except ImportError:  # no wheel for this platform (requirements.txt): fastavro decodes everything
    cavro = None
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from alpr_common.schemas import schema_str
from alpr_common.serde import RecordSerde, SerdeError

from .errors import DeserializationError, TransientDecodeError, UnknownSchemaError, ValidationError

logger = logging.getLogger(__name__)

Validator = Callable[[dict[str, Any]], None]
MAGIC_BYTE = 0
# Records as plain dicts, uuid strings as str: the same values fastavro returns (tests/unit/test_decoding.py).
CAVRO_OPTIONS = cavro.Options(record_decodes_to_dict=True, return_uuid_object=False) if cavro else None


class Decoder(Protocol):
    def decode(self, raw: bytes | None, topic: str) -> dict[str, Any] | None:
        """Decode one message value; raise a PermanentDecodeError or a TransientDecodeError."""


def _validate(validator: Validator | None, record: dict[str, Any]) -> None:
    if validator is None:
        return
    try:
        validator(record)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    except Exception as exc:  # a validator tripping over odd data must not stop the partition
        raise ValidationError(f"validator failed: {type(exc).__name__}: {exc}") from None


def _interned(schema: Any) -> Any:
    """The parsed schema with every string interned, in place. fastavro dispatches on the type names
    ("record", "string", "null"...) for every field of every record; interned names match its own
    constants by identity and differ from the others by their cached hash, instead of a memcmp each
    (~10-30 % of the decode in a micro-benchmark). Shared sub-schemas are visited once."""
    seen: set[int] = set()

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return sys.intern(node)
        if id(node) in seen or not isinstance(node, (dict, list)):
            return node
        seen.add(id(node))
        if isinstance(node, list):
            node[:] = [walk(item) for item in node]
        else:
            items = [(walk(key), walk(value)) for key, value in node.items()]
            node.clear()
            node.update(items)
        return node

    return walk(schema)


def _without_timestamp_types(schema: Any) -> Any:
    """A copy of an Avro schema (JSON form) without the timestamp-millis/-micros logical types."""
    if isinstance(schema, list):
        return [_without_timestamp_types(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _without_timestamp_types(value) for key, value in schema.items()}
    if out.get("logicalType") in ("timestamp-millis", "timestamp-micros"):
        del out["logicalType"]
    return out


class AvroRegistryDecoder:
    """Avro through the Schema Registry, resolved to the local reader schema ``schema_name``."""

    def __init__(
        self,
        registry: SchemaRegistryClient,
        schema_name: str,
        validator: Validator | None = None,
        *,
        timestamps_as_millis: bool = False,
        use_cavro: bool = True,
    ):
        """``timestamps_as_millis``: timestamp-millis fields stay epoch-millisecond ints instead of
        becoming datetimes (cheaper for sinks that serialise them as numbers, e.g. the storage sink).
        ``use_cavro``: decode reader-schema messages with cavro when it is installed."""
        self._registry = registry
        self._schema_name = schema_name
        self._plain_ts = timestamps_as_millis
        self._reader_canonical = json.loads(schema_str(schema_name))
        reader_json = (
            _without_timestamp_types(self._reader_canonical)
            if timestamps_as_millis
            else json.loads(schema_str(schema_name))
        )
        self._reader = _interned(fastavro.parse_schema(reader_json))
        self._same_schema = self._same_schema_decoder(reader_json, use_cavro)
        self._writers: dict[int, Any] = {}
        self._validator = validator

    def _same_schema_decoder(self, reader_json: Any, use_cavro: bool) -> Callable[[bytes], Any]:
        """Body bytes -> record for messages written with the reader schema itself."""
        if use_cavro and cavro is not None:
            return cavro.Schema(json.dumps(reader_json), options=CAVRO_OPTIONS).binary_decode
        reader = self._reader
        return lambda body: fastavro.schemaless_reader(io.BytesIO(body), reader, None)

    def _writer_schema(self, schema_id: int) -> Any:
        cached = self._writers.get(schema_id, False)
        if cached is not False:
            return cached
        try:
            schema = self._registry.get_schema(schema_id)
        except SchemaRegistryError as exc:
            if exc.http_status_code == 404:
                raise UnknownSchemaError(f"schema id {schema_id} is not in the Schema Registry") from None
            raise TransientDecodeError(f"Schema Registry error for id {schema_id}: {exc}") from exc
        except Exception as exc:  # connection refused, timeouts: the registry may come back
            raise TransientDecodeError(f"Schema Registry unreachable for id {schema_id}: {exc}") from exc
        try:
            if schema.schema_str is None:
                raise TypeError("the Schema Registry returned no schema string")
            writer_json = json.loads(schema.schema_str)
            # Same schema as the reader: skip resolution (the fast path for every current producer).
            if writer_json == self._reader_canonical:
                writer = None
            else:
                writer = _interned(
                    fastavro.parse_schema(_without_timestamp_types(writer_json) if self._plain_ts else writer_json)
                )
        except Exception as exc:
            raise UnknownSchemaError(f"schema id {schema_id} is not a usable Avro schema: {exc}") from None
        self._writers[schema_id] = writer
        return writer

    def decode(self, raw: bytes | None, topic: str) -> dict[str, Any] | None:
        if not raw or len(raw) < 6 or raw[0] != MAGIC_BYTE:
            first = raw[0] if raw else None
            raise DeserializationError(
                f"not Confluent Avro wire format on {topic} (first byte {first!r}, {len(raw or b'')} bytes)"
            )
        writer = self._writer_schema(int.from_bytes(raw[1:5], "big"))
        try:
            if writer is None:
                record = self._same_schema(raw[5:])
            else:
                record = fastavro.schemaless_reader(io.BytesIO(raw[5:]), writer, self._reader)
        except Exception as exc:  # fastavro raises EOFError, ValueError, UnicodeDecodeError... on garbage
            raise DeserializationError(
                f"cannot decode {self._schema_name} from {topic}: {type(exc).__name__}: {exc}"
            ) from None
        if not isinstance(record, dict):
            raise DeserializationError(f"decoded {self._schema_name} from {topic} is not a record")
        _validate(self._validator, record)
        return record


class JsonDecoder:
    """UTF-8 JSON validated against ``schema_name`` (same values as Avro mode)."""

    def __init__(self, schema_name: str, validator: Validator | None = None):
        self._serde = RecordSerde(schema_name, registry=None, use_avro=False)
        self._validator = validator

    def decode(self, raw: bytes | None, topic: str) -> dict[str, Any] | None:
        if not raw:
            raise DeserializationError(f"empty message on {topic}")
        try:
            json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DeserializationError(f"not JSON on {topic}: {exc}") from None
        try:
            record = self._serde.deserialize(raw, topic)
        except SerdeError as exc:
            raise ValidationError(str(exc)) from None
        _validate(self._validator, record)
        return record


class RawDecoder:
    """No decoding: the sink reads ``Record.raw`` and ``Record.headers``."""

    def decode(self, raw: bytes | None, topic: str) -> dict[str, Any] | None:
        return None


def make_decoder(
    schema_name: str | None,
    use_avro: bool,
    registry_url: str,
    validator: Validator | None = None,
    *,
    timestamps_as_millis: bool = False,
) -> Decoder:
    """The decoder for a consumer: raw when ``schema_name`` is None, else Avro or JSON.
    ``timestamps_as_millis`` (Avro only): timestamp fields as epoch-millisecond ints."""
    if schema_name is None:
        return RawDecoder()
    if use_avro:
        return AvroRegistryDecoder(
            SchemaRegistryClient({"url": registry_url}),
            schema_name,
            validator,
            timestamps_as_millis=timestamps_as_millis,
        )
    return JsonDecoder(schema_name, validator)
