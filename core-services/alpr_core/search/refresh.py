"""Refresh interval of the search indices: long while the consumer catches up, normal once it is live.

A refresh makes new documents searchable and writes a segment; each segment is merged later. While
the consumer works through a backlog (its batches' newest record older than ``catchup_lag_s``, by
Kafka timestamp) nothing is near real time anyway, so the indices refresh every
``catchup_refresh_interval_s`` (fewer, larger segments: -18 % OpenSearch CPU per document in
docs/benchmarks.md, session 5); the first live batch sets the normal interval back. Durability is
not involved: every bulk request is still fsynced to the translog before its offsets are committed.
The setting goes to ``<prefix>-*``, so indices created meanwhile follow; it is applied again every
``catchup_refresh_interval_s`` while catching up (a new month's index starts with the template's
interval), and on the first batch after a start (a consumer killed mid catch-up left it long).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from opensearchpy import OpenSearch
from opensearchpy.exceptions import OpenSearchException

from ..config import SearchSinkSettings

logger = logging.getLogger(__name__)


class RefreshTuner:
    """``observe(newest_ms)`` after each written batch sets the indices' refresh interval."""

    def __init__(
        self,
        client: OpenSearch,
        prefix: str,
        settings: SearchSinkSettings,
        clock: Callable[[], float] = time.time,
    ):
        self._client, self._pattern, self._settings, self._clock = client, f"{prefix}-*", settings, clock
        self._catching_up: bool | None = None  # unknown after a start: the first batch sets it
        self._applied_at = 0.0

    def observe(self, newest_ms: int | None) -> None:
        """``newest_ms``: Kafka timestamp (epoch ms) of the batch's newest record (None: unknown)."""
        now = self._clock()
        catching_up = newest_ms is not None and now - newest_ms / 1000 > self._settings.catchup_lag_s
        interval = self._settings.catchup_refresh_interval_s if catching_up else self._settings.refresh_interval_s
        due = catching_up and now - self._applied_at >= self._settings.catchup_refresh_interval_s
        if catching_up == self._catching_up and not due:
            return
        try:
            self._client.indices.put_settings(
                index=self._pattern, body={"index": {"refresh_interval": f"{round(interval * 1000)}ms"}}
            )
        except OpenSearchException as exc:  # a slower refresh is an optimisation: never fail a batch on it
            logger.warning("search sink: refresh interval of %s not set: %s", self._pattern, exc)
            return
        if catching_up != self._catching_up:
            logger.info(
                "search sink: %s, refresh interval of %s %.0f ms",
                "catching up" if catching_up else "live",
                self._pattern,
                interval * 1000,
            )
        self._catching_up, self._applied_at = catching_up, now
