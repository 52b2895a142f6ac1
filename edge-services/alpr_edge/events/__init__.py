"""Plate reads -> plate_event records: confidence check, normalise, validate, fuzzy dedup, enrich."""

from .dedup import DedupHit, Deduplicator
from .processor import (
    ACCEPTED,
    DEDUPLICATED,
    REJECTED,
    EventProcessor,
    FormatMatcher,
    ProcessResult,
    normalise,
)
from .settings import EventSettings

__all__ = [
    "ACCEPTED",
    "DEDUPLICATED",
    "REJECTED",
    "DedupHit",
    "Deduplicator",
    "EventProcessor",
    "EventSettings",
    "FormatMatcher",
    "ProcessResult",
    "normalise",
]
