#!/usr/bin/env python3
"""Edge delivery throughput: event processor + SQLite outbox + Kafka producer against the local Kafka.

Modes:
  bench    (default) publish N synthetic reads live, then drain a backlog of M stored events; last line
           ``publish_events_per_s=.. drain_events_per_s=..`` then the CPU milliseconds per 1,000 events
           of this process (all threads: processor, encoder, outbox, librdkafka), of the Kafka broker and
           of the schema registry, from /proc: ``publish_cpu_ms_per_1k=.. publish_kafka_cpu_ms_per_1k=..
           publish_registry_cpu_ms_per_1k=.. drain_cpu_ms_per_1k=.. drain_kafka_cpu_ms_per_1k=..
           drain_registry_cpu_ms_per_1k=..``
  produce  publish synthetic reads at a rate (tests: outage, kill -9), logging each stored index
  drain    deliver what an outbox holds, then exit (restart after a kill)

Each run uses its own topic (``--topic``, default ``bench.delivery.<random>``) so concurrent runs do not mix.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

from confluent_kafka import KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

import _bootstrap  # noqa: F401
from _cpu import CpuMeter, cpu_keys, self_group, stack_groups
from alpr_common.settings import KafkaSettings, TopicSpec, TopicsSettings
from alpr_edge.events import EventProcessor, EventSettings
from alpr_edge.publishing import (
    DeliveryService,
    DeliverySink,
    EdgeMetrics,
    SqliteOutbox,
    make_encoder,
    relax_gc,
)
from alpr_edge.publishing.settings import OutboxSettings, PublisherSettings
from alpr_edge.types import PlateCandidate, PlateRead

logger = logging.getLogger("benchmark_delivery")
LETTERS = "ABCDEFGHJKLMNPRTUVWXY"
BACKLOG_OFFSET = 10**7


def plate_text(i: int) -> str:
    """A deterministic pseudo-random plate (LLLLDDDD) per index."""
    rnd = random.Random(i * 7919 + 13)
    return "".join(rnd.choice(LETTERS) for _ in range(4)) + f"{rnd.randrange(10_000):04d}"


def synthetic_read(i: int, cameras: int = 32) -> PlateRead:
    text = plate_text(i)
    now = time.time()
    return PlateRead(camera_id=f"cam-{i % cameras:02d}", track_id=i, text=text, confidence=0.93,
                     char_confidences=(0.95,) * len(text), candidates=(PlateCandidate(text, 0.93),),
                     plate_bbox=(10.0, 20.0, 110.0, 50.0), first_seen_s=now - 2.0, last_seen_s=now,
                     frame_number=i, read_count=3, quality_score=0.8, vehicle_type="car")


def ensure_topic(kafka: KafkaSettings, topic: str, partitions: int = 6) -> None:
    admin = AdminClient(kafka.client_config())
    fut = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])[topic]
    try:
        fut.result(timeout=30)
    except KafkaException as exc:
        if "TOPIC_ALREADY_EXISTS" not in str(exc):
            raise


def delete_topic(kafka: KafkaSettings, topic: str) -> None:
    admin = AdminClient(kafka.client_config())
    try:
        admin.delete_topics([topic])[topic].result(timeout=30)
    except KafkaException as exc:
        logger.warning("could not delete topic %s: %s", topic, exc)


def topic_size(kafka: KafkaSettings, topic: str) -> int:
    from confluent_kafka import Consumer

    consumer = Consumer({**kafka.client_config(), "group.id": f"size-{uuid.uuid4()}"})
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in parts)
    finally:
        consumer.close()


def build(args: argparse.Namespace, kafka: KafkaSettings, live: bool = True) -> DeliverySink:
    """Processor + outbox + delivery (no crops, no CSV, no /metrics server) on ``args.topic``."""
    relax_gc()  # as build_sink (pilot.py) does
    topics = TopicsSettings(plates=TopicSpec(name=args.topic))
    processor = EventProcessor(EventSettings(dedup_enabled=not args.no_dedup))
    outbox = SqliteOutbox(args.outbox)
    outbox_settings = OutboxSettings(path=args.outbox, drain_max_events_per_s=args.drain_rate)
    publisher = PublisherSettings(auto_register_schemas=True, message_timeout_ms=args.message_timeout_ms,
                                  linger_ms=args.linger_ms, compression_type=args.compression)
    encoder = make_encoder(not args.json, kafka.schema_registry_url, auto_register=True)
    delivery = DeliveryService(outbox, encoder, outbox_settings, publisher,
                               kafka.client_config() if live else None, EdgeMetrics()).start()
    return DeliverySink(processor, delivery, topics)


def cpu_meter() -> CpuMeter:
    """This process (all threads) and the servers it talks to."""
    return CpuMeter([self_group(), *stack_groups("kafka", "registry")])


def publish_phase(args: argparse.Namespace, kafka: KafkaSettings) -> tuple[float, dict[str, float]]:
    sink = build(args, kafka)
    reads = [synthetic_read(i) for i in range(args.events)]  # made up front: the pipeline's part, not timed
    meter = cpu_meter()
    before = meter.snapshot()
    t0 = last = time.monotonic()
    cpu0 = time.process_time()
    for start in range(0, args.events, args.batch):
        sink.publish_many(reads[start:start + args.batch])
        if time.monotonic() - last >= 1.0:
            last = time.monotonic()
            done = start + args.batch
            logger.info("publish: submitted=%d acked=%d outbox=%d rate=%.0f/s", done,
                        sink.delivery.acked_total, sink.delivery.outbox.depth, done / (last - t0))
    if not sink.delivery.wait_empty(args.timeout_s):
        logger.error("publish: %d event(s) not acknowledged after %.0f s", sink.delivery.outbox.depth,
                     args.timeout_s)
    elapsed, cpu_s = time.monotonic() - t0, time.process_time() - cpu0
    costs = meter.snapshot().delta_ms_per_1k(before, sink.delivery.acked_total)
    logger.info("publish: %d events acknowledged in %.2f s, %.2f CPU s of this process (%.0f events per "
                "CPU s; load average %.1f) %s; %s", sink.delivery.acked_total, elapsed, cpu_s,
                sink.delivery.acked_total / cpu_s, os.getloadavg()[0], dict(sink.processor.counts),
                cpu_keys("publish", costs))
    sink.close()
    return sink.delivery.acked_total / elapsed, costs


def fill_backlog(args: argparse.Namespace, kafka: KafkaSettings) -> None:
    """Store ``args.backlog`` events with Kafka off (a long outage), as the outbox would hold them."""
    sink = build(args, kafka, live=False)
    t0 = time.monotonic()
    for start in range(0, args.backlog, args.batch):
        end = min(start + args.batch, args.backlog)
        sink.publish_many([synthetic_read(BACKLOG_OFFSET + i) for i in range(start, end)])
    logger.info("drain: %d events stored in %.2f s", sink.delivery.outbox.depth, time.monotonic() - t0)
    sink.close()


def drain_phase(args: argparse.Namespace, kafka: KafkaSettings) -> tuple[float, dict[str, float]]:
    meter = cpu_meter()
    before = meter.snapshot()
    sink = build(args, kafka)
    backlog = sink.delivery.outbox.depth
    t0 = last = time.monotonic()
    cpu0 = time.process_time()
    deadline = t0 + args.timeout_s
    while sink.delivery.outbox.depth and time.monotonic() < deadline:
        time.sleep(0.05)
        if time.monotonic() - last >= 1.0:
            last = time.monotonic()
            done = backlog - sink.delivery.outbox.depth
            logger.info("drain: delivered=%d left=%d rate=%.0f/s", done, sink.delivery.outbox.depth,
                        done / (last - t0))
    elapsed, cpu_s = time.monotonic() - t0, time.process_time() - cpu0
    delivered = backlog - sink.delivery.outbox.depth
    costs = meter.snapshot().delta_ms_per_1k(before, delivered)
    logger.info("drain: %d of %d events delivered in %.2f s, %.2f CPU s (load average %.1f); %s", delivered,
                backlog, elapsed, cpu_s, os.getloadavg()[0], cpu_keys("drain", costs))
    sink.close()
    return (delivered / elapsed if elapsed > 0 else 0.0), costs


def produce(args: argparse.Namespace, kafka: KafkaSettings) -> int:
    """Publish reads ``start..count-1`` at ``rate``; append each stored index to ``progress`` (tests)."""
    sink = build(args, kafka)
    progress = open(args.progress, "a", buffering=1) if args.progress else None  # noqa: SIM115
    t0 = time.monotonic()
    for n, i in enumerate(range(args.start, args.count)):
        sink.publish(synthetic_read(i))
        if progress:
            progress.write(f"{i}\n")
        delay = t0 + (n + 1) / args.rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    logger.info("produce: %d reads submitted; waiting for delivery", args.count - args.start)
    ok = sink.delivery.wait_empty(args.timeout_s)
    logger.info("produce: %s, outbox=%d acked=%d", "delivered" if ok else "NOT delivered",
                sink.delivery.outbox.depth, sink.delivery.acked_total)
    sink.close()
    return 0 if ok else 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", nargs="?", default="bench", choices=["bench", "produce", "drain"])
    p.add_argument("--events", type=int, default=100_000, help="bench: live events published")
    p.add_argument("--backlog", type=int, default=100_000, help="bench: stored events drained")
    p.add_argument("--batch", type=int, default=500, help="reads per publish_many call")
    p.add_argument("--topic", default=None, help="topic (created with 6 partitions when missing)")
    p.add_argument("--keep-topic", action="store_true", help="bench: do not delete the topic at the end")
    p.add_argument("--outbox", default=None, help="SQLite outbox file (default: a temporary one)")
    p.add_argument("--json", action="store_true", help="JSON instead of Avro")
    p.add_argument("--no-dedup", action="store_true", help="disable the fuzzy dedup")
    p.add_argument("--drain-rate", type=float, default=50_000, help="outbox drain_max_events_per_s")
    p.add_argument("--linger-ms", type=int, default=10)
    p.add_argument("--compression", default="lz4", choices=["none", "gzip", "snappy", "lz4", "zstd"])
    p.add_argument("--message-timeout-ms", type=int, default=120_000)
    p.add_argument("--count", type=int, default=1000, help="produce: last index (exclusive)")
    p.add_argument("--start", type=int, default=0, help="produce: first index")
    p.add_argument("--rate", type=float, default=100.0, help="produce: reads per second")
    p.add_argument("--progress", default=None, help="produce: file receiving each stored index")
    p.add_argument("--timeout-s", type=float, default=300.0, help="longest wait for acknowledgements")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = parse_args(argv)
    kafka = KafkaSettings()
    args.topic = args.topic or f"bench.delivery.{uuid.uuid4().hex[:8]}"
    tmp = tempfile.TemporaryDirectory(prefix="alpr-bench-") if args.outbox is None else None
    args.outbox = args.outbox or str(Path(tmp.name) / "outbox.sqlite3")
    ensure_topic(kafka, args.topic)
    if args.mode == "produce":
        return produce(args, kafka)
    if args.mode == "drain":
        return 0 if drain_phase(args, kafka)[0] >= 0 and SqliteOutbox(args.outbox).depth == 0 else 1
    try:
        publish_rate, publish_cpu = publish_phase(args, kafka)
        fill_backlog(args, kafka)
        drain_rate, drain_cpu = drain_phase(args, kafka)
        size = topic_size(kafka, args.topic)
        logger.info("topic %s holds %d messages (expected %d)", args.topic, size, args.events + args.backlog)
    finally:
        if not args.keep_topic:
            delete_topic(kafka, args.topic)
    print(f"publish_events_per_s={publish_rate:.0f} drain_events_per_s={drain_rate:.0f} "
          f"{cpu_keys('publish', publish_cpu)} {cpu_keys('drain', drain_cpu)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
