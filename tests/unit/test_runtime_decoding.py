"""Decoders and the plate event validator: every failure is classified (DLQ error type) correctly."""

from __future__ import annotations

import io
import json
import struct
import sys
from datetime import datetime, timedelta, timezone

import fastavro
import pytest
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.error import SchemaRegistryError

from alpr_common.schemas import parsed_schema, schema_str
from alpr_common.serde import RecordSerde
from alpr_core.runtime import (
    AvroRegistryDecoder,
    DeserializationError,
    JsonDecoder,
    RawDecoder,
    TransientDecodeError,
    UnknownSchemaError,
    ValidationError,
    plate_event_validator,
)
from alpr_core.runtime.decoding import _interned
from tests.factories import plate_event

KNOWN_ID = 7


class InMemoryRegistry:
    """Answers get_schema like the Schema Registry client: one known id, 404 otherwise, or down."""

    def __init__(self, down: bool = False):
        self.down = down
        self.calls = 0

    def get_schema(self, schema_id: int) -> Schema:
        self.calls += 1
        if self.down:
            raise ConnectionError("connection refused")
        if schema_id != KNOWN_ID:
            raise SchemaRegistryError(404, 40403, "Schema not found")
        return Schema(schema_str("plate_event"), "AVRO")


def avro_bytes(record: dict, schema_id: int = KNOWN_ID) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, parsed_schema("plate_event"), record)
    return b"\x00" + struct.pack(">I", schema_id) + buf.getvalue()


def far_future() -> datetime:
    return datetime.now(timezone.utc) + timedelta(days=365 * 50)


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"", DeserializationError),
        (b"\x01random bytes that are not avro", DeserializationError),
        (b"\x00\x00\x00", DeserializationError),
        (avro_bytes(plate_event())[:12], DeserializationError),
        (avro_bytes(plate_event(), schema_id=999_999), UnknownSchemaError),
        (avro_bytes(plate_event(plate="")), ValidationError),
        (avro_bytes(plate_event(captured_at=far_future())), ValidationError),
        (avro_bytes(plate_event(event_id="not-a-uuid")), ValidationError),
    ],
    ids=["empty", "random", "short", "truncated", "unknown-id", "empty-plate", "future", "bad-uuid"],
)
def test_avro_decoder_classifies_failures(raw: bytes, error: type[Exception]) -> None:
    decoder = AvroRegistryDecoder(InMemoryRegistry(), "plate_event", plate_event_validator(300))  # type: ignore[arg-type]
    with pytest.raises(error):
        decoder.decode(raw, "t")


def test_avro_decoder_decodes_and_caches_writer_schema() -> None:
    registry = InMemoryRegistry()
    decoder = AvroRegistryDecoder(registry, "plate_event", plate_event_validator(300))  # type: ignore[arg-type]
    events = [plate_event(plate=f"AB{i}") for i in range(5)]
    out = [decoder.decode(avro_bytes(e), "t") for e in events]
    assert [o["plate"]["text"] for o in out] == [e["plate"]["text"] for e in events]
    assert out[0]["captured_at"] == events[0]["captured_at"]
    assert registry.calls == 1


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (avro_bytes(plate_event(), schema_id=999_999), UnknownSchemaError),
        (avro_bytes(plate_event(plate="")), ValidationError),
        (avro_bytes(plate_event(captured_at=far_future())), ValidationError),
        (avro_bytes(plate_event(event_id="not-a-uuid")), ValidationError),
    ],
    ids=["unknown-id", "empty-plate", "future", "bad-uuid"],
)
def test_avro_decoder_millis_mode_classifies_the_same(raw: bytes, error: type[Exception]) -> None:
    validator = plate_event_validator(300, timestamps_as_millis=True)
    decoder = AvroRegistryDecoder(InMemoryRegistry(), "plate_event", validator, timestamps_as_millis=True)  # type: ignore[arg-type]
    with pytest.raises(error):
        decoder.decode(raw, "t")


def test_avro_decoder_millis_mode_keeps_timestamps_as_epoch_millis() -> None:
    validator = plate_event_validator(300, timestamps_as_millis=True)
    decoder = AvroRegistryDecoder(InMemoryRegistry(), "plate_event", validator, timestamps_as_millis=True)  # type: ignore[arg-type]
    event = plate_event(captured_at=datetime.now(timezone.utc) + timedelta(seconds=60))
    out = decoder.decode(avro_bytes(event), "t")
    assert out is not None
    assert out["captured_at"] == int(event["captured_at"].timestamp() * 1000)
    assert type(out["published_at"]) is int


