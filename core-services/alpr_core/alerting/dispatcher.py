"""Delivery of notifications: a worker pool, retries with backoff, then the dead-letter queue.

``dispatch`` returns at once; each (alert, action) is tried on a worker thread. A retryable failure is
scheduled again after ``retry.delays_s[n]`` (5 s, 10 s, 20 s by default) without holding a worker; a
permanent failure, or the last retry failing, hands the notification to the dead-letter sink
(alpr.dlq). Every final outcome is reported to ``on_outcome`` (the alert history).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from .alert import Alert
from .channels.base import Channel, ChannelError
from .config import ActionSpec, RetrySettings
from .metrics import AlertMetrics
from .ratelimit import ChannelLimiter

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    channel: str
    status: str  # sent, failed, suppressed
    attempts: int
    detail: str

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.status == "sent",
            "status": self.status,
            "attempts": self.attempts,
            "detail": self.detail[:500],
        }


class DeadLetterSink(Protocol):
    def send(self, alert: Alert, action: ActionSpec, error: str, attempts: int) -> None: ...


class _Scheduler:
    """Runs callbacks after a delay on one timer thread (retries wait here, not on a worker)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._cv = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="alert-retry", daemon=True)
        self._thread.start()

    def call_later(self, delay_s: float, fn: Callable[[], None]) -> None:
        with self._cv:
            heapq.heappush(self._heap, (time.monotonic() + delay_s, next(self._seq), fn))
            self._cv.notify()

    def _loop(self) -> None:
        while True:
            with self._cv:
                while not self._closed and (not self._heap or self._heap[0][0] > time.monotonic()):
                    self._cv.wait(None if not self._heap else max(0.0, self._heap[0][0] - time.monotonic()))
                if self._closed:
                    return
                _, _, fn = heapq.heappop(self._heap)
            fn()

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._cv.notify()


class Dispatcher:
    def __init__(
        self,
        channels: Mapping[str, Channel],
        retry: RetrySettings,
        dead_letters: DeadLetterSink,
        metrics: AlertMetrics,
        limiter: ChannelLimiter | None = None,
        on_outcome: Callable[[Alert, Outcome], None] | None = None,
    ):
        self._channels = channels
        self._delays = list(retry.delays_s)
        self._dead = dead_letters
        self._metrics = metrics
        self._limiter = limiter or ChannelLimiter({})
        self._on_outcome = on_outcome
        self._pool = ThreadPoolExecutor(max_workers=retry.workers, thread_name_prefix="alert-send")
        self._scheduler = _Scheduler()
        self._pending = 0
        self._idle = threading.Condition()

    def dispatch(self, alert: Alert, actions: Sequence[ActionSpec]) -> None:
        for action in actions:
            if not self._limiter.allow(action.channel):
                self._metrics.suppressed.labels("rate_limit").inc()
                logger.info("alert %s: %s rate-limited, not sent", alert.alert_id, action.channel)
                self._report(alert, Outcome(action.channel, "suppressed", 0, "channel rate limit"))
                continue
            self._begin()
            self._pool.submit(self._attempt, alert, action, 1)

    def _attempt(self, alert: Alert, action: ActionSpec, attempt: int) -> None:
        try:
            channel = self._channels.get(action.channel)
            if channel is None:
                raise ChannelError(f"unknown channel {action.channel}", retryable=False)
            delivery = channel.send(alert, action)
        except Exception as exc:
            self._failed(alert, action, attempt, exc)
            return
        self._metrics.sent.labels(action.channel).inc()
        logger.info(
            "alert %s: %s delivered (attempt %d, %s)",
            alert.alert_id,
            action.channel,
            attempt,
            delivery.detail,
        )
        self._report(alert, Outcome(action.channel, "sent", attempt, delivery.detail))
        self._end()

    def _failed(self, alert: Alert, action: ActionSpec, attempt: int, exc: Exception) -> None:
        retryable = isinstance(exc, ChannelError) and exc.retryable
        if retryable and attempt <= len(self._delays):
            delay = self._delays[attempt - 1]
            logger.warning(
                "alert %s: %s attempt %d failed (%s); retry in %.1fs",
                alert.alert_id,
                action.channel,
                attempt,
                exc,
                delay,
            )
            self._scheduler.call_later(delay, lambda: self._resubmit(alert, action, attempt + 1))
            return
        self._metrics.failed.labels(action.channel).inc()
        logger.error(
            "alert %s: %s failed after %d attempt(s): %s; to the DLQ",
            alert.alert_id,
            action.channel,
            attempt,
            exc,
        )
        try:
            self._dead.send(alert, action, f"{type(exc).__name__}: {exc}", attempt)
        except Exception:
            logger.exception("alert %s: dead letter for %s not written", alert.alert_id, action.channel)
        self._report(alert, Outcome(action.channel, "failed", attempt, str(exc)))
        self._end()

    def _resubmit(self, alert: Alert, action: ActionSpec, attempt: int) -> None:
        try:
            self._pool.submit(self._attempt, alert, action, attempt)
        except RuntimeError:  # pool shut down
            self._end()

    def _report(self, alert: Alert, outcome: Outcome) -> None:
        if self._on_outcome is not None:
            try:
                self._on_outcome(alert, outcome)
            except Exception:
                logger.exception("alert %s: outcome of %s not recorded", alert.alert_id, outcome.channel)

    def _begin(self) -> None:
        with self._idle:
            self._pending += 1

    def _end(self) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()

    def drain(self, timeout_s: float = 60.0) -> bool:
        """Wait until every notification is delivered or dead-lettered; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout_s)

    def close(self, timeout_s: float = 5.0) -> None:
        self.drain(timeout_s)
        self._scheduler.close()
        self._pool.shutdown(wait=True, cancel_futures=True)
        for channel in self._channels.values():
            channel.close()
