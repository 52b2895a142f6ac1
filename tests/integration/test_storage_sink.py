"""The storage sink against the local PostgreSQL: every column round-trips, duplicates add nothing,
refused records are isolated."""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest

from alpr_common.settings import DatabaseSettings
from alpr_core.config import StorageSinkSettings
from alpr_core.runtime import PermanentRecordError, Record
from alpr_core.storage import PostgresEventSink
from alpr_core.storage.rows import _json_default
from tests.factories import plate_event

pytestmark = pytest.mark.integration


def as_records(events: list[dict[str, Any]]) -> list[Record]:
    return [Record("t", 0, i, None, None, b"", value=e) for i, e in enumerate(events)]


@pytest.fixture
def camera() -> str:
    return f"sink-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def sink(pg_dsn: str, camera: str) -> Iterator[PostgresEventSink]:
    sink = PostgresEventSink(DatabaseSettings(host="127.0.0.1"), StorageSinkSettings())
    yield sink
    sink.close()


def rows(pg_conn: Any, camera: str) -> list[dict[str, Any]]:
    cur = pg_conn.execute("SELECT * FROM plate_events WHERE camera_id = %s ORDER BY track_id", (camera,))
    names = [d.name for d in cur.description]
    out = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    pg_conn.commit()
    return out


def test_every_column_round_trips(sink: PostgresEventSink, pg_conn: Any, camera: str) -> None:
    event = plate_event(plate="AB\\1\t2", camera_id=camera, latency_ms=None, preview=True)
    event["captured_at"] = datetime(2026, 5, 6, 7, 8, 9, 123000, tzinfo=timezone.utc)
    event["vehicle"] = {"type": "bus", "make": "Škoda", "model": "", "color": None}
    event["plate"]["confidence"] = math.nan
    event["extras"]["direction"] = "in"
    sink.write(as_records([event]))
    (row,) = rows(pg_conn, camera)
    assert row["event_id"] == uuid.UUID(event["event_id"]) and row["captured_at"] == event["captured_at"]
    assert row["plate_text"] == "AB\\1\t2" and row["plate_confidence"] is None
    assert row["vehicle_make"] == "Škoda" and row["vehicle_model"] == "" and row["vehicle_color"] is None
    assert row["candidates"] == event["plate"]["candidates"]
    assert row["char_confidences"] == pytest.approx(event["plate"]["char_confidences"])
    assert (row["bbox_x1"], row["bbox_y2"]) == (event["bbox"]["x1"], event["bbox"]["y2"])
    assert row["site"] == event["node"]["site"] and row["direction"] == "in"
    assert row["frame_number"] == event["extras"]["frame_number"] and row["read_count"] == 3
    assert row["preview"] is True and row["latency_ms"] is None and row["raw"] is None


def test_raw_is_the_event_when_enabled(pg_dsn: str, pg_conn: Any, camera: str) -> None:
    event = plate_event(camera_id=camera)
    sink = PostgresEventSink(DatabaseSettings(host="127.0.0.1"), StorageSinkSettings(store_raw=True))
    try:
        sink.write(as_records([event]))
    finally:
        sink.close()
    (row,) = rows(pg_conn, camera)
    assert row["raw"]["plate"] == event["plate"]
    assert row["raw"]["captured_at"] == _json_default(event["captured_at"])


def test_redelivered_events_add_nothing_and_switch_to_on_conflict(
    sink: PostgresEventSink, pg_conn: Any, camera: str, caplog: pytest.LogCaptureFixture
) -> None:
    events = [plate_event(plate=f"D{i:03d}", camera_id=camera, track_id=i) for i in range(40)]
    sink.write(as_records(events[:25]))
    with caplog.at_level(logging.INFO, logger="alpr_core.storage.sink"):
        sink.write(as_records(events[10:40] + events[30:32]))  # stored ones, new ones, a repeat in the batch
    assert [r["track_id"] for r in rows(pg_conn, camera)] == list(range(40))
    assert "ON CONFLICT DO NOTHING" in caplog.text
    sink.write(as_records(events))  # conflict mode: straight through
    assert len(rows(pg_conn, camera)) == 40


def test_a_refused_record_is_isolated_and_the_rest_stored(sink: PostgresEventSink, pg_conn: Any, camera: str) -> None:
    events = [plate_event(plate=f"R{i}", camera_id=camera, track_id=i) for i in range(5)]
    events[2]["vehicle"]["make"] = "nul\x00byte"  # jsonb cannot hold U+0000
    with pytest.raises(PermanentRecordError) as caught:
        sink.write(as_records(events))
    assert [rec.offset for rec, _ in caught.value.failures] == [2]
    assert [r["track_id"] for r in rows(pg_conn, camera)] == [0, 1, 3, 4]
