"""End to end: the edge pipeline (what pilot.py runs) on the shared video with the delivery sink of
``alpr_edge.publishing.build_sink``: plate events a plain consumer decodes with the registered schema,
each with an ``s3://`` key whose object exists in MinIO."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from test_delivery_support import consume, create_topic, delete_topic

from alpr_common.config import load_config
from alpr_edge.config import CameraSettings, EdgeConfig
from alpr_edge.publishing import build_sink, wait_delivered

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("ALPR_SHARED_DIR", ROOT.parent / "shared"))
VIDEO = SHARED / "data" / "video" / "parkpow_cars.mp4"
MODELS = SHARED / "models"


def test_pipeline_on_the_shared_video_publishes_events_with_crops(
        tmp_path: Path, kafka_bootstrap: str, schema_registry_url: str, minio_client) -> None:
    if not VIDEO.exists() or not (MODELS / "cct_xs_v1_global.onnx").exists():
        pytest.skip("shared video or models missing")
    from alpr_edge.pipeline import load_models
    from alpr_edge.pipeline_runner import EdgeRunner, RunOptions

    topic, bucket = create_topic(kafka_bootstrap), f"it-pilot-{uuid.uuid4().hex[:8]}"
    cfg = load_config(EdgeConfig)
    cfg.model_dir = MODELS
    cfg.cameras = [CameraSettings(id="cam-01", source=str(VIDEO))]
    cfg.sources.as_fast_as_possible = True
    cfg.kafka.bootstrap_servers, cfg.kafka.schema_registry_url = kafka_bootstrap, schema_registry_url
    cfg.kafka.topics.plates.name = topic
    cfg.publisher.auto_register_schemas = True
    cfg.publisher.metrics_snapshot_interval_s = 0  # alpr.metrics snapshots: test_delivery.py
    cfg.object_store.endpoint, cfg.object_store.bucket = "127.0.0.1:9000", bucket
    cfg.outbox.path, cfg.outbox.csv_log_path = tmp_path / "outbox.sqlite3", tmp_path / "events.csv"
    cfg.images.local_dir, cfg.images.spool_dir = tmp_path / "crops", tmp_path / "spool"
    cfg.metrics.port = 0
    sink = build_sink(cfg)
    try:
        EdgeRunner(cfg, load_models(cfg), sink, RunOptions(display=False, max_frames=600)).run()
        assert wait_delivered(sink, 120)
        sink.close()
        accepted = sink.processor.counts["accepted"]
        assert accepted >= 1, dict(sink.processor.counts)
        print(f"pipeline reads: {dict(sink.processor.counts)}")
        events = [v for _, v in consume(kafka_bootstrap, topic, schema_registry_url, expected=accepted)]
        assert len({e["event_id"] for e in events}) == accepted
        for event in events:
            url = event["images"]["plate_url"]
            assert url and url.startswith(f"s3://{bucket}/")
            assert minio_client.stat_object(bucket, url.split("/", 3)[3]).size > 0
    finally:
        delete_topic(kafka_bootstrap, topic)
        if minio_client.bucket_exists(bucket):
            for obj in minio_client.list_objects(bucket, recursive=True):
                minio_client.remove_object(bucket, obj.object_name)
            minio_client.remove_bucket(bucket)


def test_pilot_py_command_publishes_decodable_events_with_crops(
        tmp_path: Path, kafka_bootstrap: str, schema_registry_url: str, minio_client) -> None:
    """The real command line: ``python pilot.py --source VIDEO`` with endpoints from the environment."""
    if not VIDEO.exists() or not (MODELS / "cct_xs_v1_global.onnx").exists():
        pytest.skip("shared video or models missing")
    import os
    import subprocess
    import sys

    topic = create_topic(kafka_bootstrap)
    env = {**os.environ, "ALPR_MODEL_DIR": str(MODELS), "ALPR_KAFKA__BOOTSTRAP_SERVERS": kafka_bootstrap,
           "ALPR_KAFKA__SCHEMA_REGISTRY_URL": schema_registry_url, "ALPR_KAFKA__TOPICS__PLATES__NAME": topic,
           "ALPR_PUBLISHER__AUTO_REGISTER_SCHEMAS": "true", "ALPR_METRICS__PORT": "0",
           "ALPR_OBJECT_STORE__ENDPOINT": "127.0.0.1:9000", "ALPR_OUTBOX__PATH": str(tmp_path / "outbox.db"),
           "ALPR_OUTBOX__CSV_LOG_PATH": str(tmp_path / "events.csv"),
           "ALPR_IMAGES__LOCAL_DIR": str(tmp_path / "crops"),
           "ALPR_IMAGES__SPOOL_DIR": str(tmp_path / "spool")}
    try:
        res = subprocess.run([sys.executable, "pilot.py", "--source", str(VIDEO), "--no-display",
                              "--as-fast-as-possible", "--output", str(tmp_path / "reads.csv")],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr[-3000:]
        assert "plate read:" in res.stderr + res.stdout
        reads = (tmp_path / "reads.csv").read_text().splitlines()
        assert len(reads) >= 2  # header + at least one read
        events = [v for _, v in consume(kafka_bootstrap, topic, schema_registry_url, expected=len(reads) - 1)]
        assert events and len({e["event_id"] for e in events}) == len(events)
        for event in events:
            bucket, key = event["images"]["plate_url"].removeprefix("s3://").split("/", 1)
            assert minio_client.stat_object(bucket, key).size > 0
    finally:
        delete_topic(kafka_bootstrap, topic)
