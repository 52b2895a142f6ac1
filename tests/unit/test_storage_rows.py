"""storage rows: the staged JSON document and the flattening SQL cover plate_events exactly."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from alpr_core.storage import COLUMNS, copy_line, event_json, insert_sql
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
    assert line.endswith("\n") and line.count("\n") == 1 and "\t" not in line
    assert json.loads(line.replace("\\\\", "\\"))["plate"]["text"] == plate


def test_nan_is_refused() -> None:
    event = plate_event()
    event["plate"]["confidence"] = float("nan")
    with pytest.raises(ValueError):
        event_json(event)


@pytest.mark.parametrize(("store_raw", "raw_expr"), [(True, "d FROM"), (False, "NULL::jsonb FROM")])
def test_insert_sql_is_idempotent_and_raw_optional(store_raw: bool, raw_expr: str) -> None:
    text = insert_sql("plate_events", "plate_events_stage", store_raw).as_string(None)
    assert text.startswith('INSERT INTO "plate_events"') and text.endswith("ON CONFLICT DO NOTHING")
    assert raw_expr in text
