"""Hand-off between a camera thread and its consumer: latest-frame (drop oldest) or blocking."""

from __future__ import annotations

import collections
import threading

from ..types import Frame


class FrameBuffer:
    """Bounded FIFO of frames. ``drop_oldest`` keeps capture running (live cameras); otherwise ``put`` waits.

    ``close`` wakes everybody; ``get`` then drains what is left and returns None.
    """

    def __init__(self, maxsize: int = 1, drop_oldest: bool = True):
        self.maxsize, self.drop_oldest = maxsize, drop_oldest
        self._items: collections.deque[Frame] = collections.deque()
        self._cond = threading.Condition()
        self._closed = False

    def put(self, frame: Frame, timeout_s: float | None = None) -> int:
        """Add a frame; returns how many frames were dropped (0 or 1). Never blocks when ``drop_oldest``."""
        with self._cond:
            dropped = 0
            if self.drop_oldest:
                if len(self._items) >= self.maxsize:
                    self._items.popleft()
                    dropped = 1
            elif not self._cond.wait_for(lambda: len(self._items) < self.maxsize or self._closed, timeout_s):
                return 1
            if self._closed:
                return 1
            self._items.append(frame)
            self._cond.notify_all()
            return dropped

    def get(self, timeout_s: float | None = None) -> Frame | None:
        """The oldest frame; None when closed and empty, or after ``timeout_s`` without a frame."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._items or self._closed, timeout_s):
                return None
            if not self._items:
                return None
            frame = self._items.popleft()
            self._cond.notify_all()
            return frame

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        return len(self._items)
