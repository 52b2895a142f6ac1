"""PostgreSQL of the local stack and scripts/init_db.sql (needs `scripts/stack up postgres`)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

psycopg = pytest.importorskip("psycopg")

INIT_SQL = Path(__file__).resolve().parents[2] / "scripts" / "init_db.sql"
TABLES = {"plate_events", "alerts", "watchlists", "dlq_messages", "api_keys", "api_audit_log"}


def _insert_event(conn, event_id: uuid.UUID, captured_at: dt.datetime, plate: str, camera: str = "cam-it"):
    raw = {"event_id": str(event_id), "camera_id": camera, "plate": {"normalized_text": plate}}
    return conn.execute(
        """
        INSERT INTO plate_events (event_id, captured_at, published_at, camera_id, track_id, site, host,
                                  plate_text, plate_normalized_text, plate_confidence, plate_region,
                                  candidates, char_confidences, bbox_x1, bbox_y1, bbox_x2, bbox_y2,
                                  plate_image_url, latency_ms, read_count, matches_format, raw)
        VALUES (%s, %s, %s, %s, 7, 'it-site', 'it-host', %s, %s, 0.93, 'EU', %s, %s, 10, 20, 110, 50,
                's3://alpr-plate-images/it.jpg', 42.5, 3, true, %s)
        ON CONFLICT DO NOTHING
        """,
        (event_id, captured_at, captured_at, camera, plate, plate,
         json.dumps([{"text": plate, "confidence": 0.93}]), [0.9] * len(plate), json.dumps(raw)),
    )


@pytest.fixture
def cleanup(pg_conn):
    """Plates inserted by a test, deleted afterwards."""
    plates: list[str] = []
    yield plates
    pg_conn.rollback()
    pg_conn.execute("DELETE FROM plate_events WHERE plate_normalized_text = ANY(%s)", (plates,))
    pg_conn.commit()


def test_init_db_sql_applies_twice(pg_conn):
    sql = INIT_SQL.read_text()
    for _ in range(2):
        pg_conn.execute(sql)  # no parameters: psycopg sends the whole script as one simple query
        pg_conn.commit()
    rows = pg_conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'").fetchall()
    assert {r[0] for r in rows} >= TABLES
    # The hourly per-camera aggregate exists either as a continuous aggregate or as a plain view.
    assert pg_conn.execute("SELECT to_regclass('plate_events_hourly')").fetchone()[0] is not None


def test_plate_events_primary_key_and_indexes(pg_conn):
    pk = pg_conn.execute(
        """
        SELECT array_agg(a.attname ORDER BY a.attname)
        FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
        WHERE i.indrelid = 'plate_events'::regclass AND i.indisprimary
        """).fetchone()[0]
    assert sorted(pk) == ["captured_at", "event_id"]
    indexes = {r[0] for r in pg_conn.execute(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'plate_events'").fetchall()}
    assert {"plate_events_plate_time_idx", "plate_events_camera_time_idx", "plate_events_created_idx",
            "plate_events_plate_trgm_idx"} <= indexes


def test_duplicate_event_id_is_ignored(pg_conn, cleanup):
    plate = "DUP" + uuid.uuid4().hex[:6].upper()
    cleanup.append(plate)
    event_id = uuid.uuid4()
    captured = dt.datetime.now(dt.timezone.utc).replace(microsecond=123000)
    assert _insert_event(pg_conn, event_id, captured, plate).rowcount == 1
    pg_conn.commit()
    # At-least-once redelivery: same event_id and captured_at -> ignored.
    assert _insert_event(pg_conn, event_id, captured, plate).rowcount == 0
    pg_conn.commit()
    count = pg_conn.execute("SELECT count(*) FROM plate_events WHERE event_id = %s", (event_id,)).fetchone()
    assert count[0] == 1
    row = pg_conn.execute(
        "SELECT created_at IS NOT NULL, preview, raw->>'camera_id', candidates->0->>'text' "
        "FROM plate_events WHERE event_id = %s", (event_id,)).fetchone()
    assert row == (True, False, "cam-it", plate)


def test_trigram_partial_search_finds_plate(pg_conn, cleanup):
    tag = uuid.uuid4().hex[:6].upper()
    plate = f"TR{tag}Q"
    cleanup.append(plate)
    now = dt.datetime.now(dt.timezone.utc)
    _insert_event(pg_conn, uuid.uuid4(), now, plate)
    pg_conn.commit()
    middle = plate[2:7]
    found = pg_conn.execute(
        "SELECT plate_normalized_text FROM plate_events WHERE plate_normalized_text ILIKE %s",
        (f"%{middle}%",)).fetchall()
    assert [r[0] for r in found] == [plate]
    # Fuzzy: one wrong character still matches through trigram similarity.
    typo = plate[:-1] + ("X" if plate[-1] != "X" else "Y")
    similar = pg_conn.execute(
        "SELECT plate_normalized_text FROM plate_events WHERE similarity(plate_normalized_text, %s) > 0.4",
        (typo,)).fetchall()
    assert plate in [r[0] for r in similar]
    # The planner can answer the partial search from the trigram GIN index.
    pg_conn.execute("SET LOCAL enable_seqscan = off")
    plan = "\n".join(r[0] for r in pg_conn.execute(
        "EXPLAIN SELECT event_id FROM plate_events WHERE plate_normalized_text LIKE %s",
        (f"%{middle}%",)).fetchall())
    assert "plate_events_plate_trgm_idx" in plan
    pg_conn.rollback()


def test_dlq_messages_unique_on_original_coordinates(pg_conn):
    topic = f"it.topic.{uuid.uuid4().hex[:8]}"
    sql = ("INSERT INTO dlq_messages (original_topic, \"partition\", \"offset\", consumer_group, error_type,"
           " error_message, headers, payload) VALUES (%s, 0, 42, 'it', 'ValueError', 'bad', '{}', %s)"
           " ON CONFLICT (original_topic, \"partition\", \"offset\") DO NOTHING")
    try:
        assert pg_conn.execute(sql, (topic, b"\x00\x01")).rowcount == 1
        assert pg_conn.execute(sql, (topic, b"\x00\x01")).rowcount == 0
    finally:
        pg_conn.rollback()


def test_application_role_owns_the_schema(pg_conn):
    owners = pg_conn.execute(
        "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public' AND tablename = ANY(%s)",
        (sorted(TABLES),)).fetchall()
    assert owners == [("alpr",)]
