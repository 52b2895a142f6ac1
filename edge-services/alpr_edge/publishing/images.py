"""Crops to the object store: local copy, durable spool, thread-pool uploads with retries, retention.

``store(read, event_id)`` writes the images under ``local_dir/YYYY-MM-DD/``, records one spool entry per
image (a small JSON file naming the local file, the object key and its metadata) and queues the upload;
it returns the ``s3://bucket/key`` URLs at once, so the event does not wait for MinIO. An upload is
tried ``upload_attempts`` times with exponential backoff; after that it waits in the spool, which is
retried every ``spool_retry_interval_s`` (and at start-up) until the store is back. The bucket is
created private when missing; nothing here changes its policy.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import urllib3
from minio import Minio

from alpr_common.settings import ObjectStoreSettings

from ..types import PlateRead
from .metrics import EdgeMetrics
from .settings import ImageSettings

logger = logging.getLogger(__name__)


def minio_client(store: ObjectStoreSettings, timeout_s: float = 5.0) -> Minio:
    """A MinIO client failing fast (short timeouts, one retry): retries and backoff happen here instead."""
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=timeout_s, read=timeout_s * 3),
        maxsize=16,
        retries=urllib3.Retry(total=1, backoff_factor=0.2),
    )
    return Minio(
        store.endpoint,
        access_key=store.access_key.get_secret_value(),
        secret_key=store.secret_key.get_secret_value(),
        secure=store.secure,
        region=store.region,
        http_client=http,
    )


def _day_end_s(name: str) -> float:
    """End of the UTC day a ``YYYY-MM-DD`` folder stands for (inf for other names)."""
    try:
        start = datetime.strptime(name, "%Y-%m-%d").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return float("inf")
    return start + 86_400


def _write_creating_folder(path: Path, data: bytes) -> None:
    """Write ``path``, creating its folder; once more if the retention cleanup removed the (empty, past-day)
    folder between the two steps (an event dated more than the retention ago, e.g. a wrong camera clock)."""
    for attempt in (1, 2):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.write_bytes(data)
            return
        except FileNotFoundError:
            if attempt == 2:
                raise


def _ascii(value: Any) -> str:
    return str(value).encode("ascii", "replace").decode()


class ImageStorageService:
    """Saves crops locally and uploads them to ``bucket``; ``pending()`` counts uploads not yet done."""

    def __init__(
        self,
        settings: ImageSettings,
        store: ObjectStoreSettings,
        metrics: EdgeMetrics | None = None,
        client: Minio | None = None,
        background: bool = True,
    ):
        """``background``: a thread re-queues spooled uploads and removes expired local images (at start,
        then hourly); without it the owner calls ``cleanup_local`` itself."""
        self.settings = settings
        self.bucket = store.bucket
        self.metrics = metrics or EdgeMetrics()
        self.client = client or minio_client(store)
        self.settings.spool_dir.mkdir(parents=True, exist_ok=True)
        self._pool = ThreadPoolExecutor(max_workers=settings.upload_workers, thread_name_prefix="alpr-upload")
        self._queued: set[str] = set()
        self._lock = threading.Lock()
        self._bucket_ok = False
        self._stop = threading.Event()
        self._retry_thread = threading.Thread(target=self._retry_loop, name="alpr-spool", daemon=True)
        if background:
            self._retry_thread.start()

    def store(self, read: PlateRead, event_id: str, when_s: float | None = None) -> dict[str, str | None]:
        """Save and queue the images of ``read``; returns the ``images`` field of the plate event."""
        urls: dict[str, str | None] = {"plate_url": None, "vehicle_url": None, "frame_url": None}
        if not self.settings.enabled:
            return urls
        when = datetime.fromtimestamp(when_s if when_s is not None else time.time(), tz=timezone.utc)
        images = {
            "plate": read.plate_crop,
            "vehicle": read.vehicle_crop if self.settings.upload_vehicle_crop else None,
            "frame": read.frame if self.settings.upload_frame else None,
        }
        for kind, image in images.items():
            if image is None or not isinstance(image, np.ndarray) or image.size == 0:
                continue
            try:
                urls[f"{kind}_url"] = self._save(read, event_id, kind, image, when)
            except (OSError, cv2.error) as exc:
                logger.error(
                    "camera=%s track=%s cannot save the %s image of event %s: %s",
                    read.camera_id,
                    read.track_id,
                    kind,
                    event_id,
                    exc,
                )
        return urls

    def _save(self, read: PlateRead, event_id: str, kind: str, image: np.ndarray, when: datetime) -> str:
        day = when.strftime("%Y-%m-%d")
        key = f"{day}/{read.camera_id}/{event_id}_{kind}.jpg"
        local = self.settings.local_dir / day / f"{read.camera_id}_{read.track_id}_{event_id}_{kind}.jpg"
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.settings.jpeg_quality])
        if not ok:
            raise OSError("JPEG encoding failed")
        _write_creating_folder(local, buf.tobytes())
        entry = {
            "local_path": str(local),
            "key": key,
            "metadata": {
                "camera-id": _ascii(read.camera_id),
                "track-id": str(read.track_id),
                "event-id": event_id,
                "plate": _ascii(read.text),
                "quality": f"{read.quality_score:.3f}",
                "kind": kind,
            },
        }
        spool = self.settings.spool_dir / f"{event_id}_{kind}.json"
        tmp = spool.with_suffix(".tmp")
        tmp.write_text(json.dumps(entry))
        tmp.replace(spool)
        self._queue(spool)
        return f"s3://{self.bucket}/{key}"

    def _queue(self, spool: Path) -> None:
        with self._lock:
            if spool.name in self._queued:
                return
            self._queued.add(spool.name)
        self.metrics.uploads_pending.set(self.pending())
        self._pool.submit(self._upload, spool)

    def _upload(self, spool: Path) -> None:
        try:
            entry = json.loads(spool.read_text())
            delay = self.settings.backoff_initial_s
            for attempt in range(1, self.settings.upload_attempts + 1):
                if self._try_upload(entry, attempt):
                    spool.unlink(missing_ok=True)
                    self.metrics.uploads.labels("ok").inc()
                    return
                if attempt < self.settings.upload_attempts and not self._stop.wait(delay):
                    delay = min(delay * 2, self.settings.backoff_max_s)
            self.metrics.uploads.labels("failed").inc()
        except (OSError, ValueError) as exc:
            logger.error("spool entry %s is unusable, dropped: %s", spool.name, exc)
            spool.unlink(missing_ok=True)
        finally:
            with self._lock:
                self._queued.discard(spool.name)
            self.metrics.uploads_pending.set(self.pending())

    def _try_upload(self, entry: dict[str, Any], attempt: int) -> bool:
        try:
            if not self._bucket_ok:
                if not self.client.bucket_exists(self.bucket):
                    self.client.make_bucket(self.bucket)
                    logger.info("created private bucket %s", self.bucket)
                self._bucket_ok = True
            self.client.fput_object(
                self.bucket,
                entry["key"],
                entry["local_path"],
                content_type="image/jpeg",
                metadata=entry["metadata"],
            )
        except FileNotFoundError:
            raise
        except Exception as exc:  # network errors, S3 errors: retried, then kept in the spool
            self.metrics.object_store_up.set(0)
            level = logging.WARNING if attempt == self.settings.upload_attempts else logging.DEBUG
            logger.log(
                level,
                "upload of %s failed (attempt %d/%d): %s",
                entry["key"],
                attempt,
                self.settings.upload_attempts,
                exc,
            )
            return False
        self.metrics.object_store_up.set(1)
        return True

    def _retry_loop(self) -> None:
        next_cleanup = 0.0
        while True:
            for spool in sorted(self.settings.spool_dir.glob("*.json")):
                self._queue(spool)
            if time.monotonic() >= next_cleanup:
                self.cleanup_local()
                next_cleanup = time.monotonic() + 3600
            if self._stop.wait(self.settings.spool_retry_interval_s):
                return

    def cleanup_local(self, now_s: float | None = None) -> int:
        """Delete local images older than the retention (not those still waiting to be uploaded)."""
        cutoff = (now_s if now_s is not None else time.time()) - self.settings.retention_days * 86_400
        waiting = {
            json.loads(p.read_text()).get("local_path") for p in self.settings.spool_dir.glob("*.json")
        }
        removed = 0
        for path in self.settings.local_dir.glob("*/*.jpg"):
            try:
                if path.stat().st_mtime < cutoff and str(path) not in waiting:
                    path.unlink()
                    removed += 1
            except OSError:
                continue
        for day in self.settings.local_dir.glob("*"):
            if _day_end_s(day.name) < cutoff and day.is_dir() and not any(day.iterdir()):
                day.rmdir()  # only past days: today's folder may be in use
        if removed:
            logger.info(
                "removed %d local image(s) older than %s day(s)", removed, self.settings.retention_days
            )
        return removed

    def pending(self) -> int:
        return sum(1 for _ in self.settings.spool_dir.glob("*.json"))

    def wait_idle(self, timeout_s: float) -> bool:
        """Block until the spool is empty (True) or ``timeout_s`` passes (False)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.pending() == 0:
                return True
            time.sleep(0.1)
        return self.pending() == 0

    def close(self, timeout_s: float = 10.0) -> None:
        """Let queued uploads finish within ``timeout_s``; the rest stays in the spool."""
        self.wait_idle(timeout_s)
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
