"""Record (de)serialisation: Avro in the Confluent wire format through a Schema Registry, or plain JSON.

Both modes validate the record against the same ``schemas/*.avsc`` first, so a record that breaks the
contract is refused with a :class:`SerdeError` naming the schema and the offending field, and both
return the same Python values on read (timestamp-millis fields as UTC ``datetime``).
"""

from __future__ import annotations

import io
import json
import logging
from datetime import datetime
from typing import Any

import fastavro
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext, SerializationError
from fastavro.validation import ValidationError as AvroValidationError
from fastavro.validation import validate

from .schemas import parsed_schema, schema_str

logger = logging.getLogger(__name__)

MAGIC_BYTE = 0


class SerdeError(ValueError):
    """A record could not be (de)serialised: it breaks the schema, or the bytes are not a valid message."""


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, bytes):
        return value.decode("latin-1")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class RecordSerde:
    """Serialise/deserialise records of one schema (``schemas/<schema_name>.avsc``).

    ``registry`` given and ``use_avro`` true: Confluent wire format (magic byte, 4-byte schema id, Avro
    body), the schema id is looked up (or registered when ``auto_register``) once and cached, so a
    registry outage after the first message does not stop producing. Otherwise UTF-8 JSON.
    """

    def __init__(self, schema_name: str, registry: SchemaRegistryClient | None = None, use_avro: bool = True,
                 auto_register: bool = False):
        self.schema_name = schema_name
        self.use_avro = use_avro and registry is not None
        if use_avro and registry is None:
            raise SerdeError("Avro mode needs a Schema Registry client (or set use_avro=false for JSON)")
        self._parsed = parsed_schema(schema_name)
        if self.use_avro:
            assert registry is not None
            self._ser = AvroSerializer(registry, schema_str(schema_name),
                                       conf={"auto.register.schemas": auto_register, "use.latest.version": False})
            self._de = AvroDeserializer(registry, schema_str(schema_name))

    def validate(self, record: dict[str, Any]) -> None:
        try:
            validate(record, self._parsed, raise_errors=True)
        except AvroValidationError as exc:
            problems = "; ".join(str(e) for e in getattr(exc, "errors", None) or [exc])
            raise SerdeError(f"record does not match schema {self.schema_name}: {problems}") from None

    def serialize(self, record: dict[str, Any], topic: str) -> bytes:
        self.validate(record)
        if not self.use_avro:
            return json.dumps(self._normalise(record), default=_json_default, separators=(",", ":")).encode()
        try:
            data = self._ser(record, SerializationContext(topic, MessageField.VALUE))
        except SerializationError as exc:
            raise SerdeError(f"cannot serialise {self.schema_name} for {topic}: {exc}") from exc
        if data is None:
            raise SerdeError(f"serializer returned nothing for {self.schema_name}")
        return data

    def deserialize(self, data: bytes, topic: str) -> dict[str, Any]:
        if not data:
            raise SerdeError(f"empty message on {topic}")
        if not self.use_avro:
            try:
                record = json.loads(data)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise SerdeError(f"not JSON on {topic}: {exc}") from None
            if not isinstance(record, dict):
                raise SerdeError(f"JSON message on {topic} is not an object")
            self.validate(record)
            return self._normalise(record)
        if data[0] != MAGIC_BYTE or len(data) < 6:
            raise SerdeError(f"not Confluent Avro wire format on {topic} (magic byte {data[0]})")
        try:
            record = self._de(data, SerializationContext(topic, MessageField.VALUE))
        except SerializationError as exc:
            raise SerdeError(f"cannot deserialise {self.schema_name} from {topic}: {exc}") from exc
        except Exception as exc:  # fastavro raises plain errors on truncated/garbled bodies
            raise SerdeError(f"cannot decode {self.schema_name} from {topic}: {type(exc).__name__}: {exc}") from exc
        if not isinstance(record, dict):
            raise SerdeError(f"decoded {self.schema_name} from {topic} is not a record")
        return record

    def _normalise(self, record: dict[str, Any]) -> dict[str, Any]:
        """Round-trip through Avro so JSON mode yields the same values (and defaults) as Avro mode."""
        buf = io.BytesIO()
        try:
            fastavro.schemaless_writer(buf, self._parsed, record)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise SerdeError(f"record does not match schema {self.schema_name}: {exc}") from None
        buf.seek(0)
        out = fastavro.schemaless_reader(buf, self._parsed, None)
        assert isinstance(out, dict)
        return out


def registry_client(url: str) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": url})
