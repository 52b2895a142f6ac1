"""Outages against the local stack: Kafka stopped under a running producer, kill -9 of the publishing
process, MinIO stopped while crops are stored. Servers are always restarted (finally) and waited for."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
from test_delivery_support import (
    bench,
    consume,
    create_topic,
    delete_topic,
    image_service,
    plate_texts,
    server_stopped,
    stack_state,
)

from alpr_edge.publishing import SqliteOutbox
from alpr_edge.types import PlateRead
from tests.waiting import wait_until

pytestmark = pytest.mark.integration


def require_managed(name: str) -> None:
    state = stack_state(name)
    if state != "healthy":
        pytest.skip(f"{name} is {state}: the outage test needs a healthy server managed by scripts/stack")


@pytest.fixture
def topic(kafka_bootstrap: str):
    name = create_topic(kafka_bootstrap)
    yield name
    delete_topic(kafka_bootstrap, name)


def test_kafka_outage_loses_nothing_and_duplicates_nothing(tmp_path: Path, kafka_bootstrap: str,
                                                           schema_registry_url: str, topic: str) -> None:
    """One outage, two producers of 1,000 events each through the same code: ``steady`` keeps librdkafka's
    default-sized message.timeout.ms (longer than the outage: librdkafka's idempotent retries), ``expiring``
    has 5 s, so its queued messages expire during the outage and must be sent again from the outbox."""
    require_managed("kafka")
    expiring_topic = create_topic(kafka_bootstrap)
    procs = {}
    for name, t, timeout_ms in (("steady", topic, "120000"), ("expiring", expiring_topic, "5000")):
        procs[name] = bench("produce", "--topic", t, "--outbox", str(tmp_path / f"{name}.sqlite3"), "--count",
                            "1000", "--rate", "25", "--no-dedup", "--message-timeout-ms", timeout_ms,
                            "--timeout-s", "300", "--progress", str(tmp_path / f"{name}.progress"),
                            log=tmp_path / f"{name}.log")
    try:
        for name in procs:  # 1,000 events at 25/s: 40 s; the outage starts once both are producing
            progress = tmp_path / f"{name}.progress"
            assert wait_until(lambda p=progress: p.exists() and len(p.read_text().split()) >= 50, 120)
        with server_stopped("kafka"):
            time.sleep(12)  # > 5 s: the expiring producer's queued messages time out
            assert all(p.poll() is None for p in procs.values())  # both keep running
        for name, proc in procs.items():
            assert proc.wait(timeout=300) == 0, (tmp_path / f"{name}.log").read_text()[-3000:]
        logs = {name: (tmp_path / f"{name}.log").read_text() for name in procs}
        assert all("Kafka unreachable" in text for text in logs.values())  # both saw the outage
        assert "_MSG_TIMED_OUT" in logs["expiring"]  # the expiry path was exercised
        for name, t in (("steady", topic), ("expiring", expiring_topic)):
            got = consume(kafka_bootstrap, t, schema_registry_url, expected=1000, timeout_s=120, settle_s=3)
            ids = Counter(v["event_id"] for _, v in got)
            assert len(ids) == 1000, f"{name}: {len(ids)} distinct events of 1000"
            assert {v["plate"]["normalized_text"] for _, v in got} == set(plate_texts(range(1000)))
            if name == "steady":
                assert max(ids.values()) == 1, f"{name}: {sum(ids.values())} messages for 1000 events"
            else:  # an expired message may have been written before the broker stopped: same event_id
                print(f"{name}: {sum(ids.values()) - len(ids)} re-sent duplicate(s) of the same event_id")
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
        delete_topic(kafka_bootstrap, expiring_topic)


def test_kill_9_mid_stream_loses_nothing(tmp_path: Path, kafka_bootstrap: str, schema_registry_url: str,
                                         topic: str) -> None:
    outbox, progress, log = tmp_path / "outbox.sqlite3", tmp_path / "progress.txt", tmp_path / "producer.log"
    proc = bench("produce", "--topic", topic, "--outbox", str(outbox), "--count", "5000", "--rate", "400",
                 "--linger-ms", "1500", "--no-dedup", "--progress", str(progress), log=log)
    try:
        assert wait_until(lambda: progress.exists() and len(progress.read_text().split()) >= 800, 120,
                          f"800 stored events (producer log {log})"), \
            log.read_text()[-3000:]
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    stored = [int(x) for x in progress.read_text().split("\n") if x.strip().isdigit()]
    left = SqliteOutbox(outbox).depth
    print(f"kill -9 after {len(stored)} stored reads; {left} event(s) left in the outbox for the restart")
    assert left > 0  # linger 1.5 s: the kill always catches stored, unacknowledged events
    drain = bench("drain", "--topic", topic, "--outbox", str(outbox), log=log)
    assert drain.wait(timeout=180) == 0, log.read_text()[-3000:]
    got = consume(kafka_bootstrap, topic, schema_registry_url, expected=len(stored), timeout_s=120,
                  settle_s=3)
    ids_by_plate: dict[str, set[str]] = defaultdict(set)
    for _, v in got:
        ids_by_plate[v["plate"]["normalized_text"]].add(v["event_id"])
    missing = [i for t, i in plate_texts(stored).items() if t not in ids_by_plate]
    assert not missing, f"{len(missing)} stored event(s) lost (outbox held {left} at the kill)"
    assert all(len(ids) == 1 for ids in ids_by_plate.values())  # duplicates only with the same event_id
    assert SqliteOutbox(outbox).depth == 0


def test_minio_outage_crops_are_uploaded_afterwards(tmp_path: Path, minio_client) -> None:
    require_managed("minio")
    bucket = f"it-spool-{uuid.uuid4().hex[:8]}"
    images = image_service(tmp_path, bucket, spool_retry_interval_s=1.0, upload_attempts=2,
                           backoff_initial_s=0.2)
    crop = np.full((30, 100, 3), 90, np.uint8)
    read = PlateRead(camera_id="cam-9", track_id=1, text="SPOOL1", confidence=0.9, char_confidences=(),
                     candidates=(), plate_bbox=(0.0, 0.0, 1.0, 1.0), first_seen_s=time.time(),
                     last_seen_s=time.time(), frame_number=1, read_count=1, quality_score=0.5,
                     plate_crop=crop)
    try:
        with server_stopped("minio"):
            urls = [images.store(read, f"ev-{i}")["plate_url"] for i in range(10)]
            wait_until(lambda: images.metrics.uploads.labels("failed")._value.get() >= 10, 120,
                       "10 failed uploads")  # every upload tried and failed against the stopped store
            assert images.pending() == 10  # waiting in the spool, nothing lost
        assert images.wait_idle(120), f"{images.pending()} upload(s) still pending"
        for url in urls:
            assert minio_client.stat_object(bucket, url.split("/", 3)[3]).size > 0
    finally:
        images.close(1)
        if minio_client.bucket_exists(bucket):
            for obj in minio_client.list_objects(bucket, recursive=True):
                minio_client.remove_object(bucket, obj.object_name)
            minio_client.remove_bucket(bucket)
