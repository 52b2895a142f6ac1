"""Plate crops for email attachments, read from the object store (MinIO/S3) by their s3:// key."""

from __future__ import annotations

import logging
from typing import Any

from alpr_common.settings import ObjectStoreSettings

logger = logging.getLogger(__name__)
MAX_CROP_BYTES = 2 * 1024 * 1024


def split_s3_url(url: str) -> tuple[str, str] | None:
    """``s3://bucket/key`` -> (bucket, key); None for anything else."""
    if not url.startswith("s3://"):
        return None
    bucket, _, key = url[5:].partition("/")
    return (bucket, key) if bucket and key else None


class MinioImageFetcher:
    """``fetch(url)`` returns the object's bytes, or None when the URL is not s3:// or the object is too
    large; errors (missing object, store down) propagate and the email goes without the crop."""

    def __init__(self, settings: ObjectStoreSettings, client: Any = None, max_bytes: int = MAX_CROP_BYTES):
        if client is None:
            from minio import Minio

            client = Minio(
                settings.endpoint,
                access_key=settings.access_key.get_secret_value(),
                secret_key=settings.secret_key.get_secret_value(),
                secure=settings.secure,
                region=settings.region,
            )
        self._client = client
        self._max_bytes = max_bytes

    def fetch(self, url: str) -> bytes | None:
        parts = split_s3_url(url)
        if parts is None:
            return None
        resp = self._client.get_object(*parts)
        try:
            data = resp.read(self._max_bytes + 1)
        finally:
            resp.close()
            resp.release_conn()
        if len(data) > self._max_bytes:
            logger.warning("crop %s larger than %d bytes: not attached", url, self._max_bytes)
            return None
        return bytes(data)
