"""Cooldowns, channel rate limits, the dispatcher's retries and dead letters, the processor's cooldown."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from alpr_core.alerting.alert import Alert
from alpr_core.alerting.channels.base import ChannelError, Delivery
from alpr_core.alerting.config import ActionSpec, RateLimit, RetrySettings, RuleSet
from alpr_core.alerting.dispatcher import Dispatcher, Outcome
from alpr_core.alerting.fuzzy import ConfusableCosts
from alpr_core.alerting.metrics import AlertMetrics
from alpr_core.alerting.processor import AlertProcessor
from alpr_core.alerting.ratelimit import ChannelLimiter, Cooldowns
from alpr_core.alerting.rules import compile_rules
from tests.factories import plate_event


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class ScriptedChannel:
    """Fails with the scripted errors, then succeeds; records every attempt."""

    name = "webhook"

    def __init__(self, failures: list[ChannelError]):
        self.failures = list(failures)
        self.attempts = 0
        self.delivered: list[str] = []
        self._lock = threading.Lock()

    def send(self, alert: Alert, action: ActionSpec) -> Delivery:
        with self._lock:
            self.attempts += 1
            if self.failures:
                raise self.failures.pop(0)
            self.delivered.append(alert.alert_id)
        return Delivery(self.name, "ok")

    def close(self) -> None:
        pass


class Letters:
    def __init__(self) -> None:
        self.items: list[tuple[str, str, int]] = []

    def send(self, alert: Alert, action: ActionSpec, error: str, attempts: int) -> None:
        self.items.append((alert.alert_id, error, attempts))


class StaticRules:
    def __init__(self, rules: list[dict[str, Any]]):
        self.engine = compile_rules(RuleSet.model_validate({"rules": rules}), {}, ConfusableCosts())

    def refresh(self) -> Any:
        return self.engine


def _sample(registry: CollectorRegistry, name: str, labels: dict[str, str] | None = None) -> float:
    return registry.get_sample_value(name, labels or {}) or 0.0


def _alert() -> Alert:
    rules = StaticRules(
        [{"name": "r", "conditions": {"plates": ["ABC123"]}, "actions": [{"channel": "webhook"}]}]
    )
    from alpr_core.alerting.rules import EventView

    match = rules.engine.evaluate(EventView.from_record(plate_event("ABC123")))[0]
    return Alert.from_match(match)


def test_cooldown_allows_once_per_window_and_rolls_back() -> None:
    clock = Clock()
    cd = Cooldowns(clock)
    assert cd.allow(("r", "ABC123"), 60) and not cd.allow(("r", "ABC123"), 60)
    assert cd.allow(("r", "XYZ789"), 60) and cd.allow(("other", "ABC123"), 60)
    cd.commit()
    clock.t += 61
    assert cd.allow(("r", "ABC123"), 60)
    cd.rollback()  # the batch failed: the new cooldown is forgotten, the old one restored (expired)
    assert cd.allow(("r", "ABC123"), 60)


def test_token_bucket_limits_a_channel_only() -> None:
    clock = Clock()
    limiter = ChannelLimiter({"sms": RateLimit(per_minute=60, burst=2)}, clock)
    assert [limiter.allow("sms") for _ in range(3)] == [True, True, False]
    assert all(limiter.allow("email") for _ in range(100))
    clock.t += 1.0
    assert limiter.allow("sms") and not limiter.allow("sms")


@pytest.mark.parametrize(
    ("failures", "delivered", "attempts", "dead"),
    [
        ([], 1, 1, 0),
        ([ChannelError("503"), ChannelError("503")], 1, 3, 0),
        ([ChannelError("503")] * 4, 0, 4, 1),
        ([ChannelError("400", retryable=False)], 0, 1, 1),
        ([RuntimeError("bug")], 0, 1, 1),
    ],
)
def test_dispatcher_retries_then_dead_letters(
    failures: list[Exception], delivered: int, attempts: int, dead: int
) -> None:
    registry = CollectorRegistry()
    metrics = AlertMetrics(registry)
    channel = ScriptedChannel(failures)  # type: ignore[arg-type]
    letters = Letters()
    outcomes: list[Outcome] = []
    d = Dispatcher(
        {"webhook": channel},
        RetrySettings(delays_s=[0.01, 0.02, 0.04]),
        letters,
        metrics,
        on_outcome=lambda _a, o: outcomes.append(o),
    )
    d.dispatch(_alert(), [ActionSpec(channel="webhook")])
    assert d.drain(10)
    d.close()
    assert (len(channel.delivered), channel.attempts, len(letters.items)) == (delivered, attempts, dead)
    assert len(outcomes) == 1 and outcomes[0].attempts == attempts
    assert outcomes[0].status == ("sent" if delivered else "failed")
    assert _sample(registry, "alpr_notifications_sent_total", {"channel": "webhook"}) == delivered
    assert _sample(registry, "alpr_notifications_failed_total", {"channel": "webhook"}) == dead


def test_rate_limited_notifications_are_counted_not_sent() -> None:
    registry = CollectorRegistry()
    channel = ScriptedChannel([])
    d = Dispatcher(
        {"webhook": channel},
        RetrySettings(delays_s=[]),
        Letters(),
        AlertMetrics(registry),
        ChannelLimiter({"webhook": RateLimit(per_minute=1, burst=1)}),
    )
    for _ in range(3):
        d.dispatch(_alert(), [ActionSpec(channel="webhook")])
    assert d.drain(10)
    d.close()
    assert len(channel.delivered) == 1
    assert _sample(registry, "alpr_alerts_suppressed_total", {"reason": "rate_limit"}) == 2


class MemoryRepository:
    """Stores alerts in a dict keyed like the table's unique constraint."""

    def __init__(self, fail: bool = False):
        self.rows: dict[tuple[str, str], Alert] = {}
        self.fail = fail

    def insert(self, alerts: Any, before_commit: Any) -> list[Alert]:
        if self.fail:
            raise ConnectionError("database down")
        new = [a for a in alerts if (a.event_id, a.rule_name) not in self.rows]
        before_commit(new)
        self.rows.update({(a.event_id, a.rule_name): a for a in new})
        return new


