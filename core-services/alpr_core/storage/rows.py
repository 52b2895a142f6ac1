"""A decoded plate event as one line of the staging COPY, and the SQL that flattens it server-side.

The storage-consumer sends each event as one JSON document (timestamps as epoch milliseconds, the
JSON form of the Avro contract) into a one-column staging table; a single ``INSERT ... SELECT``
flattens the documents into plate_events columns in PostgreSQL. Python serialises each event once
(orjson: ~1 us per event against ~11 us for the standard library's encoder, the storage-consumer's second
largest CPU item), and the document itself is the ``raw`` column.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from psycopg import sql

# plate_events column -> SQL expression over the staged document ``d`` (scripts/init_db.sql).
COLUMN_EXPRESSIONS: dict[str, str] = {
    "event_id": "(d->>'event_id')::uuid",
    "captured_at": "to_timestamp((d->>'captured_at')::bigint / 1000.0)",
    "published_at": "to_timestamp((d->>'published_at')::bigint / 1000.0)",
    "camera_id": "d->>'camera_id'",
    "track_id": "(d->>'track_id')::bigint",
    "site": "d->'node'->>'site'",
    "host": "d->'node'->>'host'",
    "plate_text": "d->'plate'->>'text'",
    "plate_normalized_text": "d->'plate'->>'normalized_text'",
    "plate_confidence": "(d->'plate'->>'confidence')::real",
    "plate_region": "d->'plate'->>'region'",
    "candidates": "d->'plate'->'candidates'",
    "char_confidences": "translate(d->'plate'->>'char_confidences', '[]', '{}')::real[]",
    "vehicle_type": "d->'vehicle'->>'type'",
    "vehicle_make": "d->'vehicle'->>'make'",
    "vehicle_model": "d->'vehicle'->>'model'",
    "vehicle_color": "d->'vehicle'->>'color'",
    "bbox_x1": "(d->'bbox'->>'x1')::real",
    "bbox_y1": "(d->'bbox'->>'y1')::real",
    "bbox_x2": "(d->'bbox'->>'x2')::real",
    "bbox_y2": "(d->'bbox'->>'y2')::real",
    "plate_image_url": "d->'images'->>'plate_url'",
    "vehicle_image_url": "d->'images'->>'vehicle_url'",
    "frame_image_url": "d->'images'->>'frame_url'",
    "latency_ms": "(d->>'latency_ms')::real",
    "quality_score": "(d->'extras'->>'quality_score')::real",
    "direction": "d->'extras'->>'direction'",
    "roi": "d->'extras'->>'roi'",
    "frame_number": "(d->'extras'->>'frame_number')::bigint",
    "read_count": "(d->'extras'->>'read_count')::integer",
    "matches_format": "(d->'plate'->>'matches_format')::boolean",
    "preview": "coalesce((d->>'preview')::boolean, false)",
    "raw": "d",
}
COLUMNS: tuple[str, ...] = tuple(COLUMN_EXPRESSIONS)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, bytes):
        return value.decode("latin-1")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# Datetimes go through _json_default (epoch milliseconds, what the flattening SQL expects) instead of
# orjson's RFC 3339 strings. NaN and infinities become null: jsonb has no NaN.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME


def event_json(event: dict[str, Any]) -> bytes:
    """The event as compact UTF-8 JSON (timestamp-millis fields as epoch milliseconds)."""
    return orjson.dumps(event, default=_json_default, option=_OPTIONS)


def copy_line(event: dict[str, Any]) -> bytes:
    """One line of COPY text format for a one-column table. JSON escapes tabs, newlines and other
    control characters inside strings; only its backslash escapes need doubling for COPY."""
    return event_json(event).replace(b"\\", b"\\\\") + b"\n"


def insert_sql(table: str, stage: str, store_raw: bool = True) -> sql.Composed:
    """``INSERT INTO table (...) SELECT <expressions> FROM stage ON CONFLICT DO NOTHING``."""
    exprs = [
        sql.SQL(expr if (col != "raw" or store_raw) else "NULL::jsonb")
        for col, expr in COLUMN_EXPRESSIONS.items()
    ]
    return sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} ON CONFLICT DO NOTHING").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, COLUMNS)),
        sql.SQL(", ").join(exprs),
        sql.Identifier(stage),
    )
