"""Frame source interface, camera state and per-camera statistics."""

from __future__ import annotations

import enum
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Protocol

import numpy as np

_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")


def redact_url(url: str) -> str:
    """``rtsp://user:secret@host/x`` -> ``rtsp://***@host/x`` (for logs and errors)."""
    return _CREDENTIALS.sub("***@", url)


class SourceError(Exception):
    """A source cannot be opened or read (missing file, unreachable stream, unknown device)."""


class CameraState(enum.Enum):
    STARTING = "starting"
    ONLINE = "online"
    OFFLINE = "offline"  # live source down; reconnecting with backoff
    FINISHED = "finished"  # a file or folder reached its end
    FAILED = "failed"  # cannot work (unreadable file): not retried
    STOPPED = "stopped"


class FrameSource(Protocol):
    """One camera's decoder. ``read`` returns a BGR frame, or None at the end of the stream or on a drop."""

    live: bool  # network or device: reconnect on failure, drop old frames
    fps: float | None  # native frame rate when known

    def open(self) -> None: ...

    def read(self) -> np.ndarray | None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class CameraStatsSnapshot:
    camera_id: str
    state: CameraState
    state_since_s: float
    fps_in: float
    frames_read: int
    frames_dropped: int
    reconnects: int
    read_errors: int
    last_error: str | None


class CameraStats:
    """Thread-safe counters of one camera, updated by its thread, read by anyone."""

    def __init__(self, camera_id: str, window_s: float = 5.0):
        self.camera_id = camera_id
        self._window_s = window_s
        self._lock = threading.Lock()
        self._times: deque[float] = deque()
        self.state, self.state_since_s = CameraState.STARTING, time.time()
        self.frames_read = self.frames_dropped = self.reconnects = self.read_errors = 0
        self.last_error: str | None = None

    def set_state(self, state: CameraState, error: str | None = None) -> bool:
        """Change state; True when it changed (callers log transitions)."""
        with self._lock:
            if error:
                self.last_error = error
            if state == self.state:
                return False
            self.state, self.state_since_s = state, time.time()
            return True

    def frame(self) -> None:
        now = time.monotonic()
        with self._lock:
            self.frames_read += 1
            self._times.append(now)
            while self._times and now - self._times[0] > self._window_s:
                self._times.popleft()

    def count(self, dropped: int = 0, reconnects: int = 0, read_errors: int = 0) -> None:
        with self._lock:
            self.frames_dropped += dropped
            self.reconnects += reconnects
            self.read_errors += read_errors

    def snapshot(self) -> CameraStatsSnapshot:
        with self._lock:
            times = self._times
            span = times[-1] - times[0] if len(times) > 1 else 0.0
            fps = (len(times) - 1) / span if span > 0 else 0.0
            return CameraStatsSnapshot(
                self.camera_id, self.state, self.state_since_s, round(fps, 2), self.frames_read,
                self.frames_dropped, self.reconnects, self.read_errors, self.last_error)
