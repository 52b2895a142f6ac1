#!/usr/bin/env python3
"""Alert-engine benchmark: rule evaluation throughput, and event-in-Kafka to webhook-received latency.

``scripts/benchmark_alerts.py [--entries 10000] [--rules 50] [--events 20000] [--e2e-events 1000]``

1. Evaluation: ``--entries`` watchlist entries in 5 lists (90 % plates, 5 % 'ABCD*' prefixes,
   5 % '*123' suffixes) and ``--rules`` rules (fuzzy and exact over the lists, inline prefix/regex
   patterns, allowlists, time windows, camera filters). ``--events`` plate events with 3 OCR
   candidates each (5 % one confusion away from a watched plate) go through AlertProcessor.process
   (rules, cooldowns, alert records; no I/O) in batches of 100 on one process -> events_per_s.
2. End to end (needs Kafka; PostgreSQL and the Schema Registry when running): the real service
   (consumer runtime, `alerts` table, alpr.alerts, webhook channel) on uuid-named topics, a local HTTP
   receiver on 127.0.0.1 as the webhook target. Events are produced at ``--rate`` per second, one
   in five matching a distinct watched plate; latency = receiver arrival - time before produce.
   -> webhook_p95_ms (nan when Kafka is not reachable).

The last stdout line is ``events_per_s=.. webhook_p95_ms=..`` followed by CPU milliseconds per 1,000
events from /proc: ``eval_cpu_ms_per_1k`` (this process during the evaluation), then for the end-to-end
run (start after the warm-up to the last webhook; events arrive at ``--rate``, so idle polling is in it)
``e2e_engine_cpu_ms_per_1k`` (the alert engine), ``e2e_kafka_cpu_ms_per_1k``, ``e2e_pg_cpu_ms_per_1k``
(the whole PostgreSQL server) and ``e2e_cpu_ms_per_1k`` (this process: producer and webhook receiver).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import random
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import CollectorRegistry

import _bootstrap  # noqa: F401
from _cpu import CpuMeter, cpu_keys, pid_group, self_group, stack_groups
from alpr_common.config import load_config
from alpr_common.serde import RecordSerde, registry_client
from alpr_core.alerting.alert import Alert
from alpr_core.alerting.channels.base import Delivery
from alpr_core.alerting.config import ActionSpec, AlertEngineConfig, RetrySettings, RuleSet
from alpr_core.alerting.dispatcher import Dispatcher
from alpr_core.alerting.fuzzy import ConfusableCosts
from alpr_core.alerting.metrics import AlertMetrics
from alpr_core.alerting.processor import AlertProcessor
from alpr_core.alerting.receivers import HttpReceiver
from alpr_core.alerting.rules import RuleEngine, compile_rules

ROOT = Path(__file__).resolve().parents[1]
ALNUM = string.ascii_uppercase + string.digits
CONFUSE = {"0": "O", "O": "0", "1": "I", "I": "1", "8": "B", "B": "8", "5": "S", "S": "5", "2": "Z", "Z": "2"}
logger = logging.getLogger("benchmark_alerts")


def _plate(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_uppercase) for _ in range(3)) + "".join(
        rng.choice(ALNUM) for _ in range(rng.randint(3, 4))
    )


def make_lists(n: int, rng: random.Random) -> dict[str, list[str]]:
    lists: dict[str, list[str]] = {f"list{i}": [] for i in range(5)}
    names = list(lists)
    for i in range(n):
        p = _plate(rng)
        r = rng.random()
        pattern = p[:4] + "*" if r < 0.05 else "*" + p[-4:] if r < 0.10 else p
        lists[names[i % 5]].append(pattern)
    return lists


def make_rules(
    n: int, lists: dict[str, list[str]], rng: random.Random, webhook: list[dict[str, Any]]
) -> list[dict]:
    names = list(lists)
    rules: list[dict[str, Any]] = []
    for i in range(n):
        kind = i % 10
        cond: dict[str, Any] = {"watchlists": [names[i % 5]]}
        if kind in (0, 1, 2, 3):
            cond.update(match="fuzzy", max_cost=[1.0, 0.5][kind % 2])
        elif kind == 4:
            cond["watchlists"] = [names[i % 5], names[(i + 1) % 5]]
        elif kind == 5:
            cond = {
                "plates": [_plate(rng)[:3] + "*", "*" + _plate(rng)[-3:]],
                "cameras": [f"cam-{i % 7:02d}"],
            }
        elif kind == 6:
            cond = {"plates": [{"pattern": f"^{_plate(rng)[:2]}[0-9]{{4}}$", "match": "regex"}]}
        elif kind == 7:
            cond.update(time_windows=[{"start": "22:00", "end": "06:00"}], days=["sat", "sun"])
        elif kind == 8:
            cond.update(min_confidence=0.8, sites=["site-a"], directions=["in"])
        allow = kind == 9
        if allow:
            cond["cameras"] = ["cam-gate"]
        rules.append(
            {
                "name": f"rule-{i:02d}",
                "conditions": cond,
                "allowlist": allow,
                "actions": webhook,
                "cooldown_s": 300,
            }
        )
    return rules


def make_event(plate: str, rng: random.Random, now: datetime) -> dict[str, Any]:
    cands = [plate] + [_mutate(plate, rng) for _ in range(2)]
    return {
        "event_id": str(uuid.uuid4()),
        "captured_at": now - timedelta(milliseconds=300),
        "published_at": now,
        "camera_id": f"cam-{rng.randint(0, 9):02d}",
        "track_id": rng.randint(1, 10_000),
        "preview": False,
        "plate": {
            "text": plate,
            "normalized_text": plate,
            "confidence": round(rng.uniform(0.5, 0.99), 3),
            "region": None,
            "matches_format": None,
            "candidates": [{"text": c, "confidence": 0.3} for c in cands],
            "char_confidences": [],
        },
        "vehicle": None,
        "bbox": {"x1": 0.0, "y1": 0.0, "x2": 10.0, "y2": 5.0},
        "images": {"plate_url": None, "vehicle_url": None, "frame_url": None},
        "latency_ms": 100,
        "node": {"site": "site-a", "host": "edge-1"},
        "extras": {
            "roi": None,
            "direction": rng.choice(["in", "out", None]),
            "quality_score": None,
            "frame_number": None,
            "read_count": 3,
        },
    }


def _mutate(plate: str, rng: random.Random) -> str:
    """One OCR confusion when the plate has a confusable character, else one random substitution."""
    idx = [i for i, c in enumerate(plate) if c in CONFUSE]
    i = rng.choice(idx) if idx else rng.randrange(len(plate))
    ch = CONFUSE.get(plate[i]) or rng.choice(ALNUM)
    return plate[:i] + ch + plate[i + 1 :]


def watched_plates(lists: dict[str, list[str]]) -> list[str]:
    return [p for entries in lists.values() for p in entries if "*" not in p]


class Discard:
    name = "webhook"

    def send(self, alert: Alert, action: ActionSpec) -> Delivery:
        return Delivery(self.name, "discarded")

    def close(self) -> None:
        pass


class NoDeadLetters:
    def send(self, alert: Alert, action: ActionSpec, error: str, attempts: int) -> None:
        pass


class StaticRules:
    def __init__(self, engine: RuleEngine):
        self.engine = engine

    def refresh(self) -> RuleEngine:
        return self.engine


def bench_evaluation(
    lists: dict[str, list[str]], rules: list[dict], n_events: int, rng: random.Random
) -> tuple[float, dict[str, float]]:
    engine = compile_rules(RuleSet.model_validate({"lists": lists, "rules": rules}), {}, ConfusableCosts())
    metrics = AlertMetrics(CollectorRegistry())
    dispatcher = Dispatcher(
        {"webhook": Discard()}, RetrySettings.model_validate({"delays_s": []}), NoDeadLetters(), metrics
    )
    processor = AlertProcessor(StaticRules(engine), dispatcher, metrics)
    watched, now = watched_plates(lists), datetime.now(timezone.utc)
    events = [
        make_event(_mutate(rng.choice(watched), rng) if rng.random() < 0.05 else _plate(rng), rng, now)
        for _ in range(n_events)
    ]
    processor.process(events[:200])  # warm-up
    meter = CpuMeter([self_group()])
    before = meter.snapshot()
    started, cpu_started = time.perf_counter(), time.process_time()
    alerts = 0
    for i in range(0, n_events, 100):
        alerts += len(processor.process(events[i : i + 100]))
    elapsed, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    costs = meter.snapshot().delta_ms_per_1k(before, n_events)
    dispatcher.close()
    print(
        f"evaluation: {n_events} events, {len(rules)} rules, {sum(map(len, lists.values()))} entries, "
        f"{alerts} alerts in {elapsed:.2f}s wall, {cpu_s:.2f}s CPU "
        f"({n_events / cpu_s:.0f} events per CPU-second; wall > CPU: the machine ran other processes)",
        file=sys.stderr,
    )
    return n_events / elapsed, costs


def _port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def _e2e_config(
    lists: dict[str, list[str]], rules: list[dict], url: str, tag: str, path: Path
) -> AlertEngineConfig:
    """Write the engine's overrides (topics, group, metrics port, lists, rules, webhook) to ``path``."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    doc = {
        "kafka": {
            "use_avro": _port_open(8081),
            "topics": {r: {"name": f"bench.alerts.{r}.{tag}"} for r in ("plates", "alerts", "dlq")},
        },
        "alert_engine": {"group_id": f"bench-alerts-{tag}", "metrics_port": port},
        "alerting": {
            "lists": lists,
            "rules": [{**r, "name": f"{r['name']}-{tag}"} for r in rules],  # no cooldowns from other runs
            "db_watchlists": False,
            "reload_interval_s": 3600,
            "retry": {"delays_s": [0.5, 1, 2]},
            "channels": {"webhook": {"url": url, "hmac_secret": "bench"}},
        },
    }
    path.write_text(yaml.safe_dump(doc))
    return load_config(AlertEngineConfig, [ROOT / "config", path])


