"""JSON mode of the serde (Avro through the registry is covered in tests/integration)."""

from __future__ import annotations

import json

import pytest

from alpr_common.schemas import TOPIC_SCHEMAS, parsed_schema, schema_names
from alpr_common.serde import RecordSerde, SerdeError
from tests.factories import plate_event


def test_every_schema_parses_and_every_field_has_a_doc() -> None:
    names = schema_names()
    assert {"plate_event", "vehicle_event", "system_metric", "dlq_envelope", "alert_event"} <= set(names)
    for name in names:
        schema = parsed_schema(name)
        assert schema["name"].startswith("alpr."), name
        for field in schema["fields"]:
            assert field.get("doc"), f"{name}.{field['name']} has no doc"
    assert set(TOPIC_SCHEMAS.values()) <= set(names)


def test_json_round_trip_is_identical() -> None:
    serde = RecordSerde("plate_event", use_avro=False)
    record = plate_event()
    data = serde.serialize(record, "alpr.events.plates")
    assert json.loads(data)["camera_id"] == "cam-01"
    back = serde.deserialize(data, "alpr.events.plates")
    assert back["captured_at"] == record["captured_at"]
    assert back["plate"] == {**record["plate"], "confidence": pytest.approx(0.93),
                             "candidates": [{"text": c["text"], "confidence": pytest.approx(c["confidence"])}
                                            for c in record["plate"]["candidates"]],
                             "char_confidences": [pytest.approx(0.99)] * 6}
    assert back["event_id"] == record["event_id"]


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda r: r.pop("camera_id"), "camera_id"),
        (lambda r: r.update(track_id="seven"), "track_id"),
        (lambda r: r["plate"].update(confidence="high"), "confidence"),
        (lambda r: r.update(bbox=None), "bbox"),
    ],
)
def test_record_breaking_the_schema_is_refused_with_the_field_named(mutate, needle) -> None:
    serde = RecordSerde("plate_event", use_avro=False)
    record = plate_event()
    mutate(record)
    with pytest.raises(SerdeError, match=needle):
        serde.serialize(record, "alpr.events.plates")


@pytest.mark.parametrize("data", [b"", b"\xff\x00garbage", b"[1, 2]", b'{"event_id": "x"}'])
def test_bad_json_bytes_are_refused(data: bytes) -> None:
    with pytest.raises(SerdeError):
        RecordSerde("plate_event", use_avro=False).deserialize(data, "alpr.events.plates")


def test_avro_mode_without_registry_is_a_clear_error() -> None:
    with pytest.raises(SerdeError, match="Schema Registry"):
        RecordSerde("plate_event", registry=None, use_avro=True)