def test_datetime_validator_still_refuses_int_timestamps() -> None:
    event = plate_event()
    event["captured_at"] = 1_700_000_000_000
    with pytest.raises(ValueError, match="not a timestamp"):
        plate_event_validator()(event)


def test_avro_decoder_registry_down_is_transient() -> None:
    decoder = AvroRegistryDecoder(InMemoryRegistry(down=True), "plate_event")  # type: ignore[arg-type]
    with pytest.raises(TransientDecodeError):
        decoder.decode(avro_bytes(plate_event()), "t")


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"\xff\xfe", DeserializationError),
        (b"{not json", DeserializationError),
        (b'{"event_id": "x"}', ValidationError),
        (b"[1, 2]", ValidationError),
    ],
)
def test_json_decoder_classifies_failures(raw: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        JsonDecoder("plate_event", plate_event_validator(300)).decode(raw, "t")


def test_json_decoder_round_trip_matches_serde() -> None:
    event = plate_event()
    raw = RecordSerde("plate_event", use_avro=False).serialize(event, "t")
    out = JsonDecoder("plate_event", plate_event_validator(300)).decode(raw, "t")
    assert out is not None and out["event_id"] == event["event_id"]
    assert json.loads(raw)["plate"]["text"] == out["plate"]["text"]


def test_raw_decoder_returns_nothing() -> None:
    assert RawDecoder().decode(b"\x00anything", "t") is None


@pytest.mark.parametrize(
    ("overrides", "ok"),
    [
        ({}, True),
        ({"captured_at": datetime.now(timezone.utc) + timedelta(seconds=60)}, True),
        ({"captured_at": datetime.now(timezone.utc) + timedelta(hours=2)}, False),
        ({"event_id": "123"}, False),
    ],
)
def test_plate_event_validator(overrides: dict, ok: bool) -> None:
    validate = plate_event_validator(max_future_skew_s=300)
    event = plate_event(**overrides)
    if ok:
        validate(event)
    else:
        with pytest.raises(ValueError):
            validate(event)


def test_validator_refuses_blank_plate() -> None:
    event = plate_event()
    event["plate"]["normalized_text"] = "   "
    with pytest.raises(ValueError, match="empty plate"):
        plate_event_validator()(event)


def test_a_crashing_validator_is_a_validation_error_not_a_crash() -> None:
    def brittle(record: dict) -> None:
        raise KeyError("plate")

    decoder = AvroRegistryDecoder(InMemoryRegistry(), "plate_event", brittle)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="KeyError"):
        decoder.decode(avro_bytes(plate_event()), "t")


