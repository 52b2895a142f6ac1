"""Apache Kafka 3.9 in KRaft mode (broker + controller in one JVM) on 127.0.0.1:9092.

Jars come from Maven Central: ``scripts/stacklib/maven/kafka/pom.xml`` (``kafka_2.13`` with its runtime
dependencies plus the reload4j binding) is resolved with ``mvn dependency:copy-dependencies`` into
``.stack/cache/kafka-3.9.1/libs``; the server runs as ``java -cp 'libs/*' kafka.Kafka server.properties``.

State lives in ``.stack/kafka``: ``server.properties`` and ``log4j.properties`` (rewritten on every start),
``cluster.id`` (generated once) and ``data/`` (formatted once with ``kafka.tools.StorageTool``).
Listeners: PLAINTEXT 127.0.0.1:9092 (clients), CONTROLLER 127.0.0.1:9093 (KRaft quorum, local only).
Single-node settings: every replication factor and min ISR is 1. ``auto.create.topics.enable=false``:
topics are created explicitly (``scripts/create_topics.py``, tests via AdminClient).
Heap: ``$KAFKA_HEAP_OPTS`` or ``-Xms256m -Xmx512m``. AppCDS archive: see ``base.cds_flags``.

Healthy = a Kafka Metadata request (v1, raw protocol over a socket; stdlib only) answers with at least
one broker, which the broker only does after it has caught up with the KRaft metadata log.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import socket
import struct
import uuid
from dataclasses import dataclass
from pathlib import Path

from ..base import (
    HOST,
    MAVEN_DIR,
    Service,
    SingleInstance,
    StackError,
    cds_flags,
    maven_copy_dependencies,
    run,
    stamp_ok,
)

KAFKA_VERSION = "3.9.1"
CONTROLLER_PORT = 9093


def metadata_brokers(host: str, port: int, timeout_s: float = 2.0) -> int:
    """Send a Metadata v1 request for no topics; return the number of brokers in the answer (-1 on error)."""
    client_id = b"alpr-stack"
    # header: api_key=3 (Metadata), api_version=1, correlation_id, client_id; body: topics=[] (empty array)
    body = struct.pack(">hhih", 3, 1, 4242, len(client_id)) + client_id + struct.pack(">i", 0)
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.settimeout(timeout_s)
            sock.sendall(struct.pack(">i", len(body)) + body)
            size = struct.unpack(">i", _recv_exact(sock, 4))[0]
            payload = _recv_exact(sock, size)
    except (OSError, struct.error):
        return -1
    correlation_id, brokers = struct.unpack(">ii", payload[:8])
    return brokers if correlation_id == 4242 else -1


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise OSError("connection closed")
        buf += chunk
    return buf


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding (as Uuid.randomUuid())."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


@dataclass
class Kafka(SingleInstance, Service):
    name: str = "kafka"
    port: int = 9092
    memory_mb: int = 360
    start_timeout_s: float = 180.0

    @property
    def dist(self) -> Path:
        return self.cache / f"kafka-{KAFKA_VERSION}"

    @property
    def pom(self) -> Path:
        return MAVEN_DIR / "kafka" / "pom.xml"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def config_file(self) -> Path:
        return self.home / "server.properties"

    # -- install / prepare -----------------------------------------------------------------------
    def install(self) -> None:
        marker = self.dist / ".installed"
        stamp = hashlib.sha256(self.pom.read_bytes()).hexdigest()
        if stamp_ok(marker, stamp):
            return
        shutil.rmtree(self.dist / "libs", ignore_errors=True)
        maven_copy_dependencies(self.pom, self.dist / "libs")
        if not (self.dist / "libs" / f"kafka_2.13-{KAFKA_VERSION}.jar").is_file():
            raise StackError(f"kafka: Maven did not deliver kafka_2.13-{KAFKA_VERSION}.jar "
                             f"into {self.dist / 'libs'}")
        marker.write_text(stamp + "\n")

    def ports(self) -> list[int]:
        return [self.port, CONTROLLER_PORT]

    def prepare(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self._write_config()
        id_file = self.home / "cluster.id"
        if not id_file.is_file():
            id_file.write_text(new_cluster_id() + "\n")
        cluster_id = id_file.read_text().strip()
        if (self.data_dir / "meta.properties").is_file():
            return
        run(self._java(["kafka.tools.StorageTool", "format", "--ignore-formatted", "-t", cluster_id,
                        "-c", str(self.config_file)], heap="-Xmx256m"), cwd=self.home)

    def _write_config(self) -> None:
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{HOST}:{CONTROLLER_PORT}",
            "listeners": f"PLAINTEXT://{HOST}:{self.port},CONTROLLER://{HOST}:{CONTROLLER_PORT}",
            "advertised.listeners": f"PLAINTEXT://{HOST}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "num.partitions": "1",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "5",
            "auto.create.topics.enable": "false",
            "group.initial.rebalance.delay.ms": "0",
            "num.network.threads": "2",
            "num.io.threads": "4",
            "log.retention.hours": "168",
            "log.segment.bytes": str(256 * 1024 * 1024),
        }
        self.config_file.write_text("# written by scripts/stack (kafka.py); edits are overwritten\n"
                                    + "".join(f"{k}={v}\n" for k, v in props.items()))
        (self.home / "log4j.properties").write_text(
            "log4j.rootLogger=INFO, stdout\n"
            "log4j.appender.stdout=org.apache.log4j.ConsoleAppender\n"
            "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout\n"
            "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\n"
            "log4j.logger.kafka=INFO\n"
            "log4j.logger.org.apache.kafka=INFO\n"
            "log4j.logger.kafka.request.logger=WARN\n"
            "log4j.logger.state.change.logger=WARN\n"
            "log4j.logger.kafka.log.LogCleaner=WARN\n"
            "log4j.logger.kafka.controller=INFO\n")

    def _java(self, args: list[str], heap: str | None = None, extra: tuple[str, ...] = ()) -> list[str]:
        heap_opts = (heap or os.environ.get("KAFKA_HEAP_OPTS", "-Xms256m -Xmx512m")).split()
        return ["java", *heap_opts, *extra, "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
                "-Djava.awt.headless=true",
                f"-Dlog4j.configuration=file:{self.home / 'log4j.properties'}",
                f"-Dkafka.logs.dir={self.home}",
                "-cp", str(self.dist / "libs") + "/*", *args]

    # -- run ------------------------------------------------------------------------------------------
    def command(self) -> list[str]:
        cds = cds_flags(self.name, f"kafka-{KAFKA_VERSION}:{self.dist}")
        return self.locked(self._java(["kafka.Kafka", str(self.config_file)], extra=tuple(cds)))

    def healthy(self) -> bool:
        return metadata_brokers(HOST, self.port) >= 1
