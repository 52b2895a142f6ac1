"""search refresh tuning: a long interval while catching up, the normal one once live, re-applied."""

from __future__ import annotations

from typing import Any

import pytest
from opensearchpy.exceptions import ConnectionError as OsConnectionError

from alpr_core.config import SearchSinkSettings
from alpr_core.search.refresh import RefreshTuner


class Indices:
    def __init__(self, fail: bool = False):
        self.calls: list[tuple[str, str]] = []
        self.fail = fail

    def put_settings(self, index: str, body: dict[str, Any]) -> None:
        if self.fail:
            raise OsConnectionError("N/A", "down", None)
        self.calls.append((index, body["index"]["refresh_interval"]))


class Client:
    def __init__(self, fail: bool = False):
        self.indices = Indices(fail)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def tuner(client: Client, clock: Clock) -> RefreshTuner:
    settings = SearchSinkSettings(refresh_interval_s=1, catchup_refresh_interval_s=30, catchup_lag_s=20)
    return RefreshTuner(client, "alpr-x", settings, clock=clock)  # type: ignore[arg-type]


def ms(clock: Clock, age_s: float) -> int:
    return int((clock.now - age_s) * 1000)


def test_catching_up_then_live_switches_once_each_way() -> None:
    client, clock = Client(), Clock()
    t = tuner(client, clock)
    t.observe(ms(clock, 300))
    t.observe(ms(clock, 250))  # still catching up, not yet due again
    clock.now += 5
    t.observe(ms(clock, 0.5))  # live
    t.observe(ms(clock, 0.2))
    assert client.indices.calls == [("alpr-x-*", "30000ms"), ("alpr-x-*", "1000ms")]


def test_the_first_batch_after_a_start_always_sets_the_interval() -> None:
    """A consumer killed mid catch-up left the long interval: a live first batch puts it back."""
    client, clock = Client(), Clock()
    tuner(client, clock).observe(ms(clock, 1))
    tuner(client, clock).observe(None)  # no Kafka timestamp: treated as live
    assert client.indices.calls == [("alpr-x-*", "1000ms")] * 2


def test_while_catching_up_it_is_applied_again_for_new_indices() -> None:
    client, clock = Client(), Clock()
    t = tuner(client, clock)
    for _ in range(7):
        t.observe(ms(clock, 600))
        clock.now += 10
    assert client.indices.calls == [("alpr-x-*", "30000ms")] * 3  # at 0, 30 and 60 s


@pytest.mark.parametrize("age_s", [19.0, 21.0])
def test_the_lag_threshold(age_s: float) -> None:
    client, clock = Client(), Clock()
    tuner(client, clock).observe(ms(clock, age_s))
    assert client.indices.calls == [("alpr-x-*", "30000ms" if age_s > 20 else "1000ms")]


def test_a_failure_is_logged_not_raised_and_tried_again_next_batch(caplog: pytest.LogCaptureFixture) -> None:
    client, clock = Client(fail=True), Clock()
    t = tuner(client, clock)
    t.observe(ms(clock, 300))
    assert "refresh interval of alpr-x-* not set" in caplog.text
    client.indices.fail = False
    t.observe(ms(clock, 300))
    assert client.indices.calls == [("alpr-x-*", "30000ms")]
