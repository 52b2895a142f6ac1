"""storage rows: the binary COPY tuple covers plate_events exactly and encodes each column's type."""

from __future__ import annotations

import json
import re
import struct
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from alpr_common.schemas import schema_str
from alpr_core.storage import COLUMNS, binary_row, copy_columns, event_json
from alpr_core.storage.rows import (
    COLUMN_SOURCES,
    COPY_HEADER,
    COPY_TRAILER,
    _generic_row,
    _row_of_complete_event,
    row_values,
)
from tests.factories import plate_event

ROOT = Path(__file__).resolve().parents[2]
PG_EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)


def table_columns() -> dict[str, str]:
    """plate_events column -> type, from scripts/init_db.sql."""
    text = (ROOT / "scripts" / "init_db.sql").read_text()
    body = re.search(r"CREATE TABLE IF NOT EXISTS plate_events \((.*?)\n\);", text, re.S)
    assert body
    return {
        line.split()[0]: line.split()[1].rstrip(",")
        for line in body.group(1).splitlines()
        if line.strip() and not line.strip().startswith(("--", "PRIMARY"))
    }


def test_every_table_column_but_created_at_is_written_with_its_type() -> None:
    types = table_columns()
    assert set(COLUMNS) == set(types) - {"created_at"}
    assert {col: pg_type for col, (_, pg_type) in COLUMN_SOURCES.items()} == {
        col: types[col] for col in COLUMN_SOURCES
    }
    assert copy_columns() == COLUMNS[:-1] and copy_columns(store_raw=True) == COLUMNS


def _array(data: bytes) -> list[float | None]:
    ndim, _, oid = struct.unpack(">iii", data[:12])
    assert oid == 700
    if ndim == 0:
        return []
    size, lower = struct.unpack(">ii", data[12:20])
    assert (ndim, lower) == (1, 1)
    out, pos = [], 20
    for _ in range(size):
        (n,) = struct.unpack(">i", data[pos : pos + 4])
        out.append(None if n < 0 else struct.unpack(">f", data[pos + 4 : pos + 8])[0])
        pos += 4 + max(n, 0)
    assert pos == len(data)
    return out


DECODE: dict[str, Any] = {
    "uuid": lambda d: str(uuid.UUID(bytes=d)),
    "timestamptz": lambda d: PG_EPOCH + timedelta(microseconds=struct.unpack(">q", d)[0]),
    "text": lambda d: d.decode(),
    "bigint": lambda d: struct.unpack(">q", d)[0],
    "integer": lambda d: struct.unpack(">i", d)[0],
    "real": lambda d: struct.unpack(">f", d)[0],
    "boolean": lambda d: {b"\x01": True, b"\x00": False}[d],
    "jsonb": lambda d: json.loads(d[1:]) if d[:1] == b"\x01" else pytest.fail("jsonb version byte"),
    "real[]": _array,
}


def decoded(row: bytes, store_raw: bool = False) -> dict[str, Any]:
    """A binary COPY tuple read back as {column: value}, the way PostgreSQL's *_recv functions read it."""
    columns = copy_columns(store_raw)
    (count,) = struct.unpack(">h", row[:2])
    assert count == len(columns)
    types = [pg_type for _, pg_type in COLUMN_SOURCES.values()] + ["jsonb"]
    out, pos = {}, 2
    for col, pg_type in zip(columns, types, strict=False):
        (n,) = struct.unpack(">i", row[pos : pos + 4])
        out[col] = None if n < 0 else DECODE[pg_type](row[pos + 4 : pos + 4 + n])
        pos += 4 + max(n, 0)
    assert pos == len(row), "bytes left after the last field"
    return out


