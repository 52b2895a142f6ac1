"""storage rows: the staged JSON array and the casting SQL cover plate_events exactly."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from alpr_common.schemas import schema_str
from alpr_core.storage import COLUMNS, copy_line, event_json, insert_sql
from alpr_core.storage.rows import COLUMN_SOURCES, row_values
from tests.factories import plate_event

ROOT = Path(__file__).resolve().parents[2]


def table_columns() -> list[str]:
    text = (ROOT / "scripts" / "init_db.sql").read_text()
    body = re.search(r"CREATE TABLE IF NOT EXISTS plate_events \((.*?)\n\);", text, re.S)
    assert body
    names = [
        line.split()[0]
        for line in body.group(1).splitlines()
        if line.strip() and not line.strip().startswith(("--", "PRIMARY"))
    ]
    return names


def test_every_table_column_but_created_at_is_written() -> None:
    assert set(COLUMNS) == set(table_columns()) - {"created_at"}


def staged(event: dict, store_raw: bool = False) -> dict:
    """The staged line of ``event`` read back as {column: element}."""
    line = copy_line(event, store_raw)
    values = json.loads(line.replace(b"\\\\", b"\\"))
    assert len(values) == len(COLUMNS) - (0 if store_raw else 1)
    return dict(zip(COLUMNS, values, strict=False))


def test_the_staged_row_holds_every_column_in_order_with_epoch_millis() -> None:
    event = plate_event(plate="XY12")
    row = staged(event)
    assert row["event_id"] == event["event_id"] and row["camera_id"] == event["camera_id"]
    assert row["captured_at"] == int(event["captured_at"].timestamp() * 1000)
    assert row["plate_normalized_text"] == "XY12" and row["host"] == event["node"]["host"]
    assert row["candidates"][1] == {"text": "XY18", "confidence": 0.04}
    assert row["bbox_y2"] == event["bbox"]["y2"] and row["read_count"] == event["extras"]["read_count"]
    assert row["preview"] is False and row["vehicle_make"] is None


def test_raw_is_the_whole_event_only_when_asked() -> None:
    event = plate_event()
    assert "raw" not in staged(event)
    assert staged(event, store_raw=True)["raw"]["plate"]["text"] == event["plate"]["text"]


def test_missing_fields_and_records_are_null() -> None:
    event = plate_event()
    del event["extras"], event["plate"]["region"]
    row = staged(event)
    assert row["quality_score"] is None and row["roi"] is None and row["plate_region"] is None
    assert row_values({"event_id": "x"})[1:] == [None] * (len(COLUMNS) - 2)


@pytest.mark.parametrize("plate", ["AB\\12", "TAB\tX", "NEW\nLINE", "ÉÜ漢"])
def test_copy_line_is_one_line_with_doubled_backslashes(plate: str) -> None:
    line = copy_line(plate_event(plate=plate))
    assert line.endswith(b"\n") and line.count(b"\n") == 1 and b"\t" not in line
    assert staged(plate_event(plate=plate))["plate_text"] == plate


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_become_null(value: float) -> None:
    """jsonb has no NaN/Infinity: the event is stored with a null there instead of being refused."""
    event = plate_event()
    event["plate"]["confidence"] = value
    event["plate"]["char_confidences"] = [0.9, value]
    row = staged(event)
    assert row["plate_confidence"] is None and row["char_confidences"] == [0.9, None]


def test_datetimes_and_bytes_are_encoded_for_the_casting_sql() -> None:
    event = plate_event()
    event["captured_at"] = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    event["extras"] = {"blob": b"\x00\xff"}
    doc = json.loads(event_json(event))
    assert doc["captured_at"] == 1767323045678
    assert doc["extras"]["blob"] == "\x00\xff"


@pytest.mark.parametrize(("store_raw", "raw_expr"), [(True, "d->32 FROM"), (False, "NULL::jsonb FROM")])
@pytest.mark.parametrize("on_conflict", [True, False])
def test_insert_sql_casts_each_element_and_raw_is_optional(store_raw: bool, raw_expr: str, on_conflict: bool) -> None:
    text = insert_sql("plate_events", "plate_events_stage", store_raw, on_conflict).as_string(None)
    assert text.startswith('INSERT INTO "plate_events"')
    assert text.endswith("ON CONFLICT DO NOTHING") is on_conflict
    assert raw_expr in text and "(d->>0)::uuid" in text and "d->11," in text
    assert "translate(d->>12, '[]', '{}')::real[]" in text
    assert [f"d->>{i}" in text or f"d->{i}" in text for i in range(32)] == [True] * 32


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


def test_the_spelled_out_row_matches_the_generic_one() -> None:
    from alpr_core.storage.rows import _row_of_complete_event

    event = plate_event(plate="Q9")
    event["vehicle"]["make"] = "m"
    assert list(_row_of_complete_event(event)) == row_values(event)
    # distinct values everywhere, so an element in the wrong place cannot go unnoticed
    flat = {col: f"v{i}" for i, col in enumerate(COLUMN_SOURCES)}
    nested: dict = {}
    for col, (path, _) in COLUMN_SOURCES.items():
        node = nested
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = flat[col]
    assert list(_row_of_complete_event(nested)) == list(flat.values()) == row_values(nested)