def _topics(cfg: AlertEngineConfig, create: bool) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient(dict(cfg.kafka.client_config()))
    names = [getattr(cfg.kafka.topics, r).name for r in ("plates", "alerts", "dlq")]
    futures = (
        admin.create_topics([NewTopic(n, num_partitions=3, replication_factor=1) for n in names])
        if create
        else admin.delete_topics(names)
    )
    for f in futures.values():
        with contextlib.suppress(Exception):
            f.result(timeout=30)
    if not create and cfg.kafka.use_avro:  # the subjects auto-registered for the uuid topics
        client = registry_client(cfg.kafka.schema_registry_url)
        for name in names[:2]:
            with contextlib.suppress(Exception):
                client.delete_subject(f"{name}-value")
                client.delete_subject(f"{name}-value", permanent=True)


def _produce_all(cfg: AlertEngineConfig, events: list[dict[str, Any]], rate: float) -> dict[str, float]:
    from confluent_kafka import Producer

    topic = cfg.kafka.topics.plates.name
    client = registry_client(cfg.kafka.schema_registry_url) if cfg.kafka.use_avro else None
    serde = RecordSerde("plate_event", client, use_avro=cfg.kafka.use_avro, auto_register=True)
    producer = Producer({**cfg.kafka.client_config(), "linger.ms": 0, "acks": "all"})
    sent: dict[str, float] = {}
    start = time.perf_counter()
    for i, rec in enumerate(events):
        value = serde.serialize(rec, topic)
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        sent[rec["event_id"]] = time.time()
        producer.produce(topic, key=rec["camera_id"].encode(), value=value)
        producer.poll(0)
    producer.flush(30)
    return sent


