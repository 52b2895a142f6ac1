"""Settings of the event processor (``events:`` in config/events.yaml)."""

from __future__ import annotations

from pydantic import Field, model_validator

from alpr_common.settings import StrictModel


class EventSettings(StrictModel):
    """Confidence check, normalisation, format validation, fuzzy dedup and enrichment of plate reads."""

    min_confidence: float = Field(
        0.70, ge=0.0, le=1.0, description="Reads below this confidence are rejected."
    )
    min_length: int = Field(3, ge=1, le=20, description="Shortest normalised plate text accepted.")
    max_length: int = Field(10, ge=1, le=32, description="Longest normalised plate text accepted.")
    max_raw_text_chars: int = Field(
        32,
        ge=1,
        le=1024,
        description="Raw OCR text longer than this is rejected as oversize before anything else.",
    )
    reject_format_mismatch: bool = Field(
        False,
        description="Reject reads fitting no region format; false keeps them with matches_format=false.",
    )
    dedup_enabled: bool = Field(True, description="Drop near-identical plates seen again on the same camera.")
    dedup_similarity_threshold: float = Field(
        0.85,
        ge=0.0,
        le=1.0,
        description="Levenshtein similarity (1 - distance/longer length) counted as the same plate.",
    )
    dedup_time_window_seconds: float = Field(
        300.0, gt=0, le=86_400, description="A plate seen again within this many seconds is a duplicate."
    )
    dedup_max_entries_per_camera: int = Field(
        2_000, ge=1, le=1_000_000, description="Recent plates remembered per camera (oldest forgotten first)."
    )
    dedup_max_cameras: int = Field(
        256, ge=1, le=100_000, description="Cameras whose recent plates are remembered."
    )
    max_candidates: int = Field(10, ge=0, le=100, description="Alternative readings carried in the event.")

    @model_validator(mode="after")
    def _lengths(self) -> EventSettings:
        if self.min_length > self.max_length:
            raise ValueError(f"min_length {self.min_length} is above max_length {self.max_length}")
        return self
