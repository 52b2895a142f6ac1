"""A decoded plate event as one line of the staging COPY, and the SQL that turns it into a row.

The storage-consumer sends each event as a flat JSON array, one element per plate_events column in
``COLUMNS`` order (timestamps as epoch milliseconds, nested values such as the candidates as JSON),
into a one-column jsonb staging table; one ``INSERT ... SELECT`` casts element i (``d->>i``) into
its column server-side. Against the event's nested JSON object this halves the text PostgreSQL
parses (no keys) and replaces key lookups by O(1) array indexing: +15 % rows/s for the database in
`docs/benchmarks.md`, for ~2 us more per event in Python. orjson serialises the array (~1 us).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from psycopg import sql

# plate_events column -> (where the value is in the decoded event, SQL casting the staged element {e}).
# {e} is the element as text (d->>i); {j} the element as jsonb (d->i). scripts/init_db.sql has the table.
COLUMN_SOURCES: dict[str, tuple[tuple[str, ...], str]] = {
    "event_id": (("event_id",), "({e})::uuid"),
    "captured_at": (("captured_at",), "to_timestamp(({e})::bigint / 1000.0)"),
    "published_at": (("published_at",), "to_timestamp(({e})::bigint / 1000.0)"),
    "camera_id": (("camera_id",), "{e}"),
    "track_id": (("track_id",), "({e})::bigint"),
    "site": (("node", "site"), "{e}"),
    "host": (("node", "host"), "{e}"),
    "plate_text": (("plate", "text"), "{e}"),
    "plate_normalized_text": (("plate", "normalized_text"), "{e}"),
    "plate_confidence": (("plate", "confidence"), "({e})::real"),
    "plate_region": (("plate", "region"), "{e}"),
    "candidates": (("plate", "candidates"), "{j}"),
    "char_confidences": (("plate", "char_confidences"), "translate({e}, '[]', '{{}}')::real[]"),
    "vehicle_type": (("vehicle", "type"), "{e}"),
    "vehicle_make": (("vehicle", "make"), "{e}"),
    "vehicle_model": (("vehicle", "model"), "{e}"),
    "vehicle_color": (("vehicle", "color"), "{e}"),
    "bbox_x1": (("bbox", "x1"), "({e})::real"),
    "bbox_y1": (("bbox", "y1"), "({e})::real"),
    "bbox_x2": (("bbox", "x2"), "({e})::real"),
    "bbox_y2": (("bbox", "y2"), "({e})::real"),
    "plate_image_url": (("images", "plate_url"), "{e}"),
    "vehicle_image_url": (("images", "vehicle_url"), "{e}"),
    "frame_image_url": (("images", "frame_url"), "{e}"),
    "latency_ms": (("latency_ms",), "({e})::real"),
    "quality_score": (("extras", "quality_score"), "({e})::real"),
    "direction": (("extras", "direction"), "{e}"),
    "roi": (("extras", "roi"), "{e}"),
    "frame_number": (("extras", "frame_number"), "({e})::bigint"),
    "read_count": (("extras", "read_count"), "({e})::integer"),
    "matches_format": (("plate", "matches_format"), "({e})::boolean"),
    "preview": (("preview",), "coalesce(({e})::boolean, false)"),
}
# The last column: the whole event (storage.store_raw), the last element of the array when stored.
COLUMNS: tuple[str, ...] = (*COLUMN_SOURCES, "raw")

# (top-level key, nested key or None) per element, for row_values.
_KEYS: tuple[tuple[str, str | None], ...] = tuple(
    (path[0], path[1] if len(path) > 1 else None) for path, _ in COLUMN_SOURCES.values()
)
_EMPTY: dict[str, Any] = {}


def row_values(event: dict[str, Any], store_raw: bool = False) -> list[Any]:
    """The staged elements of one event, in ``COLUMNS`` order; a missing field is None (NULL)."""
    get = event.get
    values = [get(top) if sub is None else (get(top) or _EMPTY).get(sub) for top, sub in _KEYS]
    if store_raw:
        values.append(event)
    return values


def _row_of_complete_event(e: dict[str, Any]) -> tuple[Any, ...]:
    """``row_values`` of an event with every field present (what Avro decoding yields), spelled out:
    half the instructions of the generic version. KeyError/TypeError when a field is missing.
    Must list the fields in COLUMN_SOURCES order (tests/unit/test_storage_rows.py checks it)."""
    p, v, b, im, x, n = e["plate"], e["vehicle"], e["bbox"], e["images"], e["extras"], e["node"]
    return (
        e["event_id"], e["captured_at"], e["published_at"], e["camera_id"], e["track_id"], n["site"], n["host"],
        p["text"], p["normalized_text"], p["confidence"], p["region"], p["candidates"], p["char_confidences"],
        v["type"], v["make"], v["model"], v["color"], b["x1"], b["y1"], b["x2"], b["y2"],
        im["plate_url"], im["vehicle_url"], im["frame_url"], e["latency_ms"], x["quality_score"],
        x["direction"], x["roi"], x["frame_number"], x["read_count"], p["matches_format"], e["preview"],
    )  # fmt: skip


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, bytes):
        return value.decode("latin-1")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# Datetimes go through _json_default (epoch milliseconds, what the casting SQL expects) instead of
# orjson's RFC 3339 strings. NaN and infinities become null: jsonb has no NaN.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME


def event_json(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON (datetimes as epoch milliseconds)."""
    return orjson.dumps(value, default=_json_default, option=_OPTIONS)


def copy_line(event: dict[str, Any], store_raw: bool = False) -> bytes:
    """One line of COPY text format for the one-column staging table: the event's row as a JSON array.
    JSON escapes tabs, newlines and other control characters inside strings; only its backslash
    escapes need doubling for COPY."""
    values: Any
    if store_raw:
        values = row_values(event, store_raw)
    else:
        try:
            values = _row_of_complete_event(event)
        except (KeyError, TypeError):
            values = row_values(event)
    return event_json(values).replace(b"\\", b"\\\\") + b"\n"


def insert_sql(table: str, stage: str, store_raw: bool = False, on_conflict: bool = True) -> sql.Composed:
    """``INSERT INTO table (COLUMNS) SELECT <casts> FROM stage [ON CONFLICT DO NOTHING]``."""
    exprs = [
        sql.SQL(template.format(e=f"d->>{i}", j=f"d->{i}"))
        for i, (_, template) in enumerate(COLUMN_SOURCES.values())
    ]
    exprs.append(sql.SQL(f"d->{len(COLUMN_SOURCES)}" if store_raw else "NULL::jsonb"))
    return sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}{}").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, COLUMNS)),
        sql.SQL(", ").join(exprs),
        sql.Identifier(stage),
        sql.SQL(" ON CONFLICT DO NOTHING" if on_conflict else ""),
    )
