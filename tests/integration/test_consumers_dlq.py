"""Poison input goes to the DLQ topic and dlq_messages with the right error type; replay after a fix."""

from __future__ import annotations

import io
import os
import struct
import subprocess
from datetime import datetime, timedelta, timezone

import fastavro
import pytest

from alpr_common.schemas import parsed_schema
from tests.factories import plate_event
from tests.integration.test_consumers_support import (
    BIN,
    PG_DSN,
    ROOT,
    ConsumerProcess,
    consumer_env,
    encode_events,
    free_port,
    produce,
    read_all,
    require,
    stored,
    topics,
    unique,
    wait_until,
)

pytestmark = pytest.mark.integration
EXPECTED_TYPES = {
    "random": "DeserializationError",
    "unknown-id": "UnknownSchemaError",
    "invalid": "ValidationError",
}


@pytest.fixture(autouse=True)
def _stack() -> None:
    require((9092, "Kafka"), (8081, "Schema Registry"), (5432, "PostgreSQL"))


def unknown_schema_id_message() -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, parsed_schema("plate_event"), plate_event())
    return b"\x00" + struct.pack(">I", 987_654_321) + buf.getvalue()


def dlq_rows(topic: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        return conn.execute(
            'SELECT id, error_type, "offset", consumer_group, headers, payload, replayed_at '
            'FROM dlq_messages WHERE original_topic = %s ORDER BY "offset"',
            (topic,),
        ).fetchall()


def test_poison_messages_reach_the_dlq_and_a_fixed_one_is_replayed() -> None:
    topic, dlq = unique("test.plates"), unique("test.dlq")
    group = unique("g-storage")
    good = [plate_event(plate=f"P{i:03d}") for i in range(6)]
    invalid = plate_event(plate="", captured_at=datetime.now(timezone.utc) + timedelta(days=3650))
    invalid["plate"]["normalized_text"] = ""
    storage_port, dlq_port = free_port(), free_port()
    storage = ConsumerProcess(
        "alpr-storage-consumer",
        consumer_env("STORAGE_CONSUMER", topic, dlq, group, storage_port),
        f"storage-poison-{topic}",
    )
    dlq_consumer = ConsumerProcess(
        "alpr-dlq-consumer",
        consumer_env("DLQ_CONSUMER", topic, dlq, unique("g-dlq"), dlq_port),
        f"dlq-poison-{topic}",
    )
    with topics((topic, 1), (dlq, 1)):
        enc = encode_events(topic, [*good, invalid])
        poison = {
            "random": (b"cam-x", os.urandom(64)),
            "unknown-id": (b"cam-y", unknown_schema_id_message()),
            "invalid": enc[-1],
        }
        produce(
            topic,
            [
                enc[0],
                enc[1],
                poison["random"],
                enc[2],
                poison["unknown-id"],
                enc[3],
                poison["invalid"],
                enc[4],
                enc[5],
            ],
        )
        storage.start()
        dlq_consumer.start()
        try:
            ids = [e["event_id"] for e in good]
            wait_until(lambda: stored(ids) == len(ids), 60, "the valid events around the poison")
            rows = wait_until(
                lambda: len(dlq_rows(topic)) == 3 and dlq_rows(topic), 60, "3 rows in dlq_messages"
            )
            assert [r[1] for r in rows] == [EXPECTED_TYPES[k] for k in ("random", "unknown-id", "invalid")]
            assert [r[2] for r in rows] == [2, 4, 6] and {r[3] for r in rows} == {group}
            assert bytes(rows[0][5]) == poison["random"][1] and bytes(rows[1][5]) == poison["unknown-id"][1]
            assert (
                rows[2][4]["dlq.original.topic"] == topic and "empty plate" in rows[2][4]["dlq.error.message"]
            )
            on_topic = read_all(dlq, 3)
            assert sorted(dict(m.headers())["dlq.error.class"].decode() for m in on_topic) == sorted(
                EXPECTED_TYPES.values()
            )
            assert dlq_consumer.metric(dlq_port, "alpr_dlq_messages_total") == 3
            assert storage.metric(storage_port, "alpr_consumer_dlq_records_total") == 3

            fixed = {
                **invalid,
                "captured_at": datetime.now(timezone.utc).replace(microsecond=0),
                "plate": {**invalid["plate"], "text": "FIX123", "normalized_text": "FIX123"},
            }
            replay_fixed(rows[2][0], encode_events(topic, [fixed])[0][1], topic)
            wait_until(lambda: stored([fixed["event_id"]]) == 1, 60, "the replayed, fixed event stored")
            assert dlq_rows(topic)[2][6] is not None, "replayed_at not set"
            assert len(dlq_rows(topic)) == 3, "the fixed message must not come back to the DLQ"
        finally:
            storage.stop()
            dlq_consumer.stop()


def replay_fixed(row_id: int, payload: bytes, topic: str) -> None:
    """The operator's fix: correct the stored payload, then run the replay tool for that error type."""
    import psycopg

    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute("UPDATE dlq_messages SET payload = %s WHERE id = %s", (payload, row_id))
    env = {
        **os.environ,
        "ALPR_DATABASE__HOST": "127.0.0.1",
        "ALPR_KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:9092",
    }
    result = subprocess.run(
        [
            str(BIN / "python"),
            str(ROOT / "scripts" / "replay_dlq.py"),
            "--since",
            "10m",
            "--error-type",
            "ValidationError",
            "--topic",
            topic,
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "replayed 1 of 1" in result.stderr, result.stderr
