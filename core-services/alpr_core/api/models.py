"""Response and request models of the query API (the OpenAPI contract)."""

from __future__ import annotations

import re
from datetime import datetime
from enum import Enum
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

PLATE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 .\-]{0,19}$"
CAMERA_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}$"
SITE_PATTERN = CAMERA_PATTERN
CASE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._/#:\-]{0,63}$"
_NOT_ALNUM = re.compile(r"[^A-Z0-9]")


def normalize_plate(text: str) -> str:
    """The search key of a plate: upper case, letters and digits only (as the edge stores it)."""
    return _NOT_ALNUM.sub("", text.upper())


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Candidate(Strict):
    text: str = Field(description="Alternative reading.", max_length=64)
    confidence: float = Field(description="Its confidence.", ge=0, le=1)


class PlateOut(Strict):
    text: str = Field(description="Plate text as read.", max_length=64)
    normalized_text: str = Field(description="Upper case, alphanumerics only.", max_length=64)
    confidence: float | None = Field(description="Voted confidence.", ge=0, le=1)
    region: str | None = Field(description="Matched plate format / country code.", max_length=64)
    matches_format: bool | None = Field(description="Matched a configured plate format.")
    candidates: list[Candidate] | None = Field(description="Alternative readings.", max_length=100)
    char_confidences: list[float] | None = Field(description="Per-character confidence.", max_length=64)


class VehicleOut(Strict):
    type: str | None = Field(description="Vehicle class.", max_length=64)
    make: str | None = Field(description="Make.", max_length=64)
    model: str | None = Field(description="Model.", max_length=64)
    color: str | None = Field(description="Colour.", max_length=64)


class BBoxOut(Strict):
    x1: float | None = Field(description="Left, pixels.", ge=-1e6, le=1e6)
    y1: float | None = Field(description="Top, pixels.", ge=-1e6, le=1e6)
    x2: float | None = Field(description="Right, pixels.", ge=-1e6, le=1e6)
    y2: float | None = Field(description="Bottom, pixels.", ge=-1e6, le=1e6)


class ImagesOut(Strict):
    plate_url: str | None = Field(description="s3:// key of the plate crop.", max_length=1024)
    vehicle_url: str | None = Field(description="s3:// key of the vehicle crop.", max_length=1024)
    frame_url: str | None = Field(description="s3:// key of the full frame.", max_length=1024)


class EventOut(Strict):
    """One plate event (one vehicle passage)."""

    event_id: UUID = Field(description="Event id (idempotency key).")
    captured_at: datetime = Field(description="First sighting (UTC).")
    published_at: datetime | None = Field(description="When the edge published it (UTC).")
    created_at: datetime = Field(description="When the row was stored (UTC).")
    camera_id: str = Field(description="Camera id.", max_length=128)
    track_id: int | None = Field(description="Tracker id on the camera.", ge=-(2**63), le=2**63 - 1)
    site: str | None = Field(description="Site of the edge node.", max_length=128)
    host: str | None = Field(description="Edge host.", max_length=255)
    plate: PlateOut = Field(description="Plate reading.")
    vehicle: VehicleOut = Field(description="Vehicle attributes.")
    bbox: BBoxOut = Field(description="Best plate shot bounding box.")
    images: ImagesOut = Field(description="Object-store keys of the crops.")
    latency_ms: float | None = Field(description="Capture to publish latency.", ge=0, le=1e9)
    quality_score: float | None = Field(description="Best-shot quality.", ge=-1e9, le=1e9)
    direction: str | None = Field(description="Direction of travel.", max_length=64)
    roi: str | None = Field(description="Region of interest.", max_length=128)
    frame_number: int | None = Field(description="Frame of the best shot.", ge=-(2**63), le=2**63 - 1)
    read_count: int | None = Field(description="Reads that voted.", ge=0, le=2**31 - 1)
    preview: bool = Field(description="Early preview of a track.")


class EventPage(Strict):
    items: list[EventOut] = Field(description="Events, newest first.", max_length=10_000)
    count: int = Field(description="Number of items in this page.", ge=0, le=10_000)
    limit: int = Field(description="Page size asked for.", ge=1, le=10_000)
    offset: int = Field(description="Rows skipped.", ge=0)
    matched_plates: list[str] | None = Field(
        None, description="Plates a fuzzy lookup matched (best first).", max_length=1000
    )


class DependencyStatus(Strict):
    status: Literal["ok", "down"] = Field(description="Reachability.")
    latency_ms: float | None = Field(None, description="Check duration.", ge=0, le=1e7)
    error: str | None = Field(None, description="Error class when down.", max_length=200)


class Health(Strict):
    status: Literal["ok", "degraded", "down"] = Field(description="down when the database is down.")
    version: str = Field(description="API version.", max_length=32)
    dependencies: dict[str, DependencyStatus] = Field(description="database, opensearch, kafka.")


class RootInfo(Strict):
    name: str = Field(description="Service name.", max_length=64)
    version: str = Field(description="API version.", max_length=32)
    docs: str = Field(description="OpenAPI UI path.", max_length=64)
    endpoints: list[str] = Field(description="'METHOD /path' of every endpoint.", max_length=200)


