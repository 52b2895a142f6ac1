"""ConsumerRunner logic against an in-memory Kafka consumer double: commit order, retries, DLQ.

The Kafka behaviour itself (rebalances, real offsets, SIGKILL) is covered by
tests/integration/test_consumers*.py; these tests pin the runner's own decisions.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import TopicPartition

from alpr_common.settings import KafkaSettings
from alpr_core.config import ConsumerSettings
from alpr_core.runtime import (
    ConsumerRunner,
    DeadLetter,
    DeserializationError,
    PermanentRecordError,
    Record,
    TransientSinkError,
)
from tests.waiting import wait_until

TOPIC = "plates"


class Msg:
    def __init__(self, partition: int, offset: int, value: bytes):
        self._p, self._o, self._v = partition, offset, value

    def topic(self) -> str:
        return TOPIC

    def partition(self) -> int:
        return self._p

    def offset(self) -> int:
        return self._o

    def value(self) -> bytes:
        return self._v

    def key(self) -> bytes:
        return b"cam"

    def headers(self) -> list:
        return []

    def timestamp(self) -> tuple[int, int]:
        return (1, 1_700_000_000_000)

    def error(self) -> None:
        return None


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class InMemoryConsumer:
    """Hands out queued messages; records pause/resume and commits; advances the clock on consume."""

    def __init__(self, clock: Clock, messages: list[Msg]):
        self.clock = clock
        self.queue = deque(messages)
        self.paused = False
        self.pauses = 0
        self.commits: list[list[tuple[int, int]]] = []
        self.closed = False

    def subscribe(self, topics: list[str], **callbacks: Any) -> None:
        self.callbacks = callbacks

    def consume(self, num_messages: int, timeout: float) -> list[Msg]:
        self.clock.now += timeout
        if self.paused:
            return []
        out = []
        while self.queue and len(out) < num_messages:
            out.append(self.queue.popleft())
        return out

    def assignment(self) -> list[TopicPartition]:
        return [TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)]

    def pause(self, _: Any) -> None:
        self.paused, self.pauses = True, self.pauses + 1

    def resume(self, _: Any) -> None:
        self.paused = False

    def store_offsets(self, offsets: list[TopicPartition]) -> None:
        pass

    def commit(self, offsets: list[TopicPartition], asynchronous: bool) -> None:
        assert asynchronous is False
        self.commits.append(sorted((tp.partition, tp.offset) for tp in offsets))

    def position(self, tps: list[TopicPartition]) -> list[TopicPartition]:
        return [TopicPartition(tp.topic, tp.partition, -1001) for tp in tps]

    def get_watermark_offsets(self, tp: TopicPartition, cached: bool) -> tuple[int, int]:
        return (0, 0)

    def close(self) -> None:
        self.closed = True


class ListDlq:
    def __init__(self) -> None:
        self.letters: list[DeadLetter] = []

    def publish(self, letters: list[DeadLetter]) -> None:
        self.letters.extend(letters)

    def close(self) -> None:
        pass


class BytesDecoder:
    """b"bad..." is undecodable; anything else decodes to {"v": text}."""

    def decode(self, raw: bytes, topic: str) -> dict:
        if raw.startswith(b"bad"):
            raise DeserializationError("not a record")
        return {"v": raw.decode()}


class Sink:
    def __init__(self, consumer: InMemoryConsumer, failures: list[Exception] | None = None, sleep_s: float = 0.0):
        self.consumer = consumer
        self.failures = list(failures or [])
        self.sleep_s = sleep_s
        self.batches: list[list[str]] = []
        self.commits_seen: list[int] = []
        self.gate: Callable[[], object] | None = None  # called (in the sink thread) before each write

    def write(self, batch: list[Record]) -> None:
        self.commits_seen.append(len(self.consumer.commits))
        if self.gate is not None:
            self.gate()
        if self.sleep_s:
            time.sleep(self.sleep_s)
        if self.failures:
            exc = self.failures.pop(0)
            if isinstance(exc, PermanentRecordError):
                exc = PermanentRecordError([(rec, "refused") for rec in batch if rec.value["v"] == "reject"])
            raise exc
        self.batches.append([rec.value["v"] for rec in batch])

    def close(self) -> None:
        pass


def runner_for(
    cfg: ConsumerSettings, consumer: InMemoryConsumer, sink: Sink, dlq: ListDlq, clock: Clock
) -> ConsumerRunner:
    return ConsumerRunner(
        "test",
        cfg,
        KafkaSettings(),
        sink,
        [TOPIC],
        BytesDecoder(),
        dlq=dlq,
        consumer=consumer,
        clock=clock,  # type: ignore[arg-type]
    )


def make(messages: list[Msg], failures: list[Exception] | None = None, sleep_s: float = 0.0, **settings: Any):
    clock = Clock()
    consumer = InMemoryConsumer(clock, messages)
    sink = Sink(consumer, failures, sleep_s)
    dlq = ListDlq()
    cfg = ConsumerSettings(group_id="g", metrics_port=1, **{"batch_size": 3, "poll_timeout_s": 0.5, **settings})
    runner = runner_for(cfg, consumer, sink, dlq, clock)
    return runner, consumer, sink, dlq, clock


def msgs(*values: str, partition: int = 0) -> list[Msg]:
    return [Msg(partition, i, v.encode()) for i, v in enumerate(values)]


def test_commits_after_the_batch_is_written() -> None:
    runner, consumer, sink, _, _ = make(msgs("a", "b", "c", "d", "e", "f"))
    runner.step()
    runner.step()
    assert sink.batches == [["a", "b", "c"], ["d", "e", "f"]]
    assert sink.commits_seen == [0, 1]  # nothing committed before each write
    assert consumer.commits == [[(0, 3)], [(0, 6)]]


def test_flushes_a_partial_batch_after_the_interval() -> None:
    runner, consumer, sink, _, _clock = make(msgs("a"), flush_interval_s=2.0)
    runner.step()
    assert sink.batches == []
    for _ in range(4):
        runner.step()
    assert sink.batches == [["a"]]
    assert consumer.commits == [[(0, 1)]]


def test_transient_errors_pause_retry_with_backoff_and_commit_once() -> None:
    runner, consumer, sink, dlq, clock = make(msgs("a", "b", "c"), failures=[TransientSinkError("db down")] * 3)
    attempts_at: list[float] = []
    original = sink.write

    def timed(batch: list[Record]) -> None:
        attempts_at.append(clock.now)
        original(batch)

    sink.write = timed  # type: ignore[method-assign]
    for _ in range(60):
        runner.step()
        if sink.batches:
            break
    assert sink.batches == [["a", "b", "c"]]
    gaps = [round(b - a) for a, b in itertools.pairwise(attempts_at)]
    assert gaps == [2, 4, 8]
    assert consumer.pauses == 1 and not consumer.paused
    assert consumer.commits == [[(0, 3)]] and dlq.letters == []
    assert runner.metrics.retries.labels("test")._value.get() == 3


def test_undecodable_message_goes_to_dlq_and_its_offset_is_committed() -> None:
    runner, consumer, sink, dlq, _ = make(msgs("a", "bad-bytes", "c"))
    runner.step()
    assert sink.batches == [["a", "c"]]
    assert [(d.record.offset, d.error_type) for d in dlq.letters] == [(1, "DeserializationError")]
    assert dlq.letters[0].record.raw == b"bad-bytes"
    assert consumer.commits == [[(0, 3)]]


def test_records_the_sink_rejects_go_to_dlq_and_the_rest_is_rewritten() -> None:
    runner, consumer, sink, dlq, _ = make(msgs("a", "reject", "c"), failures=[PermanentRecordError([])])
    runner.step()
    assert sink.batches == [["a", "c"]]
    assert [(d.record.offset, d.error_type) for d in dlq.letters] == [(1, "SinkRejectedError")]
    assert consumer.commits == [[(0, 3)]]


class PreparingSink(Sink):
    """A sink with ``prepare``: upper-cases values in the poll thread, refuses "unpreparable"."""

    def __init__(self, consumer: InMemoryConsumer):
        super().__init__(consumer)
        self.prepared_in: set[str] = set()
        self.written: list[list[object]] = []

    def prepare(self, value: dict) -> str:
        self.prepared_in.add(threading.current_thread().name)
        if value["v"] == "unpreparable":
            raise ValueError("cannot encode")
        return value["v"].upper()

    def write(self, batch: list[Record]) -> None:
        self.written.append([rec.prepared for rec in batch])


def test_prepare_runs_in_the_poll_thread_and_its_failures_are_dead_lettered() -> None:
    clock = Clock()
    consumer = InMemoryConsumer(clock, msgs("a", "unpreparable", "c", "bad-bytes"))
    sink, dlq = PreparingSink(consumer), ListDlq()
    cfg = ConsumerSettings(group_id="g", metrics_port=1, batch_size=4, poll_timeout_s=0.5)
    runner_for(cfg, consumer, sink, dlq, clock).step()
    assert sink.written == [["A", "C"]]
    assert sink.prepared_in == {threading.current_thread().name}
    assert [(d.record.offset, d.error_type) for d in dlq.letters] == [
        (1, "SinkRejectedError"),
        (3, "DeserializationError"),
    ]
    assert "ValueError: cannot encode" in dlq.letters[0].message
    assert consumer.commits == [[(0, 4)]]


def test_batch_timeout_counts_and_retries() -> None:
    runner, consumer, _sink, _, _ = make(msgs("a", "b", "c"), sleep_s=0.3, batch_timeout_s=0.05)
    runner.step()
    assert consumer.commits == [] and consumer.paused
    assert runner.metrics.timeouts.labels("test")._value.get() == 1


def test_stop_flushes_the_pending_batch_and_closes() -> None:
    runner, consumer, sink, _, _ = make(msgs("a", "b"), batch_size=10)
    original = consumer.consume

    def consume_then_stop(num_messages: int, timeout: float) -> list[Msg]:
        out = original(num_messages, timeout)
        runner.stop()
        return out

    consumer.consume = consume_then_stop  # type: ignore[method-assign]
    runner.run()
    assert sink.batches == [["a", "b"]]
    assert consumer.commits == [[(0, 2)]] and consumer.closed


def test_revoke_flushes_before_partitions_go() -> None:
    runner, consumer, sink, _, _ = make(msgs("a", "b") + msgs("x", partition=1), batch_size=10)
    runner.step()
    assert sink.batches == []
    runner._on_revoke(consumer, consumer.assignment())
    assert sink.batches == [["a", "b", "x"]]
    assert consumer.commits == [[(0, 2), (1, 1)]]


def test_revoke_with_failing_sink_commits_nothing() -> None:
    runner, consumer, sink, _, _ = make(msgs("a"), failures=[TransientSinkError("down")], batch_size=10)
    runner.step()
    runner._on_revoke(consumer, consumer.assignment())
    assert consumer.commits == [] and sink.batches == []
    runner.step()  # the batch was given up: nothing left to write
    assert sink.batches == []


@pytest.mark.parametrize("backoff", [(), (0.0,), (-1.0, 2.0)])
def test_retry_backoff_must_be_positive(backoff: tuple[float, ...]) -> None:
    with pytest.raises(ValueError):
        ConsumerSettings(group_id="g", metrics_port=1, retry_backoff_s=backoff)


class ChunkSink(Sink):
    """Records the size of every write; fails the writes whose number is in ``fail_calls``."""

    def __init__(self, consumer: InMemoryConsumer, fail_calls: set[int]):
        super().__init__(consumer)
        self.fail_calls = fail_calls
        self.calls: list[int] = []

    def write(self, batch: list[Record]) -> None:
        self.calls.append(len(batch))
        self.commits_seen.append(len(self.consumer.commits))
        if len(self.calls) in self.fail_calls:
            raise TransientSinkError("flaky")
        self.batches.append([rec.value["v"] for rec in batch])


def chunked(fail_calls: set[int]) -> tuple[ConsumerRunner, InMemoryConsumer, ChunkSink, ListDlq]:
    clock = Clock()
    values = [f"v{i}" if i != 300 else "bad" for i in range(600)]
    consumer = InMemoryConsumer(clock, msgs(*values))
    sink = ChunkSink(consumer, fail_calls)
    dlq = ListDlq()
    cfg = ConsumerSettings(group_id="g", metrics_port=1, batch_size=600, retry_backoff_s=(1.0,))
    runner = runner_for(cfg, consumer, sink, dlq, clock)
    return runner, consumer, sink, dlq


def test_large_batches_are_written_in_chunks_and_committed_once() -> None:
    runner, consumer, sink, dlq = chunked(fail_calls=set())
    runner.step()
    assert sink.calls == [250, 250, 99]  # offset 300 was dead-lettered while decoding chunk 2
    assert sink.commits_seen == [0, 0, 0] and consumer.commits == [[(0, 600)]]
    assert [d.record.offset for d in dlq.letters] == [300]
    assert sum(len(b) for b in sink.batches) == 599


def test_a_failed_chunk_fails_the_batch_and_only_it_is_written_again() -> None:
    runner, consumer, sink, _ = chunked(fail_calls={2})
    runner.step()
    assert consumer.commits == [] and consumer.paused
    for _ in range(5):
        runner.step()
    assert sink.calls == [250, 250, 99, 250]
    assert consumer.commits == [[(0, 600)]]
    assert sorted(v for b in sink.batches for v in b) == sorted(f"v{i}" for i in range(600) if i != 300)


def values(n: int) -> list[str]:
    return [f"v{i}" for i in range(n)]


def test_the_next_batch_is_decoded_while_the_last_writes_run_and_committed_after() -> None:
    runner, consumer, sink, _, _ = make(msgs(*values(1200)), batch_size=600)
    # The first write waits for the look-ahead itself (not for a sleep that a loaded machine may outlast):
    # a runner that does not decode the next batch during the writes fails here instead of hanging.
    first_write = threading.Event()

    def gate() -> None:
        if not first_write.is_set():
            first_write.set()
            wait_until(lambda: runner._next.decoded_upto > 0, what="the next batch decoded during a write")

    sink.gate = gate
    runner.step()
    assert consumer.commits == [[(0, 600)]]
    assert len(runner._batch) == 600 and runner._batch.decoded_upto > 0  # decoded during the writes
    assert sink.commits_seen[:3] == [0, 0, 0]
    runner.step()
    assert consumer.commits == [[(0, 600)], [(0, 1200)]]
    assert [v for b in sink.batches for v in b] == values(1200)


def test_a_failed_batch_keeps_the_fetched_next_one_behind_it() -> None:
    runner, consumer, sink, _, _ = make(
        msgs(*values(1200)), [TransientSinkError("db down")], batch_size=600, retry_backoff_s=(1.0,)
    )
    runner.step()
    assert consumer.commits == [] and consumer.paused and len(runner._next) == 600
    for _ in range(6):
        runner.step()
    assert consumer.commits == [[(0, 600)], [(0, 1200)]]
    written = [v for b in sink.batches for v in b]
    assert set(written) == set(values(1200)) and written[-600:] == values(1200)[600:]


def test_stop_writes_and_commits_the_batch_and_the_one_fetched_behind_it() -> None:
    runner, consumer, sink, _, _ = make(msgs(*values(1200)), batch_size=600)
    original = sink.write

    def write_then_stop(batch: list[Record]) -> None:
        runner.stop()
        original(batch)

    sink.write = write_then_stop  # type: ignore[method-assign]
    runner.run()
    assert consumer.commits == [[(0, 600)], [(0, 1200)]] and consumer.closed
    assert [v for b in sink.batches for v in b] == values(1200)


def test_a_committed_batch_is_released_in_slices() -> None:
    from alpr_core.runtime.batch import Batch

    batch = Batch()
    for msg in msgs(*values(5)):
        batch.add(msg, 0.0)  # type: ignore[arg-type]
    batch.decode(BytesDecoder().decode)  # type: ignore[arg-type]
    batch.done, batch.records = batch.records, []
    assert batch.release(2) is False and len(batch.pending) == 3 and len(batch.done) == 3
    assert batch.release(2) is False and batch.release(2) is True and not batch.pending


def test_the_previous_batch_is_freed_while_the_next_one_is_written() -> None:
    runner, consumer, _sink, _, _ = make(msgs(*values(1800)), batch_size=600, sleep_s=0.02)
    runner.step()
    first = runner._retired
    assert first is not None and len(first.pending) == 600
    runner.step()  # the next batch's writes run while the retired one is freed in slices
    assert len(first.pending) < 600 and runner._retired is not first
    runner.step()
    assert consumer.commits[-1] == [(0, 1800)]
