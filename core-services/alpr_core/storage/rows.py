"""A decoded plate event as one tuple of a binary ``COPY plate_events FROM STDIN (FORMAT binary)``.

The storage-consumer sends each event in PostgreSQL's binary COPY format, one field per plate_events
column in ``COLUMNS`` order, straight into the table: PostgreSQL only copies fixed-size values and
length-prefixed strings into the row (no text parsing, no staging table, no jsonb tree, no casts).
Against the previous flat-JSON staging rows this took the database from ~35 to ~21 us of CPU per row
(docs/benchmarks.md, session 5) for ~3 us more per event in Python.

Binary formats (PostgreSQL's ``*_send``/``*_recv``): uuid 16 bytes; timestamptz int64 microseconds
since 2000-01-01 UTC; bigint/integer/real/boolean big-endian 8/4/4/1 bytes; text UTF-8; jsonb a
version byte 1 then the JSON text; real[] a one-dimensional array header then each element. A NULL
is the length -1. NaN and infinities are stored as NULL, as the JSON staging did (jsonb had no NaN).
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

# plate_events column -> (where the value is in the decoded event, PostgreSQL type of the column).
# scripts/init_db.sql has the table; tests/unit/test_storage_rows.py checks both agree.
COLUMN_SOURCES: dict[str, tuple[tuple[str, ...], str]] = {
    "event_id": (("event_id",), "uuid"),
    "captured_at": (("captured_at",), "timestamptz"),
    "published_at": (("published_at",), "timestamptz"),
    "camera_id": (("camera_id",), "text"),
    "track_id": (("track_id",), "bigint"),
    "site": (("node", "site"), "text"),
    "host": (("node", "host"), "text"),
    "plate_text": (("plate", "text"), "text"),
    "plate_normalized_text": (("plate", "normalized_text"), "text"),
    "plate_confidence": (("plate", "confidence"), "real"),
    "plate_region": (("plate", "region"), "text"),
    "candidates": (("plate", "candidates"), "jsonb"),
    "char_confidences": (("plate", "char_confidences"), "real[]"),
    "vehicle_type": (("vehicle", "type"), "text"),
    "vehicle_make": (("vehicle", "make"), "text"),
    "vehicle_model": (("vehicle", "model"), "text"),
    "vehicle_color": (("vehicle", "color"), "text"),
    "bbox_x1": (("bbox", "x1"), "real"),
    "bbox_y1": (("bbox", "y1"), "real"),
    "bbox_x2": (("bbox", "x2"), "real"),
    "bbox_y2": (("bbox", "y2"), "real"),
    "plate_image_url": (("images", "plate_url"), "text"),
    "vehicle_image_url": (("images", "vehicle_url"), "text"),
    "frame_image_url": (("images", "frame_url"), "text"),
    "latency_ms": (("latency_ms",), "real"),
    "quality_score": (("extras", "quality_score"), "real"),
    "direction": (("extras", "direction"), "text"),
    "roi": (("extras", "roi"), "text"),
    "frame_number": (("extras", "frame_number"), "bigint"),
    "read_count": (("extras", "read_count"), "integer"),
    "matches_format": (("plate", "matches_format"), "boolean"),
    "preview": (("preview",), "boolean"),  # NOT NULL: a missing value is false
}
# The last column: the whole event as jsonb, sent only with storage.store_raw (else it stays NULL).
COLUMNS: tuple[str, ...] = (*COLUMN_SOURCES, "raw")

# Start and end of a binary COPY stream: signature, flags, header extension length; a -1 field count.
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
COPY_TRAILER = b"\xff\xff"

_NULL = b"\xff\xff\xff\xff"
_TRUE, _FALSE = b"\x00\x00\x00\x01\x01", b"\x00\x00\x00\x01\x00"
_LEN = struct.Struct(">i").pack
_INT8 = struct.Struct(">iq").pack  # length 8, value
_INT4 = struct.Struct(">ii").pack
_FLOAT4 = struct.Struct(">if").pack
_TWO_INT8 = struct.Struct(">iqiq").pack
_ARRAY_HEAD = struct.Struct(">iiiiii").pack  # length, ndim 1, has nulls, element oid, size, lower bound
_EMPTY_REAL_ARRAY = struct.pack(">iiii", 12, 0, 0, 700)
_REAL_OID = 700
_PG_EPOCH_MS = 946_684_800_000  # 2000-01-01 in Unix milliseconds
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
_FIELDS = {False: struct.pack(">h", len(COLUMNS) - 1), True: struct.pack(">h", len(COLUMNS))}


def _text(value: str | None) -> bytes:
    if value is None:
        return _NULL
    data = value.encode()
    return _LEN(len(data)) + data


def _real(value: float | None) -> bytes:
    # x - x is 0.0 for finite numbers, NaN (truthy) for NaN and infinities
    return _NULL if value is None or value - value else _FLOAT4(4, value)


def _bigint(value: int | None) -> bytes:
    return _NULL if value is None else _INT8(8, value)


def _integer(value: int | None) -> bytes:
    return _NULL if value is None else _INT4(4, value)


def _boolean(value: bool | None) -> bytes:
    return _NULL if value is None else (_TRUE if value else _FALSE)


def _timestamp(value: int | datetime | None) -> bytes:
    """Epoch milliseconds (Avro decoding) or a datetime (naive = UTC) as timestamptz."""
    if value is None:
        return _NULL
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return _INT8(8, (aware - _PG_EPOCH) // _MICROSECOND)
    return _INT8(8, (value - _PG_EPOCH_MS) * 1000)


def _uuid(value: str | None) -> bytes:
    if value is None:
        return _NULL
    try:
        data = bytes.fromhex(value.replace("-", ""))
    except ValueError:
        data = b""
    if len(data) != 16:
        data = uuid.UUID(value).bytes  # {braces}, urn:uuid: ... (ValueError if not a UUID at all)
    return b"\x00\x00\x00\x10" + data


def _jsonb(value: Any) -> bytes:
    if value is None:
        return _NULL
    data = event_json(value)
    return _LEN(len(data) + 1) + b"\x01" + data


# One Struct per array length (plates have a few to a dozen characters).
_ARRAYS: dict[int, tuple[struct.Struct, list[Any]]] = {}
_ARRAY_PACKED_MAX = 64


def _real_array(values: list[float | None] | None) -> bytes:
    if values is None:
        return _NULL
    n = len(values)
    if not n:
        return _EMPTY_REAL_ARRAY
    try:
        total = sum(values)  # type: ignore[arg-type]  # TypeError with a None, NaN with a non-finite one
        if not total - total and n <= _ARRAY_PACKED_MAX:
            packer, template = _ARRAYS.get(n) or _array_packer(n)
            args = template.copy()
            args[7::2] = values
            return packer.pack(*args)
    except TypeError:
        pass
    body = b"".join([_real(v) for v in values])
    has_nulls = int(len(body) != 8 * len(values))
    return _ARRAY_HEAD(20 + len(body), 1, has_nulls, _REAL_OID, len(values), 1) + body


def _array_packer(n: int) -> tuple[struct.Struct, list[Any]]:
    """The Struct and argument template of a real[] of n non-null elements (each: length 4, float4)."""
    packer = struct.Struct(">iiiiii" + "if" * n)
    _ARRAYS[n] = (packer, [20 + 8 * n, 1, 0, _REAL_OID, n, 1] + [4, 0.0] * n)
    return _ARRAYS[n]


# Low-cardinality strings (camera, site, host, region, vehicle attributes, ...) encoded once; the
# cache starts over when full. Plate texts and URLs, different in nearly every event, are not cached.
_TEXTS: dict[str, bytes] = {}
_TEXTS_MAX = 4096


def _text_cached(value: str | None) -> bytes:
    if value is None:
        return _NULL
    data = _TEXTS.get(value)
    if data is None:
        data = _text(value)
        if len(_TEXTS) >= _TEXTS_MAX:
            _TEXTS.clear()
        _TEXTS[value] = data
    return data


_ENCODERS: dict[str, Callable[[Any], bytes]] = {
    "uuid": _uuid,
    "timestamptz": _timestamp,
    "text": _text,
    "bigint": _bigint,
    "integer": _integer,
    "real": _real,
    "boolean": _boolean,
    "jsonb": _jsonb,
    "real[]": _real_array,
}
_COLUMN_ENCODERS = tuple(_ENCODERS[pg_type] for _, pg_type in COLUMN_SOURCES.values())
# (top-level key, nested key or None) per column, for row_values.
_KEYS: tuple[tuple[str, str | None], ...] = tuple(
    (path[0], path[1] if len(path) > 1 else None) for path, _ in COLUMN_SOURCES.values()
)
_EMPTY: dict[str, Any] = {}


def row_values(event: dict[str, Any]) -> list[Any]:
    """The column values of one event, in ``COLUMN_SOURCES`` order; a missing field is None (NULL)."""
    get = event.get
    return [get(top) if sub is None else (get(top) or _EMPTY).get(sub) for top, sub in _KEYS]


def _row_of_complete_event(e: dict[str, Any]) -> bytes:
    """``binary_row`` of an event with every field present and timestamps as epoch milliseconds (what
    Avro decoding yields), spelled out, repeated strings from a cache (6.6 against 11.3 us per event
    without the caches, docs/benchmarks.md). KeyError or TypeError otherwise. Must follow
    COLUMN_SOURCES (tests/unit/test_storage_rows.py checks it)."""
    p, v, b, im, x, n = e["plate"], e["vehicle"], e["bbox"], e["images"], e["extras"], e["node"]
    t, c = _text, _text_cached
    return b"".join((
        _FIELDS[False], _uuid(e["event_id"]),
        _TWO_INT8(8, (e["captured_at"] - _PG_EPOCH_MS) * 1000, 8, (e["published_at"] - _PG_EPOCH_MS) * 1000),
        c(e["camera_id"]), _bigint(e["track_id"]), c(n["site"]), c(n["host"]),
        t(p["text"]), t(p["normalized_text"]), _real(p["confidence"]), c(p["region"]), _jsonb(p["candidates"]),
        _real_array(p["char_confidences"]), c(v["type"]), c(v["make"]), c(v["model"]), c(v["color"]),
        _real(b["x1"]), _real(b["y1"]), _real(b["x2"]), _real(b["y2"]),
        t(im["plate_url"]), t(im["vehicle_url"]), t(im["frame_url"]), _real(e["latency_ms"]),
        _real(x["quality_score"]), c(x["direction"]), c(x["roi"]), _bigint(x["frame_number"]),
        _integer(x["read_count"]), _boolean(p["matches_format"]), _FALSE if not e["preview"] else _TRUE,
    ))  # fmt: skip


def _generic_row(event: dict[str, Any], store_raw: bool) -> bytes:
    values = row_values(event)
    values[-1] = bool(values[-1])  # preview is NOT NULL, default false
    parts = [_FIELDS[store_raw]]
    parts.extend([encode(value) for encode, value in zip(_COLUMN_ENCODERS, values, strict=True)])
    if store_raw:
        parts.append(_jsonb(event))
    return b"".join(parts)


def binary_row(event: dict[str, Any], store_raw: bool = False) -> bytes:
    """One tuple of the binary COPY (``copy_columns(store_raw)``). ValueError for a value PostgreSQL
    could never take as its column's type (the runner dead-letters the record)."""
    try:
        if not store_raw:
            try:
                return _row_of_complete_event(event)
            except (KeyError, TypeError, AttributeError):
                pass
        return _generic_row(event, store_raw)
    except (struct.error, OverflowError, TypeError, AttributeError) as exc:
        raise ValueError(f"event cannot be stored: {type(exc).__name__}: {exc}") from None


def copy_columns(store_raw: bool = False) -> tuple[str, ...]:
    """The columns a binary row carries: every column but created_at, raw only when stored."""
    return COLUMNS if store_raw else COLUMNS[:-1]


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, bytes):
        return value.decode("latin-1")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# Datetimes go through _json_default (epoch milliseconds) instead of orjson's RFC 3339 strings.
# NaN and infinities become null: jsonb has no NaN.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME


def event_json(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON (datetimes as epoch milliseconds)."""
    return orjson.dumps(value, default=_json_default, option=_OPTIONS)
