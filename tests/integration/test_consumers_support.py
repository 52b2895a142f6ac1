"""Shared helpers of the consumer integration tests (imported by test_consumers_*.py; no tests here).

Every test gets its own topics, consumer groups and index prefix (uuid suffix) so concurrent runs and
other engineers' data do not interfere; consumers run as real subprocesses (the console scripts)
pointed at those topics through ALPR_* environment variables.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
LOG_DIR = ROOT / ".stack" / "logs" / "tests"
BOOTSTRAP = "127.0.0.1:9092"
REGISTRY_URL = "http://127.0.0.1:8081/apis/ccompat/v7"
PG_DSN = "host=127.0.0.1 port=5432 dbname=alpr_db user=alpr password=alpr connect_timeout=5"
OPENSEARCH_URL = "http://127.0.0.1:9200"


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def require(*ports_and_names: tuple[int, str]) -> None:
    for port, name in ports_and_names:
        if not port_open(port):
            pytest.skip(f"{name} not reachable on 127.0.0.1:{port}; start it with: scripts/stack up")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], Any], timeout_s: float, what: str, interval_s: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what} (last: {last!r})")


def unique(prefix: str) -> str:
    return f"{prefix}.{uuid.uuid4().hex[:10]}"


# -- Kafka ---------------------------------------------------------------------------------------
@contextmanager
def topics(*specs: tuple[str, int]) -> Iterator[None]:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    for fut in admin.create_topics([NewTopic(name, partitions, 1) for name, partitions in specs]).values():
        fut.result(30)
    try:
        yield
    finally:
        admin.delete_topics([name for name, _ in specs], operation_timeout=30)


def plate_serde() -> Any:
    from alpr_common.serde import RecordSerde, registry_client

    return RecordSerde("plate_event", registry_client(REGISTRY_URL), use_avro=True, auto_register=True)


def producer() -> Any:
    from confluent_kafka import Producer

    return Producer(
        {"bootstrap.servers": BOOTSTRAP, "enable.idempotence": True, "acks": "all", "linger.ms": 5}
    )


def produce(topic: str, values: list[tuple[bytes | None, bytes]]) -> None:
    prod = producer()
    for key, value in values:
        prod.produce(topic, value=value, key=key)
        prod.poll(0)
    assert prod.flush(30) == 0


def encode_events(topic: str, events: list[dict[str, Any]]) -> list[tuple[bytes | None, bytes]]:
    serde = plate_serde()
    return [(e["camera_id"].encode(), serde.serialize(e, topic)) for e in events]


def read_all(topic: str, expected: int, timeout_s: float = 30.0) -> list[Any]:
    from confluent_kafka import Consumer

    cons = Consumer(
        {
            "bootstrap.servers": BOOTSTRAP,
            "group.id": unique("reader"),
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    cons.subscribe([topic])
    out: list[Any] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(out) < expected and time.monotonic() < deadline:
            out.extend(m for m in cons.consume(100, 1.0) if m.error() is None)
    finally:
        cons.close()
    return out


# -- consumer subprocesses -----------------------------------------------------------------------
class ConsumerProcess:
    """One console-script consumer (alpr-storage-consumer, ...) with its own environment and log."""

    def __init__(self, script: str, env: dict[str, str], name: str):
        self.script, self.env, self.name = script, env, name
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> ConsumerProcess:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [str(BIN / self.script)],
            env={**os.environ, **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        self.starts += 1
        return self

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout_s: float = 30.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(10)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def metric(self, port: int, name: str) -> float:
        import urllib.request

        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=15).read().decode()
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{"))


def consumer_env(
    section: str, topic: str, dlq_topic: str, group: str, metrics_port: int, **extra: str
) -> dict[str, str]:
    env = {
        "ALPR_KAFKA__BOOTSTRAP_SERVERS": BOOTSTRAP,
        "ALPR_KAFKA__SCHEMA_REGISTRY_URL": REGISTRY_URL,
        "ALPR_KAFKA__USE_AVRO": "true",
        "ALPR_KAFKA__TOPICS__PLATES__NAME": topic,
        "ALPR_KAFKA__TOPICS__DLQ__NAME": dlq_topic,
        f"ALPR_{section}__GROUP_ID": group,
        f"ALPR_{section}__METRICS_PORT": str(metrics_port),
        f"ALPR_{section}__RETRY_BACKOFF_S": "[1, 2, 4]",
        "ALPR_DATABASE__HOST": "127.0.0.1",
        "ALPR_SEARCH__URL": OPENSEARCH_URL,
    }
    env.update(extra)
    return env


# -- PostgreSQL ----------------------------------------------------------------------------------
def stored(event_ids: list[str]) -> int:
    """Rows of plate_events for these event ids (0 while the database is down)."""
    import psycopg

    try:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM plate_events WHERE event_id = ANY(%s::uuid[])", (event_ids,)
            ).fetchone()
    except psycopg.OperationalError:
        return -1
    assert row is not None
    return int(row[0])


def require_managed(name: str) -> None:
    """Skip unless scripts/stack runs ``name`` itself (an outage test must be able to restart it)."""
    out = subprocess.run(
        [str(ROOT / "scripts" / "stack"), "status", name],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    ).stdout.split()
    if len(out) < 2 or out[1] != "healthy":
        pytest.skip(
            f"{name} is not a healthy server of scripts/stack ({' '.join(out[:2])}); cannot restart it"
        )


def stack(*args: str, timeout_s: float = 240.0) -> None:
    subprocess.run(
        [str(ROOT / "scripts" / "stack"), *args],
        cwd=ROOT,
        check=True,
        timeout=timeout_s,
        stdout=subprocess.DEVNULL,
    )
