"""OpenSearch documents, index names, the index template and the ISM retention policy.

Events go to monthly indices ``<prefix>-YYYY.MM`` (by ``captured_at``, UTC); the template adds every
such index to the alias ``<prefix>``, which is what readers query. ``_id`` is the event_id, so a
redelivered or replayed event overwrites its own document.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import orjson

PLATE_NGRAM_ANALYZER = "plate_edge_ngram"
PLATE_SEARCH_ANALYZER = "plate_search"


def index_name(prefix: str, captured_at: datetime) -> str:
    """Monthly index of an event: ``alpr-events-2026.11``."""
    when = captured_at.astimezone(timezone.utc) if captured_at.tzinfo else captured_at
    return f"{prefix}-{when:%Y.%m}"


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()


def event_document(event: dict[str, Any]) -> dict[str, Any]:
    """The indexed form of a plate event: the contract's fields, dates as ISO 8601, a null location
    (geo-ready: filled when cameras get coordinates)."""
    plate = event["plate"]
    return {
        "event_id": event["event_id"],
        "captured_at": _iso(event["captured_at"]),
        "published_at": _iso(event.get("published_at")),
        "camera_id": event["camera_id"],
        "track_id": event.get("track_id"),
        "site": event["node"]["site"],
        "host": event["node"]["host"],
        "preview": bool(event.get("preview", False)),
        "plate": {
            "text": plate["text"],
            "normalized_text": plate["normalized_text"],
            "confidence": plate["confidence"],
            "region": plate.get("region"),
            "matches_format": plate.get("matches_format"),
            "candidates": [c["text"] for c in plate.get("candidates") or []],
        },
        "vehicle": event.get("vehicle"),
        "bbox": event.get("bbox"),
        "images": event.get("images"),
        "latency_ms": event.get("latency_ms"),
        "extras": event.get("extras"),
        "location": None,
    }


def bulk_action(prefix: str, event: dict[str, Any]) -> dict[str, Any]:
    return {
        "_op_type": "index",
        "_index": index_name(prefix, event["captured_at"]),
        "_id": event["event_id"],
        "_source": event_document(event),
    }


def bulk_lines(prefix: str, event: dict[str, Any]) -> bytes:
    """The two NDJSON lines of ``bulk_action`` for the _bulk endpoint, serialised once by orjson
    (NaN and infinities as null: JSON has neither)."""
    action = bulk_action(prefix, event)
    header = {"index": {"_index": action["_index"], "_id": action["_id"]}}
    return orjson.dumps(header) + b"\n" + orjson.dumps(action["_source"]) + b"\n"


def _keyword() -> dict[str, Any]:
    return {"type": "keyword", "ignore_above": 256}


def _plate_field() -> dict[str, Any]:
    return {
        "type": "keyword",
        "fields": {
            "prefix": {
                "type": "text",
                "analyzer": PLATE_NGRAM_ANALYZER,
                "search_analyzer": PLATE_SEARCH_ANALYZER,
            }
        },
    }


def index_template(prefix: str, shards: int, replicas: int, refresh_interval_s: float) -> dict[str, Any]:
    """Composable index template for ``<prefix>-*`` with the alias ``<prefix>``."""
    settings = {
        "number_of_shards": shards,
        "number_of_replicas": replicas,
        "refresh_interval": f"{max(1, round(refresh_interval_s * 1000))}ms",
        "analysis": {
            "tokenizer": {
                "plate_edge_ngram": {
                    "type": "edge_ngram",
                    "min_gram": 1,
                    "max_gram": 12,
                    "token_chars": ["letter", "digit"],
                }
            },
            "analyzer": {
                PLATE_NGRAM_ANALYZER: {
                    "type": "custom",
                    "tokenizer": "plate_edge_ngram",
                    "filter": ["lowercase"],
                },
                PLATE_SEARCH_ANALYZER: {"type": "custom", "tokenizer": "keyword", "filter": ["lowercase"]},
            },
        },
    }
    properties = {
        "event_id": _keyword(),
        "camera_id": _keyword(),
        "site": _keyword(),
        "host": _keyword(),
        "track_id": {"type": "long"},
        "preview": {"type": "boolean"},
        "captured_at": {"type": "date"},
        "published_at": {"type": "date"},
        "latency_ms": {"type": "long"},
        "location": {"type": "geo_point"},
        "plate": {
            "properties": {
                "text": _keyword(),
                "normalized_text": _plate_field(),
                "candidates": _keyword(),
                "confidence": {"type": "float"},
                "region": _keyword(),
                "matches_format": {"type": "boolean"},
            }
        },
        "vehicle": {"properties": {k: _keyword() for k in ("type", "make", "model", "color")}},
        "images": {
            "properties": {
                k: {"type": "keyword", "index": False} for k in ("plate_url", "vehicle_url", "frame_url")
            }
        },
        "bbox": {"properties": {k: {"type": "float", "index": False} for k in ("x1", "y1", "x2", "y2")}},
        "extras": {
            "properties": {
                "roi": _keyword(),
                "direction": _keyword(),
                "quality_score": {"type": "float"},
                "frame_number": {"type": "long"},
                "read_count": {"type": "integer"},
            }
        },
    }
    return {
        "index_patterns": [f"{prefix}-*"],
        "priority": 100,
        "template": {
            "settings": settings,
            "mappings": {"dynamic": False, "properties": properties},
            "aliases": {prefix: {}},
        },
        "_meta": {"managed_by": "alpr search-consumer"},
    }


def ism_policy(prefix: str, retention_days: int) -> dict[str, Any]:
    """Delete a monthly index once its newest possible event is ``retention_days`` old: the index is
    created with its month's first event, so it is deleted ``retention_days + 31`` days after creation."""
    return {
        "policy": {
            "description": f"Delete {prefix}-YYYY.MM indices after {retention_days} days of retention",
            "default_state": "hot",
            "states": [
                {
                    "name": "hot",
                    "actions": [],
                    "transitions": [
                        {"state_name": "delete", "conditions": {"min_index_age": f"{retention_days + 31}d"}}
                    ],
                },
                {"name": "delete", "actions": [{"delete": {}}], "transitions": []},
            ],
            "ism_template": [{"index_patterns": [f"{prefix}-*"], "priority": 100}],
        }
    }
