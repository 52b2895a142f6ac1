"""Static checks of scripts/init_db.sql (the real apply runs in tests/integration/test_stack_postgres.py)."""

from __future__ import annotations

import re
from pathlib import Path

SQL = (Path(__file__).resolve().parents[2] / "scripts" / "init_db.sql").read_text()
# Statements outside DO blocks ($$ ... $$) and comments.
TOP = re.sub(r"--[^\n]*", "", re.sub(r"\$\$.*?\$\$", "$$", SQL, flags=re.S))


def test_every_table_and_index_is_idempotent():
    creates = re.findall(r"CREATE\s+(?:UNIQUE\s+)?(TABLE|INDEX|EXTENSION)\s+(\S+)", TOP, flags=re.I)
    assert creates
    assert all(name.upper() == "IF" for _, name in creates), creates


def test_required_tables():
    tables = set(re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", SQL))
    assert {"plate_events", "alerts", "watchlists", "dlq_messages", "api_keys", "api_audit_log"} <= tables


def test_plate_events_contract_columns():
    body = re.search(r"CREATE TABLE IF NOT EXISTS plate_events \((.*?)\n\);", SQL, flags=re.S).group(1)
    for col in ["event_id", "captured_at", "published_at", "created_at", "camera_id", "track_id", "site",
                "host", "plate_text", "plate_normalized_text", "plate_confidence", "plate_region",
                "candidates", "char_confidences", "vehicle_type", "vehicle_make", "vehicle_model",
                "vehicle_color",
                "bbox_x1", "bbox_y2", "plate_image_url", "vehicle_image_url", "frame_image_url",
                "latency_ms", "quality_score", "direction", "roi", "frame_number", "read_count",
                "matches_format", "preview", "raw"]:
        assert re.search(rf"^\s+{col}\s", body, flags=re.M), col
    assert "PRIMARY KEY (event_id, captured_at)" in body


def test_timescaledb_only_inside_guarded_do_blocks():
    for fn in ("create_hypertable", "add_compression_policy", "add_retention_policy",
               "add_continuous_aggregate_policy", "timescaledb.continuous"):
        assert fn in SQL and fn not in TOP, fn
    assert "pg_available_extensions" in SQL and "pg_extension" in SQL


def test_trigram_index():
    assert re.search(r"USING gin \(plate_normalized_text gin_trgm_ops\)", SQL)