def millis(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def test_every_column_round_trips_from_avro_millis_and_from_datetimes() -> None:
    event = plate_event(plate="XY12", latency_ms=None, preview=True)
    event["vehicle"]["make"] = "Škoda"
    as_millis = {**event, "captured_at": millis(event["captured_at"]), "published_at": millis(event["published_at"])}
    for source in (event, as_millis):
        row = decoded(binary_row(source))
        assert row["event_id"] == event["event_id"] and row["camera_id"] == event["camera_id"]
        assert row["captured_at"] == event["captured_at"] and row["published_at"] == event["published_at"]
        assert row["plate_normalized_text"] == "XY12" and row["host"] == event["node"]["host"]
        assert row["candidates"] == event["plate"]["candidates"]
        assert row["char_confidences"] == pytest.approx(event["plate"]["char_confidences"])
        assert row["bbox_y2"] == event["bbox"]["y2"] and row["read_count"] == event["extras"]["read_count"]
        assert row["vehicle_make"] == "Škoda" and row["vehicle_model"] is None and row["latency_ms"] is None
        assert row["preview"] is True and row["matches_format"] is True and "raw" not in row


UTC = timezone.utc


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)),
        (datetime(2026, 1, 2, 3, 4, 5), datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),  # naive = UTC
        (datetime(2026, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))), datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        (1767323045678, datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)),
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
    ],
)
def test_timestamps_are_exact_microseconds_since_2000(value: Any, expected: datetime) -> None:
    assert decoded(binary_row(plate_event(captured_at=value)))["captured_at"] == expected


def test_raw_is_the_whole_event_only_when_asked() -> None:
    event = plate_event()
    assert "raw" not in decoded(binary_row(event))
    raw = decoded(binary_row(event, store_raw=True), store_raw=True)["raw"]
    assert raw["plate"] == event["plate"] and raw["captured_at"] == millis(event["captured_at"])


def test_missing_fields_and_records_are_null_and_preview_defaults_to_false() -> None:
    event = plate_event()
    del event["extras"], event["plate"]["region"], event["preview"]
    row = decoded(binary_row(event))
    assert row["quality_score"] is None and row["roi"] is None and row["plate_region"] is None
    assert row["preview"] is False and row["plate_text"] == event["plate"]["text"]
    assert row_values({"event_id": "x"})[1:] == [None] * (len(COLUMN_SOURCES) - 1)


@pytest.mark.parametrize("plate", ["AB\\12", "TAB\tX", "NEW\nLINE", "ÉÜ漢", ""])
def test_text_is_sent_as_is(plate: str) -> None:
    row = decoded(binary_row(plate_event(plate=plate)))
    assert row["plate_text"] == plate and row["candidates"][0]["text"] == plate


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_become_null(value: float) -> None:
    """As with the former jsonb staging (no NaN there): the event is stored with a null instead."""
    event = plate_event()
    event["plate"]["confidence"] = value
    event["bbox"]["x2"] = value
    event["plate"]["char_confidences"] = [0.5, value]
    row = decoded(binary_row(event))
    assert row["plate_confidence"] is None and row["bbox_x2"] is None and row["bbox_x1"] == 10.0
    assert row["char_confidences"] == [0.5, None]


def test_empty_and_missing_arrays() -> None:
    event = plate_event()
    event["plate"]["char_confidences"] = []
    assert decoded(binary_row(event))["char_confidences"] == []
    event["plate"]["char_confidences"] = None
    assert decoded(binary_row(event))["char_confidences"] is None


@pytest.mark.parametrize("form", [str, lambda u: u.hex, lambda u: "{" + str(u).upper() + "}", lambda u: u.urn])
def test_uuid_spellings_give_the_same_16_bytes(form: Any) -> None:
    u = uuid.uuid4()
    assert decoded(binary_row(plate_event(event_id=form(u))))["event_id"] == str(u)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("event_id",), "not-a-uuid"),
        (("plate", "confidence"), 1e39),  # beyond real's range
        (("extras", "read_count"), 2**31),  # beyond integer's range
        (("track_id",), 2**63),
        (("camera_id",), 12),
        (("plate", "text"), "\ud800"),  # a lone surrogate cannot be UTF-8
    ],
)
def test_values_no_column_can_take_raise_value_error(path: tuple[str, ...], value: Any) -> None:
    event = plate_event()
    node = event
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ValueError):
        binary_row(event)