class Stats(Strict):
    total_events: int = Field(description="Rows in plate_events.", ge=0)
    unique_plates: int = Field(description="Distinct normalised plates.", ge=0)
    cameras: int = Field(description="Distinct cameras ever seen.", ge=0)
    active_cameras: int = Field(description="Cameras with an event in the last 24 hours.", ge=0)
    earliest: datetime | None = Field(description="Oldest captured_at.")
    latest: datetime | None = Field(description="Newest captured_at.")
    avg_confidence: float | None = Field(description="Mean plate confidence.", ge=0, le=1)
    avg_latency_ms: float | None = Field(description="Mean capture-to-publish latency.", ge=0)
    computed_at: datetime = Field(description="When these figures were computed (cached briefly).")


class MatchType(str, Enum):
    exact = "exact"
    prefix = "prefix"
    regex = "regex"
    fuzzy = "fuzzy"


def _check_pattern(pattern: str, match_type: MatchType) -> str:
    if match_type is MatchType.regex:
        if not re.fullmatch(r"[A-Z0-9^$.*+?()\[\]{}|\\-]{1,64}", pattern):
            raise ValueError("regex may use A-Z, 0-9 and ^$.*+?()[]{}|\\- only")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"invalid regex: {exc}") from None
        return pattern
    if not re.fullmatch(PLATE_PATTERN, pattern):
        raise ValueError("plate may contain letters, digits, spaces, '.' and '-' only")
    norm = normalize_plate(pattern)
    if not 1 <= len(norm) <= 16:
        raise ValueError("plate must have 1 to 16 letters or digits")
    return norm


class WatchlistIn(Strict):
    plate_pattern: str = Field(
        description="Plate (normalised on input) or regex.", min_length=1, max_length=64
    )
    match_type: MatchType = Field(MatchType.exact, description="How the pattern is compared.")
    list_name: str = Field("default", description="Watchlist name.", pattern=CAMERA_PATTERN)
    reason: str | None = Field(None, description="Why the plate is watched.", max_length=500)
    case_number: str | None = Field(None, description="Case / incident reference.", pattern=CASE_PATTERN)
    expires_at: datetime | None = Field(None, description="Entry stops matching after this (UTC).")
    enabled: bool = Field(True, description="Whether the alert engine uses the entry.")

    @model_validator(mode="after")
    def _pattern(self) -> WatchlistIn:
        self.plate_pattern = _check_pattern(self.plate_pattern.upper(), self.match_type)
        return self


class WatchlistUpdate(Strict):
    reason: str | None = Field(None, description="Why the plate is watched.", max_length=500)
    case_number: str | None = Field(None, description="Case / incident reference.", pattern=CASE_PATTERN)
    expires_at: datetime | None = Field(None, description="New expiry (UTC); null keeps it.")
    clear_expiry: bool = Field(False, description="Remove the expiry (never expires).")
    enabled: bool | None = Field(None, description="Enable or disable the entry.")


class WatchlistOut(Strict):
    id: int = Field(description="Entry id.", ge=1)
    plate_pattern: str = Field(description="Pattern.", max_length=64)
    match_type: MatchType = Field(description="How the pattern is compared.")
    list_name: str = Field(description="Watchlist name.", max_length=64)
    reason: str | None = Field(description="Why the plate is watched.", max_length=500)
    case_number: str | None = Field(description="Case / incident reference.", max_length=64)
    expires_at: datetime | None = Field(description="Expiry (UTC).")
    enabled: bool = Field(description="Used by the alert engine.")
    expired: bool = Field(description="expires_at is in the past.")
    created_at: datetime = Field(description="Created (UTC).")
    updated_at: datetime = Field(description="Last change (UTC).")


class WatchlistPage(Strict):
    items: list[WatchlistOut] = Field(description="Entries.", max_length=10_000)
    count: int = Field(description="Items in this page.", ge=0)


class AlertOut(Strict):
    id: int = Field(description="Alert id.", ge=1)
    event_id: UUID = Field(description="Event that fired it.")
    rule_name: str = Field(description="Rule.", max_length=200)
    severity: str = Field(description="Severity.", max_length=32)
    plate: str = Field(description="Normalised plate that matched.", max_length=64)
    camera_id: str | None = Field(description="Camera.", max_length=128)
    captured_at: datetime | None = Field(description="Event time (UTC).")
    watchlist_id: int | None = Field(description="Matched watchlist entry.", ge=1)
    explanation: dict[str, Any] = Field(description="Why the rule fired.")
    channel_outcomes: dict[str, Any] = Field(description="Delivery result per channel.")
    acknowledged_at: datetime | None = Field(description="Acknowledged (UTC).")
    created_at: datetime = Field(description="Raised (UTC).")


class AlertPage(Strict):
    items: list[AlertOut] = Field(description="Alerts, newest first.", max_length=10_000)
    count: int = Field(description="Items in this page.", ge=0)


class ImageLink(Strict):
    url: str = Field(description="Presigned GET URL.", max_length=4096)
    expires_in_s: int = Field(description="Validity of the URL in seconds.", ge=1)
    kind: Literal["plate", "vehicle", "frame"] = Field(description="Which crop.")
