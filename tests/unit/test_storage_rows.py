"""storage rows: the staged JSON document and the flattening SQL cover plate_events exactly."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from alpr_common.schemas import schema_str
from alpr_core.storage import COLUMNS, copy_line, event_json, insert_sql
from alpr_core.storage.rows import COLUMN_EXPRESSIONS
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


def test_event_json_uses_epoch_millis_and_round_trips() -> None:
    event = plate_event()
    doc = json.loads(event_json(event))
    assert doc["captured_at"] == int(event["captured_at"].timestamp() * 1000)
    assert doc["plate"]["candidates"][0]["text"] == event["plate"]["text"]


@pytest.mark.parametrize("plate", ["AB\\12", "TAB\tX", "NEW\nLINE", "ÉÜ漢"])
def test_copy_line_is_one_line_with_doubled_backslashes(plate: str) -> None:
    line = copy_line(plate_event(plate=plate))
    assert line.endswith(b"\n") and line.count(b"\n") == 1 and b"\t" not in line
    assert json.loads(line.replace(b"\\\\", b"\\"))["plate"]["text"] == plate


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_numbers_become_null(value: float) -> None:
    """jsonb has no NaN/Infinity: the event is stored with a null there instead of being refused."""
    event = plate_event()
    event["plate"]["confidence"] = value
    event["plate"]["char_confidences"] = [0.9, value]
    doc = json.loads(event_json(event))
    assert doc["plate"]["confidence"] is None and doc["plate"]["char_confidences"] == [0.9, None]


def test_datetimes_and_bytes_are_encoded_for_the_flattening_sql() -> None:
    event = plate_event()
    event["captured_at"] = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)
    event["extras"] = {"blob": b"\x00\xff"}
    doc = json.loads(event_json(event))
    assert doc["captured_at"] == 1767323045678
    assert doc["extras"]["blob"] == "\x00\xff"


@pytest.mark.parametrize(("store_raw", "raw_expr"), [(True, "d FROM"), (False, "NULL::jsonb FROM")])
def test_insert_sql_is_idempotent_and_raw_optional(store_raw: bool, raw_expr: str) -> None:
    text = insert_sql("plate_events", "plate_events_stage", store_raw).as_string(None)
    assert text.startswith('INSERT INTO "plate_events"') and text.endswith("ON CONFLICT DO NOTHING")
    assert raw_expr in text


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
    expressions = " ".join(expr for col, expr in COLUMN_EXPRESSIONS.items() if col != "raw")
    missing = []
    for path in _leaf_paths(schema):
        nested = "d" + "".join(f"->'{name}'" for name in path[:-1])
        if f"{nested}->>'{path[-1]}'" not in expressions and f"{nested}->'{path[-1]}'" not in expressions:
            missing.append(".".join(path))
    assert len(_leaf_paths(schema)) > 25 and missing == []
