"""The Avro wire contract: schema files under schemas/, and which schema each topic carries."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import fastavro

SCHEMA_DIR = Path(os.environ.get("ALPR_SCHEMA_DIR", Path(__file__).resolve().parent.parent / "schemas"))

# Topic role (a TopicsSettings field) -> schema file stem. alpr.dlq carries the original raw bytes with
# headers; its structured form (dlq_envelope) is registered under its own subject for exports/replay.
TOPIC_SCHEMAS: dict[str, str] = {
    "plates": "plate_event",
    "vehicles": "vehicle_event",
    "metrics": "system_metric",
    "alerts": "alert_event",
}
DLQ_ENVELOPE_SUBJECT = "alpr.dlq.envelope-value"


def schema_names() -> list[str]:
    return sorted(p.stem for p in SCHEMA_DIR.glob("*.avsc"))


@cache
def schema_str(name: str) -> str:
    """The schema text of ``schemas/<name>.avsc`` (compact JSON)."""
    path = SCHEMA_DIR / f"{name}.avsc"
    try:
        return json.dumps(json.loads(path.read_text(encoding="utf-8")), separators=(",", ":"))
    except FileNotFoundError:
        raise FileNotFoundError(f"no Avro schema {name!r}: expected {path} (set ALPR_SCHEMA_DIR)") from None


@cache
def parsed_schema(name: str) -> Any:
    return fastavro.parse_schema(json.loads(schema_str(name)))


def subject_for_topic(topic: str) -> str:
    """Confluent TopicNameStrategy: the value schema of ``topic`` lives under ``<topic>-value``."""
    return f"{topic}-value"
