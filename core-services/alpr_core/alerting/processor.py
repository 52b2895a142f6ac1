"""From plate events to alerts: evaluate, apply cooldowns, store + publish, then notify.

:class:`AlertSink` is the consumer-runtime sink (``write(batch)``): it returns once the batch's alerts
are in the `alerts` table and on alpr.alerts, so the runtime commits offsets only after that.
Notifications are handed to the dispatcher after the commit of the alert rows and run in the
background (a slow SMTP server does not hold the partition).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from .alert import Alert
from .config import ActionSpec
from .dispatcher import Dispatcher
from .metrics import AlertMetrics
from .ratelimit import Cooldowns
from .rules import EventView, RuleEngine

logger = logging.getLogger(__name__)


class AlertRepository(Protocol):
    def insert(
        self, alerts: Sequence[Alert], before_commit: Callable[[list[Alert]], None]
    ) -> list[Alert]: ...


class EngineSource(Protocol):
    def refresh(self) -> RuleEngine: ...


class AlertProcessor:
    """``process(records)`` is the one main method; it returns the alerts raised (new ones only)."""

    def __init__(
        self,
        rules: EngineSource,
        dispatcher: Dispatcher,
        metrics: AlertMetrics,
        repository: AlertRepository | None = None,
        publish: Callable[[list[Alert]], None] | None = None,
        cooldowns: Cooldowns | None = None,
        alert_on_preview: bool = True,
    ):
        self._rules = rules
        self._dispatcher = dispatcher
        self._metrics = metrics
        self._repository = repository
        self._publish = publish
        self.cooldowns = cooldowns or Cooldowns()
        self._alert_on_preview = alert_on_preview

    def process(self, records: Iterable[Mapping[str, Any]]) -> list[Alert]:
        engine = self._rules.refresh()
        raised: list[tuple[Alert, list[ActionSpec]]] = []
        try:
            for rec in records:
                raised.extend(self._evaluate(engine, EventView.from_record(rec)))
            new = self._store([a for a, _ in raised])
        except Exception:
            self.cooldowns.rollback()
            raise
        self.cooldowns.commit()
        fresh = {a.alert_id for a in new}
        for alert, actions in raised:
            if alert.alert_id in fresh:
                self._metrics.triggered.labels(alert.rule_name).inc()
                logger.info(
                    "alert %s: rule %s, plate %s, camera %s, event %s",
                    alert.alert_id,
                    alert.rule_name,
                    alert.plate,
                    alert.camera_id,
                    alert.event_id,
                )
                self._dispatcher.dispatch(alert, actions)
        return new

    def _evaluate(self, engine: RuleEngine, ev: EventView) -> list[tuple[Alert, list[ActionSpec]]]:
        self._metrics.events.inc()
        if ev.preview and not self._alert_on_preview:
            return []
        started = time.perf_counter()
        matches = engine.evaluate(ev)
        self._metrics.duration.observe(time.perf_counter() - started)
        out = []
        for m in matches:
            if not self.cooldowns.allow(m.cooldown_key, m.rule.spec.cooldown_s):
                self._metrics.suppressed.labels("cooldown").inc()
                logger.debug(
                    "rule %s: %s in cooldown (event %s)", m.rule.name, m.cooldown_key[1], ev.event_id
                )
                continue
            out.append((Alert.from_match(m), list(m.rule.actions)))
        return out

    def _store(self, alerts: list[Alert]) -> list[Alert]:
        if not alerts:
            return []
        if self._repository is None:
            if self._publish is not None:
                self._publish(alerts)
            return alerts
        return self._repository.insert(alerts, before_commit=self._publish or (lambda _new: None))


class AlertSink:
    """The consumer-runtime sink of the alert engine (``alpr_core.runtime.BatchSink``)."""

    def __init__(self, processor: AlertProcessor, on_close: Sequence[Callable[[], None]] = ()):
        self._processor = processor
        self._on_close = list(on_close)

    def write(self, batch: Sequence[Any]) -> None:
        self._processor.process(r.value for r in batch if r.value is not None)

    def close(self) -> None:
        for fn in self._on_close:
            try:
                fn()
            except Exception:
                logger.exception("alert sink: close step failed")