def _strings(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    return []


def test_interned_schema_decodes_identically_and_interns_every_name() -> None:
    plain = parsed_schema("plate_event")
    interned = _interned(parsed_schema("plate_event"))
    assert interned == plain
    names = _strings(interned)
    assert len(names) > 100 and all(name is sys.intern(name) for name in names)
    body = avro_bytes(plate_event(plate="XY123"))[5:]
    decode = fastavro.schemaless_reader
    assert decode(io.BytesIO(body), interned, None) == decode(io.BytesIO(body), plain, None)


def _variants() -> list[dict]:
    unicode_plate = plate_event(plate="ÄÖ-日本 12")
    unicode_plate["vehicle"] = {"type": "bus", "make": "Škoda", "model": "", "color": "grün"}
    nulls = plate_event(latency_ms=None)
    nulls["plate"].update(region=None, matches_format=None, candidates=[], char_confidences=[])
    nulls["images"]["plate_url"] = None
    nulls["extras"].update(quality_score=None, frame_number=None)
    extremes = plate_event(track_id=2**63 - 1, captured_at=datetime(1970, 1, 1, tzinfo=timezone.utc))
    extremes["plate"]["confidence"] = float("nan")
    extremes["bbox"] = {"x1": float("inf"), "y1": -0.0, "x2": 3.4e38, "y2": 1e-45}
    return [plate_event(), unicode_plate, nulls, extremes]


def _same(a: object, b: object) -> bool:
    """Equality with NaN equal to NaN."""
    return json.dumps(a, default=str, sort_keys=True) == json.dumps(b, default=str, sort_keys=True)


DECODERS = [pytest.param(True, id="cavro"), pytest.param(False, id="fastavro")]


def test_cavro_is_installed_where_it_has_wheels() -> None:
    """requirements.txt installs cavro on x86_64: CI must exercise that path, not silently fall back."""
    import platform

    from alpr_core.runtime import decoding

    if platform.machine() != "x86_64":
        pytest.skip("cavro has x86_64 wheels only; fastavro decodes elsewhere")
    assert decoding.cavro is not None


@pytest.mark.parametrize("use_cavro", DECODERS)
@pytest.mark.parametrize("millis", [False, True], ids=["datetimes", "millis"])
@pytest.mark.parametrize("event", _variants(), ids=["plain", "unicode", "nulls", "extremes"])
def test_fast_path_decodes_exactly_like_fastavro(event: dict, millis: bool, use_cavro: bool) -> None:
    decoder = AvroRegistryDecoder(  # type: ignore[arg-type]
        InMemoryRegistry(), "plate_event", timestamps_as_millis=millis, use_cavro=use_cavro
    )
    raw = avro_bytes(event)
    reader = json.loads(schema_str("plate_event"))
    if millis:
        reader = json.loads(json.dumps(reader).replace('"logicalType": "timestamp-millis"', '"x": 0'))
    expected = fastavro.schemaless_reader(io.BytesIO(raw[5:]), fastavro.parse_schema(reader), None)
    out = decoder.decode(raw, "t")
    assert _same(out, expected)
    assert type(out["captured_at"]) is (int if millis else datetime)  # type: ignore[index]
    if not millis:
        assert out["captured_at"] == event["captured_at"]  # type: ignore[index]


@pytest.mark.parametrize("use_cavro", DECODERS)
def test_corrupted_messages_only_ever_raise_deserialization_errors(use_cavro: bool) -> None:
    """Truncated, bit-flipped and random bodies: a DeserializationError (the DLQ) or a record, never a
    crash or another exception type."""
    import random

    rnd = random.Random(7)
    decoder = AvroRegistryDecoder(InMemoryRegistry(), "plate_event", use_cavro=use_cavro)  # type: ignore[arg-type]
    good = avro_bytes(plate_event())
    header, body = good[:5], good[5:]
    refused = 0
    for i in range(3000):
        data = bytearray(body)
        if i % 3 == 0:
            data = data[: rnd.randrange(len(data))]
        elif i % 3 == 1:
            for _ in range(rnd.randint(1, 4)):
                data[rnd.randrange(len(data))] = rnd.randrange(256)
        else:
            data = bytearray(rnd.randbytes(rnd.randint(0, 300)))
        try:
            decoder.decode(header + bytes(data), "t")
        except DeserializationError:
            refused += 1
    assert refused > 2000


def test_an_older_writer_schema_is_resolved_to_the_reader_schema() -> None:
    """A producer on an older schema (no extras.read_count) is resolved by fastavro with the default."""
    writer = json.loads(schema_str("plate_event"))
    extras = next(f for f in writer["fields"] if f["name"] == "extras")["type"]
    extras["fields"] = [f for f in extras["fields"] if f["name"] != "read_count"]

    class OldRegistry(InMemoryRegistry):
        def get_schema(self, schema_id: int) -> Schema:
            return Schema(json.dumps(writer), "AVRO")

    event = plate_event()
    del event["extras"]["read_count"]
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, fastavro.parse_schema(writer), event)
    out = AvroRegistryDecoder(OldRegistry(), "plate_event").decode(b"\x00" + struct.pack(">I", 3) + buf.getvalue(), "t")  # type: ignore[arg-type]
    reader_extras = next(f for f in json.loads(schema_str("plate_event"))["fields"] if f["name"] == "extras")
    default = next(f for f in reader_extras["type"]["fields"] if f["name"] == "read_count").get("default")
    assert out is not None and out["extras"]["read_count"] == default
    assert default is not None and out["event_id"] == event["event_id"]
    assert out["plate"]["text"] == "ABC123" and out["extras"]["frame_number"] == 42
