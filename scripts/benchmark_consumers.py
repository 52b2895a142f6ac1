#!/usr/bin/env python3
"""Throughput of the storage- and search-consumer from process start until caught up.

    .venv/bin/python scripts/benchmark_consumers.py                       # 200,000 events, both consumers
    .venv/bin/python scripts/benchmark_consumers.py --events 50000 --only storage

Preloads N Avro plate events (one fresh topic, progress lines), then runs each consumer ``--runs`` times
(default 3) as its console script with a fresh consumer group and times it from process start until its
committed offsets reach the end of the topic; the rows/documents are counted after each run and removed
before the next (rows vacuumed; storage runs start once no autovacuum worker is busy). The last line,
with the median of the runs, is ``storage_events_per_s=.. search_docs_per_s=..`` followed by the CPU
milliseconds per 1,000 events of each process involved, from /proc, start to caught up (medians):
``storage_cpu_ms_per_1k`` (the consumer), ``storage_pg_cpu_ms_per_1k`` (the whole PostgreSQL server),
``storage_kafka_cpu_ms_per_1k``, ``search_cpu_ms_per_1k``, ``search_opensearch_cpu_ms_per_1k``,
``search_kafka_cpu_ms_per_1k``. Test data (topic,
rows, index) is removed at the end unless --keep. Needs the local stack (scripts/stack up) with the
broker, registry, PostgreSQL and OpenSearch.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import fastavro
import psycopg
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from psycopg import sql

import _bootstrap  # noqa: F401
from _cpu import CpuMeter, cpu_keys, median_costs, pid_group, stack_groups
from alpr_common.schemas import parsed_schema
from alpr_common.serde import RecordSerde, registry_client

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SERVERS = {"storage": ("pg", "kafka"), "search": ("opensearch", "kafka")}  # CPU accounted per consumer


@dataclass(frozen=True)
class Run:
    """One consumer run: events (rows or documents) per second and CPU ms per 1,000 events per process."""

    rate: float
    cpu: dict[str, float]


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def make_event(i: int, camera: str, base: datetime) -> dict[str, Any]:
    plate = f"B{i % 1_000_000:06d}"
    return {
        "event_id": str(uuid.uuid4()),
        "captured_at": base + timedelta(milliseconds=i),
        "published_at": base,
        "camera_id": camera,
        "track_id": i,
        "preview": False,
        "plate": {
            "text": plate,
            "normalized_text": plate,
            "confidence": 0.9,
            "region": "us-generic",
            "matches_format": True,
            "candidates": [{"text": plate, "confidence": 0.9}],
            "char_confidences": [0.95] * len(plate),
        },
        "vehicle": {"type": "car", "make": None, "model": None, "color": None},
        "bbox": {"x1": 1.0, "y1": 2.0, "x2": 3.0, "y2": 4.0},
        "images": {
            "plate_url": f"s3://alpr-plate-images/bench/{i}.jpg",
            "vehicle_url": None,
            "frame_url": None,
        },
        "latency_ms": 100,
        "node": {"site": "bench", "host": "bench-1"},
        "extras": {"roi": None, "direction": None, "quality_score": 0.7, "frame_number": i, "read_count": 3},
    }


def preload(args: argparse.Namespace, topic: str, camera: str) -> None:
    serde = RecordSerde("plate_event", registry_client(args.registry), use_avro=True, auto_register=True)
    base = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=1)
    header = serde.serialize(make_event(0, camera, base), topic)[:5]  # magic byte + registered schema id
    schema = parsed_schema("plate_event")
    producer = Producer(
        {
            "bootstrap.servers": args.bootstrap,
            "linger.ms": 50,
            "batch.size": 1_000_000,
            "queue.buffering.max.messages": 500_000,
            "compression.type": "lz4",
            "acks": "all",
        }
    )
    step = max(1, args.events // 10)
    started = time.monotonic()
    for i in range(args.events):
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, schema, make_event(i, camera, base))
        while True:
            try:
                producer.produce(topic, value=header + buf.getvalue(), key=f"{camera}-{i % 6}".encode())
                break
            except BufferError:
                producer.poll(0.1)
        if (i + 1) % step == 0:
            producer.poll(0)
            say(f"preload: {i + 1:,}/{args.events:,} events produced")
    assert producer.flush(120) == 0, "preload: messages left undelivered"
    say(f"preload: {args.events:,} events in {time.monotonic() - started:.1f}s on {topic}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def committed_total(probe: Consumer, topic: str, partitions: int) -> int:
    """Offsets the probe's group committed on ``topic``. One probe per run, never subscribed (no group
    membership): a new client per poll cost the broker ~1 CPU-second per run, taken from the consumer."""
    try:
        tps = probe.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
        return sum(max(tp.offset, 0) for tp in tps)
    except KafkaException as exc:  # broker busy or restarting: report nothing new, ask again
        say(f"committed offsets not available: {exc}")
        return 0


def cpu_reference_ms() -> float:
    """Milliseconds of a fixed single-threaded Python workload: this shared machine's speed drifts by
    up to ~40 % between minutes, so each run is printed with it to tell code from machine."""
    started = time.perf_counter()
    sum(i * i for i in range(1_000_000))
    return (time.perf_counter() - started) * 1000


def run_consumer(
    args: argparse.Namespace, kind: str, topic: str, extra_env: dict[str, str]
) -> tuple[float, dict[str, float]]:
    """Start the consumer, wait until its group committed every offset, stop it; returns the seconds and
    the CPU ms per 1,000 events of the consumer and the servers it uses, from start to caught up."""
    section = f"{kind.upper()}_CONSUMER"
    group = f"bench-{kind}-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        **extra_env,
        "ALPR_KAFKA__BOOTSTRAP_SERVERS": args.bootstrap,
        "ALPR_KAFKA__SCHEMA_REGISTRY_URL": args.registry,
        "ALPR_KAFKA__TOPICS__PLATES__NAME": topic,
        "ALPR_KAFKA__TOPICS__DLQ__NAME": f"{topic}.dlq",
        f"ALPR_{section}__GROUP_ID": group,
        f"ALPR_{section}__METRICS_PORT": str(free_port()),
        "ALPR_LOGGING__LEVEL": "WARNING",
    }
    say(
        f"{kind}: starting alpr-{kind}-consumer ({', '.join(f'{k}={v}' for k, v in extra_env.items())}); "
        f"CPU reference {cpu_reference_ms():.0f} ms"
    )
    started = time.monotonic()
    cpu_before = _children_cpu_s()
    proc = subprocess.Popen([str(BIN / f"alpr-{kind}-consumer")], env=env, cwd=ROOT)
    meter = CpuMeter([pid_group("cpu", lambda: proc.pid), *stack_groups(*SERVERS[kind])])
    cpu_start = meter.snapshot()  # taken as the consumer starts: its own CPU time is still ~0
    probe = Consumer({"bootstrap.servers": args.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        done, last_report = 0, started
        while done < args.events:
            if proc.poll() is not None:
                raise SystemExit(f"{kind}: consumer exited with {proc.returncode}")
            time.sleep(0.1)  # one cheap OffsetFetch per poll (the probe is reused)
            done = max(done, committed_total(probe, topic, args.partitions))
            if time.monotonic() - last_report >= 5:
                last_report = time.monotonic()
                say(f"{kind}: {done:,}/{args.events:,} committed after {last_report - started:.1f}s")
        elapsed = time.monotonic() - started
        cpu_end = meter.snapshot()
    finally:
        probe.close()
        proc.terminate()
        proc.wait(60)
    cpu = _children_cpu_s() - cpu_before
    costs = cpu_end.delta_ms_per_1k(cpu_start, args.events)  # start to caught up, as the rate
    say(
        f"{kind}: consumer process CPU {cpu:.1f}s user+sys (start-up and shutdown included) "
        f"= {args.events / max(cpu, 1e-9):,.0f} events per CPU-second; load average {os.getloadavg()[0]:.1f}"
    )
    say(
        f"{kind}: caught up: {args.events:,} events in {elapsed:.2f}s from process start "
        f"= {args.events / elapsed:,.0f}/s; CPU ms per 1,000 events: {cpu_keys(kind, costs)}"
    )
    return elapsed, costs


def stored_rows(args: argparse.Namespace, camera: str) -> int:
    with psycopg.connect(args.dsn) as conn:
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM {} WHERE camera_id = %s").format(sql.Identifier(args.table)), (camera,)
        ).fetchone()
    return int(row[0]) if row else 0


def es(args: argparse.Namespace, method: str, path: str) -> Any:
    req = urllib.request.Request(args.opensearch + path, method=method)
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read() or b"null")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=200_000, help="events to preload (default 200000)")
    p.add_argument("--partitions", type=int, default=6, help="partitions of the benchmark topic")
    p.add_argument("--only", choices=["storage", "search"], help="run one consumer only")
    p.add_argument(
        "--table",
        default="plate_events",
        help="table the storage-consumer writes (storage.table), e.g. a copy with other indexes to compare",
    )
    p.add_argument("--storage-batch", type=int, default=10000, help="storage-consumer batch_size")
    p.add_argument("--search-batch", type=int, default=2000, help="search-consumer batch_size")
    p.add_argument("--runs", type=int, default=3, help="runs of each consumer on the preloaded topic; medians reported")
    p.add_argument("--keep", action="store_true", help="keep the topic, rows and index")
    p.add_argument(
        "--ab",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="A/B: alternate storage runs (search runs with --only search) without and with these consumer "
        "environment variables (e.g. ALPR_STORAGE__STORE_RAW=false) and print both medians; repeatable",
    )
    p.add_argument("--bootstrap", default="127.0.0.1:9092")
    p.add_argument("--registry", default="http://127.0.0.1:8081/apis/ccompat/v7")
    p.add_argument("--dsn", default="host=127.0.0.1 port=5432 dbname=alpr_db user=alpr password=alpr")
    p.add_argument("--opensearch", default="http://127.0.0.1:9200")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanup (and stop the consumer)
    run = uuid.uuid4().hex[:8]
    topic, camera, prefix = f"bench.plates.{run}", f"bench-{run}", f"alpr-bench-{run}"
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    admin.create_topics([NewTopic(topic, args.partitions, 1), NewTopic(f"{topic}.dlq", 1, 1)])[topic].result(30)
    rates = {"storage": 0.0, "search": 0.0}
    costs: dict[str, dict[str, float]] = {k: dict.fromkeys(("cpu", *SERVERS[k]), math.nan) for k in SERVERS}
    try:
        preload(args, topic, camera)
        if args.ab:
            return ab_compare(args, topic, camera, prefix)
        if args.only in (None, "storage"):
            rates["storage"], costs["storage"] = median_of_runs(
                args, "storage", lambda: storage_run(args, topic, camera), lambda: delete_rows(args, camera)
            )
        if args.only in (None, "search"):
            rates["search"], costs["search"] = median_of_runs(
                args, "search", lambda: search_run(args, topic, prefix), lambda: delete_indices(args, prefix)
            )
    finally:
        if not args.keep:
            cleanup(args, admin, topic, camera, prefix)
    print(
        f"storage_events_per_s={rates['storage']:.0f} search_docs_per_s={rates['search']:.0f} "
        f"{cpu_keys('storage', costs['storage'])} {cpu_keys('search', costs['search'])}",
        flush=True,
    )
    return 0


def median_of_runs(
    args: argparse.Namespace, kind: str, one_run: Callable[[], Run], between: Callable[[], None]
) -> tuple[float, dict[str, float]]:
    """``one_run`` ``args.runs`` times (each with a fresh consumer group), ``between`` after all but the last;
    the median rate and the median CPU ms per 1,000 events of each process."""
    runs: list[Run] = []
    for i in range(args.runs):
        if i:
            between()
        runs.append(one_run())
        say(f"{kind}: run {i + 1}/{args.runs}: {runs[-1].rate:,.0f}/s")
    rates = [r.rate for r in runs]
    median, cpu = statistics.median(rates), median_costs([r.cpu for r in runs])
    say(f"{kind}: median of {len(rates)} runs {median:,.0f}/s (runs: {', '.join(f'{r:,.0f}' for r in rates)}); "
        f"median CPU {cpu_keys(kind, cpu)}")
    return median, cpu


def ab_compare(args: argparse.Namespace, topic: str, camera: str, prefix: str) -> int:
    """Runs alternating baseline (A) and ``--ab`` variables (B) of the storage-consumer (or of the
    search-consumer with ``--only search``): the machine's speed drifts between minutes, so only
    interleaved runs compare two settings fairly."""
    kind = args.only or "storage"
    variant = dict(item.split("=", 1) for item in args.ab)
    if kind == "search":
        one_run: Callable[[dict[str, str]], Run] = lambda env: search_run(args, topic, prefix, env)  # noqa: E731
        between: Callable[[], None] = lambda: delete_indices(args, prefix)  # noqa: E731
    else:
        one_run, between = (lambda env: storage_run(args, topic, camera, env)), (lambda: delete_rows(args, camera))
    runs: dict[str, list[Run]] = {"A": [], "B": []}
    for i in range(args.runs):
        for name, env in (("A", {}), ("B", variant)):
            if runs["A"] or runs["B"]:
                between()
            runs[name].append(one_run(env))
            say(f"{kind} {name} run {i + 1}/{args.runs}: {runs[name][-1].rate:,.0f}/s")
    a, b = (statistics.median(r.rate for r in runs[k]) for k in ("A", "B"))
    print(
        f"{kind}_a_per_s={a:.0f} {kind}_b_per_s={b:.0f} b_over_a={b / a:.3f} "
        f"{cpu_keys(f'{kind}_a', median_costs([r.cpu for r in runs['A']]))} "
        f"{cpu_keys(f'{kind}_b', median_costs([r.cpu for r in runs['B']]))}",
        flush=True,
    )
    return 0


def storage_run(args: argparse.Namespace, topic: str, camera: str, env: dict[str, str] | None = None) -> Run:
    """One storage-consumer run from process start until caught up, started on a quiet database."""
    wait_for_quiet_db(args)
    secs, cpu = run_consumer(
        args,
        "storage",
        topic,
        {
            "ALPR_STORAGE_CONSUMER__BATCH_SIZE": str(args.storage_batch),
            "ALPR_STORAGE__TABLE": args.table,
            **(env or {}),
        },
    )
    rows = stored_rows(args, camera)
    say(f"storage: {rows:,} rows in {args.table} for camera {camera}")
    return Run(rows / secs, cpu)


def search_run(args: argparse.Namespace, topic: str, prefix: str, env: dict[str, str] | None = None) -> Run:
    secs, cpu = run_consumer(
        args,
        "search",
        topic,
        {
            "ALPR_SEARCH_CONSUMER__BATCH_SIZE": str(args.search_batch),
            "ALPR_SEARCH__INDEX_PREFIX": prefix,
            **(env or {}),
        },
    )
    es(args, "POST", f"/{prefix}/_refresh")
    docs = int(es(args, "GET", f"/{prefix}/_count")["count"])
    say(f"search: {docs:,} documents behind alias {prefix}")
    return Run(docs / secs, cpu)


def wait_for_quiet_db(args: argparse.Namespace, limit_s: float = 120.0) -> None:
    """Runs compared with each other start with no autovacuum worker busy on the database."""
    started = time.monotonic()
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        while time.monotonic() - started < limit_s:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
            ).fetchone()
            if not row or not row[0]:
                return
            time.sleep(0.5)
    say(f"storage: autovacuum still running after {limit_s:.0f}s; measuring anyway")


def delete_rows(args: argparse.Namespace, camera: str) -> None:
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        table = sql.Identifier(args.table)
        conn.execute(sql.SQL("DELETE FROM {} WHERE camera_id = %s").format(table), (camera,))
        conn.execute(sql.SQL("VACUUM {}").format(table))  # the next run inserts into reclaimed space, as this one did


def delete_indices(args: argparse.Namespace, prefix: str) -> None:
    for path in (f"/{prefix}-*", f"/_index_template/{prefix}", f"/_plugins/_ism/policies/{prefix}-retention"):
        with contextlib.suppress(OSError):
            es(args, "DELETE", path)


def cleanup(args: argparse.Namespace, admin: AdminClient, topic: str, camera: str, prefix: str) -> None:
    admin.delete_topics([topic, f"{topic}.dlq"], operation_timeout=30)
    delete_rows(args, camera)
    delete_indices(args, prefix)
    say("cleanup: benchmark topic, rows and index removed")


if __name__ == "__main__":
    sys.exit(main())
