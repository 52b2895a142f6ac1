"""OpenSearch request bodies built from validated parameters (never a client-supplied DSL).

Field names follow the search-consumer's document (alpr_core.search.documents.event_document:
camera_id, captured_at, site, host, plate.{text,normalized_text,candidates,confidence,region}, vehicle.*;
plate fields are keywords with an edge-ngram ``.prefix`` subfield); FIELDS is the one place to change them.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .models import CAMERA_PATTERN, PLATE_PATTERN, normalize_plate

FIELDS = {
    "event_id": "event_id",
    "captured_at": "captured_at",
    "camera_id": "camera_id",
    "site": "site",
    "plate": "plate.normalized_text",
    "plate_text": "plate.text",
    "confidence": "plate.confidence",
    "region": "plate.region",
    "vehicle_type": "vehicle.type",
}
TEXT_FIELDS = [
    "plate.text",
    "plate.normalized_text",
    "camera_id",
    "plate.candidates",
    "site",
    "host",
    "plate.region",
    "vehicle.type",
    "vehicle.make",
    "vehicle.model",
    "vehicle.color",
]
MAX_WINDOW = 10_000  # index.max_result_window


class Sort(str, Enum):
    newest = "newest"
    oldest = "oldest"
    confidence = "confidence"
    relevance = "relevance"


_SORTS: dict[Sort, list[Any]] = {
    Sort.newest: [{FIELDS["captured_at"]: "desc"}],
    Sort.oldest: [{FIELDS["captured_at"]: "asc"}],
    Sort.confidence: [{FIELDS["confidence"]: {"order": "desc", "unmapped_type": "float"}}],
    Sort.relevance: ["_score", {FIELDS["captured_at"]: "desc"}],
}

Names = list[str]


class SearchQuery(BaseModel):
    """A restricted structured query: every filter is optional and validated; all present ones must match."""

    model_config = ConfigDict(extra="forbid")
    plates: Names | None = Field(None, description="Any of these plates (normalised).", max_length=50)
    plate_prefix: str | None = Field(None, description="Plates starting with this.", pattern=PLATE_PATTERN)
    plate_fuzzy: str | None = Field(None, description="Plates within edit distance 2.", pattern=PLATE_PATTERN)
    cameras: Names | None = Field(None, description="Any of these cameras.", max_length=100)
    sites: Names | None = Field(None, description="Any of these sites.", max_length=100)
    regions: Names | None = Field(None, description="Any of these plate regions.", max_length=100)
    vehicle_types: Names | None = Field(None, description="Any of these vehicle types.", max_length=20)
    min_confidence: float | None = Field(None, description="Minimum plate confidence.", ge=0, le=1)
    start_time: datetime | None = Field(None, description="Window start (capped by config).")
    end_time: datetime | None = Field(None, description="Window end (default now).")
    sort: Sort = Field(Sort.newest, description="Order of the hits.")
    limit: int = Field(100, description="Hits per page.", ge=1, le=1000)
    offset: int = Field(0, description="Hits to skip (limit + offset <= 10000).", ge=0, le=9999)

    @model_validator(mode="after")
    def _check(self) -> SearchQuery:
        import re

        for name in ("plates", "cameras", "sites", "regions", "vehicle_types"):
            for item in getattr(self, name) or []:
                if not re.fullmatch(PLATE_PATTERN if name == "plates" else CAMERA_PATTERN, item):
                    raise ValueError(f"{name}: invalid value {item[:40]!r}")
        if self.limit + self.offset > MAX_WINDOW:
            raise ValueError(f"limit + offset must be <= {MAX_WINDOW}")
        return self


def time_filter(start: datetime, end: datetime) -> dict[str, Any]:
    return {"range": {FIELDS["captured_at"]: {"gte": start.isoformat(), "lte": end.isoformat()}}}


def structured(query: SearchQuery, start: datetime, end: datetime) -> dict[str, Any]:
    filters: list[dict[str, Any]] = [time_filter(start, end)]
    must: list[dict[str, Any]] = []
    if query.plates:
        filters.append({"terms": {FIELDS["plate"]: [normalize_plate(p) for p in query.plates]}})
    if query.plate_prefix:
        filters.append({"prefix": {FIELDS["plate"]: normalize_plate(query.plate_prefix)}})
    if query.plate_fuzzy:
        must.append(
            {"fuzzy": {FIELDS["plate"]: {"value": normalize_plate(query.plate_fuzzy), "fuzziness": 2}}}
        )
    for name, field in (
        ("cameras", "camera_id"),
        ("sites", "site"),
        ("regions", "region"),
        ("vehicle_types", "vehicle_type"),
    ):
        if getattr(query, name):
            filters.append({"terms": {FIELDS[field]: getattr(query, name)}})
    if query.min_confidence is not None:
        filters.append({"range": {FIELDS["confidence"]: {"gte": query.min_confidence}}})
    return {
        "query": {"bool": {"filter": filters, "must": must}},
        "sort": _SORTS[query.sort],
        "from": query.offset,
        "size": query.limit,
        "track_total_hits": True,
    }


def fulltext(q: str, fuzzy: bool, start: datetime, end: datetime, limit: int, offset: int) -> dict[str, Any]:
    plate = normalize_plate(q)
    should: list[dict[str, Any]] = [
        {
            "multi_match": {
                "query": q,
                "fields": TEXT_FIELDS,
                "lenient": True,
                **({"fuzziness": "AUTO"} if fuzzy else {}),
            }
        }
    ]
    if plate:
        should.append({"term": {FIELDS["plate"]: {"value": plate, "boost": 5}}})
        should.append({"match": {FIELDS["plate"] + ".prefix": {"query": plate, "boost": 3}}})
        if len(plate) >= 3:
            should.append({"wildcard": {FIELDS["plate"]: {"value": f"*{plate}*", "boost": 2}}})
        if fuzzy:
            for field in (FIELDS["plate"], "plate.candidates"):
                should.append({"fuzzy": {field: {"value": plate, "fuzziness": "AUTO"}}})
    return {
        "query": {"bool": {"filter": [time_filter(start, end)], "should": should, "minimum_should_match": 1}},
        "sort": _SORTS[Sort.relevance],
        "from": offset,
        "size": limit,
        "track_total_hits": True,
    }


def facets(start: datetime, end: datetime, size: int) -> dict[str, Any]:
    aggs = {
        f"by_{name}": {"terms": {"field": FIELDS[name], "size": size}}
        for name in ("camera_id", "site", "region", "vehicle_type")
    }
    aggs["by_hour"] = {
        "terms": {
            "size": 24,
            "script": {"lang": "painless", "source": f"doc['{FIELDS['captured_at']}'].value.getHour()"},
        }
    }
    return {
        "size": 0,
        "query": {"bool": {"filter": [time_filter(start, end)]}},
        "aggs": aggs,
        "track_total_hits": True,
    }


def analytics(start: datetime, end: datetime, interval: str, top: int) -> dict[str, Any]:
    return {
        "size": 0,
        "query": {"bool": {"filter": [time_filter(start, end)]}},
        "track_total_hits": True,
        "aggs": {
            "histogram": {
                "date_histogram": {
                    "field": FIELDS["captured_at"],
                    "fixed_interval": interval,
                    "min_doc_count": 0,
                }
            },
            "top_plates": {"terms": {"field": FIELDS["plate"], "size": top}},
            "per_camera": {"terms": {"field": FIELDS["camera_id"], "size": 500}},
        },
    }
