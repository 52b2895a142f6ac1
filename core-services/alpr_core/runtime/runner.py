"""The poll loop every consumer runs: consume, batch, decode, write, dead-letter, THEN commit.

    runner = ConsumerRunner("storage", cfg.storage_consumer, cfg.kafka, sink, [topic], decoder)
    runner.run()          # returns after SIGTERM/SIGINT (or runner.stop()) once the batch is committed

Guarantees: offsets are stored and committed only after ``sink.write`` returned and the batch's dead
letters are acknowledged by Kafka (at-least-once; sinks are idempotent). A transient failure pauses the
assigned partitions and retries the same batch after 2 s, 4 s, 8 s, then every 8 s (``retry_backoff_s``)
while polling keeps the group membership alive. Permanent decode failures and records the sink
rejects go to the DLQ topic with their origin in headers. Partitions being revoked get one flush first.

Throughput: a large batch is written in sub-batches by ``sink_threads`` writers while the main thread
decodes the next sub-batch; while the last ones are written, it decodes the messages already fetched
for the next batch (never committed before the batch ahead of them).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from alpr_common.settings import KafkaSettings

from ..config import ConsumerSettings
from .batch import Batch
from .decoding import Decoder
from .dlq import DeadLetter, DlqPublisher
from .errors import PermanentRecordError, TransientDecodeError, TransientSinkError
from .kafka_io import consumer_config
from .metrics import ConsumerMetrics
from .records import Record
from .sink import BatchSink

logger = logging.getLogger(__name__)

MIN_CHUNK = 250  # smallest sub-batch written while the next one is decoded (batches < 500: one write)
LOOKAHEAD_STEP = 100  # messages of the next batch decoded between two looks at the running writes
FETCH_STEP = 1000  # messages taken from librdkafka at a time for the next batch
RELEASE_STEP = 500  # messages of the committed batch freed at a time (~1-2 ms with the GIL held)


class ConsumerRunner:
    """Runs one consumer group member until stopped. See the module docstring for the guarantees."""

    def __init__(
        self,
        name: str,
        settings: ConsumerSettings,
        kafka: KafkaSettings,
        sink: BatchSink,
        topics: Sequence[str],
        decoder: Decoder,
        *,
        dlq: DlqPublisher | None = None,
        metrics: ConsumerMetrics | None = None,
        consumer: Any = None,
        clock: Callable[[], float] = time.monotonic,
        sink_threads: int = 1,
    ):
        """``sink_threads`` > 1 lets sub-batches of a large batch be written concurrently (the sink must
        be thread-safe, e.g. a connection pool); the batch is still committed once, after all of them."""
        self.name = name
        self.settings = settings
        self._sink = sink
        self._topics = list(topics)
        self._decoder = decoder
        self._prepare = getattr(sink, "prepare", None)
        self._clock = clock
        self.metrics = metrics or ConsumerMetrics(name)
        self._dlq = dlq or DlqPublisher(
            kafka.client_config(),
            kafka.topics.dlq.name,
            settings.group_id,
            timeout_s=settings.batch_timeout_s,
        )
        self._consumer = consumer or Consumer(consumer_config(kafka, settings))
        self._executor = ThreadPoolExecutor(max_workers=max(1, sink_threads), thread_name_prefix=f"{name}-sink")
        self._stop = threading.Event()
        self._batch = Batch()  # being written; committed when durable
        self._next = Batch()  # fetched behind it, decoded while its last writes run
        # The batch just committed: freeing its ~10 objects per message takes tens of ms with the GIL
        # held, which at the batch boundary left both database connections idle; it is freed in slices
        # once the next batch's writes are under way (_release_retired).
        self._retired: Batch | None = None
        self._attempt = 0
        self._retry_at: float | None = None
        self._paused = False
        self._next_lag_at = 0.0

    # -- public -----------------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask the loop to finish its batch, commit and return (also what SIGTERM/SIGINT do)."""
        self._stop.set()

    def run(self) -> None:
        self._install_signal_handlers()
        self._consumer.subscribe(
            self._topics, on_assign=self._on_assign, on_revoke=self._on_revoke, on_lost=self._on_lost
        )
        logger.info("%s-consumer: group %s subscribed to %s", self.name, self.settings.group_id, self._topics)
        try:
            while not self._stop.is_set():
                self.step()
            while self._batch.pending:  # the batch, then the one fetched behind it
                logger.info("%s-consumer: stopping, flushing %d message(s)", self.name, len(self._batch))
                if not self._flush(retry=False):
                    break
        finally:
            self._close()

    def step(self) -> None:
        """One poll round: fetch, then flush when the batch is full, old enough, or its retry is due."""
        if self._retry_at is not None:
            wait_s = min(self.settings.poll_timeout_s, max(0.01, self._retry_at - self._clock()))
            self._add(self._consumer.consume(num_messages=self.settings.batch_size, timeout=wait_s))
            if self._clock() >= self._retry_at:
                self._flush(retry=True)
            return
        size, batch = self.settings.batch_size, self._batch
        if len(batch) < size:  # returns once the batch is full, or after the poll timeout
            self._add(self._consumer.consume(num_messages=size - len(batch), timeout=self.settings.poll_timeout_s))
        if batch.pending and (len(batch) >= size or self._clock() - batch.first_at >= self.settings.flush_interval_s):
            self._flush(retry=True)
        self._update_lag()

    # -- batch ------------------------------------------------------------------------------------
    def _add(self, msgs: list[Message]) -> None:
        """Messages go to the batch until it is full, then (and once anything is there) to the next."""
        counts: dict[str, int] = {}
        now, size = self._clock(), self.settings.batch_size
        for msg in msgs:
            err = msg.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    logger.warning("%s-consumer: Kafka error: %s", self.name, err)
                    if err.fatal():
                        raise KafkaException(err)
                continue
            target = self._next if self._next.pending or len(self._batch) >= size else self._batch
            target.add(msg, now)
            topic = msg.topic()
            assert topic is not None  # only error events lack one
            counts[topic] = counts.get(topic, 0) + 1
        for topic, n in counts.items():
            self.metrics.consumed.labels(self.name, topic).inc(n)

    def _decode_and_write_overlapped(self, deadline: float, look_ahead: bool) -> None:
        """First attempt of a large batch: decode chunk k+1 while the sink threads write chunk k, then
        (``look_ahead``) decode the next batch's fetched messages until the writes are done.

        Chunks that fail stay in ``records`` for the ordinary (sequential) write path; a transient
        failure of any chunk fails the batch (written chunks are rewritten idempotently on retry)."""
        batch = self._batch
        inflight: list[tuple[Future[None], list[Record]]] = []
        error: BaseException | None = None
        try:
            self._submit_chunks(batch, inflight)
            if look_ahead and len(batch) >= self.settings.batch_size:
                self._decode_next_until_done([future for future, _ in inflight], deadline)
        finally:
            written: set[int] = set()
            for future, part in inflight:
                try:
                    self._wait(future, len(part), deadline)
                    written.update(id(rec) for rec in part)
                except PermanentRecordError:
                    continue  # rewritten by _write_records, which dead-letters the rejected records
                except TransientSinkError as exc:
                    error = error or exc
            batch.done.extend(rec for rec in batch.records if id(rec) in written)
            batch.records = [rec for rec in batch.records if id(rec) not in written]
        if error is not None:
            raise error

    def _submit_chunks(self, batch: Batch, inflight: list[tuple[Future[None], list[Record]]]) -> None:
        """Decode the batch chunk by chunk, handing each chunk to a sink thread as soon as it is full."""
        chunk = max(MIN_CHUNK, -(-self.settings.batch_size // 4))
        submitted = 0
        while True:
            backlog = len(batch.records) - submitted
            if backlog < chunk and batch.undecoded:
                batch.decode(self._decoder.decode, chunk - backlog, self._prepare)
                continue
            if not backlog:
                return
            part = batch.records[submitted : submitted + chunk]
            submitted += len(part)
            inflight.append((self._executor.submit(self._sink.write, part), part))
            self._release_retired()

    def _release_retired(self) -> None:
        """Free a slice of the committed batch. Freeing it at once holds the GIL for tens of ms in one
        C call, during which no sink thread can take the database's replies."""
        if self._retired is not None and self._retired.release(RELEASE_STEP):
            self._retired = None

    def _decode_next_until_done(self, futures: list[Future[None]], deadline: float) -> None:
        """Take what librdkafka already fetched behind the batch (in slices: building 10,000 Message
        objects in one call holds the GIL ~10 ms) and decode it, until the batch's writes are done."""
        nxt, decode, size = self._next, self._decoder.decode, self.settings.batch_size
        try:
            while self._clock() < deadline and not all(f.done() for f in futures):
                if not nxt.undecoded:
                    if len(nxt) >= size:
                        return
                    fetched = self._consumer.consume(num_messages=min(FETCH_STEP, size - len(nxt)), timeout=0)
                    if not fetched:
                        return
                    self._add(fetched)
                    continue
                nxt.decode(decode, LOOKAHEAD_STEP, self._prepare)
                self._release_retired()
        except TransientDecodeError as exc:  # left undecoded: its own flush meets it again
            logger.debug("%s-consumer: look-ahead decoding stopped: %s", self.name, exc)

    def _flush(self, retry: bool) -> bool:
        """Make the batch durable and commit it. False (batch kept) on a transient failure."""
        started, batch = self._clock(), self._batch
        try:
            if self._attempt == 0 and not batch.done and len(batch) >= 2 * MIN_CHUNK:
                look_ahead = retry and not self._stop.is_set()
                self._decode_and_write_overlapped(started + self.settings.batch_timeout_s, look_ahead)
            batch.decode(self._decoder.decode, None, self._prepare)
            self._write_records()
            self._dlq.publish(batch.letters)
        except TransientSinkError as exc:
            self._on_transient(exc, retry)
            return False
        self._commit()
        self._record_success(started)
        return True

    def _write_records(self) -> None:
        batch = self._batch
        while batch.records:
            try:
                self._call_sink(batch.records)
                batch.done.extend(batch.records)
                batch.records = []
                return
            except PermanentRecordError as exc:
                rejected = {id(rec) for rec, _ in exc.failures}
                if not rejected & {id(rec) for rec in batch.records}:
                    raise TransientSinkError(f"sink rejected records outside the batch: {exc}") from exc
                batch.letters.extend(DeadLetter(rec, "SinkRejectedError", reason) for rec, reason in exc.failures)
                batch.records = [rec for rec in batch.records if id(rec) not in rejected]

    def _call_sink(self, records: list[Record]) -> None:
        future = self._executor.submit(self._sink.write, list(records))
        self._wait(future, len(records), self._clock() + self.settings.batch_timeout_s)

    def _wait(self, future: Future[None], count: int, deadline: float) -> None:
        """Wait for one sink write until ``deadline``; classify what it raised."""
        try:
            future.result(timeout=max(0.0, deadline - self._clock()))
        except FutureTimeout:
            self.metrics.timeouts.labels(self.name).inc()
            raise TransientSinkError(
                f"batch of {count} not written within {self.settings.batch_timeout_s:.0f}s"
            ) from None
        except (TransientSinkError, PermanentRecordError):
            raise
        except Exception as exc:  # an unexpected sink failure: keep the batch, retry, make it visible
            logger.exception("%s-consumer: unexpected sink error", self.name)
            raise TransientSinkError(f"{type(exc).__name__}: {exc}") from exc

    def _record_success(self, started: float) -> None:
        batch = self._batch
        written: dict[str, int] = {}
        for rec in batch.done:
            written[rec.topic] = written.get(rec.topic, 0) + 1
        for topic, count in written.items():
            self.metrics.written.labels(self.name, topic).inc(count)
        for letter in batch.letters:
            self.metrics.dlq.labels(self.name, letter.error_type).inc()
        self.metrics.batch_latency.labels(self.name).observe(self._clock() - started)
        self.metrics.batch_size.labels(self.name).observe(len(batch))
        if self._attempt:
            logger.info(
                "%s-consumer: batch written after %d retr%s",
                self.name,
                self._attempt,
                "y" if self._attempt == 1 else "ies",
            )
        self._retired, self._batch, self._next = self._batch, self._next, Batch()
        self._attempt = 0
        self._retry_at = None
        if self._paused:
            self._set_paused(False)

    def _on_transient(self, exc: Exception, retry: bool) -> None:
        self._attempt += 1
        self.metrics.retries.labels(self.name).inc()
        backoff = self.settings.retry_backoff_s
        delay = backoff[min(self._attempt - 1, len(backoff) - 1)]
        where = self._batch.where()
        if not retry:
            logger.warning(
                "%s-consumer: batch of %d from %s not written (%s); left uncommitted",
                self.name,
                len(self._batch),
                where,
                exc,
            )
            return
        logger.warning(
            "%s-consumer: batch of %d from %s failed (attempt %d: %s); partitions paused, retry in %.0fs",
            self.name,
            len(self._batch),
            where,
            self._attempt,
            exc,
            delay,
        )
        self._retry_at = self._clock() + delay
        if not self._paused:
            self._set_paused(True)

    def _set_paused(self, paused: bool) -> None:
        assignment = self._consumer.assignment()
        if assignment:
            (self._consumer.pause if paused else self._consumer.resume)(assignment)
        self._paused = paused
        self.metrics.paused.labels(self.name).set(1 if paused else 0)

    def _commit(self) -> None:
        offsets = self._batch.offsets()
        if not offsets:
            return
        try:
            self._consumer.store_offsets(offsets=offsets)
            self._consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as exc:  # durable already; a lost commit only means a harmless redelivery
            logger.warning(
                "%s-consumer: commit of %s failed: %s",
                self.name,
                ", ".join(f"{tp.topic}[{tp.partition}]@{tp.offset}" for tp in offsets),
                exc,
            )

    # -- group membership -------------------------------------------------------------------------
    def _on_assign(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        logger.info("%s-consumer: assigned %s", self.name, _tps(partitions))
        self._paused = False
        self.metrics.paused.labels(self.name).set(0)

    def _on_revoke(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        logger.info("%s-consumer: revoking %s", self.name, _tps(partitions))
        if self._batch.pending and not self._flush(retry=False):
            logger.warning(
                "%s-consumer: dropping %d unflushed message(s); the next owner reads them again",
                self.name,
                len(self._batch) + len(self._next),
            )
        self._forget_batch()

    def _on_lost(self, consumer: Any, partitions: list[TopicPartition]) -> None:
        logger.warning(
            "%s-consumer: lost %s; %d unflushed message(s) will be redelivered",
            self.name,
            _tps(partitions),
            len(self._batch) + len(self._next),
        )
        self._forget_batch()

    def _forget_batch(self) -> None:
        """Drop both batches (uncommitted: whoever owns the partitions next reads them again)."""
        self._batch, self._next = Batch(), Batch()
        self._attempt = 0
        self._retry_at = None
        self._paused = False
        self.metrics.lag.clear()

    # -- lag, signals, shutdown -------------------------------------------------------------------
    def _update_lag(self) -> None:
        now = self._clock()
        if now < self._next_lag_at:
            return
        self._next_lag_at = now + self.settings.lag_interval_s
        try:
            assignment = self._consumer.assignment()
            for tp in self._consumer.position(assignment) if assignment else []:
                _, high = self._consumer.get_watermark_offsets(tp, cached=True)
                if tp.offset >= 0 and high >= 0:
                    self.metrics.lag.labels(self.name, tp.topic, str(tp.partition)).set(high - tp.offset)
        except KafkaException as exc:
            logger.debug("%s-consumer: lag not available: %s", self.name, exc)

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, _frame: self._on_signal(signum))

    def _on_signal(self, signum: int) -> None:
        logger.info("%s-consumer: %s received, finishing the batch", self.name, signal.Signals(signum).name)
        self._stop.set()

    def _close(self) -> None:
        try:
            self._consumer.close()  # revokes (flushing nothing: the batch is committed or given up)
        finally:
            self._dlq.close()
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._sink.close()
            logger.info("%s-consumer: closed", self.name)


def _tps(partitions: list[TopicPartition]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]" for tp in partitions) or "nothing"