def _start_engine(cfg_file: Path, log: Path) -> subprocess.Popen[bytes]:
    """The real service (alpr-alert-engine) in its own process, as deployed."""
    code = "from alpr_core.cli import alert_main; raise SystemExit(alert_main())"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(ROOT / p) for p in (".", "core-services"))}
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-c", code, "--config", str(ROOT / "config"), "--config", str(cfg_file)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )


def _drop_alerts(cfg: AlertEngineConfig, tag: str) -> None:
    import psycopg

    with contextlib.suppress(Exception), psycopg.connect(cfg.database.conninfo()) as conn:
        conn.execute("DELETE FROM alerts WHERE rule_name LIKE %s", (f"rule-%-{tag}",))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


E2E_GROUPS = ("engine", "kafka", "pg", "cpu")


def bench_e2e(
    lists: dict[str, list[str]], rules: list[dict], n_events: int, rate: float, rng: random.Random
) -> tuple[float, dict[str, float]]:
    """Webhook latency p95 (ms) and CPU ms per 1,000 events of each process; ``nan`` when not run (0 events)."""
    skipped = (math.nan, dict.fromkeys(E2E_GROUPS, math.nan))
    if not n_events:
        return skipped
    if not (_port_open(9092) and _port_open(5432)):
        print(
            "end to end: Kafka (9092) or PostgreSQL (5432) not reachable; start them with scripts/stack up",
            file=sys.stderr,
        )
        return skipped
    tag, tmp = uuid.uuid4().hex[:10], Path(tempfile.mkdtemp(prefix="bench-alerts-"))
    watched = watched_plates(lists)
    rng.shuffle(watched)
    with HttpReceiver() as rx:
        cfg = _e2e_config(lists, rules, rx.url + "/bench", tag, tmp / "bench.yaml")
        _topics(cfg, create=True)
        engine = _start_engine(tmp / "bench.yaml", tmp / "engine.log")
        try:
            now = datetime.now(timezone.utc)
            _produce_all(cfg, [make_event(watched.pop(), rng, now)], 1)  # warm-up: start, group join
            if not rx.wait_for(1, 120):
                print(f"end to end: no webhook from the engine; see {tmp / 'engine.log'}", file=sys.stderr)
                return skipped
            events = [
                make_event(_mutate(watched.pop(), rng) if i % 5 == 0 else _plate(rng), rng, now)
                for i in range(n_events)
            ]
            before = len(rx.accepted)
            meter = CpuMeter([pid_group("engine", lambda: engine.pid), *stack_groups("kafka", "pg"), self_group()])
            cpu_before = meter.snapshot()
            sent = _produce_all(cfg, events, rate)
            rx.wait_for(before + n_events // 5, 60)
            costs = meter.snapshot().delta_ms_per_1k(cpu_before, n_events)
            time.sleep(2.0)
        finally:
            engine.terminate()
            engine.wait(30)
            _topics(cfg, create=False)
            _drop_alerts(cfg, tag)
    return _report(rx, sent, n_events, rate, cfg.kafka.use_avro), costs


def _report(rx: HttpReceiver, sent: dict[str, float], n_events: int, rate: float, avro: bool) -> float:
    """Print the latency distribution of the webhooks for the produced events; return the p95 in ms."""
    got = [(r.at, r.json()) for r in rx.accepted]
    got = [(at, b) for at, b in got if b["event_id"] in sent]
    if not got:
        return math.nan
    lat = [(at - sent[b["event_id"]]) * 1000 for at, b in got]
    to_alert = [
        (datetime.fromisoformat(b["created_at"]).timestamp() - sent[b["event_id"]]) * 1000 for _, b in got
    ]
    p95 = _percentile(lat, 0.95)
    print(
        f"end to end: {len(lat)} webhooks for {n_events} events at {rate:.0f}/s (avro={avro}); "
        f"latency ms p50={statistics.median(lat):.1f} p95={p95:.1f} max={max(lat):.1f}; "
        f"produce->alert created p50={statistics.median(to_alert):.1f} p95={_percentile(to_alert, 0.95):.1f}",
        file=sys.stderr,
    )
    return p95


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=10_000, help="watchlist entries")
    parser.add_argument("--rules", type=int, default=50, help="rules")
    parser.add_argument("--events", type=int, default=20_000, help="events for the evaluation benchmark")
    parser.add_argument(
        "--e2e-events", type=int, default=1000, help="events for the end-to-end run (0: skip)"
    )
    parser.add_argument("--rate", type=float, default=100.0, help="events per second produced end to end")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    rng = random.Random(args.seed)
    lists = make_lists(args.entries, rng)
    rules = make_rules(args.rules, lists, rng, [{"channel": "webhook"}])
    eps, eval_cpu = bench_evaluation(lists, rules, args.events, rng)
    p95, e2e_cpu = bench_e2e(lists, rules, args.e2e_events, args.rate, rng)
    print(f"events_per_s={eps:.0f} webhook_p95_ms={p95:.1f} {cpu_keys('eval', eval_cpu)} {cpu_keys('e2e', e2e_cpu)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