def test_a_copy_stream_is_header_rows_trailer() -> None:
    assert (b"PGCOPY\n\xff\r\n\x00" + bytes(8), struct.pack(">h", -1)) == (COPY_HEADER, COPY_TRAILER)


def test_datetimes_and_bytes_are_encoded_as_json() -> None:
    event = plate_event()
    event["captured_at"] = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    event["extras"] = {"blob": b"\x00\xff"}
    doc = json.loads(event_json(event))
    assert doc["captured_at"] == 1767323045678
    assert doc["extras"]["blob"] == "\x00\xff"


def _leaf_paths(avro_type: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every leaf field of a record schema as a path of field names (unions looked through)."""
    if isinstance(avro_type, list):
        paths = [p for branch in avro_type if branch != "null" for p in _leaf_paths(branch, prefix)]
        return paths or [prefix]
    if isinstance(avro_type, dict) and avro_type.get("type") == "record":
        return [p for field in avro_type["fields"] for p in _leaf_paths(field["type"], (*prefix, field["name"]))]
    return [prefix]


def test_every_field_of_the_plate_event_schema_has_a_column() -> None:
    """plate_events keeps every field even with storage.store_raw off: a new schema field needs a column."""
    schema = json.loads(schema_str("plate_event"))
    sources = {path for path, _ in COLUMN_SOURCES.values()}
    missing = [".".join(path) for path in _leaf_paths(schema) if path not in sources]
    # candidates are an array of records: the column keeps the array, not its leaves
    missing = [m for m in missing if not m.startswith("plate.candidates.")]
    assert len(_leaf_paths(schema)) > 25 and missing == []


# A distinct value of each type, so a field in the wrong place cannot go unnoticed.
SAMPLES: dict[str, Any] = {
    "uuid": lambda i: str(uuid.UUID(int=i + 1)),
    "timestamptz": lambda i: 1_700_000_000_000 + i,
    "text": lambda i: f"v{i}",
    "bigint": lambda i: 10_000 + i,
    "integer": lambda i: 100 + i,
    "real": lambda i: i + 0.5,
    "boolean": lambda i: i % 2 == 0,
    "jsonb": lambda i: [{"text": f"c{i}"}],
    "real[]": lambda i: [i + 0.25, i + 0.75],
}


def test_the_spelled_out_row_matches_the_generic_one() -> None:
    nested: dict[str, Any] = {}
    for i, (path, pg_type) in enumerate(COLUMN_SOURCES.values()):
        node = nested
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = SAMPLES[pg_type](i)
    fast = _row_of_complete_event(nested)
    assert fast == _generic_row(nested, store_raw=False)
    row = decoded(fast)
    assert [row[col] for col in ("roi", "track_id", "captured_at")] == [
        "v27", 10_004, PG_EPOCH + timedelta(milliseconds=1_700_000_000_001 - 946_684_800_000)
    ]
    nested["preview"] = None  # NOT NULL column: both paths send false
    assert decoded(_row_of_complete_event(nested))["preview"] is False
    assert decoded(_generic_row(nested, store_raw=False))["preview"] is False


@pytest.mark.parametrize(
    "values",
    [[0.5], [0.25, 1, 0.125], [i / 128 for i in range(70)], [0.5, None, 0.25], [3.4e38, -1e-3]],
    ids=["one", "ints", "beyond-the-packers", "a-null", "extremes"],
)
def test_arrays_of_any_length_round_trip(values: list[Any]) -> None:
    event = plate_event()
    event["plate"]["char_confidences"] = values
    got = decoded(binary_row(event))["char_confidences"]
    assert [g is None for g in got] == [v is None for v in values]
    assert [g for g in got if g is not None] == pytest.approx([v for v in values if v is not None], rel=1e-6)


def test_repeated_strings_come_from_a_cache_that_starts_over_when_full() -> None:
    from alpr_core.storage import rows

    cameras = [f"cam-{i}" for i in range(rows._TEXTS_MAX + 10)]
    for camera in cameras + cameras[:3]:
        assert decoded(binary_row(plate_event(camera_id=camera)))["camera_id"] == camera
    assert len(rows._TEXTS) <= rows._TEXTS_MAX
