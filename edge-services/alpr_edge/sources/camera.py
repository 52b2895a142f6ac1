"""One thread per camera: open, read, pace, hand frames over, reconnect with exponential backoff."""

from __future__ import annotations

import hashlib
import logging
import threading
import time

import numpy as np

from ..pipeline_config import SourceSettings
from ..types import Frame
from .base import CameraState, CameraStats, FrameSource, SourceError
from .buffer import FrameBuffer

logger = logging.getLogger(__name__)

PUT_TIMEOUT_S = 0.5
STABLE_STREAM_S = 30.0  # a stream that ran this long resets the reconnect backoff


def _fingerprint(image: np.ndarray) -> bytes:
    return hashlib.blake2b(np.ascontiguousarray(image[::16, ::16]).tobytes(), digest_size=16).digest()


class CameraThread(threading.Thread):
    """Runs ``source`` until it ends or ``stop()``; frames go to ``buffer`` (closed when the thread ends).

    Live sources (RTSP, USB) never end: a failed open, a drop or a frozen stream sets the camera OFFLINE
    and it reconnects after 1, 2, 4... s (capped). Files that cannot be read set FAILED, never raise.
    """

    def __init__(self, camera_id: str, source: FrameSource, buffer: FrameBuffer,
                 settings: SourceSettings | None = None, max_fps: float | None = None):
        super().__init__(name=f"camera-{camera_id}", daemon=True)
        self.camera_id, self.source, self.buffer = camera_id, source, buffer
        self.settings = settings or SourceSettings()
        self.max_fps = max_fps
        self.stats = CameraStats(camera_id, self.settings.stats_window_s)
        self._stop_event = threading.Event()
        self._frame_number = 0
        self._last_handed_s = 0.0

    def stop(self) -> None:
        self._stop_event.set()
        self.buffer.close()

    def run(self) -> None:
        try:
            self._loop()
        except Exception as exc:  # a bug or decoder crash must not take the other cameras down
            logger.exception("camera=%s thread failed", self.camera_id)
            self._set_state(CameraState.FAILED, f"{type(exc).__name__}: {exc}")
        finally:
            self.source.close()
            if self._stop_event.is_set():
                self._set_state(CameraState.STOPPED)
            self.buffer.close()

    def _loop(self) -> None:
        """Open, read until the stream drops, wait the backoff, reopen (live sources only)."""
        s = self.settings
        backoff = s.reconnect_initial_backoff_s
        while not self._stop_event.is_set():
            if self._open():
                started = time.monotonic()
                self._read_until_drop()
                self.source.close()
                if not self.source.live or self._stop_event.is_set():
                    if not self._stop_event.is_set():
                        self._set_state(CameraState.FINISHED)
                    return
                self.stats.count(reconnects=1)
                if time.monotonic() - started > STABLE_STREAM_S:  # it worked for a while: start over
                    backoff = s.reconnect_initial_backoff_s
            elif not self.source.live:
                return
            logger.info("camera=%s reconnecting in %.1f s", self.camera_id, backoff)
            self._wait(backoff)
            backoff = min(backoff * 2, s.reconnect_max_backoff_s)

    def _open(self) -> bool:
        try:
            self.source.open()
        except SourceError as exc:
            live = self.source.live
            self._set_state(CameraState.OFFLINE if live else CameraState.FAILED, str(exc))
            return False
        self._set_state(CameraState.ONLINE)
        return True

    def _read_until_drop(self) -> None:
        """Read frames until the stream ends, drops, freezes or we are stopped."""
        pace = None if self.settings.as_fast_as_possible and not self.source.live else self._pace_fps()
        start, n_paced = time.monotonic(), 0
        last_print, frozen_since = b"", None
        while not self._stop_event.is_set():
            image = self.source.read()
            if image is None:
                if self.source.live:
                    self._set_state(CameraState.OFFLINE, "stream dropped (read failed)")
                return
            if self.source.live:
                fingerprint = _fingerprint(image)
                now = time.monotonic()
                frozen_since = (frozen_since or now) if fingerprint == last_print else None
                last_print = fingerprint
                if frozen_since and now - frozen_since > self.settings.frozen_stream_timeout_s:
                    self._set_state(CameraState.OFFLINE, "stream frozen (identical frames)")
                    return
            self.stats.frame()
            if pace and not self.source.live:
                n_paced += 1
                self._wait(start + n_paced / pace - time.monotonic())
            elif pace and self.stats.frames_read > 1 and self._too_soon(pace):
                continue
            self._hand_over(image)

    def _pace_fps(self) -> float | None:
        native = self.source.fps
        if self.max_fps and native:
            return min(self.max_fps, native)
        return self.max_fps or (None if self.source.live else native)

    def _too_soon(self, fps: float) -> bool:
        now = time.monotonic()
        if now - self._last_handed_s < 1.0 / fps:
            return True
        self._last_handed_s = now
        return False

    def _hand_over(self, image: np.ndarray) -> None:
        self._frame_number += 1
        frame = Frame(self.camera_id, image, self._frame_number, time.time())
        while not self._stop_event.is_set():
            dropped = self.buffer.put(frame, timeout_s=PUT_TIMEOUT_S)
            if self.buffer.drop_oldest or not dropped:
                self.stats.count(dropped=dropped)
                return

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self._stop_event.wait(seconds)

    def _set_state(self, state: CameraState, error: str | None = None) -> None:
        if self.stats.set_state(state, error):
            level = logging.WARNING if state in (CameraState.OFFLINE, CameraState.FAILED) else logging.INFO
            reason = f" reason={error}" if error else ""
            logger.log(level, "camera=%s state=%s%s", self.camera_id, state.value, reason)
