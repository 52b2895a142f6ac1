"""MinIO of the local stack: the private bucket alpr-plate-images (needs `scripts/stack up minio`)."""

from __future__ import annotations

import io
import sys
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

httpx = pytest.importorskip("httpx")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

HOST = "127.0.0.1"
MINIO_PORT = 9000
MINIO_BUCKET = "alpr-plate-images"


def test_bucket_exists(minio_client):
    assert minio_client.bucket_exists(MINIO_BUCKET)


def test_put_get_round_trip(minio_client):
    key = f"it/{uuid.uuid4()}.jpg"
    data = b"\xff\xd8\xff\xe0" + uuid.uuid4().bytes * 64  # JPEG magic + random body
    minio_client.put_object(MINIO_BUCKET, key, io.BytesIO(data), len(data), content_type="image/jpeg")
    try:
        resp = minio_client.get_object(MINIO_BUCKET, key)
        try:
            assert resp.read() == data
        finally:
            resp.close()
            resp.release_conn()
        assert minio_client.stat_object(MINIO_BUCKET, key).content_type == "image/jpeg"
    finally:
        minio_client.remove_object(MINIO_BUCKET, key)


def test_bucket_is_private(minio_client):
    key = f"it/{uuid.uuid4()}.txt"
    minio_client.put_object(MINIO_BUCKET, key, io.BytesIO(b"secret"), 6)
    try:
        base = f"http://{HOST}:{MINIO_PORT}/{MINIO_BUCKET}"
        assert httpx.get(f"{base}/{key}", timeout=10).status_code == 403  # anonymous object read
        assert httpx.get(f"{base}?list-type=2", timeout=10).status_code == 403  # anonymous listing
        assert httpx.put(f"{base}/it/anon.txt", content=b"x", timeout=10).status_code == 403
    finally:
        minio_client.remove_object(MINIO_BUCKET, key)


def test_stack_sigv4_client_is_accepted(minio_client):
    """The stdlib SigV4 signer scripts/stack uses to create the bucket is accepted by MinIO."""
    from stacklib.services.minio import MinIO

    svc = MinIO()
    assert svc.s3("HEAD", f"/{MINIO_BUCKET}") == 200
    assert svc.s3("HEAD", f"/no-such-bucket-{uuid.uuid4().hex[:8]}") == 404
    svc.post_start()  # idempotent on an existing bucket


def test_health_and_metrics_endpoints(minio_client):
    assert httpx.get(f"http://{HOST}:{MINIO_PORT}/minio/health/live", timeout=10).status_code == 200
    # Public metrics for the local Prometheus (MINIO_PROMETHEUS_AUTH_TYPE=public).
    resp = httpx.get(f"http://{HOST}:{MINIO_PORT}/minio/v2/metrics/cluster", timeout=10)
    assert resp.status_code == 200 and "minio_" in resp.text
