"""DLQ headers written by the runtime are read back by the dlq-consumer; replay argument parsing."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from alpr_core.dlq import parse_entry
from alpr_core.runtime import DeadLetter, Record
from alpr_core.runtime.dlq import dlq_headers

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import replay_dlq


def original() -> Record:
    return Record(
        topic="alpr.events.plates",
        partition=4,
        offset=1234,
        timestamp_ms=1_700_000_000_000,
        key=b"cam-01",
        raw=b"\x00garbage",
        headers=(("trace", b"abc"),),
    )


def test_headers_round_trip_to_entry() -> None:
    letter = DeadLetter(original(), "UnknownSchemaError", "schema id 999 is not in the Schema Registry")
    on_dlq = Record(
        topic="alpr.dlq",
        partition=0,
        offset=7,
        timestamp_ms=None,
        key=b"cam-01",
        raw=b"\x00garbage",
        headers=tuple(dlq_headers(letter, "alpr-storage")),
    )
    entry = parse_entry(on_dlq)
    assert (entry.original_topic, entry.partition, entry.offset) == ("alpr.events.plates", 4, 1234)
    assert (entry.error_type, entry.consumer_group) == ("UnknownSchemaError", "alpr-storage")
    assert entry.headers["trace"] == "abc" and entry.headers["dlq.original.timestamp"] == "1700000000000"
    assert "UnknownSchemaError" in entry.describe()


def test_message_without_origin_keeps_its_own_coordinates() -> None:
    entry = parse_entry(
        Record(topic="alpr.dlq", partition=2, offset=9, timestamp_ms=None, key=None, raw=b"x")
    )
    assert (entry.original_topic, entry.partition, entry.offset, entry.error_type) == (
        "alpr.dlq",
        2,
        9,
        "Unknown",
    )


def test_long_error_messages_are_truncated() -> None:
    headers = dict(dlq_headers(DeadLetter(original(), "ValidationError", "x" * 10_000), "g"))
    assert len(headers["dlq.error.message"]) == 2000


NOW = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", NOW - timedelta(minutes=30)),
        ("2h", NOW - timedelta(hours=2)),
        ("7d", NOW - timedelta(days=7)),
        ("2026-11-22T06:00:00Z", datetime(2026, 11, 22, 6, tzinfo=timezone.utc)),
        ("2026-11-22T06:00:00", datetime(2026, 11, 22, 6, tzinfo=timezone.utc)),
    ],
)
def test_parse_since(text: str, expected: datetime) -> None:
    assert replay_dlq.parse_since(text, now=NOW) == expected


def test_parse_since_rejects_garbage() -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        replay_dlq.parse_since("yesterday")


def test_select_sql_filters_pending_by_default() -> None:
    args = argparse.Namespace(
        since=NOW, error_type="ValidationError", topic=None, id=None, include_replayed=False, limit=5
    )
    sql, params = replay_dlq.select_sql(args)
    assert "error_type = %s" in sql and "replayed_at IS NULL" in sql
    assert params == [NOW, "ValidationError", 5]
