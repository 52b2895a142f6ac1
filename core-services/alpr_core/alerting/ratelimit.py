"""Suppression: a cooldown per rule and plate, and a token bucket per channel."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Mapping

from .config import RateLimit


class Cooldowns:
    """Remembers when each key last alerted; ``allow`` says whether it may alert again now."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 200_000):
        self._clock = clock
        self._last: dict[Hashable, tuple[float, float]] = {}
        self._max_keys = max_keys
        self._journal: list[tuple[Hashable, tuple[float, float] | None]] = []

    def allow(self, key: Hashable, cooldown_s: float) -> bool:
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last[0] < last[1]:
            return False
        self._journal.append((key, last))
        self._last[key] = (now, cooldown_s)
        if len(self._last) > self._max_keys:
            self.prune()
        return True

    def commit(self) -> None:
        """Keep the cooldowns started since the last commit/rollback (the batch was stored)."""
        self._journal.clear()

    def rollback(self) -> None:
        """Forget the cooldowns started since the last commit (the batch failed and will be retried)."""
        for key, previous in reversed(self._journal):
            if previous is None:
                self._last.pop(key, None)
            else:
                self._last[key] = previous
        self._journal.clear()

    def seed(self, key: Hashable, age_s: float, cooldown_s: float) -> None:
        """Restore a cooldown after a restart: ``key`` alerted ``age_s`` seconds ago."""
        self._last[key] = (self._clock() - age_s, cooldown_s)

    def prune(self) -> None:
        now = self._clock()
        self._last = {k: v for k, v in self._last.items() if now - v[0] < v[1]}

    def __len__(self) -> int:
        return len(self._last)


class TokenBucket:
    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic):
        self._rate_per_s = limit.per_minute / 60.0
        self._capacity = float(limit.burst)
        self._tokens = float(limit.burst)
        self._clock = clock
        self._at = clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(self._capacity, self._tokens + (now - self._at) * self._rate_per_s)
            self._at = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False


class ChannelLimiter:
    """One bucket per channel that has a limit; channels without one are never limited."""

    def __init__(self, limits: Mapping[str, RateLimit], clock: Callable[[], float] = time.monotonic):
        self._buckets = {name: TokenBucket(limit, clock) for name, limit in limits.items()}

    def allow(self, channel: str) -> bool:
        bucket = self._buckets.get(channel)
        return bucket is None or bucket.take()
