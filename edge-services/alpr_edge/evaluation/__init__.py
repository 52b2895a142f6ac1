"""Scoring the edge on labelled data: video passages (labels CSV) against the finished events of a run."""

from .capture import EventCapture, event_from, offline_delivery_config
from .labels import LabelError, Passage, load_passages, segment_cuts
from .passages import (
    DUPLICATE,
    MISSED,
    NOT_REQUIRED,
    READ,
    READ_ANYWAY,
    WRONG_PLATE,
    FalseEvent,
    FinishedEvent,
    PassageResult,
    PassageScore,
    score,
    table_lines,
)

__all__ = [
    "DUPLICATE",
    "MISSED",
    "NOT_REQUIRED",
    "READ",
    "READ_ANYWAY",
    "WRONG_PLATE",
    "EventCapture",
    "FalseEvent",
    "FinishedEvent",
    "LabelError",
    "Passage",
    "PassageResult",
    "PassageScore",
    "event_from",
    "load_passages",
    "offline_delivery_config",
    "score",
    "segment_cuts",
    "table_lines",
]