def _processor(
    repo: MemoryRepository, registry: CollectorRegistry, channel: ScriptedChannel
) -> AlertProcessor:
    rules = StaticRules(
        [
            {
                "name": "watch",
                "conditions": {"plates": ["ABC123"], "match": "fuzzy"},
                "actions": [{"channel": "webhook"}],
                "cooldown_s": 60,
            }
        ]
    )
    metrics = AlertMetrics(registry)
    d = Dispatcher({"webhook": channel}, RetrySettings(delays_s=[]), Letters(), metrics)
    return AlertProcessor(rules, d, metrics, repo)


def test_same_plate_five_times_alerts_once() -> None:
    registry, channel, repo = CollectorRegistry(), ScriptedChannel([]), MemoryRepository()
    proc = _processor(repo, registry, channel)
    raised = [proc.process([plate_event(p)]) for p in ("ABC123", "ABC123", "ABC1Z3", "ABC123", "ABC123")]
    proc._dispatcher.drain(5)
    assert [len(r) for r in raised] == [1, 0, 0, 0, 0]
    assert len(repo.rows) == 1 and len(channel.delivered) == 1
    assert _sample(registry, "alpr_alert_events_processed_total") == 5
    assert _sample(registry, "alpr_alert_triggered_total", {"rule": "watch"}) == 1
    assert _sample(registry, "alpr_alerts_suppressed_total", {"reason": "cooldown"}) == 4
    assert _sample(registry, "alpr_rule_evaluation_duration_seconds_count") == 5


def test_redelivered_event_is_not_notified_twice_and_failed_batch_keeps_no_cooldown() -> None:
    registry, channel = CollectorRegistry(), ScriptedChannel([])
    repo = MemoryRepository(fail=True)
    proc = _processor(repo, registry, channel)
    event = plate_event("ABC123")
    with pytest.raises(ConnectionError):
        proc.process([event])
    repo.fail = False
    assert len(proc.process([event])) == 1  # the retry is not suppressed by a cooldown of the failed try
    proc.cooldowns = Cooldowns()  # e.g. a restart: only the table's uniqueness guards now
    assert proc.process([event]) == []
    proc._dispatcher.drain(5)
    assert len(channel.delivered) == 1
